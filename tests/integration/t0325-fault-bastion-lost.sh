#!/bin/sh
# Fault: the bastion is lost mid-run. Two hosts behind it (in a network
# namespace deploy's side cannot reach, as in t0305) and one direct host
# run a command that waits for a file; the test kills the bastion's sshd,
# its sessions included (SIGKILL, by PID). The hosts behind it are
# reported unreachable, each naming the bastion, rather than as separate
# lost connections; the direct host finishes; nothing hangs. The bastion
# is only a hop here: it runs no command of its own. Then the same under
# `deploy up`: each host behind the lost bastion is "unreachable: lost
# connection in step 1/1 (...)", naming the bastion.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 46
inner_ns=dpbl$$
sshd_free_net 10.246
net=$SSHD_FREE_NET
bastion_user=dpl$$
sshd_netns "$inner_ns"
sshd_veth "dbh$$" "$net.1" "$inner_ns" "dbi$$" "$net.2" 24
ip -n "$inner_ns" addr add "$net.3/24" dev "dbi$$"
for a in 2 3; do
	sshd_root_cannot_reach "$net.$a"
done
sshd_user "$bastion_user"

sshd_start bastion 127.46.0.1
sshd_start in1 "$net.2" "$inner_ns"
sshd_start in2 "$net.3" "$inner_ns"
sshd_start plain 127.46.0.2

cat >topology.yml <<YAML
version: 1
name: lost
ssh:
  key: $SSHD_KEY
  known_hosts: $TMP/known_hosts
roles:
  bastion:
    provider: ssh
    hosts: [{name: bastion-1, address: 127.46.0.1, port: $SSHD_PORT, user: $bastion_user}]
  inner:
    provider: ssh
    via: bastion
    hosts:
      - {name: inner-1, address: $net.2, port: $SSHD_PORT}
      - {name: inner-2, address: $net.3, port: $SSHD_PORT}
  plain:
    provider: ssh
    hosts: [{name: plain-1, address: 127.46.0.2, port: $SSHD_PORT}]
YAML

# descendants PID: every process below PID.
descendants() {
	for _c in $(ps -o pid= --ppid "$1"); do
		echo "$_c"
		descendants "$_c"
	done
}

# lose NAME: kill sshd NAME, its listener and its sessions (by PID).
lose() {
	_l=$(cat "$SSHD_DIR/$1/sshd.pid")
	_v=$_l
	for _p in $(descendants "$_l"); do
		case $(cat "/proc/$_p/comm" 2>/dev/null) in
		sshd*) _v="$_v $_p" ;;
		esac
	done
	# shellcheck disable=SC2086 # one PID a word
	kill -KILL $_v
}

# wait_gone PID what: until PID ends (120 s); then its exit code in $rc.
wait_gone() {
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt 1200 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	checks=$((checks + 1))
	if kill -0 "$1" 2>/dev/null; then
		fail "$2 still runs 120 s after the bastion was lost"
		kill "$1"
	fi
	wait "$1"
	rc=$?
}

# shellcheck disable=SC2016 # expanded on the hosts
"$DEPLOY" run --timeout 300 --limit inner,plain topology.yml -- \
	'set -- $SSH_CONNECTION; touch '"$TMP"'/at-$3; while [ ! -e '"$TMP"'/go ]; do sleep 0.1; done; echo finished' \
	>"$TMP/out" 2>"$TMP/err" &
pid=$!
echo "$pid" >>"$SSHD_DIR/pids"
i=0
while ! { [ -e "at-$net.2" ] && [ -e "at-$net.3" ] && [ -e at-127.46.0.2 ]; } &&
	[ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
[ $i -lt 600 ] || fail "the commands did not start on every host"

# The bastion goes: its listener and every sshd process of its sessions.
lose bastion
sleep 1
touch go
wait_gone "$pid" "deploy run"
expect_rc 1 "run with the bastion lost"
for h in inner-1 inner-2; do
	checks=$((checks + 1))
	grep -q "^deploy: host '$h' unreachable: its bastion failed: host 'bastion-1' unreachable: connection lost: " "$TMP/err" ||
		fail "$h does not name the lost bastion: $(cat "$TMP/err")"
done
expect_line "$TMP/out" "plain-1: finished" "the direct host finished"
expect_line "$TMP/err" "1 ok, 0 failed, 2 unreachable" "closing line"

# The same under deploy up, with another bastion (the inner hosts' keys
# are known from the run above).
sshd_start bastion2 127.46.0.3
rm -f go at-*
cat >wait.yml <<YAML
name: wait
steps:
  - name: wait here
    shell: 'set -- \$SSH_CONNECTION; touch $TMP/at-\$3; while [ ! -e $TMP/go ]; do sleep 0.1; done'
YAML
cat >up.yml <<YAML
version: 1
name: lostup
ssh:
  key: $SSHD_KEY
  known_hosts: $TMP/known_hosts
providers: {ssh: {}}
roles:
  bastion:
    hosts: [{name: bastion-2, address: 127.46.0.3, port: $SSHD_PORT, user: $bastion_user}]
  inner:
    via: bastion
    playbooks: [./wait.yml]
    hosts:
      - {name: inner-1, address: $net.2, port: $SSHD_PORT}
      - {name: inner-2, address: $net.3, port: $SSHD_PORT}
YAML
"$DEPLOY" up --yes up.yml >"$TMP/out" 2>"$TMP/err" &
pid=$!
echo "$pid" >>"$SSHD_DIR/pids"
i=0
while ! { [ -e "at-$net.2" ] && [ -e "at-$net.3" ]; } && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
[ $i -lt 600 ] || fail "up did not start the step on the inner hosts: $(cat "$TMP/out" "$TMP/err")"
lose bastion2
sleep 1
touch go
wait_gone "$pid" "deploy up"
expect_rc 1 "up with the bastion lost"
for h in inner-1 inner-2; do
	checks=$((checks + 1))
	grep -q "^$h: unreachable: lost connection in step 1/1 (wait: wait here), which may be partly done: host '$h' unreachable: its bastion failed: host 'bastion-2' unreachable: connection lost: " "$TMP/out" ||
		fail "up: $h does not name its step and the lost bastion: $(cat "$TMP/out")"
done
finish
