#!/bin/sh
# shell and command steps (creates:, unless:, chdir:), downloads checked by
# SHA-256 from a local HTTP server, waits on TCP, HTTP and commands; the
# first failed step ends the run; a script cut short runs nothing.

. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# A web server for the downloads, stopped by its PID whatever happens.
mkdir -p www
printf 'tool version 1\n' >www/tool.bin
tool_sha=$(sha256sum <www/tool.bin | cut -d' ' -f1)
port=$(free_port)
closed=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$port" \
	>"$TMP/http.log" 2>&1 &
http_pid=$!
trap 'kill "$http_pid" 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
	i=$((i + 1))
	if [ "$i" -gt 600 ]; then
		echo "the test's web server did not start" >&2
		exit 1
	fi
	sleep 0.1
done

pb_topology \
	"  evil: \"\$(touch $TMP/pwned) \`touch $TMP/pwned2\` it's \\\"q\\\" ; touch $TMP/pwned3\\nline2\"" \
	"  spaced: \"copy of it\"" \
	"  port: $port" \
	"  closed: $closed" \
	"  tool_sha: $tool_sha"

cat >commands.yml <<'EOF2'
name: commands
steps:
  - name: a hostile value is one argument
    shell: printf '%s\n' {{vars.evil}} > {{vars.root}}/shell.out
  - name: creates
    shell:
      cmd: echo ran >> {{vars.root}}/creates.log && touch {{vars.root}}/made
      creates: "{{vars.root}}/made"
  - name: unless
    shell:
      cmd: echo ran >> {{vars.root}}/unless.log
      unless: grep -q ran {{vars.root}}/unless.log
  - name: argv with a hostile value
    command:
      argv: [sh, -c, 'printf "%s\n" "$1" > "$2"', sh, "{{vars.evil}}", "{{vars.root}}/argv.out"]
      creates: "{{vars.root}}/argv.out"
  - name: a value with blanks stays one word
    command:
      cmd: cp {{vars.root}}/shell.out {{vars.root}}/{{vars.spaced}}
      creates: "{{vars.root}}/{{vars.spaced}}"
  - name: chdir
    shell: {cmd: pwd > pwd.out, chdir: "{{vars.root}}", creates: "{{vars.root}}/pwd.out"}
  - name: bin
    directory: {path: "{{vars.root}}/bin"}
  - name: download
    download:
      url: http://127.0.0.1:{{vars.port}}/tool.bin
      sha256: "{{vars.tool_sha}}"
      dest: "{{vars.root}}/bin/tool"
      mode: "0755"
  - name: wait for a port
    wait: {port: "{{vars.port}}", timeout: 60, interval: 1}
  - name: wait for a URL
    wait: {url: "http://127.0.0.1:{{vars.port}}/tool.bin", timeout: 60}
  - name: wait for a 404
    wait: {url: "http://127.0.0.1:{{vars.port}}/nope", status: 404, timeout: 60}
  - name: wait for a command
    wait: {command: "test -e {{vars.root}}/made", timeout: 60, interval: 1}
EOF2

pb_compile ./commands.yml
IFS='|'
for shell in $SHELLS; do
	unset IFS
	rm -rf "$ROOT" && mkdir -p "$ROOT"
	tree_state "$ROOT" >before
	pb_run "$shell" --check
	expect_rc 0 "$shell: check run"
	tree_state "$ROOT" >after
	expect_same before after "$shell: check mode runs nothing"
	expect_line "$TMP/markers" "8/12 changed downloaded (its directory is missing now)" "$shell: a download would happen"
	expect_line "$TMP/markers" "12/12 skipped not ready now; would wait up to 60s" "$shell: check mode does not wait"

	pb_run "$shell"
	expect_rc 0 "$shell: first run"
	expect_markers "$shell: first run" \
		"start 12 0 apply" \
		"begin 1/12 commands: a hostile value is one argument" "1/12 changed ran" \
		"begin 2/12 commands: creates" "2/12 changed ran" \
		"begin 3/12 commands: unless" "3/12 changed ran" \
		"begin 4/12 commands: argv with a hostile value" "4/12 changed ran" \
		"begin 5/12 commands: a value with blanks stays one word" "5/12 changed ran" \
		"begin 6/12 commands: chdir" "6/12 changed ran" \
		"begin 7/12 commands: bin" "7/12 changed created" \
		"begin 8/12 commands: download" "8/12 changed downloaded" \
		"begin 9/12 commands: wait for a port" "9/12 ok" \
		"begin 10/12 commands: wait for a URL" "10/12 ok" \
		"begin 11/12 commands: wait for a 404" "11/12 ok" \
		"begin 12/12 commands: wait for a command" "12/12 ok" \
		"end ok"
	printf '%s\n' "\$(touch $TMP/pwned) \`touch $TMP/pwned2\` it's \"q\" ; touch $TMP/pwned3" line2 >want
	expect_same want "$ROOT/shell.out" "$shell: shell: the value written as it is"
	expect_same want "$ROOT/argv.out" "$shell: argv: the value written as it is"
	expect_same want "$ROOT/copy of it" "$shell: one word with blanks"
	checks=$((checks + 1))
	if ls "$TMP"/pwned* >/dev/null 2>&1; then
		fail "$shell: a value was run as a command"
	fi
	printf '%s\n' "$ROOT" >want
	expect_same want "$ROOT/pwd.out" "$shell: chdir"
	expect_same www/tool.bin "$ROOT/bin/tool" "$shell: downloaded"
	checks=$((checks + 1))
	[ "$(stat -c %a "$ROOT/bin/tool")" = 755 ] || fail "$shell: download mode"

	# Again: the guards hold, the download is there.
	pb_run "$shell"
	expect_rc 0 "$shell: second run"
	checks=$((checks + 1))
	[ "$(changed_count)" -eq 1 ] || fail "$shell: the second run changed more than the unguarded shell step"
	expect_line "$TMP/markers" "1/12 changed ran" "$shell: an unguarded shell step runs every time"
	printf 'ran\n' >want
	expect_same want "$ROOT/creates.log" "$shell: creates ran once"
	expect_same want "$ROOT/unless.log" "$shell: unless ran once"
	IFS='|'
