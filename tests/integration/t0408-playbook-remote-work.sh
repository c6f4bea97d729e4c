#!/bin/sh
# The work a script does on the host: what the steps read at once (one
# sha256sum and one stat for all the files; runtime.sh, _dp_look) is read
# again once a step has changed something or run code, so a step after it
# never goes by stale digests; line steps decided by the shell itself agree
# with awk; and a converged host costs a known, small number of commands
# (counted through wrappers on PATH, never timed), with dash and with
# bash --posix.

. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

pb_topology

# Wrappers that log each command they stand for, then run it.
WRAP=$TMP/wrap
mkdir -p "$WRAP"
for c in sha256sum stat mkdir mv cp rmdir chmod chown chgrp awk base64 \
	mktemp readlink; do
	real=$(command -v "$c") || continue
	printf '#!/bin/sh\necho %s >>"%s"\nexec %s "$@"\n' "$c" "$TMP/calls" \
		"$real" >"$WRAP/$c"
	chmod +x "$WRAP/$c"
done

# wrun SHELL [ARGS]: pb_run with the wrappers first on PATH; the commands
# the script ran, one a line, in $TMP/calls.
wrun() {
	: >"$TMP/calls"
	STUBS=$WRAP pb_run "$@"
}

# --- stale digests ---------------------------------------------------------

cat >stale.yml <<'EOF2'
name: stale
steps:
  - name: dir
    directory: {path: "{{vars.root}}/etc", mode: "0755"}
  - name: first
    file: {path: "{{vars.root}}/etc/a.conf", content: "one\n", mode: "0644"}
  - name: read-only in name only
    shell: "echo spoiled > {{vars.root}}/etc/b.conf"
    changed: false
  - name: b
    file: {path: "{{vars.root}}/etc/b.conf", content: "b\n", mode: "0644"}
  - name: a again
    file: {path: "{{vars.root}}/etc/a.conf", content: "two\n", mode: "0600"}
EOF2
pb_compile ./stale.yml

IFS='|'
for shell in $SHELLS; do
	unset IFS
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	pb_run "$shell"
	expect_rc 0 "$shell: stale: first run"
	pb_run "$shell"
	expect_rc 0 "$shell: stale: second run"
	expect_markers "$shell: a step after a change or after code reads again" \
		"start 5 0 apply" \
		"begin 1/5 stale: dir" "1/5 ok" \
		"begin 2/5 stale: first" "2/5 changed content" \
		"begin 3/5 stale: read-only in name only" "3/5 ok" \
		"begin 4/5 stale: b" "4/5 changed content" \
		"begin 5/5 stale: a again" "5/5 changed content" \
		"end ok"
	printf 'two\n' >want
	expect_same want "$ROOT/etc/a.conf" "$shell: the last step's content"
	printf 'b\n' >want
	expect_same want "$ROOT/etc/b.conf" "$shell: rewritten after the command"
	[ "$(stat -c %a "$ROOT/etc/a.conf")" = 600 ] ||
		fail "$shell: a.conf mode $(stat -c %a "$ROOT/etc/a.conf")"
	checks=$((checks + 1))
	if ls -a "$ROOT/etc" | grep -q '^\.deploy'; then
		fail "$shell: a temporary file or directory was left behind"
	fi
	checks=$((checks + 1))
done

# --- line steps: the shell and awk agree -----------------------------------

# Each case: the file before, the step's state, line and regexp, the file
# after. A plain regexp is read by the shell; "^k[=]" only by awk.
cat >cases <<'EOF2'
k=1\nx\nk=2\n|present|k=2|^k=|k=1\nx\nk=2\n
k=2\nx\nk=1\n|present|k=2|^k=|k=2\nx\nk=2\n
a\nb\n|present|k=2|^k=|a\nb\nk=2\n
a\nk=2\n|present|k=2||a\nk=2\n
a\nk=2|present|k=2||a\nk=2\n
a\n|present|k=2||a\nk=2\n
\n|present|k=2|k=$|\nk=2\n
xk=2\nk=1\n|absent||k=|
xk=2\nk=1\n|absent||^k=|xk=2\n
a\nb\n|absent||^k=|a\nb\n
a b\nk=2\n|absent|a b||k=2\n
EOF2
cat >line.yml <<'EOF2'
name: line
vars: {state: present, line: "", re: ""}
steps:
  - line:
      path: "{{vars.root}}/f"
      state: "{{vars.state}}"
      line: "{{vars.line}}"
      regexp: "{{vars.re}}"
