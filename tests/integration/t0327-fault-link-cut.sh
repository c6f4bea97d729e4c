#!/bin/sh
# Fault: the link to a host is cut mid-run (its veth set down in the
# network namespace the test made). The host runs a command that would
# wait far longer than the test; with --timeout 300 and --connect-timeout
# 3, the run ends long before the command's timeout (a dead link is found
# by TCP keepalives within about the connect timeout), naming the host;
# the other host finishes; nothing hangs. Then the same with the link cut
# before deploy connects: bounded by --connect-timeout.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 48
ns=dplc$$
sshd_free_net 10.248
net=$SSHD_FREE_NET
sshd_netns "$ns"
sshd_veth "dch$$" "$net.1" "$ns" "dci$$" "$net.2" 24
# Its sshd drops a session whose client went silent (3 s), so that the
# session cut off from deploy ends by itself.
sshd_start cut "$net.2" "$ns" "ClientAliveInterval 1" "ClientAliveCountMax 3"
sshd_start ok 127.48.0.1

cat >topology.yml <<YAML
version: 1
name: cut
ssh:
  key: $SSHD_KEY
  known_hosts: $TMP/known_hosts
roles:
  web:
    provider: ssh
    hosts:
      - {name: cut-1, address: $net.2, port: $SSHD_PORT}
      - {name: ok-1, address: 127.48.0.1, port: $SSHD_PORT}
YAML

# shellcheck disable=SC2016 # expanded on the hosts
"$DEPLOY" run --timeout 300 --connect-timeout 3 topology.yml -- \
	'set -- $SSH_CONNECTION; touch '"$TMP"'/at-$3; while [ ! -e '"$TMP"'/go ]; do sleep 0.1; done; echo finished' \
	>"$TMP/out" 2>"$TMP/err" &
pid=$!
echo "$pid" >>"$SSHD_DIR/pids"
i=0
while ! { [ -e "at-$net.2" ] && [ -e at-127.48.0.1 ]; } && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
[ $i -lt 600 ] || fail "the commands did not start on both hosts"

ip link set "dch$$" down
touch go # ok-1 finishes; cut-1 cannot hear it (its loop goes on there)
start=$(date +%s)
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
if kill -0 "$pid" 2>/dev/null; then
	fail "deploy run still runs 60 s after the link was cut (--connect-timeout 3)"
	kill "$pid"
fi
wait "$pid"
rc=$?
echo "the run ended $(($(date +%s) - start)) s after the link was cut" >&2
expect_rc 1 "run with the link cut"
checks=$((checks + 1))
grep -q "^deploy: host 'cut-1': connection lost while the command ran: " "$TMP/err" ||
	fail "cut-1 is not named as lost: $(cat "$TMP/err")"
expect_line "$TMP/out" "ok-1: finished" "the other host finished"
expect_line "$TMP/err" "1 ok, 1 failed, 0 unreachable" "closing line"

# The link already cut: unreachable within --connect-timeout.
run timeout 60 "$DEPLOY" run --timeout 300 --connect-timeout 3 --limit cut-1 topology.yml -- true
expect_rc 1 "run to a cut link"
checks=$((checks + 1))
grep -q "^deploy: host 'cut-1' unreachable: " "$TMP/err" ||
	fail "cut-1 is not unreachable: $(cat "$TMP/err")"
expect_line "$TMP/err" "0 ok, 0 failed, 1 unreachable" "cut link closing line"
# The link back: what is left of the cut session on the host ends.
ip link set "dch$$" up
finish
