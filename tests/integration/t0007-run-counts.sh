#!/bin/sh
# tests/run.sh's counting (tests/run-lib.sh) on a small meson project of
# its own: a skipped test is counted and shown on the closing line, and
# under CI=true a skip is a failure unless the test says why it cannot run
# in CI (defect 4: skips were not counted at all, so a machine without root
# or moto ended "N passed, 0 failed").
. "$TESTLIB"

mkdir proj
cat >proj/meson.build <<'MESON'
project('counts')
sh = find_program('sh')
test('passes', sh, args: ['-c', 'exit 0'])
test('needs-root', sh, args: ['-c', 'echo "skipped: needs root" >&2; exit 77'])
test('never-in-ci', sh, args: ['-c', 'echo "cannot run in CI: needs a GPU"; exit 77'])
MESON
meson setup proj/build proj >/dev/null 2>&1 || fail "meson setup"

# counts CI SUITE...: "passed failed skipped" and the closing line, after
# one meson_tests run of the named tests with CI=$CI.
counts() {
	ci=$1
	shift
	(
		CI=$ci
		. "$SRCDIR/tests/run-lib.sh"
		meson_tests proj/build "$@" >"$TMP/log" 2>&1
		echo "$passed $failed $skipped"
		summary
	)
}

run counts false
expect_line "$TMP/out" "1 passed, 0 failed, 2 skipped" "skips counted, CI unset"
expect_no_match "$TMP/log" "FAILED" "no failure outside CI"

run counts true
expect_line "$TMP/out" "1 passed, 1 failed, 2 skipped" "under CI the skip without a reason fails"
expect_line "$TMP/log" "FAILED: skipped under CI=true: needs-root: skipped: needs root" \
	"the failure names the test and its reason"
expect_no_match "$TMP/log" "FAILED: skipped under CI=true: never-in-ci" "a test that says why it cannot run in CI is not a failure"

run counts true passes never-in-ci
expect_line "$TMP/out" "1 passed, 0 failed, 1 skipped" "under CI, only a declared skip"

finish
