#!/bin/sh
# deploy ssh and deploy ssh-config: OpenSSH's own client onto hosts behind
# a bastion (and behind a host behind it), with the host keys pinned in
# the state file. The interactive session is driven in tmux: the prompt
# appears, a command typed there runs on the inner host, and the files
# deploy wrote for the call (mode 0600) are gone when it ends. A changed
# host key is refused. The config ssh-config prints works with plain
# `ssh -F` and `scp -F`.
#
# As in t0305, the inner hosts sit in a network namespace that only the
# bastion's user can reach: root here (deploy, ssh) cannot.
. "$TESTLIB"
. "$SSHDLIB"

if ! command -v tmux >/dev/null; then
	echo "skipped: needs tmux (tests/deps.sh)" >&2
	exit 77
fi

sshd_setup 41
inner_ns=dpsi$$
sshd_free_net 10.236
net=$SSHD_FREE_NET
bastion_user=dps$$
sshd_netns "$inner_ns"
sshd_veth "dsh$$" "$net.1" "$inner_ns" "dsi$$" "$net.2" 24
ip -n "$inner_ns" addr add "$net.3/24" dev "dsi$$"
for a in 2 3; do
	sshd_root_cannot_reach "$net.$a"
done
sshd_user "$bastion_user"

sshd_start bastion 127.41.0.1
sshd_start in1 "$net.2" "$inner_ns"
sshd_start in2 "$net.3" "$inner_ns"

cat >topology.yml <<YAML
version: 1
name: hop
ssh:
  key: $SSHD_KEY
  known_hosts: $TMP/known_hosts
roles:
  bastion:
    provider: ssh
    hosts: [{name: bastion-1, address: 127.41.0.1, port: $SSHD_PORT, user: $bastion_user}]
  inner:
    provider: ssh
    via: bastion
    hosts: [{name: inner-1, address: $net.2, port: $SSHD_PORT}]
  deep:
    provider: ssh
    via: inner
    hosts: [{name: deep-1, address: $net.3, port: $SSHD_PORT}]
YAML
# The bastion and inner-1 are pinned in the state; deep-1 is not, and is
# checked against the topology's known_hosts.
mkdir -p .deploy
pin_state() {
	cat >.deploy/hop.state.json <<JSON
{"version": 1, "lineage": "6f1d0c1e-3a57-4b8e-9d2a-0c9b1f7e5a12",
 "serial": 1, "topology": "hop", "resources": [],
 "hosts": {
  "bastion-1": {"host_key": "$(cut -d' ' -f1,2 "$(sshd_host_key bastion)")"},
  "inner-1": {"host_key": "$(cut -d' ' -f1,2 "$(sshd_host_key "$1")")"}}}
JSON
}
pin_state in1
echo "[$net.3]:$SSHD_PORT $(cut -d' ' -f1,2 "$(sshd_host_key in2)")" >known_hosts
mkdir -p tmpdir

# A command, through the bastion and through two hops.
# shellcheck disable=SC2016
remote='echo "$(id -u) from $(echo $SSH_CONNECTION | cut -d" " -f1)"'
run env TMPDIR="$TMP/tmpdir" "$DEPLOY" ssh inner-1 topology.yml -- "$remote"
expect_rc 0 "ssh inner-1 -- COMMAND"
expect_line "$TMP/out" "0 from $net.1" "inner-1 reached through the bastion"
run env TMPDIR="$TMP/tmpdir" "$DEPLOY" ssh deep-1 topology.yml -- "$remote"
expect_rc 0 "ssh deep-1 -- COMMAND"
expect_line "$TMP/out" "0 from $net.2" "deep-1 reached through inner-1"
run env TMPDIR="$TMP/tmpdir" "$DEPLOY" ssh deep-1 topology.yml -- exit 7
expect_rc 7 "the remote command's exit code"
checks=$((checks + 1))
[ -z "$(ls -A tmpdir)" ] || fail "files left behind: $(ls -A tmpdir)"

# The interactive session, in tmux.
tmux_sock=$TMP/tmux.sock
tm() { tmux -S "$tmux_sock" "$@"; }
# wait_pane PATTERN what: until the pane shows a line matching PATTERN.
wait_pane() {
	_i=0
	while [ $_i -lt 600 ]; do
		tm capture-pane -p -t deploy >"$TMP/pane" 2>/dev/null
		grep -q -- "$1" "$TMP/pane" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	fail "$2: no '$1' on the screen after 60 s"
	sed 's/^/  | /' "$TMP/pane" >&2
	return 1
}
tm new-session -d -s deploy -x 120 -y 40 \
	"env TMPDIR='$TMP/tmpdir' '$DEPLOY' ssh inner-1 '$TMP/topology.yml'; echo deploy-exit=\$?; sleep 60"
tm display-message -p '#{pid}' >>"$SSHD_DIR/pids"
checks=$((checks + 1))
# The remote shell's prompt (root's: '#').
wait_pane '# *$' "the prompt appears"
checks=$((checks + 1))
tm send-keys -t deploy 'echo "typed-$((6 * 7)) on $(hostname -I 2>/dev/null || echo $SSH_CONNECTION)"' Enter
wait_pane "^typed-42 on " "a typed command runs"
# Meanwhile the call's known_hosts is there, mode 0600, with the pins.
checks=$((checks + 1))
kh=$(ls -d tmpdir/deploy-ssh.*/known_hosts 2>/dev/null)
if [ -z "$kh" ]; then
	fail "no known_hosts for the call in tmpdir"
