# Shared by the playbook tests (t04xx): source it after "$TESTLIB".
#
# The scripts that deploy compiles run here, as root, with /bin/sh (dash on
# Debian) and with bash --posix, against paths inside the test's scratch
# directory: every playbook in these tests writes under $ROOT, given to it
# as the variable 'root'. Steps that can only act on the machine itself
# (apt, services, users, sysctl -p, nft) run against stub commands in
# $STUBS, which log what they were asked to do.

: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: the playbook tests run as root (chown, chmod)"
	exit 77
fi

ROOT=$TMP/root
NOTIFY=$TMP/notify
STUBS=$TMP/stubs
NONCE=feedc0de
mkdir -p "$ROOT" "$STUBS"

# pb_topology [YAML_VARS_LINES]: topo.yml with one host 'h' whose
# vars are root: $ROOT plus the lines given (two spaces of indent each).
pb_topology() {
	{
		printf 'version: 1\nname: t\n'
		printf 'ssh: {admin_cidrs: [203.0.113.7/32]}\n'
		printf 'providers: {ssh: {}}\n'
		printf 'vars:\n  root: %s\n' "$ROOT"
		[ $# -eq 0 ] || printf '%s\n' "$@"
		printf 'roles:\n  node:\n    hosts: [{name: h, address: 127.0.0.1}]\n'
	} >"$TMP/topo.yml"
}

# pb_compile PLAYBOOK [ARGS...]: compile host h's script into $TMP/script.sh
pb_compile() {
	pb=$1
	shift
	"$TEST_TOOL" playbook-compile --topology "$TMP/topo.yml" --host h \
		--playbook "$pb" --nonce "$NONCE" --notify-dir "$NOTIFY" "$@" \
		>"$TMP/script.sh" 2>"$TMP/compile.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "compiling $pb: exit $rc"
		sed 's/^/  /' "$TMP/compile.err" >&2
	fi
}

# pb_run SHELL [ARGS...]: run the script with SHELL ("sh" or "bash
# --posix"); markers in short go to $TMP/markers, stderr to $TMP/err.
pb_run() {
	shell=$1
	shift
	# shellcheck disable=SC2086 # "bash --posix" is two words
	PATH="$STUBS:$PATH" $shell "$TMP/script.sh" "$@" \
		>"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	"$TEST_TOOL" playbook-markers --nonce "$NONCE" <"$TMP/out" \
		>"$TMP/markers"
}

# changed_count: how many steps the last run reported changed.
changed_count() {
	grep -c '^[0-9]*/[0-9]* changed' "$TMP/markers"
}

# expect_markers WHAT LINE...: the last run's markers, exactly.
expect_markers() {
	what=$1
	shift
	printf '%s\n' "$@" >"$TMP/markers.expected"
	expect_same "$TMP/markers.expected" "$TMP/markers" "$what"
}

# tree_state DIR: every path under DIR with its type, mode, owner, size and
# link target, and the SHA-256 of every file: equal output, equal trees.
tree_state() {
	(cd "$1" && find . -printf '%p %y %m %u %g %s %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# stub NAME BODY: a command in $STUBS that logs its arguments to
# $TMP/calls, then runs BODY (sh code, with "$@").
stub() {
	{
		printf '#!/bin/sh\n'
		printf 'echo "%s $*" >>"%s/calls"\n' "$1" "$TMP"
		printf '%s\n' "$2"
	} >"$STUBS/$1"
	chmod +x "$STUBS/$1"
}

# SHELLS: the shells every script runs with.
SHELLS="sh|bash --posix"