EOF2
# line.yml's state is a template: compile each case with its own vars.
IFS='|'
for shell in $SHELLS; do
	unset IFS
	for engine in shell awk; do
		while IFS='|' read -r before state line re after; do
			[ "$engine" = awk ] && [ -n "$re" ] &&
				re=$(printf '%s' "$re" | sed 's/=/[=]/')
			sed -e "s|{{vars.state}}|$state|" \
				-e "s|\"{{vars.line}}\"|'$line'|" \
				-e "s|\"{{vars.re}}\"|'$re'|" line.yml >l.yml
			[ -n "$re" ] || sed -i '/regexp:/d' l.yml
			[ -n "$line" ] || sed -i '/line: /d' l.yml
			pb_compile ./l.yml
			rm -rf "$ROOT"
			mkdir -p "$ROOT"
			printf "$before" >"$ROOT/f"
			pb_run "$shell"
			expect_rc 0 "$shell $engine: $before $state $line $re"
			printf "$after" >want
			expect_same want "$ROOT/f" "$shell $engine: '$before' $state '$line' '$re'"
		done <cases
	done
done

# --- what a converged host costs -------------------------------------------

cat >many.yml <<'EOF2'
name: many
steps:
  - name: dir
    directory: {path: "{{vars.root}}/etc", mode: "0755"}
  - file: {path: "{{vars.root}}/etc/1.conf", content: "1\n", mode: "0644"}
  - file: {path: "{{vars.root}}/etc/2.conf", content: "2\n", mode: "0640"}
  - shell: {cmd: "echo base > {{vars.root}}/etc/base.conf", creates: "{{vars.root}}/etc/base.conf"}
  - line: {path: "{{vars.root}}/etc/base.conf", line: "k=v", regexp: "^k="}
  - file: {path: "{{vars.root}}/etc/3.conf", content: "3\n", mode: "0644"}
  - sysctl:
      file: "{{vars.root}}/etc/60-t.conf"
      settings: {vm.swappiness: 10}
      apply: false
  - file: {path: "{{vars.root}}/etc/4.conf", content: "4\n"}
EOF2
pb_compile ./many.yml

IFS='|'
for shell in $SHELLS; do
	unset IFS
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	wrun "$shell"
	expect_rc 0 "$shell: many: first run"
	[ "$(changed_count)" = 8 ] || fail "$shell: many: $(changed_count) changed"
	checks=$((checks + 1))
	# Nothing is read that is not there; each new file costs its rename
	# (mode 0644 and 0640 come from the umask, not chmod), the line one
	# copy; one directory for the new files, made and removed.
	sort "$TMP/calls" | uniq -c | sed 's/^ *//' >got
	printf '%s\n' "1 cp" "2 mkdir" "6 mv" "1 rmdir" >want
	expect_same want got "$shell: the commands of a first run"

	wrun "$shell"
	expect_rc 0 "$shell: many: second run"
	[ "$(changed_count)" = 0 ] || fail "$shell: many: re-run changed"
	checks=$((checks + 1))
	sort "$TMP/calls" | uniq -c | sed 's/^ *//' >got
	printf '%s\n' "1 sha256sum" "1 stat" >want
	expect_same want got "$shell: a converged host: one sha256sum, one stat"

	wrun "$shell" --check
	expect_rc 0 "$shell: many: check run"
	sort "$TMP/calls" | uniq -c | sed 's/^ *//' >got
	expect_same want got "$shell: check mode reads as much"
done

finish
