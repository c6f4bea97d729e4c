#!/bin/sh
# plan, up and down --json on real local hosts: every line of stdout is an
# event that docs/events.schema.json accepts (version line first, summary
# last), a failing host and the host it skips are reported as such, human
# lines go to stderr, and no secret's value is in any event.
. "$TESTLIB"
: "${TEST_TOOL:?}"

local_setup t0506 248

T0506_TOKEN=tok_t0506_Vd93kq0Zr81
export T0506_TOKEN
mkdir -p pb
cat >pb/good.yml <<'EOF'
name: good
steps:
  - name: a secret file
    file: {path: /etc/t0506.token, content: "{{secrets.token}}", mode: "0600"}
  - name: a plain file
    file: {path: /etc/t0506.conf, content: "role = {{role.name}}\n"}
  - name: kernel
    command: uname -r
    changed: false
EOF
cat >pb/broken.yml <<'EOF'
name: broken
steps:
  - name: fails with the secret in its command
    shell: {cmd: "echo {{secrets.token}} >&2; exit 3"}
EOF
local_topology admin <<EOF
secrets: {token: {env: T0506_TOKEN}}
roles:
  good: {playbooks: [./pb/good.yml]}
  broken: {playbooks: [./pb/broken.yml]}
  after-broken: {after: [broken], playbooks: [./pb/good.yml]}
EOF

# check_events FILE WHAT: every line valid, the version line first.
check_events() {
	checks=$((checks + 1))
	python3 - "$SRCDIR/docs/events.schema.json" "$1" <<'PY' || fail "$2: events do not match the schema"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
lines = open(sys.argv[2]).read().splitlines()
assert lines, "no events"
for n, l in enumerate(lines, 1):
    o = json.loads(l)
    errs = list(v.iter_errors(o))
    assert not errs, "line %d: %s: %s" % (n, l, errs[0].message)
assert json.loads(lines[0])["type"] == "version", lines[0]
PY
	checks=$((checks + 1))
	if grep -q "$T0506_TOKEN" "$1"; then
		fail "$2: an event holds the secret's value"
	fi
}

# events FILE TYPE [KEY=VALUE...]: the events of TYPE with those values,
# one line each as "key=value ..." in a stable order.
events() {
	python3 - "$@" <<'PY'
import json, sys
f, t, want = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
for l in open(f):
    o = json.loads(l)
    if o["type"] != t or any(str(o.get(k)) != v for k, v in want.items()):
        continue
    print(" ".join("%s=%s" % (k, o[k]) for k in sorted(o) if k not in ("type", "duration_ms")))
PY
}

# --- plan --------------------------------------------------------------------

run "$DEPLOY" plan --json topo.yml
expect_rc 2 "plan --json with hosts to create"
check_events "$TMP/out" "plan"
events "$TMP/out" planned_change >got
cat >expected <<'EOF'
action=create kind=host name=good-0 provider=local role=good
action=create kind=host name=broken-0 provider=local role=broken
action=create kind=host name=after-broken-0 provider=local role=after-broken
EOF
expect_same expected got "plan: the hosts to create"

# --- up: one host fails, the one after it is skipped ---------------------------

run "$DEPLOY" up --yes --json --diff topo.yml
expect_rc 1 "up --json --diff with a failing host"
cp "$TMP/out" up.json
cp "$TMP/err" up.err
check_events up.json "up"
checks=$((checks + 1))
python3 - up.json <<'PY' || fail "up: the order of events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
t = [e["type"] for e in ev]
assert t[0] == "version" and ev[0]["command"] == "up", ev[0]
assert t[-1] == "summary", ev[-1]
assert t.index("change_summary") < t.index("resource") < t.index("host_start"), t
for h in ("good-0", "broken-0", "after-broken-0"):
    st = [i for i, e in enumerate(ev) if e["type"] == "resource" and e["name"] == h]
    assert [ev[i]["phase"] for i in st] == ["start", "done"], (h, st)
PY
events up.json summary >got
echo "check=False command=up created=3 destroyed=0 exit=1 hosts=3 hosts_failed=1 hosts_ok=1 hosts_skipped=1 kept=0 steps_changed=2" >expected
expect_same expected got "up: the summary"
events up.json host_done >got
cat >expected <<'EOF'
changed=0 failed=1 host=broken-0 message=broken: fails with the secret in its command: failed (a step that uses a secret shows no message) ok=0 role=broken status=failed
changed=0 failed=0 host=after-broken-0 message=dependency failed (broken) ok=0 role=after-broken status=skipped
changed=2 failed=0 host=good-0 ok=1 role=good status=ok
EOF
LC_ALL=C sort expected >expected.sorted
LC_ALL=C sort got >got.sorted
expect_same expected.sorted got.sorted "up: each host's end"
events up.json step host=good-0 >got
cat >expected <<'EOF'
check=False diff_hidden=token handler=False host=good-0 index=1 kind=file name=good: a secret file of=3 role=good status=changed
check=False diff=--- /etc/t0506.conf
+++ /etc/t0506.conf
@@ -0,0 +1 @@
+role = good
 handler=False host=good-0 index=2 kind=file name=good: a plain file of=3 role=good status=changed
check=False handler=False host=good-0 index=3 kind=command name=good: kernel of=3 role=good status=ok
EOF
expect_same expected got "up: good-0's steps"
events up.json step host=broken-0 >got
echo "check=False handler=False host=broken-0 index=1 kind=shell message=broken: fails with the secret in its command: failed (a step that uses a secret shows no message) name=broken: fails with the secret in its command of=1 role=broken status=failed" >expected
expect_same expected got "up: broken-0's failed step"
checks=$((checks + 1))
grep -q "^3 hosts: 1 ok, 1 failed, 1 skipped; 2 steps changed$" up.err ||
	fail "up: the human summary is not on stderr"

# Again, with the broken role fixed: nothing to create, 0 changed.
printf 'name: broken\nsteps:\n  - command: "true"\n    changed: false\n' >pb/broken.yml
run "$DEPLOY" up --yes --json topo.yml
expect_rc 0 "up --json again"
check_events "$TMP/out" "up again"
events "$TMP/out" summary >got
echo "check=False command=up created=0 destroyed=0 exit=0 hosts=3 hosts_failed=0 hosts_ok=3 hosts_skipped=0 kept=3 steps_changed=2" >expected
expect_same expected got "up again: the summary (after-broken-0 ran its first time)"

# --- down --------------------------------------------------------------------

run "$DEPLOY" down --yes --json topo.yml
expect_rc 0 "down --json"
check_events "$TMP/out" "down"
events "$TMP/out" resource phase=done >got
cat >expected <<'EOF'
action=destroy kind=host name=after-broken-0 phase=done provider=local role=after-broken
action=destroy kind=host name=broken-0 phase=done provider=local role=broken
action=destroy kind=host name=good-0 phase=done provider=local role=good
EOF
LC_ALL=C sort got >got.sorted
expect_same expected got.sorted "down: each host destroyed"
events "$TMP/out" summary >got
echo "check=False command=down created=0 destroyed=3 exit=0 kept=0" >expected
expect_same expected got "down: the summary"
checks=$((checks + 1))
grep -q "^Destroyed 3 resources of '$name'.$" "$TMP/err" ||
	fail "down: the human lines are not on stderr"

finish
