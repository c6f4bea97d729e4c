#!/bin/sh
# Handlers run once at the end of a host's run, only when notified. A
# notification is a file under the notify directory, written as soon as
# the step changed: a failure later in the run keeps it, and the next run
# runs the handler even though nothing changes then. It goes only when
# the handler succeeded. Check mode neither writes nor removes one.

. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

cat >handlers.yml <<'EOF2'
name: handlers
vars: {fail: false, hfail: "no", skip_reload: false}
steps:
  - name: config
    file: {path: "{{vars.root}}/app.conf", content: "version {{vars.version}}\n"}
    notify: restart app
  - name: a step that may fail
    shell: exit 1
    when: fail
  - name: other config
    file: {path: "{{vars.root}}/other.conf", content: "x\n"}
    notify: [restart app, reload other]
handlers:
  - name: restart app
    shell: test {{vars.hfail}} = no && echo restart >> {{vars.root}}/restarts.log
  - name: reload other
    shell: echo reload >> {{vars.root}}/reloads.log
    when: not skip_reload
  - name: never notified
    shell: echo never >> {{vars.root}}/never.log
EOF2

FLAG=$NOTIFY/handlers.restart-app

# compile_with VARS...: host h's script with these variables.
compile_with() {
	pb_topology "$@"
	pb_compile ./handlers.yml
}

lines() {
	if [ -e "$1" ]; then
		wc -l <"$1"
	else
		echo 0
	fi
}

expect_count() {
	checks=$((checks + 1))
	got=$(lines "$1")
	[ "$got" -eq "$2" ] || fail "$3: $(basename "$1") has $got lines, expected $2"
}

# --- notified twice, run once --------------------------------------------

compile_with "  version: 1"
pb_run sh
expect_rc 0 "first run"
expect_markers "handlers run once each, in order, at the end" \
	"start 3 3 apply" \
	"begin 1/3 handlers: config" "1/3 changed content" \
	"begin 2/3 handlers: a step that may fail" "2/3 skipped when: fail" \
	"begin 3/3 handlers: other config" "3/3 changed content" \
	"handler-begin 1/3 handlers: restart app" "handler 1/3 changed ran" \
	"handler-begin 2/3 handlers: reload other" "handler 2/3 changed ran" \
	"end ok"
expect_count "$ROOT/restarts.log" 1 "restart app ran once"
expect_count "$ROOT/reloads.log" 1 "reload other ran once"
expect_count "$ROOT/never.log" 0 "a handler nobody notified"
checks=$((checks + 1))
[ -z "$(ls -A "$NOTIFY")" ] || fail "notifications left after their handlers ran: $(ls "$NOTIFY")"

pb_run sh
expect_rc 0 "second run"
checks=$((checks + 1))
if grep -q '^handler' "$TMP/markers"; then
	fail "a handler ran without a notification"
fi
expect_count "$ROOT/restarts.log" 1 "nothing changed, nothing restarted"

# --- a failure after the notification keeps it -------------------------------

compile_with "  version: 2" "  fail: true"
pb_run "bash --posix"
expect_rc 1 "a failing step"
expect_markers "no handler runs after a failure" \
	"start 3 3 apply" \
	"begin 1/3 handlers: config" "1/3 changed content" \
	"begin 2/3 handlers: a step that may fail" "2/3 failed exit status 1" \
	"end failed"
checks=$((checks + 1))
[ -e "$FLAG" ] || fail "the notification was lost with the failure"
expect_count "$ROOT/restarts.log" 1 "not restarted after the failure"

# Check mode sees the notification, runs nothing, and keeps it.
compile_with "  version: 2"
pb_run sh --check
expect_rc 0 "check run with a notification waiting"
expect_line "$TMP/markers" "handler 1/3 changed ran" "check mode: the handler would run"
expect_count "$ROOT/restarts.log" 1 "check mode ran no handler"
checks=$((checks + 1))
[ -e "$FLAG" ] || fail "check mode removed the notification"

# The next run changes nothing, yet runs the handler, once.
pb_run sh
expect_rc 0 "the run after the failure"
checks=$((checks + 1))
[ "$(changed_count)" -eq 0 ] || fail "the run after the failure changed a step"
expect_line "$TMP/markers" "handler-begin 1/3 handlers: restart app" "the kept notification runs its handler"
expect_count "$ROOT/restarts.log" 2 "restarted once for the kept notification"
checks=$((checks + 1))
[ ! -e "$FLAG" ] || fail "the notification stayed after its handler ran"
pb_run sh
expect_count "$ROOT/restarts.log" 2 "and not again"

# --- a failing handler keeps its notification --------------------------------

compile_with "  version: 3" "  hfail: \"yes\""
pb_run sh
expect_rc 1 "a failing handler"
expect_line "$TMP/markers" "handler 1/3 failed exit status 1" "the handler failed"
expect_line "$TMP/markers" "end failed" "the run failed"
checks=$((checks + 1))
[ -e "$FLAG" ] || fail "a failed handler lost its notification"
compile_with "  version: 3"
pb_run sh
expect_rc 0 "the handler succeeds"
expect_count "$ROOT/restarts.log" 3 "restarted when it could"
checks=$((checks + 1))
[ ! -e "$FLAG" ] || fail "the notification stayed"

# --- a handler whose when: is false drops its notification -----------------

rm "$ROOT/other.conf"
compile_with "  version: 3" "  skip_reload: true"
pb_run sh
expect_rc 0 "a handler skipped by when"
expect_line "$TMP/markers" "handler 2/3 skipped when: not skip_reload" "the handler is skipped"
expect_count "$ROOT/reloads.log" 1 "a skipped handler does not run"
checks=$((checks + 1))
[ -z "$(ls -A "$NOTIFY")" ] || fail "a skipped handler's notification stayed"

# --- check mode writes no notification ------------------------------------

rm -rf "$NOTIFY"
compile_with "  version: 4"
pb_run sh --check
expect_line "$TMP/markers" "1/3 changed content" "check mode: would change"
expect_line "$TMP/markers" "handler 1/3 changed ran" "check mode: the handler would run"
checks=$((checks + 1))
[ ! -e "$NOTIFY" ] || fail "check mode wrote a notification"

finish
