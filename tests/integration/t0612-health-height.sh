#!/bin/sh
# The height health check on real sshd hosts running the stand-in node
# (tests/helper/deploy-test-node): a node that lags then catches up passes
# once it is within N blocks of the reference stand-in (the progress shows
# "height H vs reference R" while it waits, a dead reference beside it is
# ignored, ICON's JSON-RPC and NEAR's GET /status alike, the check given by
# the playbook itself), and a second up changes nothing; a node that never
# catches up fails with the host, the check and the last values; with no
# reference answering (one refused, one silent until the request's 10 s
# timeout) the check never passes.
. "$TESTLIB"
. "$SSHDLIB"
: "${TEST_NODE:?}"
unset XDG_CACHE_HOME

ROOT=$TMP/root
stop_nodes() {
	for _p in "$ROOT"/*/pid "$ROOT/ref/hang-pid"; do
		[ -f "$_p" ] && kill "$(cat "$_p")" 2>/dev/null
	done
	sshd_cleanup
}
trap stop_nodes EXIT

sshd_setup 80
for i in 1 2 3; do
	sshd_start "h$i" "127.80.0.$i"
done
mkdir -p "$ROOT/ref"

# The reference: a synced stand-in at height 5000 and climbing.
REF=$(free_port 127.80.0.9)
"$TEST_NODE" --daemon --pidfile "$ROOT/ref/pid" --rpc "127.80.0.9:$REF" \
	--p2p "127.80.0.9:$(free_port 127.80.0.9)" --height 5000 ||
	fail "the reference node did not start"
python3 - "$REF" <<'PY' || fail "the reference node does not answer"
import socket, sys, time
end = time.time() + 10
while True:
    try:
        socket.create_connection(("127.80.0.9", int(sys.argv[1])), 1).close()
        break
    except OSError:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.05)
PY
DEAD=$(free_port 127.80.0.9)
# A reference that takes the connection and never answers: the request's
# 10 s timeout ends it.
HANG=$(free_port 127.80.0.9)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.80.0.9", int(sys.argv[1]))); s.listen(8)
open(sys.argv[2], "w").write("ready")
conns = []
while True:
    conns.append(s.accept()[0])' "$HANG" "$ROOT/ref/hang-ready" &
echo $! >"$ROOT/ref/hang-pid"
i=0
while [ ! -s "$ROOT/ref/hang-ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
RPC=$(free_port 127.80.0.1)
P2P=$(free_port 127.80.0.1)
while [ "$P2P" = "$RPC" ]; do P2P=$(free_port 127.80.0.1); done

# The playbook gives the gate itself, from its variables.
cat >node.yml <<YAML
name: node
vars: {references: [], within: 30}
steps:
  - directory: {path: '{{vars.root}}/{{host.name}}'}
  - name: the node runs
    shell:
      cmd: '$TEST_NODE --daemon --pidfile {{vars.root}}/{{host.name}}/pid --rpc {{host.address}}:{{vars.rpc}} --p2p {{host.address}}:{{vars.p2p}} --syncing {{vars.syncing}} --height {{vars.height}}'
      unless: 'kill -0 \$(cat {{vars.root}}/{{host.name}}/pid) 2>/dev/null'
health:
  - name: synced
    height:
      rpc: 'http://{{host.address}}:{{vars.rpc}}/api/v3'
      method: icx_getLastBlock
      field: result.height
      reference: '{{#vars.references}}{{.}} {{/vars.references}}'
      within: '{{vars.within}}'
    interval: 1
    timeout: 120
YAML

cat >topo.yml <<YAML
version: 1
name: height
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
vars:
  root: $ROOT
  rpc: $RPC
  p2p: $P2P
  syncing: 0
  height: 5100
  references: ['http://127.80.0.9:$DEAD/api/v3', 'http://127.80.0.9:$REF/api/v3']
roles:
  validator:
    hosts: [{name: h1, address: 127.80.0.1, port: $SSHD_PORT, vars: {syncing: 6}}]
    playbooks: [./node.yml]
    health:
      - name: near shape
        height:
          rpc: 'http://{{host.address}}:{{vars.rpc}}/status'
          field: sync_info.latest_block_height
          reference: 'http://127.80.0.9:$REF/status'
          within: 30
        timeout: 30
  laggard:
    hosts: [{name: h2, address: 127.80.0.2, port: $SSHD_PORT, vars: {syncing: -1}}]
    playbooks: [./node.yml]
    health:
      - name: synced
        height:
          rpc: 'http://{{host.address}}:{{vars.rpc}}/api/v3'
          method: icx_getLastBlock
          field: result.height
          reference: ['http://127.80.0.9:$REF/api/v3']
        interval: 1
        timeout: 4
  orphan:
    hosts: [{name: h3, address: 127.80.0.3, port: $SSHD_PORT}]
    playbooks: [./node.yml]
    vars: {references: ['http://127.80.0.9:$DEAD/api/v3', 'http://127.80.0.9:$HANG/api/v3']}
    health:
      - name: synced
        height:
          rpc: 'http://{{host.address}}:{{vars.rpc}}/api/v3'
          method: icx_getLastBlock
          field: result.height
          reference: '{{#vars.references}}{{.}} {{/vars.references}}'
        interval: 1
        timeout: 3
YAML

run "$DEPLOY" validate topo.yml
expect_rc 0 "validate"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up: two hosts never catch up"
# h1: lagging while it syncs, then within 30 blocks.
checks=$((checks + 1))
grep -q "^h1: \[handler 1/2\] health: synced: waiting: height [0-9]* vs reference [0-9]*$" "$TMP/out" ||
	fail "the progress shows the heights while h1 catches up"
# Both of h1's checks passed: 2 steps and 2 checks.
checks=$((checks + 1))
grep -q "^h1: ok (2 ok, 2 changed) in " "$TMP/out" ||
	fail "h1 passes both checks once caught up"
# h2 never catches up: the host, the check and the last values.
checks=$((checks + 1))
grep -q "^h2: failed: health: synced: still failing after [0-9]*s: last height 1 vs reference [0-9]*$" "$TMP/out" ||
	fail "h2 fails with the check and the last heights"
# h3: no reference answers; the check does not pass on its own height.
checks=$((checks + 1))
grep -q "^h3: failed: health: synced: still failing after [0-9]*s: last height [0-9]* vs no reference (http://127.80.0.9:$DEAD/api/v3: .*; http://127.80.0.9:$HANG/api/v3: timed out)$" "$TMP/out" ||
	{ fail "h3 fails: no reference answered (one refused, one timed out)"; grep "^h3:" "$TMP/out" >&2; }

# A second up: h1 changes nothing and passes again.
cat >one.yml <<YAML
$(sed -n '1,/^  laggard:/p' topo.yml | sed '$d')
YAML
run "$DEPLOY" up --yes one.yml
expect_rc 0 "second up"
checks=$((checks + 1))
grep -q "^h1: ok (4 ok, 0 changed)" "$TMP/out" ||
	{ fail "the gate passes again, nothing changed"; cat "$TMP/out" >&2; }
finish
