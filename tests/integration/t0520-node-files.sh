#!/bin/sh
# The built-in playbook node with a Factom-style node (examples/
# factomd-local.yml) on a real local host (systemd-nspawn Debian): the
# stand-in node (tests/helper/deploy-test-node) as its binary, two config
# files from the operator's templates beside the topology (node_config_files,
# a loop: one step each) and a secret identity key (node_secret_files).
# Checked on the host: modes, owners, content. The secret's value, as it is
# and in base64, is in none of deploy's output (text, --json, plan --diff),
# the state file or deploy's logs. A second up changes nothing; a changed
# template changes that one file's step and restarts the node (a new PID);
# a topology entry with an unknown key is an error at its file:line:col,
# with nothing changed on the host. The unit has the role's journald rate
# limit.
. "$TESTLIB"
: "${TEST_NODE:?}"
local_setup t0520 242
local_home
KEY="t0520-identity-$$-Xk7Q2pW9"
KEY64=$(printf '%s' "$KEY" | base64)
T0520_KEY=$KEY
export T0520_KEY
SHA=$(sha256sum <"$TEST_NODE" | cut -d' ' -f1)
mkdir -p conf
cat >conf/factomd.conf.mustache <<'EOF2'
; factomd.conf for {{host.name}}
[app]
PortNumber = 8088
Network = {{vars.factomd_network}}
CustomNetworkPort = 8108
EOF2
cat >conf/peers.conf.mustache <<'EOF2'
{{#roles.factomd.hosts}}{{private_address}}:8108
{{/roles.factomd.hosts}}
EOF2
M2=/var/lib/factomd/.factom/m2
# topology [EXTRA]: topo.yml; EXTRA is one more line of node_config_files.
topology() {
	local_topology admin <<EOF2
artifacts:
  factomd: {url: "file://$TEST_NODE", sha256: $SHA}
secrets:
  factomd_identity_key: {env: T0520_KEY}
vars:
  factomd_network: CUSTOM
roles:
  factomd:
    playbooks: [node]
    vars:
      node_name: factomd
      node_artifact: factomd
      node_binary: /usr/local/bin/factomd
      node_user: factomd
      node_data_dir: /var/lib/factomd
      node_config_dir: $M2
      node_config_files:
        - {path: $M2/factomd.conf, template: ./conf/factomd.conf.mustache}
        - {path: $M2/peers.conf, template: conf/peers.conf.mustache, mode: "0644"}
$1
      node_secret_files:
        - {path: $M2/identity.key, secret: factomd_identity_key}
      node_args: [--rpc, "127.0.0.1:8088", --p2p, "0.0.0.0:8108"]
      node_log_rate_burst: 2000
    health:
      - {tcp: "8108", timeout: 60}
EOF2
}
topology ""

# no_secret WHAT FILE...: the key, plain or in base64, is in none of them.
no_secret() {
	what=$1
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		expect_no_match "$f" "$KEY" "$what: the secret in $f"
		expect_no_match "$f" "$KEY64" "$what: the secret in base64 in $f"
	done
}

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
cp "$TMP/out" up1.out
cp "$TMP/err" up1.err
# user, data dir, config dir, 2 config files, the secret, binary, unit,
# service, and the restart handler
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 10 steps changed" "every step changed, and the restart handler"
run "$DEPLOY" run topo.yml -- stat -c "'%n %U:%G %a'" $M2 $M2/factomd.conf $M2/peers.conf $M2/identity.key
expect_line "$TMP/out" "factomd-0: $M2 factomd:factomd 750" "the config directory"
expect_line "$TMP/out" "factomd-0: $M2/factomd.conf root:factomd 640" "a config file: root:USER 0640"
expect_line "$TMP/out" "factomd-0: $M2/peers.conf root:factomd 644" "a config file with its own mode"
expect_line "$TMP/out" "factomd-0: $M2/identity.key factomd:factomd 600" "the secret file: USER 0600"
run "$DEPLOY" run topo.yml -- cat $M2/factomd.conf $M2/peers.conf
expect_line "$TMP/out" "factomd-0: ; factomd.conf for factomd-0" "factomd.conf rendered for the host"
expect_line "$TMP/out" "factomd-0: Network = CUSTOM" "factomd.conf with the topology's vars"
checks=$((checks + 1))
grep -Eq '^factomd-0: 10\.231\.242\.[0-9]+:8108$' "$TMP/out" ||
	fail "peers.conf names the host's private address: $(cat "$TMP/out")"
# Compare on the host: the command carries a digest, never the key.
want=$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)
run "$DEPLOY" run topo.yml -- sha256sum $M2/identity.key
expect_line "$TMP/out" "factomd-0: $want  $M2/identity.key" "the secret file holds the secret exactly"
run "$DEPLOY" run topo.yml -- systemctl show factomd -p ActiveState -p LogRateLimitIntervalUSec -p LogRateLimitBurst
expect_line "$TMP/out" "factomd-0: ActiveState=active" "the node runs"
expect_line "$TMP/out" "factomd-0: LogRateLimitIntervalUSec=30s" "journald's rate limit: the interval"
expect_line "$TMP/out" "factomd-0: LogRateLimitBurst=2000" "journald's rate limit: the role's burst"

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"
cp "$TMP/out" up2.out
cp "$TMP/err" up2.err

run "$DEPLOY" run topo.yml -- systemctl show factomd -p MainPID --value
pid1=$(sed -n 's/^factomd-0: //p' "$TMP/out")
checks=$((checks + 1))
[ -n "$pid1" ] && [ "$pid1" -gt 0 ] || fail "the node's PID: '$pid1'"

# One template changes: the plan and up --check --json show that one
# file's step; up changes it and restarts the node.
printf 'P2POutgoing = 32\n' >>conf/factomd.conf.mustache
run "$DEPLOY" plan --diff topo.yml
expect_rc 2 "plan --diff: a change"
cp "$TMP/out" plan.out
cp "$TMP/err" plan.err
expect_line "$TMP/out" "~ factomd-0: 2 steps would change" "plan: the file and the restart"
expect_line "$TMP/out" "  node: config file ($M2/factomd.conf)" "plan --diff: the file's step"
expect_line "$TMP/out" "    +P2POutgoing = 32" "plan --diff: the template's new line"
run "$DEPLOY" up --check --json --yes topo.yml
expect_rc 0 "up --check --json"
cp "$TMP/out" check.json
checks=$((checks + 1))
python3 - check.json "$M2" <<'PY' || fail "up --check --json: each config file its own step"
import json, sys
steps = {}
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["type"] == "step" and not o["handler"]:
        steps[o["name"]] = o["status"]
m2 = sys.argv[2]
assert steps["node: config file (%s/factomd.conf)" % m2] == "changed", steps
assert steps["node: config file (%s/peers.conf)" % m2] == "ok", steps
assert steps["node: secret file (%s/identity.key)" % m2] == "ok", steps
assert sum(s == "changed" for s in steps.values()) == 1, steps
PY
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the template changed"
cp "$TMP/out" up3.out
cp "$TMP/err" up3.err
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 2 steps changed" "the file and the restart"
run "$DEPLOY" run topo.yml -- "grep -c P2POutgoing $M2/factomd.conf; systemctl is-active factomd; systemctl show factomd -p MainPID --value"
expect_line "$TMP/out" "factomd-0: 1" "the new factomd.conf"
expect_line "$TMP/out" "factomd-0: active" "the node runs again"
checks=$((checks + 1))
grep -q "^factomd-0: $pid1\$" "$TMP/out" &&
	fail "the node was not restarted (PID $pid1 before and after)"

# An entry with a typo: an error at its place, nothing changed.
topology "        - {path: $M2/extra.conf, tempalte: ./conf/peers.conf.mustache}"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with an unknown key in an item"
cp "$TMP/err" bad.err
checks=$((checks + 1))
grep -q "topo.yml:24:58: .*unknown key 'tempalte' in vars.node_config_files\[2\] (did you mean 'template'?)" "$TMP/err" ||
	fail "the unknown key at its place: $(cat "$TMP/err")"
run "$DEPLOY" run topo.yml -- "test -e $M2/extra.conf || echo absent"
expect_line "$TMP/out" "factomd-0: absent" "nothing written"

no_secret "deploy's output" up1.out up1.err up2.out up2.err up3.out up3.err \
	plan.out plan.err check.json bad.err
no_secret "state and logs" .deploy/"$name".state.json .deploy/logs/*
checks=$((checks + 1))
[ -e .deploy/"$name".state.json ] || fail "no state file where the test looks"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
expect_local_gone
finish
