#!/bin/sh
# ssh-agent: a real ssh-agent holding a key that is nowhere on disk where
# deploy looks. With SSH_AUTH_SOCK set, deploy logs in with it; without,
# it has no key to try.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 36
sshd_start a 127.36.0.1
sshd_start b 127.36.0.2

# The agent's key is made here, added, and deleted from disk.
ssh-keygen -q -t ed25519 -N '' -C agent -f "$TMP/agent_key"
cp "$TMP/agent_key.pub" "$SSHD_DIR/auth/root"
ssh-agent -D -a "$TMP/agent.sock" >/dev/null 2>&1 &
echo $! >>"$SSHD_DIR/pids"
i=0
while [ ! -S "$TMP/agent.sock" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
SSH_AUTH_SOCK=$TMP/agent.sock ssh-add -q "$TMP/agent_key" 2>/dev/null ||
	{ echo "ssh-add failed" >&2; exit 1; }
rm -f "$TMP/agent_key" "$TMP/agent_key.pub"

# No ssh.key: the agent, then ~/.ssh/id_* (there are none).
cat >topology.yml <<YAML
version: 1
name: agent
ssh: {known_hosts: $TMP/known_hosts}
roles:
  web:
    provider: ssh
    hosts:
      - {name: web-1, address: 127.36.0.1, port: $SSHD_PORT}
      - {name: web-2, address: 127.36.0.2, port: $SSHD_PORT}
YAML

run env SSH_AUTH_SOCK="$TMP/agent.sock" "$DEPLOY" run topology.yml -- echo via agent
expect_rc 0 "agent auth"
expect_line "$TMP/out" "web-1: via agent" "web-1 through the agent's key"
expect_line "$TMP/out" "web-2: via agent" "web-2 through the agent's key"
checks=$((checks + 1))
grep -q "Accepted publickey for root .* ED25519 $(SSH_AUTH_SOCK=$TMP/agent.sock ssh-add -l | cut -d' ' -f2)" \
	"$SSHD_DIR/a/log" || fail "sshd did not see the agent's key"

run "$DEPLOY" run topology.yml -- echo no agent
expect_rc 1 "no agent"
expect_line "$TMP/err" "deploy: host 'web-1': permission denied for user 'root' (no key to try)" "no key to try"
expect_line "$TMP/err" "0 ok, 2 failed, 0 unreachable" "no agent closing line"

# A dead agent socket is said, and the key files come next.
run env SSH_AUTH_SOCK="$TMP/nothing.sock" "$DEPLOY" run --limit web-1 topology.yml -- true
expect_rc 1 "dead agent"
expect_line "$TMP/err" "deploy: host 'web-1': permission denied for user 'root' (ssh-agent: cannot connect to $TMP/nothing.sock)" "dead agent message"

# The agent's key refused (authorized_keys has another key): said too.
cp "$SSHD_KEY.pub" "$SSHD_DIR/auth/root"
run env SSH_AUTH_SOCK="$TMP/agent.sock" "$DEPLOY" run --limit web-1 topology.yml -- true
expect_rc 1 "agent key refused"
expect_line "$TMP/err" "deploy: host 'web-1': permission denied for user 'root' (ssh-agent: 1 key refused)" "refused agent key"
finish
