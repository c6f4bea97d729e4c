#!/bin/sh
# Playbooks are checked as the topology is: every problem at its
# file:line:col, unknown keys with a "did you mean"; the built-ins pass; a
# role's playbook names resolve, or say why not.

. "$TESTLIB"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

# --- the built-in playbooks are valid -------------------------------------

run "$TEST_TOOL" playbook-validate "$SRCDIR/playbooks/harden.yml" \
	"$SRCDIR/playbooks/firewall.yml"
expect_rc 0 "built-in playbooks"
expect_line "$TMP/out" "$SRCDIR/playbooks/harden.yml: harden: 21 steps, 3 handlers" "harden"
expect_line "$TMP/out" "$SRCDIR/playbooks/firewall.yml: firewall: 4 steps, 1 handlers" "firewall"

# --- every problem, each at its place --------------------------------------

cat >bad.yml <<'EOF2'
name: web
vars: {port: 8080, 2bad: x}
steps:
  - name: config
    file: {path: etc/nginx.conf, contnet: x}
    notify: reload ngnix
  - name: two kinds
    shell: echo "{{vars.port}}"
    command: echo b
  - name: when
    apt: {packages: [nginx]}
    when: port > 80
handlers:
  - name: reload nginx
    service: {name: nginx, state: reloaded}
EOF2
run "$TEST_TOOL" playbook-validate bad.yml
expect_rc 1 "a bad playbook"
cat >expected <<'EOF2'
bad.yml:2:20: error: variable name '2bad' is not a valid name: use letters, digits and '_', not starting with a digit
bad.yml:5:18: error: steps[0].file.path 'etc/nginx.conf' must be an absolute path
bad.yml:5:34: error: unknown key 'contnet' in steps[0].file (did you mean 'content'?)
bad.yml:6:13: error: steps[0].notify: no handler named 'reload ngnix' (did you mean 'reload nginx'?)
bad.yml:8:12: error: steps[1].shell: a template tag inside quotes: values arrive quoted already; remove the quotes around it
bad.yml:9:5: error: steps[1] has two kinds, 'shell' and 'command': a step does one thing; split it in two
bad.yml:12:11: error: steps[2].when 'port > 80': expected NAME, 'not NAME', NAME == 'value' or NAME != 'value' (no 'and' or 'or': give a list of conditions, all of which must hold)
EOF2
expect_same expected "$TMP/err" "every problem at its file:line:col"

# --- a YAML error stops at once -------------------------------------------

printf 'name: x\nsteps: [\n' >broken.yml
run "$TEST_TOOL" playbook-validate broken.yml
expect_rc 1 "broken YAML"
expect_no_match "$TMP/out" "steps" "broken YAML loads nothing"

# --- resolving a role's playbooks -------------------------------------------

cat >topo.yml <<'EOF2'
version: 1
name: t
ssh: {admin_cidrs: [203.0.113.7/32]}
providers: {local: {}}
sources: {ops: {git: "https://example.com/ops.git"}}
roles:
  a: {playbooks: [hardne]}
  b: {playbooks: [ops/node.yml]}
  c: {playbooks: [./missing.yml]}
  d: {playbooks: [firewall], firewall: [{port: 9000, from: [a]}]}
EOF2
run "$TEST_TOOL" playbook-compile --topology topo.yml --host a-0
expect_rc 1 "unknown built-in"
expect_line "$TMP/err" "deploy-test-tool: unknown built-in playbook 'hardne' (did you mean 'harden'?)" "did you mean harden"
run "$TEST_TOOL" playbook-compile --topology topo.yml --host b-0
expect_rc 1 "SOURCE/PATH"
expect_line "$TMP/err" "deploy-test-tool: playbook 'ops/node.yml': source 'ops' was not fetched" "the test tool fetches no sources"
run "$TEST_TOOL" playbook-compile --topology topo.yml --host c-0
expect_rc 1 "missing file"
expect_line "$TMP/err" "deploy-test-tool: ./missing.yml: cannot read: No such file or directory" "missing playbook file"

# The firewall needs addresses: a created host's is not known before it is.
run "$TEST_TOOL" playbook-compile --topology topo.yml --host d-0 \
	--address d-0=10.0.0.4
