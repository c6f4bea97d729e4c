#!/bin/sh
# file, directory, line and sysctl steps, run for real under $ROOT with dash
# and with bash --posix: the first run changes, the second changes nothing,
# check mode changes nothing at all (the tree is byte for byte the same),
# and hostile values end up in files literally, never run.

. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

pb_topology \
	"  greeting: \"hello \$(touch $TMP/pwned) \`touch $TMP/pwned2\` it's \\\"q\\\"\\nline2\"" \
	"  somaxconn: 4096" \
	"  oneline: \"\$(touch $TMP/pwned3) 'q' \`touch $TMP/pwned4\`\""

mkdir -p files
printf 'binary\000bytes\377\n' >files/blob.bin
cat >hosts.mustache <<'EOF2'
# hosts of role node
{{#roles.node.hosts}}
{{address}} {{name}}
{{/roles.node.hosts}}
{{> footer}}
EOF2
printf '# end of {{host.name}}\n' >footer.mustache
cat >files.yml <<'EOF2'
name: files
vars: {mode: "0640"}
steps:
  - name: app directory
    directory: {path: "{{vars.root}}/etc/app", mode: "0750", owner: root, group: "0"}
  - name: config from content
    file:
      path: "{{vars.root}}/etc/app/app.conf"
      content: "greeting = {{vars.greeting}}\n"
      mode: "{{vars.mode}}"
  - name: config from a template
    file: {path: "{{vars.root}}/etc/app/hosts.conf", template: hosts.mustache}
  - name: a file copied as it is
    file: {path: "{{vars.root}}/etc/app/blob.bin", src: files/blob.bin, mode: "0600"}
  - name: an old file goes
    file: {path: "{{vars.root}}/etc/app/old.conf", state: absent}
  - name: hosts line
    line: {path: "{{vars.root}}/etc/hosts", line: "10.0.0.2 validator", regexp: "^10\\.0\\.0\\.2[[:space:]]"}
  - name: comments go
    line: {path: "{{vars.root}}/etc/hosts", regexp: "^#", state: absent}
  - name: a new file with one line
    line: {path: "{{vars.root}}/etc/new.list", line: "{{vars.oneline}}", create: true}
  - name: sysctl.d
    directory: {path: "{{vars.root}}/etc/sysctl.d"}
  - name: kernel settings file
    sysctl:
      file: "{{vars.root}}/etc/sysctl.d/60-t.conf"
      settings: {vm.swappiness: 10, net.core.somaxconn: "{{vars.somaxconn}}"}
      apply: false
  - name: through a symlink
    file: {path: "{{vars.root}}/etc/link.conf", content: "linked\n"}
EOF2

# The tree before the first run.
setup_root() {
	rm -rf "$ROOT" "$NOTIFY"
	mkdir -p "$ROOT/etc/app"
	printf 'old\n' >"$ROOT/etc/app/old.conf"
	printf '127.0.0.1 localhost\n# a comment\n10.0.0.2 old-name\n' \
		>"$ROOT/etc/hosts"
	printf 'real\n' >"$ROOT/etc/real.conf"
	ln -s real.conf "$ROOT/etc/link.conf"
}

pb_compile ./files.yml
# The script is valid sh before anything runs.
run sh -n "$TMP/script.sh"
expect_rc 0 "sh -n"

first_run="start 11 0 apply
begin 1/11 files: app directory
1/11 changed mode 750
begin 2/11 files: config from content
2/11 changed content
begin 3/11 files: config from a template
3/11 changed content
begin 4/11 files: a file copied as it is
4/11 changed content
begin 5/11 files: an old file goes
5/11 changed removed
begin 6/11 files: hosts line
6/11 changed edited
begin 7/11 files: comments go
7/11 changed edited
begin 8/11 files: a new file with one line
8/11 changed created
begin 9/11 files: sysctl.d
9/11 changed created
begin 10/11 files: kernel settings file
10/11 changed content
begin 11/11 files: through a symlink
11/11 changed content
end ok"

IFS='|'
for shell in $SHELLS; do
	unset IFS
	setup_root
	tree_state "$ROOT" >before

	# Check mode: every change reported, none made.
	pb_run "$shell" --check
	expect_rc 0 "$shell: check run"
	printf '%s\n' "$first_run" | sed '1s/apply/check/;
		s|^10/11 changed content$|10/11 changed content (its directory is missing now)|' \
		>expected
	expect_same expected "$TMP/markers" "$shell: check mode reports every change"
	tree_state "$ROOT" >after
	expect_same before after "$shell: check mode leaves the tree as it was"
	checks=$((checks + 1))
	[ ! -e "$NOTIFY" ] || fail "$shell: check mode made $NOTIFY"

	# The first run.
	pb_run "$shell"
	expect_rc 0 "$shell: first run"
	printf '%s\n' "$first_run" >expected
	expect_same expected "$TMP/markers" "$shell: first run changes"

	printf 'greeting = hello $(touch %s/pwned) `touch %s/pwned2` it'"'"'s "q"\nline2\n' \
		"$TMP" "$TMP" >want
	expect_same want "$ROOT/etc/app/app.conf" "$shell: hostile value written literally"
	checks=$((checks + 1))
	if ls "$TMP"/pwned* >/dev/null 2>&1; then
		fail "$shell: a value was run as a command"
	fi
	printf '# hosts of role node\n127.0.0.1 h\n# end of h\n' >want
	expect_same want "$ROOT/etc/app/hosts.conf" "$shell: template and partial"
	expect_same files/blob.bin "$ROOT/etc/app/blob.bin" "$shell: src copied byte for byte"
	printf '127.0.0.1 localhost\n10.0.0.2 validator\n' >want
	expect_same want "$ROOT/etc/hosts" "$shell: line replaced, comments gone"
	printf '$(touch %s/pwned3) '"'q'"' `touch %s/pwned4`\n' "$TMP" "$TMP" >want
	expect_same want "$ROOT/etc/new.list" "$shell: a hostile line written literally"
	printf '# Written by deploy (playbook files); changes here are overwritten.\nvm.swappiness = 10\nnet.core.somaxconn = 4096\n' >want
	expect_same want "$ROOT/etc/sysctl.d/60-t.conf" "$shell: sysctl file"
	printf 'linked\n' >want
	expect_same want "$ROOT/etc/real.conf" "$shell: the link's target written"
	checks=$((checks + 1))
	[ -L "$ROOT/etc/link.conf" ] || fail "$shell: the link was replaced"
	stat -c '%a %U %G' "$ROOT/etc/app" "$ROOT/etc/app/app.conf" \
		"$ROOT/etc/app/blob.bin" "$ROOT/etc/app/hosts.conf" >got
	printf '750 root root\n640 root root\n600 root root\n644 root root\n' >want
	expect_same want got "$shell: modes"
	checks=$((checks + 1))
	if ls -a "$ROOT/etc" "$ROOT/etc/app" | grep -q '^\.deploy\.'; then
		fail "$shell: a temporary file was left"
	fi

	# The second run: nothing to do; nor in check mode.
	tree_state "$ROOT" >before
	pb_run "$shell"
	expect_rc 0 "$shell: second run"
	checks=$((checks + 1))
	[ "$(changed_count)" -eq 0 ] || fail "$shell: the second run changed something"
	expect_line "$TMP/markers" "2/11 ok" "$shell: an unchanged file is ok"
	pb_run "$shell" --check
	checks=$((checks + 1))
	[ "$(changed_count)" -eq 0 ] || fail "$shell: check mode after a run reports changes"
	tree_state "$ROOT" >after
	expect_same before after "$shell: runs after the first change nothing"

	# Drift: only what drifted changes back.
	chmod 644 "$ROOT/etc/app/app.conf"
	printf 'edited by hand\n' >>"$ROOT/etc/app/hosts.conf"
	pb_run "$shell"
	expect_line "$TMP/markers" "2/11 changed mode 640" "$shell: mode drift"
	expect_line "$TMP/markers" "3/11 changed content" "$shell: content drift"
	checks=$((checks + 1))
	[ "$(changed_count)" -eq 2 ] || fail "$shell: drift changed more than it should"
	IFS='|'
done
unset IFS

# --- validate: a file that fails its check never stays --------------------

cat >validate.yml <<'EOF2'
name: validate
vars: {word: bad}
steps:
  - name: checked file
    file:
      path: "{{vars.root}}/v.conf"
      content: "{{vars.word}}\n"
      validate: grep -qx good {{vars.root}}/v.conf
  - name: after
    file: {path: "{{vars.root}}/after", content: x}
EOF2
rm -rf "$ROOT" && mkdir -p "$ROOT"
printf 'good\n' >"$ROOT/v.conf"
pb_compile ./validate.yml
pb_run sh
expect_rc 1 "a failed validation fails the run"
expect_markers "a failed validation puts the old file back" \
	"start 2 0 apply" \
	"begin 1/2 validate: checked file" \
	"1/2 failed validation failed (exit status 1); the previous file is back" \
	"end failed"
printf 'good\n' >want
expect_same want "$ROOT/v.conf" "the previous content is back"
checks=$((checks + 1))
[ ! -e "$ROOT/after" ] || fail "a step after the failed one ran"
# A new file that fails its check is removed.
rm "$ROOT/v.conf"
pb_run sh
expect_rc 1 "a new file failing validation"
checks=$((checks + 1))
[ ! -e "$ROOT/v.conf" ] || fail "a new file that failed validation stayed"
checks=$((checks + 1))
if ls -a "$ROOT" | grep -q '^\.deploy\.'; then
	fail "validation left a temporary file"
fi

# --- errors in the tree ---------------------------------------------------

cat >errors.yml <<'EOF2'
name: errors
steps:
  - name: no directory
    file: {path: "{{vars.root}}/nope/x", content: x}
EOF2
pb_compile ./errors.yml
pb_run sh
expect_rc 1 "a missing directory"
expect_line "$TMP/markers" "1/1 failed its directory does not exist" "a missing directory is said"

finish
