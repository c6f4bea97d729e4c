# Shared by the integration tests: source "$TESTLIB" first.
# Each test runs in its own scratch directory, removed on exit whatever
# happens. A check that fails prints what was expected and what came, and
# the script exits 1 at the end (so one run reports every failed check).

set -u
: "${DEPLOY:?DEPLOY must name build/cli/deploy}"
: "${SRCDIR:?SRCDIR must name the source tree}"

# The tests' python3 (sockets, JSON, small servers) is the system's, which
# tests/deps.sh installs: a version manager's shim first on PATH (pyenv's)
# costs seconds per start on a busy machine, and the tests start python
# hundreds of times. aws-lib.sh finds the python that has moto itself.
PATH=$(printf '%s\n' "$PATH" | tr : '\n' | grep -v '/\.pyenv/' | paste -sd: -)
export PATH

TMP=$(mktemp -d "${TMPDIR:-/tmp}/deploy-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1

failures=0
checks=0

fail() {
	echo "not ok: $*" >&2
	failures=$((failures + 1))
}

# run CMD...: runs it, keeping stdout in $TMP/out, stderr in $TMP/err and
# the exit code in $rc.
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# expect_rc N what: the last run exited N.
expect_rc() {
	checks=$((checks + 1))
	if [ "$rc" != "$1" ]; then
		fail "$2: exit $rc, expected $1"
		sed 's/^/  stdout: /' "$TMP/out" >&2
		sed 's/^/  stderr: /' "$TMP/err" >&2
	fi
}

# expect_line FILE LINE what: FILE ($TMP/out or $TMP/err) has LINE exactly.
expect_line() {
	checks=$((checks + 1))
	if ! grep -qxF -- "$2" "$1"; then
		fail "$3: no line '$2' in $(basename "$1")"
		sed 's/^/  | /' "$1" >&2
	fi
}

# expect_no_match FILE PATTERN what: no line of FILE contains PATTERN.
expect_no_match() {
	checks=$((checks + 1))
	if grep -qF -- "$2" "$1"; then
		fail "$3: '$2' found in $(basename "$1")"
		sed 's/^/  | /' "$1" >&2
	fi
}

# expect_same FILE_A FILE_B what: the two files are byte for byte equal.
expect_same() {
	checks=$((checks + 1))
	if ! cmp -s "$1" "$2"; then
		fail "$3: output differs"
		diff -u "$1" "$2" | sed 's/^/  /' >&2
	fi
}

finish() {
	if [ "$checks" -eq 0 ]; then
		echo "no check ran" >&2
		exit 1
	fi
	if [ "$failures" -ne 0 ]; then
		echo "$failures of $checks checks failed" >&2
		exit 1
	fi
	echo "$checks checks passed"
	exit 0
}
