#!/bin/sh
# deploy status reaches hosts behind a bastion through the bastion (the
# path deploy run takes), not directly, and says why a host does not
# answer: refused, timeout, host-key (changed), and bastion-down naming
# the bastion once it is stopped.
#
# As in t0305, the inner hosts are in a network namespace that root here
# cannot reach (a routing rule): only the bastion's session gets through.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 44
inner_ns=dpsi$$
sshd_free_net 10.244
net=$SSHD_FREE_NET
bastion_user=dps$$
sshd_netns "$inner_ns"
sshd_veth "dsh$$" "$net.1" "$inner_ns" "dsi$$" "$net.2" 24
ip -n "$inner_ns" addr add "$net.3/24" dev "dsi$$"
ip -n "$inner_ns" addr add "$net.4/24" dev "dsi$$"
for a in 2 3 4; do
	sshd_root_cannot_reach "$net.$a"
done
sshd_user "$bastion_user"

sshd_start bastion 127.44.0.1
sshd_start in1 "$net.2" "$inner_ns"
sshd_start in3 "$net.4" "$inner_ns"
sshd_start plain1 127.44.0.2
sshd_silent 127.44.0.4
# Nothing listens on $net.3 (inner-2) nor on 127.44.0.3 (plain-2).

cat >topology.yml <<YAML
version: 1
name: st
ssh:
  key: $SSHD_KEY
  known_hosts: $TMP/known_hosts
roles:
  bastion:
    provider: ssh
    hosts: [{name: bastion-1, address: 127.44.0.1, port: $SSHD_PORT, user: $bastion_user}]
  inner:
    provider: ssh
    via: bastion
    hosts:
      - {name: inner-1, address: $net.2, port: $SSHD_PORT}
      - {name: inner-2, address: $net.3, port: $SSHD_PORT}
      - {name: inner-3, address: $net.4, port: $SSHD_PORT}
  plain:
    provider: ssh
    hosts:
      - {name: plain-1, address: 127.44.0.2, port: $SSHD_PORT}
      - {name: plain-2, address: 127.44.0.3, port: $SSHD_PORT}
      - {name: silent-1, address: 127.44.0.4, port: $SSHD_PORT}
YAML

# ssh_is HOST WORD what: the ssh column of HOST's line in the table.
ssh_is() {
	checks=$((checks + 1))
	_got=$(awk -v h="$1" '$1 == h { print $4 }' "$TMP/out")
	if [ "$_got" != "$2" ]; then
		fail "$3: $1 is '$_got', expected '$2'"
		sed 's/^/  | /' "$TMP/out" >&2
	fi
}

# says HOST PATTERN what: HOST's message line matches PATTERN (grep -E).
says() {
	checks=$((checks + 1))
	if ! grep -Eq "^$1: $2" "$TMP/out"; then
		fail "$3: no message for $1 like '$2'"
		sed 's/^/  | /' "$TMP/out" >&2
	fi
}

run timeout 120 "$DEPLOY" status --timeout 3 topology.yml
expect_rc 0 "status"
ssh_is bastion-1 yes "the bastion"
ssh_is inner-1 yes "a host behind the bastion, through it"
ssh_is inner-3 yes "another host behind the bastion"
ssh_is plain-1 yes "a direct host"
ssh_is inner-2 refused "nothing listens behind the bastion"
says inner-2 "host 'inner-2' unreachable: bastion 'bastion-1' could not connect to $net.3 port $SSHD_PORT" "refused behind the bastion"
ssh_is plain-2 refused "nothing listens"
says plain-2 "host 'plain-2' unreachable: connect to 127.44.0.3 port $SSHD_PORT: Connection refused" "refused"
ssh_is silent-1 timeout "a host that never says a word"
says silent-1 "host 'silent-1' unreachable: 127.44.0.4 port $SSHD_PORT took the connection but the SSH handshake did not finish within 3 s" "timeout"
expect_no_match "$TMP/out" "bastion-1: " "the bastion has no message"
# The inner hosts were seen coming from the bastion, not from here.
checks=$((checks + 1))
grep -q "Accepted publickey for root from $net.1" "$SSHD_DIR/in1/log" ||
	fail "inner-1 was not reached through the bastion"

# inner-3's key changed: refused, and said so.
line=$(grep -n "^\[$net.4\]" known_hosts | cut -d: -f1)
checks=$((checks + 1))
[ -n "$line" ] || fail "inner-3's key was not recorded"
sed -i "${line}s|ssh-ed25519 .*|$(cut -d' ' -f1,2 "$(sshd_host_key in1)")|" known_hosts
run timeout 120 "$DEPLOY" status --timeout 3 topology.yml
expect_rc 0 "status with a changed key"
ssh_is inner-3 host-key "a changed host key"
says inner-3 "host key of 'inner-3' \(\[$net.4\]:$SSHD_PORT\) has changed" "the changed key named"
ssh_is inner-1 yes "the other inner host is unaffected"

# The bastion stopped: the hosts behind it say which bastion is down.
kill "$(cat "$SSHD_DIR/bastion/sshd.pid")"
i=0
while [ $i -lt 50 ] && python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
	127.44.0.1 "$SSHD_PORT" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
run timeout 120 "$DEPLOY" status --timeout 3 topology.yml
expect_rc 0 "status with the bastion stopped"
ssh_is bastion-1 refused "the stopped bastion"
for h in inner-1 inner-2 inner-3; do
	ssh_is "$h" bastion-down "$h behind the stopped bastion"
	says "$h" "host '$h' unreachable: its bastion failed: host 'bastion-1' unreachable: connect to 127.44.0.1 port $SSHD_PORT: Connection refused" "$h names the bastion"
done
ssh_is plain-1 yes "a direct host, with the bastion down"
finish
