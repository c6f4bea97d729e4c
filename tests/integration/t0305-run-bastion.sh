#!/bin/sh
# Bastions: hosts inside a network namespace that only the bastion can
# reach, through one SSH session to the bastion (direct-tcpip channels),
# their own host keys checked under their own addresses; a chain of two
# hops; an inner host the bastion cannot reach.
#
# The bastion's sshd is on this side and reaches the namespace over a veth
# pair. deploy runs as root here, and a routing rule refuses root's
# connections to the inner addresses, so only the bastion's session (its
# SSH user is not root) gets through: deploy cannot reach them directly.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 35
inner_ns=dpli$$
sshd_free_net 10.235
net=$SSHD_FREE_NET
bastion_user=dpb$$
sshd_netns "$inner_ns"
sshd_veth "dvh$$" "$net.1" "$inner_ns" "dvi$$" "$net.2" 24
ip -n "$inner_ns" addr add "$net.3/24" dev "dvi$$"
ip -n "$inner_ns" addr add "$net.4/24" dev "dvi$$"
for a in 2 3 4; do
	sshd_root_cannot_reach "$net.$a"
done
sshd_user "$bastion_user"
sshd_sudoers "$bastion_user" "$bastion_user ALL=(ALL) NOPASSWD: ALL"

sshd_start bastion 127.35.0.1
sshd_start in1 "$net.2" "$inner_ns"
sshd_start in2 "$net.3" "$inner_ns"
sshd_start in3 "$net.4" "$inner_ns"

# deploy's side cannot reach the inner hosts.
checks=$((checks + 1))
if python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)' \
	"$net.2" "$SSHD_PORT" 2>"$TMP/connect.err"; then
	fail "a direct connection to $net.2 worked"
fi

topology() {
	cat <<YAML
version: 1
name: hop
ssh:
  key: $SSHD_KEY
  known_hosts: $TMP/known_hosts
roles:
  bastion:
    provider: ssh
    hosts: [{name: bastion-1, address: 127.35.0.1, port: $SSHD_PORT, user: $bastion_user}]
  inner:
    provider: ssh
    $1
    hosts:
      - {name: inner-1, address: $net.2, port: $SSHD_PORT}
      - {name: inner-2, address: $net.3, port: $SSHD_PORT}
YAML
}

# Without 'via', the inner hosts are unreachable.
topology "" >direct.yml
run "$DEPLOY" run --connect-timeout 3 --limit inner direct.yml -- true
expect_rc 1 "no via"
expect_line "$TMP/err" "0 ok, 0 failed, 2 unreachable" "no via: unreachable"

# With it, every host runs, the inner ones seen coming from the bastion.
topology "via: bastion" >topology.yml
cat >>topology.yml <<YAML
  deep:
    provider: ssh
    via: inner
    hosts: [{name: deep-1, address: $net.4, port: $SSHD_PORT}]
YAML
accepted_before=$(grep -c "Accepted publickey for $bastion_user" "$SSHD_DIR/bastion/log")
# (sudo, on the bastion, does not pass SSH_CONNECTION on.)
run "$DEPLOY" run topology.yml -- 'echo "$(id -u) from $(echo ${SSH_CONNECTION:-sudo} | cut -d" " -f1)"'
expect_rc 0 "via bastion"
expect_line "$TMP/out" "bastion-1: 0 from sudo" "the bastion itself (through sudo)"
expect_line "$TMP/out" "inner-1: 0 from $net.1" "inner-1 through the bastion"
expect_line "$TMP/out" "inner-2: 0 from $net.1" "inner-2 through the bastion"
# deep-1 is two hops away: bastion, then inner-1.
expect_line "$TMP/out" "deep-1: 0 from $net.2" "deep-1 through two hops"
expect_line "$TMP/err" "4 ok, 0 failed, 0 unreachable" "via closing line"
# One session to the bastion served them all.
accepted_after=$(grep -c "Accepted publickey for $bastion_user" "$SSHD_DIR/bastion/log")
checks=$((checks + 1))
[ $((accepted_after - accepted_before)) -eq 1 ] ||
	fail "$((accepted_after - accepted_before)) sessions to the bastion"
# The inner host keys were checked and recorded under their own addresses.
for h in in1:2 in2:3 in3:4; do
	expect_line known_hosts "[$net.${h#*:}]:$SSHD_PORT $(cut -d' ' -f1,2 "$(sshd_host_key "${h%%:*}")")" "key of ${h%%:*}"
done

# --limit to an inner host still goes through its bastion.
run "$DEPLOY" run --limit deep-1 topology.yml -- hostname
expect_rc 0 "--limit deep-1"
expect_line "$TMP/err" "1 ok, 0 failed, 0 unreachable" "--limit deep-1 closing line"

# An inner host changed its key: refused, even behind a bastion.
b_line=$(grep -n "^\[$net.3\]" known_hosts | cut -d: -f1)
old_fp=$(ssh-keygen -lf "$(sshd_host_key in2)" | cut -d' ' -f2)
sed -i "${b_line}s|ssh-ed25519 .*|$(cut -d' ' -f1,2 "$(sshd_host_key in1)")|" known_hosts
run "$DEPLOY" run --limit inner topology.yml -- true
expect_rc 1 "inner key mismatch"
expect_line "$TMP/err" "deploy: host key of 'inner-2' ([$net.3]:$SSHD_PORT) has changed: $TMP/known_hosts:$b_line has ED25519 key $(ssh-keygen -lf "$(sshd_host_key in1)" | cut -d' ' -f2), the host presented ED25519 key $old_fp; if the host was reinstalled, remove the old key with: ssh-keygen -R '[$net.3]:$SSHD_PORT' -f $TMP/known_hosts" "inner key mismatch message"
expect_line "$TMP/err" "1 ok, 1 failed, 0 unreachable" "inner key mismatch closing line"

# A port nothing listens on behind the bastion: it says it cannot connect.
sed -i "s/{name: inner-2, address: $net.3, port: $SSHD_PORT/{name: inner-2, address: $net.3, port: $((SSHD_PORT + 1))/" topology.yml
run "$DEPLOY" run --connect-timeout 3 --limit inner-2 topology.yml -- true
expect_rc 1 "bastion cannot connect"
checks=$((checks + 1))
grep -q "^deploy: host 'inner-2' unreachable: bastion 'bastion-1' could not connect to $net.3 port $((SSHD_PORT + 1)): .*(3 attempts)$" "$TMP/err" ||
	fail "no bastion connect message: $(cat "$TMP/err")"
expect_line "$TMP/err" "0 ok, 0 failed, 1 unreachable" "bastion cannot connect closing line"
finish
