#!/bin/sh
# Health gates on real sshd hosts running the stand-in node
# (tests/helper/deploy-test-node), pushed as an artifact from a local HTTP
# server: up waits through the node's syncing period before the role's
# dependents start (the sentry sees /health 200, never 503), every kind of
# check passes (http status, JSON field equals and at_least, a JSON-RPC
# POST, tcp, command), and a second up changes nothing. A serial: 1
# rollout whose 2nd host never syncs stops there: exit 1, the host, the
# check and the last value named, the 3rd host untouched.
. "$TESTLIB"
. "$SSHDLIB"
: "${TEST_NODE:?}"
unset XDG_CACHE_HOME

ROOT=$TMP/root
# The nodes the hosts start are killed by their PID files, then the rest.
stop_nodes() {
	for _p in "$ROOT"/*/pid; do
		[ -f "$_p" ] && kill "$(cat "$_p")" 2>/dev/null
	done
	sshd_cleanup
}
trap stop_nodes EXIT

sshd_setup 64
for i in 1 2 3 4 5 6; do
	sshd_start "h$i" "127.64.0.$i"
done

mkdir -p srv "$ROOT"
HTTP_PORT=$(free_port 127.64.0.1)
(cd srv && exec python3 -m http.server "$HTTP_PORT" --bind 127.64.0.1) \
	>"$TMP/http.log" 2>&1 &
echo $! >>"$SSHD_DIR/pids"
python3 - "$HTTP_PORT" <<'PY' || fail "the HTTP server did not start"
import socket, sys, time
end = time.time() + 10
while True:
    try:
        socket.create_connection(("127.64.0.1", int(sys.argv[1])), 1).close()
        break
    except OSError:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.05)
PY
cp "$TEST_NODE" srv/node
NODE_SHA=$(sha256sum <srv/node | cut -d' ' -f1)
RPC=$(free_port 127.64.0.1)
P2P=$(free_port 127.64.0.1)
while [ "$P2P" = "$RPC" ]; do P2P=$(free_port 127.64.0.1); done

cat >node.yml <<'YAML'
name: node
steps:
  - directory: {path: '{{vars.root}}/{{host.name}}'}
  - name: the node binary
    artifact: {name: node, dest: '{{vars.root}}/{{host.name}}/node', mode: '0755'}
  - name: the node runs
    shell:
      cmd: '{{vars.root}}/{{host.name}}/node --daemon --pidfile {{vars.root}}/{{host.name}}/pid --rpc {{host.address}}:{{vars.rpc}} --p2p {{host.address}}:{{vars.p2p}} --syncing {{vars.syncing}} --height 500'
      unless: 'kill -0 $(cat {{vars.root}}/{{host.name}}/pid) 2>/dev/null'
YAML
cat >sentry.yml <<'YAML'
name: sentry
steps:
  - name: what the validator answers now
    shell: |
      python3 -c 'import sys, urllib.request as u, urllib.error as e
      try: print(u.urlopen(sys.argv[1], timeout=5).status)
      except e.HTTPError as x: print(x.code)' http://{{vars.validator}}:{{vars.rpc}}/health >{{vars.root}}/sentry-saw
YAML

head() { # head NAME
	cat <<YAML
version: 1
name: $1
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
vars: {root: $ROOT, rpc: $RPC, p2p: $P2P, syncing: 0, validator: 127.64.0.1}
artifacts:
  node: {url: "http://127.64.0.1:$HTTP_PORT/node", sha256: $NODE_SHA}
YAML
}

head health >topo.yml
cat >>topo.yml <<YAML
roles:
  validator:
    hosts: [{name: h1, address: 127.64.0.1, port: $SSHD_PORT, vars: {syncing: 4}}]
    playbooks: [./node.yml]
    health:
      - {http: 'http://{{host.address}}:{{vars.rpc}}/health', interval: 1, timeout: 120}
      - name: synced
        http: 'http://{{host.address}}:{{vars.rpc}}/status'
        field: sync_info.syncing
        equals: false
        interval: 1
        timeout: 120
      - {tcp: '{{host.address}}:{{vars.p2p}}', timeout: 30}
      - http: 'http://{{host.address}}:{{vars.rpc}}/api/v3'
        body: '{"jsonrpc": "2.0", "method": "icx_getLastBlock", "id": 1}'
        field: result.height
        at_least: 500
        timeout: 30
      - {command: 'test -x {{vars.root}}/{{host.name}}/node', timeout: 10}
  sentry:
    after: [validator]
    hosts: [{name: h2, address: 127.64.0.2, port: $SSHD_PORT}]
    playbooks: [./sentry.yml]
YAML

run "$DEPLOY" validate topo.yml
expect_rc 0 "validate"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up waits for the validator's gate"
expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 4 steps changed" "up summary"
expect_line "$ROOT/sentry-saw" "200" "the sentry started after the validator was healthy"
expect_line "$TMP/out" "h1: [handler 1/5] health: http http://{{host.address}}:{{vars.rpc}}/health: waiting: status 503" "progress shows what the waiting check sees"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "h1: ok (8 ok, 0 changed) in $(sed -n 's/^h1: ok (8 ok, 0 changed) in \(.*\)$/\1/p' "$TMP/out")" "the gate passes again, nothing changed"

# A serial rollout: the 2nd host never syncs.
head rollout >roll.yml
cat >>roll.yml <<YAML
roles:
  fleet:
    serial: 1
    hosts:
      - {name: h3, address: 127.64.0.3, port: $SSHD_PORT}
      - {name: h4, address: 127.64.0.4, port: $SSHD_PORT, vars: {syncing: -1}}
      - {name: h5, address: 127.64.0.5, port: $SSHD_PORT}
    playbooks: [./node.yml]
    health:
      - name: synced
        http: 'http://{{host.address}}:{{vars.rpc}}/status'
        field: sync_info.syncing
        equals: false
        interval: 1
        timeout: 3
YAML
run "$DEPLOY" up --yes roll.yml
expect_rc 1 "the rollout stops"
expect_line "$TMP/out" "3 hosts: 1 ok, 1 failed, 1 skipped; 6 steps changed" "rollout summary"
checks=$((checks + 1))
grep -q "^h4: failed: health: synced: still failing after [0-9]*s: last sync_info.syncing true$" "$TMP/out" ||
	{ fail "the failed host, check and last value named"; cat "$TMP/out" >&2; }
expect_line "$TMP/out" "h4: [handler 1/1] health: synced: waiting: sync_info.syncing true" "the value observed while waiting"
checks=$((checks + 1))
grep -q "^h5: skipped: not started: the rollout (serial 1) stopped at h4$" "$TMP/out" ||
	{ fail "the 3rd host is not started"; cat "$TMP/out" >&2; }
checks=$((checks + 1))
[ ! -e "$ROOT/h5" ] || fail "h5 untouched"
# The state says where the rollout stopped.
python3 - .deploy/rollout.state.json >"$TMP/st" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["hosts"]
for n in ("h3", "h4", "h5"):
    e = h.get(n, {})
    print(n, e.get("last_status", "-"), e.get("last_message", "-"))
PY
expect_line "$TMP/st" "h3 ok -" "state: h3 ok"
checks=$((checks + 1))
grep -q "^h4 failed health: synced: still failing after [0-9]*s: last sync_info.syncing true$" "$TMP/st" ||
	{ fail "state: h4 failed, with the check and the value"; cat "$TMP/st" >&2; }
expect_line "$TMP/st" "h5 - -" "state: h5 was never touched"
checks=$((checks + 1))
[ -x "$ROOT/h3/node" ] || fail "h3 has the node"

# A check that would carry a secret is refused before any host is touched,
# and the secret's value is shown nowhere.
head secret >sec.yml
cat >>sec.yml <<YAML
secrets: {token: {env: T0611_TOKEN}}
roles:
  fleet:
    hosts: [{name: h6, address: 127.64.0.6, port: $SSHD_PORT}]
    playbooks: [./node.yml]
    health:
      - {command: 'test {{secrets.token}} = x'}
YAML
T0611_TOKEN=s3cr3t-t0611 run "$DEPLOY" up --yes sec.yml
expect_rc 1 "a secret in a health check"
expect_line "$TMP/err" "error: host 'h6': sec.yml:14:19: roles.fleet.health.command holds a secret: a health check is shown in progress and logs" "refused, at its place"
expect_no_match "$TMP/out" "s3cr3t-t0611" "the secret is not in the output"
expect_no_match "$TMP/err" "s3cr3t-t0611" "nor in the errors"
checks=$((checks + 1))
[ ! -e "$ROOT/h6" ] || fail "h6 untouched"
checks=$((checks + 1))
! grep -rqs "s3cr3t-t0611" .deploy || fail "the secret is in .deploy"

# Bad health entries fail validate at their place.
cat >bad.yml <<'YAML'
version: 1
name: bad
roles:
  r:
    provider: ssh
    hosts: [{name: x, address: 192.0.2.1}]
    health:
      - {http: 'http://127.0.0.1:3030/status', field: sync_info.syncing}
      - {tcp: 'localhost', command: true}
      - {command: 'true', status: 200}
      - {http: 'http://127.0.0.1:3030/', intervall: 1}
YAML
run "$DEPLOY" validate bad.yml
expect_rc 1 "validate bad health"
expect_line "$TMP/err" "bad.yml:8:55: error: roles.r.health[0].field needs exactly one of 'equals', 'at_least' or 'at_most'" "field without comparison"
expect_line "$TMP/err" "bad.yml:9:9: error: roles.r.health[1] needs exactly one of 'http: URL', 'tcp: HOST:PORT', 'command: CODE' or 'height: {...}'" "two kinds"
expect_line "$TMP/err" "bad.yml:10:35: error: roles.r.health[2].status is for http checks" "status on a command"
expect_line "$TMP/err" "bad.yml:11:42: error: unknown key 'intervall' in roles.r.health[3] (did you mean 'interval'?)" "unknown key"
finish
