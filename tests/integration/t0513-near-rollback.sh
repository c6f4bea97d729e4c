#!/bin/sh
# A rolling upgrade with rollback on real local hosts (systemd-nspawn):
# three near-node hosts with serial: 1 and on_failure: rollback run the
# stand-in node "2.3.0" (served to deploy from a loopback HTTP server);
# plan shows the per-host artifact change to "2.4.0"; the new release is
# downloaded by the hosts themselves (fetch: host) from an HTTP server on
# the bridge, checked by its digest there; it never syncs on the 2nd
# host: the 1st runs 2.4.0, the 2nd is rolled back to 2.3.0 (its previous
# binary, kept as neard.prev) and restarted, the 3rd is untouched, up
# exits 1 naming the host, the check and the last value, and the state
# records where the rollout stopped and what each host runs.
. "$TESTLIB"
: "${TEST_NODE:?}"
local_setup t0513 233
local_home
PIDS=
cleanup_first() {
	# shellcheck disable=SC2086 # a list of PIDs
	stop_pids $PIDS
}

# serve DIR ADDR: an HTTP server for DIR on ADDR; its port in $PORT.
serve() {
	PORT=$(python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$2")
	(cd "$1" && exec python3 -m http.server "$PORT" --bind "$2") \
		>>"$TMP/http.log" 2>&1 &
	PIDS="$PIDS $!"
	python3 - "$2" "$PORT" <<'PY' || fail "the HTTP server on $2 did not start"
import socket, sys, time
end = time.time() + 10
while True:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()
        break
    except OSError:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.05)
PY
}

mkdir -p srv newsrv
cp "$TEST_NODE" srv/neard-2.3.0
printf '\nDEPLOY_TEST_NODE name=2.3.0 syncing=2 height=100\n' >>srv/neard-2.3.0
cp "$TEST_NODE" newsrv/neard-2.4.0
printf '\nDEPLOY_TEST_NODE name=2.4.0 syncing=2 height=100 stuck_on=rpc-1\n' >>newsrv/neard-2.4.0
OLD=$(sha256sum <srv/neard-2.3.0 | cut -d' ' -f1)
NEW=$(sha256sum <newsrv/neard-2.4.0 | cut -d' ' -f1)
serve srv 127.0.0.1
OLD_URL=http://127.0.0.1:$PORT/neard-2.3.0

topology() { # topology NEARD_ENTRY
	local_topology <<EOF
network: localnet
artifacts:
  neard: $1
roles:
  rpc:
    count: 3
    serial: 1
    on_failure: rollback
    playbooks: [near-node]
    vars: {near_sysctl_apply: false}
    health:
      - {name: synced, http: "http://127.0.0.1:3030/status", field: sync_info.syncing, equals: false, interval: 1, timeout: 10}
      - {name: neard health, http: "http://127.0.0.1:3030/health", interval: 1, timeout: 10}
EOF
}

topology "{url: \"$OLD_URL\", sha256: $OLD, version: 2.3.0}"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with 2.3.0"
checks=$((checks + 1))
grep -q "^3 hosts: 3 ok, 0 failed, 0 skipped; [0-9]* steps changed$" "$TMP/out" ||
	fail "three hosts up"

# version RPC-N: what that host's neard says in /status.
version() {
	"$DEPLOY" run --limit "$1" topo.yml -- python3 -c "'import json, urllib.request as u; print(json.load(u.urlopen(\"http://127.0.0.1:3030/status\"))[\"version\"][\"version\"])'"
}

# 2.4.0, downloaded by the hosts from the bridge.
serve newsrv "$bridge"
NEW_URL=http://$bridge:$PORT/neard-2.4.0
topology "{url: \"$NEW_URL\", sha256: $NEW, version: 2.4.0, fetch: host}"
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 2 "plan sees the artifact change"
for h in rpc-0 rpc-1 rpc-2; do
	expect_line "$TMP/out" "~ $h: near-node: neard 2.3.0 → 2.4.0, restart" "plan: $h's artifact change"
done
run "$DEPLOY" plan --json --no-steps topo.yml
expect_rc 2 "plan --json sees the artifact change"
for h in rpc-0 rpc-1 rpc-2; do
	checks=$((checks + 1))
	python3 - "$TMP/out" "$h" "$OLD" "$NEW" <<'PY' || fail "plan --json: $h's artifact_change event"
import json, sys
path, host, old, new = sys.argv[1:]
events = [json.loads(l) for l in open(path)]
want = {"type": "artifact_change", "host": host, "role": "rpc",
        "playbook": "near-node", "artifact": "neard", "from": "2.3.0",
        "to": "2.4.0", "from_sha256": old, "to_sha256": new, "restart": True,
        "text": "~ %s: near-node: neard 2.3.0 \u2192 2.4.0, restart" % host}
