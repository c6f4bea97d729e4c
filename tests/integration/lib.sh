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

# compiled_file SCRIPT PATH [WHAT]: the file step for PATH in a script
# deploy compiled (deploy-test-tool playbook-compile), read from its words:
# WHAT is content (what it would write; the default), mode ("MODE OWNER
# GROUP") or validate (the check it runs before the file is moved in).
compiled_file() {
	python3 - "$1" "$2" "${3:-content}" <<'EOF2'
import base64, shlex, sys
text = open(sys.argv[1]).read()
words = shlex.split(text[text.index("_dp_main() {"):])
for i, w in enumerate(words):
    if w == "dp_file" and words[i + 1] == sys.argv[2]:
        if sys.argv[3] == "content":
            # The text after a colon, or base64 (content with a NUL byte).
            c = words[i + 7]
            sys.stdout.write(c[1:] if c.startswith(":") else
                             base64.b64decode(c).decode())
        elif sys.argv[3] == "mode":
            print(words[i + 3], words[i + 4], words[i + 5])
        elif sys.argv[3] == "validate":
            print(words[i + 8])
        else:
            sys.exit("compiled_file: no field " + sys.argv[3])
EOF2
}

# stop_pids PID...: end each process named (an empty word is skipped) and
# reap it. Only for the test's own children, before they have been waited
# for: a reaped PID may name someone else's process.
stop_pids() {
	for p in "$@"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}

# --- local hosts (the t05xx tests: systemd-nspawn, as root) ------------------
#
#   local_setup TEST OCTET  this test's topology name, subnet, SSH key and
#                           cleanup (below)
#   local_home              an empty HOME and no XDG_CACHE_HOME: deploy's
#                           artifact cache is the test's own
#   local_topology [admin] <REST   topo.yml: the lines every local
#                           topology starts with, then REST
#   local_address HOST      HOST's address, from the state
#   expect_local_gone       after down: no namespace, bridge, mount or
#                           container of the topology is left

# local_setup TEST OCTET: a test of the local provider on its own subnet,
# 10.231.OCTET.0/24 (every test has its own: see PROTOCOL.md). Sets $name
# (TEST-PID, the topology's name), $subnet, $bridge (the subnet's first
# address: deploy reaches the hosts from it, its apt proxy listens on it)
# and $local_dir (where the hosts' files are), and makes the SSH key
# $TMP/id. On exit, whatever happens: the test's own cleanup_first if it
# defines one (processes it started, other topologies), then
# `deploy down topo.yml`, then $TMP is removed.
local_setup() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$1 runs local hosts: it needs root (namespaces, mounts, systemd-nspawn)" >&2
		exit 1
	fi
	name="$1-$$"
	subnet=10.231.$2.0/24
	bridge=10.231.$2.1
	local_dir=${DEPLOY_LOCAL_DIR:-/var/lib/deploy/local}
	trap local_cleanup EXIT
	ssh-keygen -q -t ed25519 -N "" -C "$1" -f "$TMP/id" || fail "ssh-keygen"
}

local_cleanup() {
	if command -v cleanup_first >/dev/null; then
		cleanup_first
	fi
	"$DEPLOY" down --yes "$TMP/topo.yml" >/dev/null 2>&1
	rm -rf "$TMP"
}

local_home() {
	unset XDG_CACHE_HOME
	HOME=$TMP/home
	export HOME
	mkdir -p "$HOME"
}

# local_topology [admin] <REST: writes topo.yml: version 1, name $name, SSH
# with the key $TMP/id (and admin_cidrs: [$bridge/32] with "admin": this
# machine is where deploy reaches the hosts from once the firewall
# playbook runs), the local provider on $subnet; then REST from stdin
# (roles: and whatever else the test's topology has).
local_topology() {
	{
		echo "version: 1"
		echo "name: $name"
		if [ "${1:-}" = admin ]; then
			echo "ssh: {key: $TMP/id, admin_cidrs: [$bridge/32]}"
		else
			echo "ssh: {key: $TMP/id}"
		fi
		echo "providers: {local: {subnet: $subnet}}"
		cat
	} >"$TMP/topo.yml"
}

local_address() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hosts"][sys.argv[2]]["address"])' \
		"$TMP/.deploy/$name.state.json" "$1"
}

expect_local_gone() {
	ip netns list >"$TMP/gone.ns"
	expect_no_match "$TMP/gone.ns" "deploy-$name-" "no namespace left"
	ip -o addr show >"$TMP/gone.addrs"
	expect_no_match "$TMP/gone.addrs" "$bridge/24" "no bridge left"
	mount >"$TMP/gone.mounts"
	expect_no_match "$TMP/gone.mounts" "/$name/" "no mount left"
	ps -eo args >"$TMP/gone.procs"
	expect_no_match "$TMP/gone.procs" "/$name/" "no container left"
}
