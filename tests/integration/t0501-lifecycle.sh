#!/bin/sh
# plan / up / down / status / output on real local hosts: exact plans,
# idempotent up, counts lowered and raised, a host deleted behind deploy's
# back, confirmation, the lock, a corrupt state, and nothing left after down.
. "$TESTLIB"
: "${TEST_TOOL:?}"

local_setup t0501 251
# stop_holder: end the flock and the sleep that holds the lock, by PID.
stop_holder() {
	[ -n "${holder:-}" ] || return 0
	for p in $(ps -o pid= --ppid "$holder") $holder; do
		kill "$p" 2>/dev/null
	done
	wait "$holder" 2>/dev/null
	holder=
}
cleanup_first() {
	stop_holder
	"$TEST_TOOL" local down "$name" "$subnet" web-0 web-1 web-2 db-0 >/dev/null 2>&1
}
topology() { # topology WEB_COUNT [with-db]
	local_topology <<EOF
roles:
  web: {count: $1${2:+, after: [db]}}
EOF
	[ -n "${2:-}" ] && echo "  db: {}" >>topo.yml
	return 0
}

topology 2 with-db
run "$DEPLOY" plan topo.yml
expect_rc 2 "plan with changes"
cat >expected <<'EOF'
+ create local host web-0
+ create local host web-1
+ create local host db-0
Plan: 3 to create, 0 to destroy, 0 unchanged.
EOF
expect_same expected "$TMP/out" "first plan"

run "$DEPLOY" plan --json topo.yml
expect_rc 2 "plan --json"
checks=$((checks + 1))
python3 - "$TMP/out" <<'EOF' || fail "plan --json lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["type"] == "version" and lines[0]["ui"] == 1, lines[0]
changes = [l for l in lines if l["type"] == "planned_change"]
assert [c["name"] for c in changes] == ["web-0", "web-1", "db-0"], changes
assert all(c["action"] == "create" and c["provider"] == "local" for c in changes)
assert lines[-1] == {"type": "change_summary", "create": 3, "destroy": 0, "keep": 0, "unrecorded": 0, "shared": 0, "drift": 0}, lines[-1]
EOF

# --limit: only the hosts named (roles stand for all their hosts).
run "$DEPLOY" plan --limit db,web-1 topo.yml
expect_rc 2 "plan --limit"
printf '%s\n' "+ create local host web-1" "+ create local host db-0" \
	"Plan: 2 to create, 0 to destroy, 0 unchanged." >expected
expect_same expected "$TMP/out" "plan --limit db,web-1"
run "$DEPLOY" plan --limit dbb topo.yml
expect_rc 64 "plan --limit with an unknown name"
expect_line "$TMP/err" "deploy: --limit: unknown role or host 'dbb' (did you mean 'db'?)" "--limit hint"

# Without a terminal and without --yes: refused, nothing made.
run "$DEPLOY" up topo.yml </dev/null
expect_rc 1 "up without confirmation"
expect_line "$TMP/err" "deploy: not changing anything without a confirmation: run on a terminal, or pass --yes" "confirmation message"
checks=$((checks + 1))
[ -e ".deploy/$name.state.json" ] && fail "state written without confirmation"

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
# db before web: web comes after db
expect_line "$TMP/out" "+ creating local host db-0" "db created"
checks=$((checks + 1))
[ "$(grep -n 'creating local host db-0' "$TMP/out" | cut -d: -f1)" -lt \
  "$(grep -n 'creating local host web-0' "$TMP/out" | cut -d: -f1)" ] || fail "db-0 before web-0"
expect_line "$TMP/out" "Up: 3 created, 0 destroyed, 0 unchanged." "up summary"
checks=$((checks + 1))
[ "$(stat -c %a ".deploy/$name.state.json")" = 600 ] || fail "state mode 0600"

run "$DEPLOY" plan topo.yml
expect_rc 0 "plan after up"
expect_line "$TMP/out" "Plan: 0 to create, 0 to destroy, 3 unchanged." "converged plan"
cp ".deploy/$name.state.json" state-before
run "$DEPLOY" up topo.yml
expect_rc 0 "up on a converged fleet"
expect_line "$TMP/out" "Nothing to do: 3 hosts up to date." "nothing to do"
expect_same state-before ".deploy/$name.state.json" "converged up writes no state"

run "$DEPLOY" status topo.yml
expect_rc 0 "status"
checks=$((checks + 1))
[ "$(grep -c ' yes ' "$TMP/out")" -eq 3 ] || fail "every host answers SSH: $(cat "$TMP/out")"
run "$DEPLOY" output --json topo.yml
expect_rc 0 "output --json"
checks=$((checks + 1))
python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert sorted(h["name"] for h in o["roles"]["web"]) == ["web-0", "web-1"]
assert all(h["address"].startswith("10.231.251.") for r in o["roles"].values() for h in r)
' "$TMP/out" || fail "output --json"

