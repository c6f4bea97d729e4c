# DigitalOcean test server, for the t08xx tests: source after "$TESTLIB".
#
# do_start [SERVER OPTION]... starts tests/helper/do-server.py (a server
# that follows DigitalOcean's API v2 description; --help lists its fault
# options) on a free loopback port with a fresh token, its request log in
# $DO_LOG (one JSON object per request), and points deploy at it through
# DIGITALOCEAN_API_URL and DIGITALOCEAN_TOKEN. do_stop ends it by PID (call
# it from the test's cleanup trap); do_start again restarts it empty.

DO_SERVER="$SRCDIR/tests/helper/do-server.py"
# The interpreter itself, not a shim in front of it (pyenv's shims cost a
# second or more a start on a busy machine).
DO_PY=$(python3 -c 'import sys; print(sys.executable)') || {
	echo "python3 is needed" >&2
	exit 77
}
DO_LOG="$TMP/do-requests.log"
do_pid=

# Nothing from the caller's environment; doctl's file in a scratch home.
for v in DIGITALOCEAN_TOKEN DIGITALOCEAN_ACCESS_TOKEN DIGITALOCEAN_CONTEXT \
	DIGITALOCEAN_API_URL XDG_CONFIG_HOME http_proxy https_proxy \
	HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY; do
	unset "$v"
done
export no_proxy='*' NO_PROXY='*'
export HOME="$TMP/home"
mkdir -p "$HOME"
export DEPLOY_DO_RETRY_BASE_MS=20

do_start() {
	do_stop
	rm -f "$TMP/do.port" "$DO_LOG"
	DO_TOKEN="dop_v1_test$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
	DO_SERVER_TOKEN=$DO_TOKEN "$DO_PY" "$DO_SERVER" \
		--port-file "$TMP/do.port" --log "$DO_LOG" "$@" \
		>"$TMP/do-server.out" 2>&1 &
	do_pid=$!
	i=0
	while [ ! -s "$TMP/do.port" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$TMP/do.port" ] || {
		echo "do-server.py did not start" >&2
		cat "$TMP/do-server.out" >&2
		exit 1
	}
	DO_URL="http://127.0.0.1:$(cat "$TMP/do.port")"
	export DIGITALOCEAN_API_URL="$DO_URL" DIGITALOCEAN_TOKEN="$DO_TOKEN"
}

do_stop() {
	if [ -n "$do_pid" ]; then
		kill "$do_pid" 2>/dev/null
		wait "$do_pid" 2>/dev/null
		do_pid=
	fi
}

# do_requests: "METHOD PATH STATUS" per logged request, in order.
do_requests() {
	"$DO_PY" -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "method" in e:
        print(e["method"], e["path"], e["status"])
' "$DO_LOG"
}

# do_get PATH: the server's answer to GET PATH (curl, not deploy).
do_get() {
	curl -sS -H "Authorization: Bearer $DO_TOKEN" "$DO_URL$1"
}