else
	[ "$(stat -c %a "$kh")" = 600 ] || fail "$kh has mode $(stat -c %a "$kh")"
	expect_line "$kh" "inner-1 $(cut -d' ' -f1,2 "$(sshd_host_key in1)")" "inner-1's pinned key"
	expect_line "$kh" "bastion-1 $(cut -d' ' -f1,2 "$(sshd_host_key bastion)")" "bastion-1's pinned key"
fi
# The session really is on inner-1: its sshd logged root's login.
checks=$((checks + 1))
grep -q "Accepted publickey for root from $net.1" "$SSHD_DIR/in1/log" ||
	fail "inner-1's sshd logged no login from the bastion"
tm send-keys -t deploy 'exit' Enter
checks=$((checks + 1))
wait_pane "^deploy-exit=0" "deploy ssh exits with the session"
checks=$((checks + 1))
[ -z "$(ls -A tmpdir)" ] || fail "files left after the session: $(ls -A tmpdir)"
tm kill-server

# A host key that changed (the state pins another host's key): refused.
pin_state in2
run env TMPDIR="$TMP/tmpdir" "$DEPLOY" ssh inner-1 topology.yml -- echo reached
expect_rc 255 "changed host key"
expect_no_match "$TMP/out" "reached" "nothing ran on a host with a changed key"
checks=$((checks + 1))
grep -q "REMOTE HOST IDENTIFICATION HAS CHANGED" "$TMP/err" ||
	fail "no changed-key warning: $(cat "$TMP/err")"
checks=$((checks + 1))
[ -z "$(ls -A tmpdir)" ] || fail "files left after a refusal: $(ls -A tmpdir)"
# And an unknown one (not in the topology's known_hosts): refused too.
: >known_hosts
run "$DEPLOY" ssh deep-1 topology.yml -- echo reached
expect_rc 255 "unknown host key"
expect_no_match "$TMP/out" "reached" "nothing ran on a host with an unknown key"
pin_state in1
echo "[$net.3]:$SSHD_PORT $(cut -d' ' -f1,2 "$(sshd_host_key in2)")" >known_hosts

# Names that are no host.
run "$DEPLOY" ssh inner-2 topology.yml
expect_rc 64 "unknown host"
expect_line "$TMP/err" "deploy: no host 'inner-2' (did you mean 'inner-1'?)" "unknown host message"
run "$DEPLOY" ssh
expect_rc 64 "no host"

# ssh-config, used by plain ssh and scp.
run "$DEPLOY" ssh-config topology.yml
expect_rc 0 "ssh-config"
cp "$TMP/out" fleet.conf
expect_line fleet.conf "Host inner-1" "inner-1's block"
expect_line fleet.conf "  HostName $net.2" "inner-1's address"
expect_line fleet.conf "  ProxyJump bastion-1" "inner-1's bastion"
expect_line fleet.conf "  ProxyJump inner-1" "deep-1's bastion"
expect_line fleet.conf "  User $bastion_user" "bastion's user"
expect_line fleet.conf "  Port $SSHD_PORT" "the port"
expect_line fleet.conf "  IdentityFile $SSHD_KEY" "the key"
expect_line fleet.conf "  UserKnownHostsFile $TMP/.deploy/hop.known_hosts" "the pinned keys' file"
expect_line fleet.conf "  UserKnownHostsFile $TMP/known_hosts" "ssh.known_hosts for deep-1"
expect_line fleet.conf "  StrictHostKeyChecking yes" "strict checking"
expect_line "$TMP/err" "deploy: 3 hosts (2 with a pinned key in $TMP/.deploy/hop.known_hosts)" "ssh-config summary"
checks=$((checks + 1))
[ "$(stat -c %a .deploy/hop.known_hosts)" = 600 ] ||
	fail ".deploy/hop.known_hosts has mode $(stat -c %a .deploy/hop.known_hosts)"
expect_line .deploy/hop.known_hosts "inner-1 $(cut -d' ' -f1,2 "$(sshd_host_key in1)")" "ssh-config's pinned key"
run ssh -F fleet.conf deep-1 "$remote"
expect_rc 0 "ssh -F deep-1"
expect_line "$TMP/out" "0 from $net.2" "plain ssh through two hops"
run scp -O -F fleet.conf inner-1:"$SSHD_DIR/in1/host_key.pub" copied.pub
expect_rc 0 "scp -F"
expect_same copied.pub "$(sshd_host_key in1)" "scp copied the file"
# The file ssh-config wrote pins the keys: a changed one is refused.
pin_state in2
run "$DEPLOY" ssh-config --output fleet.conf topology.yml
expect_rc 0 "ssh-config --output"
run ssh -F fleet.conf inner-1 echo reached
expect_rc 255 "ssh -F, changed key"
expect_no_match "$TMP/out" "reached" "ssh -F refused the changed key"
finish
