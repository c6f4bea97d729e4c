#!/bin/sh
# SIGINT while an artifact's download waits on its server ends the
# download at once, not at its transfer timeout: the artifact server
# (tests/helper/hold-server.py) holds its answer for 120 s, and deploy must
# be gone within 20 s (a bound that only catches the old wait), with 130
# and a message naming the artifact and its URL, no temporary file in the
# cache, no host changed and the state file as it was. Both fetches:
# plan's, before anything else (blocking), and up --yes's, beside the SSH
# connections to the hosts (on the SSH engine's loop).
. "$TESTLIB"
. "$SSHDLIB"
: "${TEST_NODE:?}"
export XDG_CACHE_HOME="$TMP/cache"
CACHE=$XDG_CACHE_HOME/deploy/artifacts

sshd_setup 72
sshd_start h1 127.72.0.1
sshd_start h2 127.72.0.2
LOG1=$SSHD_DIR/h1/log
LOG2=$SSHD_DIR/h2/log
# Hosts' names are their staging directories' (/var/lib/deploy/artifacts/
# HOST, shared by every test on this machine): this test's own.
H1=t0615-h1
H2=t0615-h2
STAGE=/var/lib/deploy/artifacts
DEPLOY_PID=
cleanup() {
	# deploy, if a check gave up on it (its PID only).
	[ -n "$DEPLOY_PID" ] && kill -KILL "$DEPLOY_PID" 2>/dev/null
	rm -rf "$STAGE/$H1" "$STAGE/$H2"
	sshd_cleanup
	rm -rf "$TMP"
}
trap cleanup EXIT

mkdir srv
cp "$TEST_NODE" srv/node
echo "a small file" >srv/small
python3 "$SRCDIR/tests/helper/hold-server.py" --dir srv --bind 127.72.0.1 \
	--port-file http.port --log http.log --hold hold \
	>http.err 2>&1 &
echo $! >>"$SSHD_DIR/pids"
i=0
while [ ! -s http.port ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -s http.port ] || { fail "the HTTP server did not start"; cat http.err >&2; finish; }
URL=http://127.72.0.1:$(cat http.port)
NODE_SHA=$(sha256sum <srv/node | cut -d' ' -f1)
SMALL_SHA=$(sha256sum <srv/small | cut -d' ' -f1)
ROOT=$TMP/root
mkdir -p "$ROOT/$H1" "$ROOT/$H2"
state=.deploy/interrupt.state.json

topology() { # topology ARTIFACT SHA256 [QUERY]
	cat >pb.yml <<YAML
name: node
steps:
  - name: the artifact
    artifact: {name: $1, dest: '$ROOT/{{host.name}}/$1', mode: '0644'}
YAML
	cat >topo.yml <<YAML
version: 1
name: interrupt
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
artifacts:
  $1: {url: '$URL/$1${3:-}', sha256: $2}
roles:
  node:
    hosts:
      - {name: $H1, address: 127.72.0.1, port: $SSHD_PORT}
      - {name: $H2, address: 127.72.0.2, port: $SSHD_PORT}
    playbooks: [./pb.yml]
YAML
}

# interrupted CMD...: runs deploy in the background until `ready` is true,
# sends it SIGINT, waits at most 20 s for it; $rc as run() sets it.
interrupted() {
	: >http.log
	"$@" >"$TMP/out" 2>"$TMP/err" &
	DEPLOY_PID=$!
	i=0
	until ready || [ $i -ge 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	checks=$((checks + 1))
	ready || fail "$*: the download was not under way after 60 s"
	kill -INT "$DEPLOY_PID"
	i=0
	while kill -0 "$DEPLOY_PID" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	checks=$((checks + 1))
	if kill -0 "$DEPLOY_PID" 2>/dev/null; then
		fail "$*: still running 20 s after SIGINT"
		kill -KILL "$DEPLOY_PID"
	fi
	wait "$DEPLOY_PID"
	rc=$?
	DEPLOY_PID=
}
no_partial() { # what
	checks=$((checks + 1))
	[ -z "$(find "$CACHE" -name '.*' 2>/dev/null)" ] ||
		fail "$1: a temporary file is left in the cache: $(ls -A "$CACHE")"
	checks=$((checks + 1))
	[ ! -e "$CACHE/$NODE_SHA" ] || fail "$1: node is not cached"
}
hosts_untouched() { # what
	checks=$((checks + 1))
	[ -z "$(find "$ROOT" -mindepth 2 -name node)" ] ||
		fail "$1: no host got the node"
	checks=$((checks + 1))
	[ -z "$(ls -A "$STAGE/$H1" "$STAGE/$H2" 2>/dev/null | grep "$NODE_SHA")" ] ||
		fail "$1: the node was staged on no host"
}

# First, a run that succeeds with the small artifact: the state exists,
# the small artifact is cached and on both hosts.
topology small "$SMALL_SHA"
: >hold
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with the small artifact"
checks=$((checks + 1))
[ -s "$state" ] || fail "the state was saved"
cp "$state" state.before

# From now on the server's answers wait for a login that never comes
# (120 s).
printf '%s 1\ntimeout 120\n' "$TMP/no-logins" >hold

# plan: the node is fetched before anything else; the interrupt ends it.
ready() { grep -q "^GET /node" http.log; }
# The node's URL has a query (it may carry a secret): never shown.
topology node "$NODE_SHA" "?token=SECRET"
interrupted "$DEPLOY" plan topo.yml
expect_rc 130 "plan interrupted while the server holds the node"
expect_line "$TMP/out" "Fetching artifact node from $URL/node ..." "plan fetched"
expect_line "$TMP/err" "topo.yml:6:15: error: artifact 'node': $URL/node: the download was interrupted; nothing was cached" "plan: the interrupt, naming the artifact"
expect_line "$TMP/err" "deploy: interrupted: ending the downloads under way (again to stop at once)" "plan: what the interrupt stops (no state to save)"
expect_no_match "$TMP/err" "SECRET" "plan: the URL's query is never shown"
no_partial "plan"
hosts_untouched "plan"

# up --yes: the node is fetched beside the logins to both hosts; the
# interrupt comes once both logged deploy in and the download waits.
L1=$(grep -c "Accepted publickey" "$LOG1")
L2=$(grep -c "Accepted publickey" "$LOG2")
ready() {
	grep -q "^GET /node" http.log &&
		[ "$(grep -c "Accepted publickey" "$LOG1")" -gt "$L1" ] &&
		[ "$(grep -c "Accepted publickey" "$LOG2")" -gt "$L2" ]
}
interrupted "$DEPLOY" up --yes topo.yml
expect_rc 130 "up interrupted while the server holds the node"
expect_line "$TMP/err" "topo.yml:6:15: error: artifact 'node': $URL/node: the download was interrupted; nothing was cached" "up: the interrupt, naming the artifact"
expect_line "$TMP/err" "deploy: nothing was changed on any host" "up: nothing changed"
expect_line "$TMP/err" "deploy: interrupted: finishing what is under way and saving the state (again to stop at once)" "up: what the interrupt stops"
expect_no_match "$TMP/err" "SECRET" "up: the URL's query is never shown"
expect_no_match "$TMP/out" "started" "up: no host started its steps"
no_partial "up"
hosts_untouched "up"
checks=$((checks + 1))
cmp -s state.before "$state" || fail "up: the state file is as it was"
for h in $H1 $H2; do
	checks=$((checks + 1))
	cmp -s srv/small "$ROOT/$h/small" || fail "$h: the small artifact is still there"
done
checks=$((checks + 1))
[ "$(grep -c "held too long" http.log)" = 0 ] || fail "no answer was waited for"
finish