assert want in events, events
assert events[-1]["type"] == "change_summary" and events[-1]["artifacts"] == 3, events[-1]
PY
done
checks=$((checks + 1))
[ ! -e "$HOME/.cache/deploy/artifacts/$NEW" ] || fail "fetch: host: the operator's cache does not hold it"

run "$DEPLOY" up --yes topo.yml
expect_rc 1 "the rollout stops at rpc-1"
cat "$TMP/out" >up.out
checks=$((checks + 1))
grep -q "^3 hosts: 1 ok, 1 failed, 1 skipped; [0-9]* steps changed$" "$TMP/out" ||
	fail "rollout summary"
checks=$((checks + 1))
grep -q "^rpc-1: failed: health: synced: still failing after [0-9]*s: last sync_info.syncing true; rolled back: the previous artifact is back (1 file(s)) and restarted$" "$TMP/out" ||
	{ fail "rpc-1: the check, the last value, the rollback"; cat "$TMP/out" >&2; }
checks=$((checks + 1))
grep -q "^rpc-2: skipped: not started: the rollout (serial 1) stopped at rpc-1$" "$TMP/out" ||
	fail "rpc-2 is not started"
expect_no_match "$HOME/.cache/deploy/artifacts" "$NEW" "still not in the operator's cache"
checks=$((checks + 1))
grep -q "^10\.231\.233\.[0-9]* .*GET /neard-2.4.0 .* 200 " "$TMP/http.log" ||
	fail "the hosts downloaded 2.4.0 themselves: $(cat "$TMP/http.log")"

version rpc-0 >v
expect_line v "rpc-0: 2.4.0" "rpc-0 runs the new version"
version rpc-1 >v
expect_line v "rpc-1: 2.3.0" "rpc-1 is rolled back to the old version"
version rpc-2 >v
expect_line v "rpc-2: 2.3.0" "rpc-2 is untouched"
run "$DEPLOY" run topo.yml -- "sha256sum /usr/local/bin/neard /usr/local/bin/neard.prev | cut -d' ' -f1 | tr '\n' ' '"
expect_line "$TMP/out" "rpc-0: $NEW $OLD " "rpc-0: the new binary, the old one kept as neard.prev"
expect_line "$TMP/out" "rpc-1: $OLD $OLD " "rpc-1: the old binary back"
run "$DEPLOY" run --limit rpc-1 topo.yml -- systemctl is-active neard
expect_line "$TMP/out" "rpc-1: active" "rpc-1's neard runs again"

# The state: where the rollout stopped, what each host runs.
python3 - ".deploy/$name.state.json" >st <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["hosts"]
for n in ("rpc-0", "rpc-1", "rpc-2"):
    e = h[n]
    a = e.get("artifacts", {}).get("neard", {})
    print(n, e.get("last_status"), a.get("version"), e.get("last_message") or "-")
PY
expect_line st "rpc-0 ok 2.4.0 -" "state: rpc-0 ok, 2.4.0"
checks=$((checks + 1))
grep -q "^rpc-1 failed 2.3.0 health: synced: still failing after [0-9]*s: last sync_info.syncing true; rolled back: the previous artifact is back (1 file(s)) and restarted$" st ||
	{ fail "state: rpc-1 failed (where the rollout stopped), still 2.3.0"; cat st >&2; }
expect_line st "rpc-2 skipped 2.3.0 not started: the rollout (serial 1) stopped at rpc-1" "state: rpc-2 skipped, 2.3.0"

# plan now: rpc-1 and rpc-2 still to upgrade, rpc-0 done.
run "$DEPLOY" plan --no-steps topo.yml
expect_no_match "$TMP/out" "~ rpc-0:" "rpc-0 has 2.4.0"
expect_line "$TMP/out" "~ rpc-1: near-node: neard 2.3.0 → 2.4.0, restart" "rpc-1 still to upgrade"

# Bad values, at their place.
cat >bad.yml <<'EOF'
version: 1
name: bad
artifacts:
  a: {url: "file:///x", sha256: 0000000000000000000000000000000000000000000000000000000000000000, fetch: hots, version: "2 4"}
roles:
  r:
    provider: ssh
    hosts: [{name: x, address: 192.0.2.1}]
    on_failure: rolback
EOF
run "$DEPLOY" validate bad.yml
expect_rc 1 "validate bad values"
expect_line "$TMP/err" "bad.yml:4:106: error: artifacts.a.fetch 'hots' is not one of operator, host (did you mean 'host'?)" "fetch"
expect_line "$TMP/err" "bad.yml:4:121: error: artifacts.a.version must be a version without blanks, at most 64 characters (2.4.0)" "version"
expect_line "$TMP/err" "bad.yml:9:17: error: roles.r.on_failure 'rolback' is not one of stop, rollback (did you mean 'rollback'?)" "on_failure"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