done
unset IFS

# --- changed: false: a read-only step runs, reports ok, and still fails ----

cat >readonly.yml <<'EOF2'
name: readonly
steps:
  - name: kernel
    command: uname -r
    changed: false
  - name: checksum
    shell:
      cmd: echo ran >> {{vars.root}}/ro.log && sha256sum {{vars.root}}/ro.log
    changed: false
EOF2
rm -rf "$ROOT" && mkdir -p "$ROOT"
pb_compile ./readonly.yml
pb_run sh --check
expect_rc 0 "read-only steps in check mode"
expect_markers "check mode does not run a read-only step" \
	"start 2 0 check" \
	"begin 1/2 readonly: kernel" "1/2 ok read-only; not run in check mode" \
	"begin 2/2 readonly: checksum" "2/2 ok read-only; not run in check mode" \
	"end ok"
checks=$((checks + 1))
[ ! -e "$ROOT/ro.log" ] || fail "check mode ran a read-only step"
for i in 1 2; do
	pb_run sh
	expect_rc 0 "read-only steps, run $i"
	checks=$((checks + 1))
	[ "$(changed_count)" -eq 0 ] || fail "run $i: a read-only step counted as changed"
	expect_line "$TMP/markers" "1/2 ok" "run $i: uname -r is ok"
	expect_line "$TMP/err" "$(uname -r)" "run $i: uname -r ran"
done
printf 'ran\nran\n' >want
expect_same want "$ROOT/ro.log" "a read-only step runs on every run"

cat >rofail.yml <<'EOF2'
name: rofail
steps:
  - name: fails
    command: "false"
    changed: false
EOF2
pb_compile ./rofail.yml
pb_run sh
expect_rc 1 "a failing read-only step"
expect_line "$TMP/markers" "1/1 failed exit status 1" "a read-only step still fails"

# --- a download whose digest does not match leaves nothing ----------------

cat >mismatch.yml <<'EOF2'
name: mismatch
steps:
  - name: bad digest
    download:
      url: http://127.0.0.1:{{vars.port}}/tool.bin
      sha256: 0000000000000000000000000000000000000000000000000000000000000000
      dest: "{{vars.root}}/bin/new"
  - name: never
    file: {path: "{{vars.root}}/never", content: x}
EOF2
rm -rf "$ROOT" && mkdir -p "$ROOT/bin"
pb_compile ./mismatch.yml
pb_run sh
expect_rc 1 "a digest mismatch fails"
expect_markers "a digest mismatch says what came" \
	"start 2 0 apply" \
	"begin 1/2 mismatch: bad digest" \
	"1/2 failed sha256 mismatch: got $tool_sha; nothing kept" \
	"end failed"
checks=$((checks + 1))
[ -z "$(ls -A "$ROOT/bin")" ] || fail "a failed download left $(ls -A "$ROOT/bin")"
checks=$((checks + 1))
[ ! -e "$ROOT/never" ] || fail "a step after the failure ran"

# --- a wait that times out, and a failed command --------------------------

cat >timeout.yml <<'EOF2'
name: timeout
steps:
  - name: a closed port
    wait: {port: "{{vars.closed}}", timeout: 2, interval: 1}
EOF2
pb_compile ./timeout.yml
pb_run sh --check
expect_rc 0 "check mode does not wait"
expect_line "$TMP/markers" "1/1 skipped not ready now; would wait up to 2s" "a closed port in check mode"
pb_run "bash --posix"
expect_rc 1 "a wait that times out"
expect_line "$TMP/markers" "1/1 failed not ready after 2s" "a wait times out"

cat >failing.yml <<'EOF2'
name: failing
steps:
  - name: first
    command: "touch {{vars.root}}/first"
  - name: fails
    shell: echo "some output"; exit 3
  - name: third
    command: "touch {{vars.root}}/third"
EOF2
rm -rf "$ROOT" && mkdir -p "$ROOT"
pb_compile ./failing.yml
pb_run sh
expect_rc 1 "a failed command"
expect_markers "the host stops at its first failed step" \
	"start 3 0 apply" \
	"begin 1/3 failing: first" "1/3 changed ran" \
	"begin 2/3 failing: fails" "2/3 failed exit status 3" \
	"end failed"
checks=$((checks + 1))
[ ! -e "$ROOT/third" ] || fail "the step after the failure ran"
expect_line "$TMP/err" "some output" "a step's output goes to stderr"
checks=$((checks + 1))
if grep -v '^@@deploy ' "$TMP/out" | grep -q .; then
	fail "stdout holds more than markers"
fi

# --- a script cut short runs nothing --------------------------------------

head -c "$(($(wc -c <"$TMP/script.sh") - 20))" "$TMP/script.sh" >cut.sh
rm -rf "$ROOT" && mkdir -p "$ROOT"
run sh cut.sh
checks=$((checks + 1))
[ ! -s "$TMP/out" ] || fail "a cut script printed markers"
checks=$((checks + 1))
[ -z "$(ls -A "$ROOT")" ] || fail "a cut script ran steps"

finish
