#!/bin/sh
# loop: a step once per item, run for real under $ROOT with dash and bash
# --posix: config files from templates written beside the topology and a
# secret file, each its own step in the markers; the second run changes
# nothing; a changed template changes its one step and notifies. The
# secret's value is in no marker and no message. Bad items are errors at
# their file:line:col in the topology, before anything runs.

. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

KEY="t0409-key-$$-Zq9"
export T0409_KEY="$KEY"
mkdir -p conf
printf 'name = {{host.name}}\nport = {{item.port}}\n' >conf/a.mustache
printf 'peers = {{#roles.node.hosts}}{{name}} {{/roles.node.hosts}}\n' \
	>conf/b.mustache

# topology ITEMS_YAML: topo.yml with the two lists under vars.
topology() {
	{
		printf 'version: 1\nname: t\n'
		printf 'ssh: {admin_cidrs: [203.0.113.7/32]}\n'
		printf 'providers: {ssh: {}}\n'
		printf 'secrets: {key: {env: T0409_KEY}}\n'
		printf 'vars:\n  root: %s\n' "$ROOT"
		printf '%s\n' "$@"
		printf 'roles:\n  node:\n    hosts: [{name: h, address: 127.0.0.1}]\n'
	} >"$TMP/topo.yml"
}
topology \
	"  conf:" \
	"    - {path: $ROOT/a.conf, template: ./conf/a.mustache, port: 8088}" \
	"    - {path: $ROOT/b.conf, template: conf/b.mustache, mode: \"0600\"}" \
	"  keys: [{path: $ROOT/identity.key, secret: key}]"

cat >loop.yml <<'EOF2'
name: loop
vars: {conf: [], keys: []}
steps:
  - name: config file
    loop: "{{vars.conf}}"
    item:
      required: [path, template]
      defaults: {mode: "0640", owner: root, group: root, port: 0}
      files: [template]
    file:
      path: "{{item.path}}"
      template: "{{item.template}}"
      mode: "{{item.mode}}"
      owner: "{{item.owner}}"
      group: "{{item.group}}"
    notify: restart
  - name: secret file
    loop: "{{vars.keys}}"
    item: {required: [path, secret]}
    file: {path: "{{item.path}}", secret: "{{item.secret}}", mode: "0600"}
    notify: restart
handlers:
  - name: restart
    shell: echo restarted >>{{vars.root}}/restarts
EOF2

pb_compile "$TMP/loop.yml"
expect_no_match "$TMP/script.sh" "$KEY" "the secret travels in base64 only"
# A relative topology path, the playbook elsewhere: the templates are
# still the topology's.
mkdir -p "$TMP/pb"
cp "$TMP/loop.yml" "$TMP/pb/loop.yml"
(cd "$TMP" && "$TEST_TOOL" playbook-compile --topology topo.yml --host h \
	--playbook ./pb/loop.yml --nonce "$NONCE" --notify-dir "$NOTIFY" \
	>"$TMP/script2.sh" 2>"$TMP/err")
rc=$?
expect_rc 0 "compiled with a relative topology path"
expect_same "$TMP/script.sh" "$TMP/script2.sh" "the same script"
for shell in sh "bash --posix"; do
	rm -rf "$ROOT" "$NOTIFY"
	mkdir -p "$ROOT"
	pb_run "$shell"
	expect_rc 0 "$shell: first run"
	expect_markers "$shell: each item is its own step" \
		"start 3 1 apply" \
		"begin 1/3 loop: config file ($ROOT/a.conf)" "1/3 changed content" \
		"begin 2/3 loop: config file ($ROOT/b.conf)" "2/3 changed content" \
		"begin 3/3 loop: secret file ($ROOT/identity.key)" "3/3 changed" \
		"handler-begin 1/1 loop: restart" "handler 1/1 changed ran" \
		"end ok"
	expect_no_match "$TMP/out" "$KEY" "$shell: no secret in the markers"
	expect_no_match "$TMP/err" "$KEY" "$shell: no secret in stderr"
	checks=$((checks + 1))
	[ "$(stat -c '%a %U:%G' "$ROOT/a.conf" "$ROOT/b.conf" "$ROOT/identity.key" | tr '\n' ' ')" = \
		"640 root:root 600 root:root 600 root:root " ] ||
		fail "$shell: modes and owners: $(stat -c '%n %a %U:%G' "$ROOT"/*)"
	checks=$((checks + 1))
	[ "$(cat "$ROOT/a.conf")" = "$(printf 'name = h\nport = 8088')" ] ||
		fail "$shell: a.conf: $(cat "$ROOT/a.conf")"
	checks=$((checks + 1))
	[ "$(cat "$ROOT/identity.key")" = "$KEY" ] ||
		fail "$shell: the secret file holds the secret exactly"

	pb_run "$shell"
	expect_rc 0 "$shell: second run"
	checks=$((checks + 1))
	[ "$(changed_count)" -eq 0 ] || fail "$shell: second run changed: $(cat "$TMP/markers")"
done

# One template changes: its one step changes, and notifies.
printf 'name = {{host.name}}\nport = {{item.port}}\nnew = 1\n' >conf/a.mustache
pb_compile "$TMP/loop.yml"
pb_run sh
expect_rc 0 "after the template changed"
expect_line "$TMP/markers" "1/3 changed content" "the changed template's step"
expect_line "$TMP/markers" "2/3 ok" "the other config file"
expect_line "$TMP/markers" "handler 1/1 changed ran" "the handler ran"

# Bad items: errors at their place in the topology (line 8 is conf:),
# nothing compiled.
bad() {
	what=$1
	want=$2
	shift 2
	topology "$@"
	"$TEST_TOOL" playbook-compile --topology "$TMP/topo.yml" --host h \
		--playbook "$TMP/loop.yml" --nonce "$NONCE" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	expect_rc 1 "$what"
	expect_line "$TMP/err" "deploy-test-tool: $want" "$what"
	expect_no_match "$TMP/err" "$KEY" "$what: no secret in the error"
}
bad "an unknown key" \
	"$TMP/topo.yml:9:22: unknown key 'tempalte' in vars.conf[0] (did you mean 'template'?) (steps[0] loops over it)" \
	"  conf:" "    - {path: /etc/x, tempalte: ./conf/a.mustache}"
bad "a missing key" \
	"$TMP/topo.yml:9:7: missing key 'template' in vars.conf[0] (steps[0] loops over it and needs template)" \
	"  conf:" "    - {path: /etc/x}"
bad "not a list" \
	"$TMP/topo.yml:8:9: vars.conf is a mapping, not a list (steps[0] loops over it)" \
	"  conf: {path: /etc/x, template: ./conf/a.mustache}"
bad "an item that is not a mapping" \
	"$TMP/topo.yml:8:10: vars.conf[0] must be a mapping, not a string (steps[0] loops over it)" \
	"  conf: [/etc/x]"
bad "a missing template" \
	"$TMP/topo.yml:8:35: vars.conf[0].template: no such file './conf/nope.mustache' (relative to $TMP)" \
	"  conf: [{path: /etc/x, template: ./conf/nope.mustache}]"
bad "a secret the topology does not have" \
	"$TMP/loop.yml:20:43: steps[1].loop[0].file.secret: no secret 'nokey' (is it under 'secrets' in the topology, with its variable set or its file readable?)" \
	"  keys: [{path: /etc/x, secret: nokey}]"
finish