# The hosts are real: log in with the key and the host key deploy pinned.
addr=$(local_address web-0)
python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["hosts"]["web-0"]; print(h["address"], " ".join(h["host_key"].split()[:2]))' ".deploy/$name.state.json" >known_hosts
run ssh -i "$TMP/id" -o UserKnownHostsFile=known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes "root@$addr" hostname
expect_rc 0 "ssh with the pinned key"
expect_line "$TMP/out" "web-0" "web-0 answers as itself"

# A host deleted behind deploy's back is created again, saying why.
"$TEST_TOOL" local down "$name" "$subnet" web-1 >/dev/null
run "$DEPLOY" plan topo.yml
expect_rc 2 "plan after an outside delete"
expect_line "$TMP/out" "+ create local host web-1 (it is in the state but gone at provider 'local': deleted outside deploy?)" "outside delete reason"

# A host that exists but that the state lost: reported, never made twice,
# recorded with --adopt.
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up before losing a record"
python3 - ".deploy/$name.state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["resources"] = [r for r in s["resources"] if r["name"] != "web-0"]
del s["hosts"]["web-0"]
json.dump(s, open(sys.argv[1], "w"))
PY
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 2 "plan with an unrecorded host"
expect_line "$TMP/out" "! unrecorded local host web-0 (exists at provider 'local' but not in the state: 'deploy up --adopt' records it)" "unrecorded host reported"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up refuses while a host is unrecorded"
expect_line "$TMP/err" "deploy: hosts exist at a provider but not in the state (the '!' lines): run 'deploy up --adopt' to record them; nothing was changed" "refusal message"
run "$DEPLOY" up --yes --adopt topo.yml
expect_rc 0 "up --adopt"
expect_line "$TMP/out" "+ create local host web-0 (found at provider 'local' but not in the state: adopted)" "adopted"
census_web0=$(ps -eo args | grep -c "^systemd-nspawn .*/$name/web-0/root")
checks=$((checks + 1))
[ "$census_web0" -eq 1 ] || fail "web-0 runs once after adoption, not $census_web0 times"
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 0 "converged after adoption"

# Raise the count, then lower it: the highest-numbered hosts go.
topology 3 with-db
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with count 3"
expect_line "$TMP/out" "Up: 1 created, 0 destroyed, 3 unchanged." "web-2 added"
topology 1 with-db
run "$DEPLOY" plan topo.yml
expect_line "$TMP/out" "- destroy local host web-1 (not in the topology any more)" "web-1 to go"
expect_line "$TMP/out" "- destroy local host web-2 (not in the topology any more)" "web-2 to go"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with count 1"
# Removing a role destroys its hosts.
topology 1
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up without db"
expect_line "$TMP/out" "- destroying local host db-0" "db-0 destroyed"
expect_line "$TMP/out" "Up: 0 created, 1 destroyed, 1 unchanged." "role removed"

# The lock: a second run fails at once, naming the holder.
flock ".deploy/$name.lock" sleep 600 &
holder=$!
i=0
while flock -n ".deploy/$name.lock" true && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up while locked"
checks=$((checks + 1))
grep -q "another deploy holds the lock" "$TMP/err" || fail "lock message: $(cat "$TMP/err")"
run "$DEPLOY" down --yes --lock-timeout 1 topo.yml
expect_rc 1 "down while locked, after waiting"
checks=$((checks + 1))
grep -q -- "--lock-timeout passed" "$TMP/err" || fail "lock timeout message"
stop_holder

# A corrupt state is refused and left as it is.
cp ".deploy/$name.state.json" good-state
printf '{"version": 1, "lin' >".deploy/$name.state.json"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "corrupt state"
checks=$((checks + 1))
grep -q "state file is corrupt (not a JSON object): deploy will not use or overwrite it" "$TMP/err" || fail "corrupt message: $(cat "$TMP/err")"
checks=$((checks + 1))
[ "$(cat ".deploy/$name.state.json")" = '{"version": 1, "lin' ] || fail "corrupt state left as it was"
cp good-state ".deploy/$name.state.json"

# protect: down keeps the role's hosts unless --include-protected.
sed -i 's/^  web: {count: 1}$/  web: {count: 1, protect: true}/' topo.yml
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down of a protected role"
expect_line "$TMP/out" "= keep local host web-0 (role 'web' is protected (protect or static_ip): kept unless --include-protected)" "the protected host is kept"
expect_line "$TMP/out" "Nothing to destroy: the state of '$name' holds no resource that is not protected." "nothing else to destroy"
pid=$(cat "$local_dir/$name/web-0/pid")
run "$DEPLOY" down --yes --include-protected topo.yml
expect_rc 0 "down --include-protected"
# Down returned once web-0's systemd-nspawn was gone (by its pid; kill -0
# sees a zombie too).
checks=$((checks + 1))
if kill -0 "$pid" 2>/dev/null; then
	fail "systemd-nspawn $pid still there after deploy down returned: $(ps -o stat=,args= -p "$pid")"
fi
expect_line "$TMP/out" "Destroyed 1 resource of '$name'." "down summary"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down again"
expect_line "$TMP/out" "Nothing to destroy: the state of '$name' holds no resource." "down again says so"
expect_local_gone
finish