expect_rc 1 "firewall without addresses"
expect_line "$TMP/err" "deploy-test-tool: $SRCDIR/templates/nftables.conf.mustache:6:1: missing variable 'firewall.flush_ruleset' (the firewall rules of host 'd-0' cannot be built: the address of host 'a-0' is not known yet)" "why the firewall cannot be built"
run "$TEST_TOOL" playbook-compile --topology topo.yml --host d-0 \
	--address d-0=10.0.0.4 --address a-0=10.0.0.2
expect_rc 0 "firewall with addresses"
expect_line "$TMP/out" "_dp_main \"\$@\"" "the script ends with its one call"

# --- each playbook of a run is judged by its own errors ---------------------

cat >good.yml <<'EOF2'
name: good
steps:
  - file: {path: /etc/x, content: x}
EOF2
cat >bad2.yml <<'EOF2'
name: bad2
steps:
  - apt: {packages: [nginx], colour: red}
EOF2
cat >run.yml <<'EOF2'
version: 1
name: t
ssh: {admin_cidrs: [203.0.113.7/32]}
providers: {ssh: {}}
roles:
  a:
    provider: ssh
    hosts: [{name: a-0, address: 127.0.0.1}]
    playbooks: [./broken.yml, ./good.yml, ./bad2.yml]
  b:
    provider: ssh
    hosts: [{name: b-0, address: 127.0.0.1}]
    playbooks: [./good.yml]
EOF2
run "$DEPLOY" up --yes run.yml
expect_rc 1 "a run with bad playbooks"
expect_line "$TMP/err" "./broken.yml:3:1: error: invalid YAML: did not find expected node content (while parsing a flow node at line 3, column 1)" "the first one's error, at its place"
expect_line "$TMP/err" "./bad2.yml:3:30: error: unknown key 'colour' in steps[0].apt" "the second bad playbook's own error"
expect_no_match "$TMP/err" "': invalid" "a valid playbook after a bad one is not called invalid"
expect_no_match "$TMP/err" "good.yml" "good.yml is not named at all"
expect_line "$TMP/err" "deploy: nothing was created or changed" "nothing was run"

# --- changed: false is for shell and command steps, and never notifies ------

cat >changed.yml <<'EOF2'
name: ro
steps:
  - name: kernel
    command: uname -r
    changed: false
  - name: a file
    file: {path: /etc/x, content: x}
    changed: false
  - name: notifies
    shell: sha256sum /etc/x
    changed: false
    notify: h
  - name: not a boolean
    shell: "true"
    changed: nope
handlers:
  - name: h
    shell: "true"
EOF2
run "$TEST_TOOL" playbook-validate changed.yml
expect_rc 1 "changed: misplaced"
cat >expected <<'EOF2'
changed.yml:8:5: error: steps[1]: 'changed' applies to shell and command steps only; the other kinds report changes themselves
changed.yml:12:5: error: steps[2]: a step with 'changed: false' never changes, so it would never notify; remove one of the two
changed.yml:15:14: error: steps[3].changed must be true or false, not a string ('nope')
EOF2
expect_same expected "$TMP/err" "changed: false where it means nothing"

# A playbook's health: checks are checked as a role's are.
cat >health.yml <<'EOF2'
name: p
steps: []
health:
  - {height: {rpc: ftp://x, field: h}}
  - {tcp: 1, command: x}
  - name: synced
    height: {rpc: "http://127.0.0.1:9000/api/v3", field: result.height, reference: "{{vars.refs}}", within: many}
EOF2
run "$TEST_TOOL" playbook-validate health.yml
expect_rc 1 "health: bad checks"
cat >expected <<'EOF2'
health.yml:4:14: error: missing key 'reference' in health[0].height (e.g. 'reference: [https://ctz.solidwallet.io/api/v3]')
health.yml:4:20: error: health[0].height.rpc 'ftp://x' is not an http:// or https:// URL
health.yml:5:5: error: health[1] needs exactly one of 'http: URL', 'tcp: HOST:PORT', 'command: CODE' or 'height: {...}'
health.yml:7:109: error: health[2].height.within must be a number of blocks, 0 to 1000000000
EOF2
expect_same expected "$TMP/err" "a playbook's health checks, at their place"

finish
