#!/bin/sh
# Hosts that 'deploy up' made: deploy run finds their address and port in
# the state file, checks their host key against the key pinned there (not
# known_hosts), and logs in with the key made for the topology
# (.deploy/NAME.id_ed25519) when there is no other.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 40
sshd_start a 127.40.0.1
sshd_start b 127.40.0.2

cat >topology.yml <<YAML
version: 1
name: made
ssh: {known_hosts: $TMP/known_hosts}
providers:
  local: {}
roles:
  node: {provider: local, count: 3}
YAML
mkdir -p .deploy
cp "$SSHD_KEY" .deploy/made.id_ed25519
cp "$SSHD_KEY.pub" .deploy/made.id_ed25519.pub
# node-1 pins another host's key; node-2 was never made.
cat >.deploy/made.state.json <<JSON
{"version": 1, "lineage": "6f1d0c1e-3a57-4b8e-9d2a-0c9b1f7e5a11",
 "serial": 3, "topology": "made", "resources": [],
 "hosts": {
  "node-0": {"address": "127.40.0.1", "port": $SSHD_PORT,
             "host_key": "$(cat "$(sshd_host_key a)")"},
  "node-1": {"address": "127.40.0.2", "port": $SSHD_PORT,
             "host_key": "$(cat "$(sshd_host_key a)")"}}}
JSON

run "$DEPLOY" run topology.yml -- echo made
expect_rc 1 "hosts from the state"
expect_line "$TMP/out" "node-0: made" "node-0 at its recorded address"
expect_line "$TMP/err" "deploy: host key of 'node-1' ([127.40.0.2]:$SSHD_PORT) has changed: the state file pins ED25519 key $(ssh-keygen -lf "$(sshd_host_key a)" | cut -d' ' -f2), the host presented ED25519 key $(ssh-keygen -lf "$(sshd_host_key b)" | cut -d' ' -f2)" "pinned key mismatch"
expect_line "$TMP/err" "deploy: host 'node-2' has no address yet (provider 'local'): run 'deploy up' first" "not made yet"
expect_line "$TMP/err" "1 ok, 2 failed, 0 unreachable" "closing line"
# Pinned hosts leave known_hosts alone.
checks=$((checks + 1))
[ -e known_hosts ] && fail "known_hosts written for pinned hosts"
# The state file is read, never written, by run.
checks=$((checks + 1))
grep -q '"serial": 3' .deploy/made.state.json || fail "the state file changed"
finish
