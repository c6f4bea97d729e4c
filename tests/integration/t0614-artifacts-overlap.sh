#!/bin/sh
# up fetches the artifacts its cache lacks while it reaches and probes the
# hosts, on the SSH engine's loop, and changes no host before they are in
# the cache and verified. Proved by order, not time: the artifact server
# (tests/helper/hold-server.py) holds its answer until both test sshds
# have logged deploy's login, and answers 503 ("held too long") after 30 s.
# Fetched before the logins (as plan does, and as up did), the download
# fails; fetched beside them, up succeeds. A digest mismatch found while
# the connections are open changes no host, with the same messages as a
# mismatch found first.
. "$TESTLIB"
. "$SSHDLIB"
: "${TEST_NODE:?}"
export XDG_CACHE_HOME="$TMP/cache"

sshd_setup 71
sshd_start h1 127.71.0.1
sshd_start h2 127.71.0.2
LOG1=$SSHD_DIR/h1/log
LOG2=$SSHD_DIR/h2/log
# Hosts' names are their staging directories' (/var/lib/deploy/artifacts/
# HOST, shared by every test on this machine): this test's own.
H1=t0614-h1
H2=t0614-h2
STAGE=/var/lib/deploy/artifacts
trap 'rm -rf "$STAGE/$H1" "$STAGE/$H2"; sshd_cleanup; rm -rf "$TMP"' EXIT

mkdir srv
cp "$TEST_NODE" srv/node
echo "not the node" >srv/bad
python3 "$SRCDIR/tests/helper/hold-server.py" --dir srv --bind 127.71.0.1 \
	--port-file http.port --log http.log --hold hold \
	>http.err 2>&1 &
echo $! >>"$SSHD_DIR/pids"
i=0
while [ ! -s http.port ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -s http.port ] || { fail "the HTTP server did not start"; cat http.err >&2; finish; }
URL=http://127.71.0.1:$(cat http.port)
NODE_SHA=$(sha256sum <srv/node | cut -d' ' -f1)
ROOT=$TMP/root
mkdir -p "$ROOT/$H1" "$ROOT/$H2"

cat >pb.yml <<YAML
name: node
steps:
  - name: the node binary
    artifact: {name: node, dest: '$ROOT/{{host.name}}/node', mode: '0755'}
YAML
topology() { # topology URL
	cat >topo.yml <<YAML
version: 1
name: overlap
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
artifacts:
  node: {url: $1, sha256: $NODE_SHA}
roles:
  node:
    hosts:
      - {name: $H1, address: 127.71.0.1, port: $SSHD_PORT}
      - {name: $H2, address: 127.71.0.2, port: $SSHD_PORT}
    playbooks: [./pb.yml]
YAML
}
logins() { grep -c "Accepted publickey" "$1"; }
# hold SECONDS: the next answer waits for one more login on each host.
hold() {
	printf '%s %d\n%s %d\ntimeout %s\n' "$LOG1" $(($(logins "$LOG1") + 1)) \
		"$LOG2" $(($(logins "$LOG2") + 1)) "$1" >hold
}
topology "$URL/node"

# The control: plan fetches before any login, so the held answer never
# comes (short hold here) and the fetch fails on the server's 503.
hold 2
run "$DEPLOY" plan topo.yml
expect_rc 1 "plan while the server holds its answer"
expect_line "$TMP/err" "topo.yml:6:15: error: artifact 'node': $URL/node: HTTP status 503" "the hold, as plan sees it"
expect_line http.log "held too long: /node" "the server held plan's request"
checks=$((checks + 1))
[ ! -e "$XDG_CACHE_HOME/deploy/artifacts/$NODE_SHA" ] || fail "nothing cached"

# up: the download waits for both logins, which come while it waits.
hold 30
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with the download held until both hosts logged in"
expect_line http.log "released: /node" "released by the logins"
expect_line "$TMP/out" "Fetching artifact node from $URL/node ..." "fetched"
expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 2 steps changed" "both hosts changed"
for h in $H1 $H2; do
	checks=$((checks + 1))
	cmp -s "$TEST_NODE" "$ROOT/$h/node" || fail "$h: the node arrived whole"
done
checks=$((checks + 1))
[ "$(grep -c "held too long" http.log)" = 1 ] || fail "only plan's request was held too long"

# A mismatch found while the connections are open (the server answers
# only after both logins): no host is changed, and the messages are those
# of a mismatch found before any connection.
rm -rf "$ROOT/$H1" "$ROOT/$H2" "$XDG_CACHE_HOME"
mkdir -p "$ROOT/$H1" "$ROOT/$H2"
WRONG_SHA=$(sha256sum <srv/bad | cut -d' ' -f1)
topology "$URL/bad"
hold 30
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a wrong digest"
expect_line http.log "released: /bad" "the bad file came after both logins"
# The digest's column: after "  node: {url: URL, sha256: ".
col=$((15 + ${#URL} + 4 + 10))
expect_line "$TMP/err" "topo.yml:6:$col: error: artifact 'node': $URL/bad: sha256 mismatch: the topology pins $NODE_SHA, the file fetched has $WRONG_SHA; nothing was cached" "the mismatch, exactly"
expect_line "$TMP/err" "deploy: nothing was changed on any host" "nothing changed"
expect_no_match "$TMP/out" "started" "no host started its steps"
checks=$((checks + 1))
[ -z "$(find "$ROOT" -mindepth 2)" ] || fail "the hosts have nothing new"
checks=$((checks + 1))
[ -z "$(ls -A "$STAGE/$H1" "$STAGE/$H2" 2>/dev/null)" ] ||
	fail "no artifact was staged on a host"
finish
