#!/bin/sh
# --diff (plan --diff, up --diff): file, template and line steps that would
# change a file send its unified diff as "diff" markers, exactly, in check
# mode and in a real run, and write nothing in check mode; a step whose
# content holds a secret sends none; unchanged files and other kinds send
# nothing; without --diff nothing changes.

. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

T0406_TOKEN=tok_t0406_4kQz91
export T0406_TOKEN
{
	printf 'version: 1\nname: t\n'
	printf 'ssh: {admin_cidrs: [203.0.113.7/32]}\n'
	printf 'providers: {ssh: {}}\n'
	printf 'vars:\n  root: %s\n  port: 8080\n' "$ROOT"
	printf 'secrets: {token: {env: T0406_TOKEN}}\n'
	printf 'roles:\n  node:\n    hosts: [{name: h, address: 127.0.0.1}]\n'
} >"$TMP/topo.yml"

printf 'listen {{vars.port}};\nname {{host.name}};\n' >site.mustache
cat >diff.yml <<'EOF2'
name: d
steps:
  - name: content
    file: {path: "{{vars.root}}/app.conf", content: "a = 1\nb = 3\nc = 3\n"}
  - name: template
    file: {path: "{{vars.root}}/site.conf", template: site.mustache}
  - name: line
    line: {path: "{{vars.root}}/hosts", line: "10.0.0.2 validator", regexp: "^10\\.0\\.0\\.2[[:space:]]"}
  - name: new line file
    line: {path: "{{vars.root}}/new.list", line: "one", create: true}
  - name: secret
    file: {path: "{{vars.root}}/token", content: "token={{secrets.token}}\n"}
  - name: same
    file: {path: "{{vars.root}}/same.conf", content: "same\n"}
  - name: a command
    command: "true"
EOF2

setup_root() {
	rm -rf "$ROOT" && mkdir -p "$ROOT"
	printf 'a = 1\nb = 2\nc = 3\n' >"$ROOT/app.conf"
	printf 'listen 80;\nname h;\n' >"$ROOT/site.conf"
	printf '127.0.0.1 localhost\n10.0.0.2 old-name\n' >"$ROOT/hosts"
	printf 'token=old\n' >"$ROOT/token"
	printf 'same\n' >"$ROOT/same.conf"
}

expected_markers() { # MODE: check or apply
	cat <<EOF
start 7 0 $1
begin 1/7 d: content
1/7 diff --- $ROOT/app.conf
1/7 diff +++ $ROOT/app.conf
1/7 diff @@ -1,3 +1,3 @@
1/7 diff  a = 1
1/7 diff -b = 2
1/7 diff +b = 3
1/7 diff  c = 3
1/7 changed content
begin 2/7 d: template
2/7 diff --- $ROOT/site.conf
2/7 diff +++ $ROOT/site.conf
2/7 diff @@ -1,2 +1,2 @@
2/7 diff -listen 80;
2/7 diff +listen 8080;
2/7 diff  name h;
2/7 changed content
begin 3/7 d: line
3/7 diff --- $ROOT/hosts
3/7 diff +++ $ROOT/hosts
3/7 diff @@ -1,2 +1,2 @@
3/7 diff  127.0.0.1 localhost
3/7 diff -10.0.0.2 old-name
3/7 diff +10.0.0.2 validator
3/7 changed edited
begin 4/7 d: new line file
4/7 diff --- $ROOT/new.list
4/7 diff +++ $ROOT/new.list
4/7 diff @@ -0,0 +1 @@
4/7 diff +one
4/7 changed created
begin 5/7 d: secret
5/7 changed
begin 6/7 d: same
6/7 ok
begin 7/7 d: a command
7/7 changed ran
end ok
EOF
}

pb_compile ./diff.yml --diff
IFS='|'
for shell in $SHELLS; do
	unset IFS
	setup_root
	tree_state "$ROOT" >before
	pb_run "$shell" --check
	expect_rc 0 "$shell: check run with --diff"
	expected_markers check >want
	expect_same want "$TMP/markers" "$shell: the diffs in check mode"
	tree_state "$ROOT" >after
	expect_same before after "$shell: check mode with --diff writes nothing"
	pb_run "$shell"
	expect_rc 0 "$shell: run with --diff"
	expected_markers apply >want
	expect_same want "$TMP/markers" "$shell: the diffs of a real run"
	checks=$((checks + 1))
	if grep -q "$T0406_TOKEN" "$TMP/out" "$TMP/markers"; then
		fail "$shell: the secret is in the markers"
	fi
	# Again: nothing changes, no diff.
	pb_run "$shell" --check
	checks=$((checks + 1))
	if grep -q ' diff ' "$TMP/markers"; then
		fail "$shell: a diff for files that are right"
	fi
	IFS='|'
done
unset IFS

# Without --diff: no diff marker.
pb_compile ./diff.yml
setup_root
pb_run sh --check
checks=$((checks + 1))
if grep -q ' diff ' "$TMP/markers"; then
	fail "diff markers without --diff"
fi
expect_line "$TMP/script.sh" "DP_DIFF=0" "the script says DP_DIFF=0"

finish
