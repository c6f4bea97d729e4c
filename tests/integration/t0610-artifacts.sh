#!/bin/sh
# Artifacts on real sshd hosts: the stand-in node (tests/helper) served by
# a local HTTP server is fetched once into the cache, checked against its
# pinned SHA-256 and pushed by the step artifact: (a file, and a tarball
# unpacked); a second up changes nothing and fetches nothing; with the
# server gone, up works from the cache. A digest mismatch, an unreachable
# URL and an unknown artifact stop up before any host is touched, with
# exact messages. Bad artifact entries fail validate at file:line:col.
. "$TESTLIB"
. "$SSHDLIB"
: "${TEST_NODE:?}"
unset XDG_CACHE_HOME

sshd_setup 51
sshd_start h1 127.51.0.1
sshd_start h2 127.51.0.2

# serve DIR: python3 -m http.server on loopback, killed by PID at exit.
mkdir -p srv stage/bin
HTTP_PORT=$(free_port 127.51.0.1)
(cd srv && exec python3 -m http.server "$HTTP_PORT" --bind 127.51.0.1) \
	>"$TMP/http.log" 2>&1 &
HTTP_PID=$!
echo "$HTTP_PID" >>"$SSHD_DIR/pids"
python3 - "$HTTP_PORT" <<'PY' || fail "the HTTP server did not start"
import socket, sys, time
end = time.time() + 10
while True:
    try:
        socket.create_connection(("127.51.0.1", int(sys.argv[1])), 1).close()
        break
    except OSError:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.05)
PY
URL=http://127.51.0.1:$HTTP_PORT

cp "$TEST_NODE" srv/node-1
cp "$TEST_NODE" stage/bin/deploy-test-node
echo "bundle one" >stage/README
tar -czf srv/bundle.tar.gz -C stage bin README
echo "other bytes" >other
NODE_SHA=$(sha256sum <srv/node-1 | cut -d' ' -f1)
BUNDLE_SHA=$(sha256sum <srv/bundle.tar.gz | cut -d' ' -f1)
OTHER_SHA=$(sha256sum <other | cut -d' ' -f1)
WRONG_SHA=$(echo "not the node" | sha256sum | cut -d' ' -f1)
ROOT=$TMP/root
mkdir -p "$ROOT/h1" "$ROOT/h2"

cat >pb.yml <<YAML
name: node
steps:
  - name: the node binary
    artifact: {name: node, dest: '$ROOT/{{host.name}}/deploy-test-node', mode: '0755'}
  - name: the bundle
    artifact: {name: bundle, dest: '$ROOT/{{host.name}}/bundle'}
  - name: the local file
    artifact: {name: local, dest: '$ROOT/{{host.name}}/other', mode: '0600'}
YAML

topology() { # topology NODE_SHA [NODE_URL]
	cat >topo.yml <<YAML
version: 1
name: arttest
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
artifacts:
  node:
    url: ${2:-$URL/node-1}
    sha256: $1
  bundle: {url: $URL/bundle.tar.gz, sha256: $BUNDLE_SHA, unpack: true}
  local: {url: "file://$TMP/other", sha256: $OTHER_SHA}
roles:
  node:
    hosts:
      - {name: h1, address: 127.51.0.1, port: $SSHD_PORT}
      - {name: h2, address: 127.51.0.2, port: $SSHD_PORT}
    playbooks: [./pb.yml]
YAML
}

topology "$NODE_SHA"
run "$DEPLOY" validate topo.yml
expect_rc 0 "validate"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
expect_line "$TMP/out" "Fetching artifact node from $URL/node-1 ..." "node fetched"
expect_line "$TMP/out" "Fetching artifact bundle from $URL/bundle.tar.gz ..." "bundle fetched"
expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 6 steps changed" "every step changed"
for h in h1 h2; do
	checks=$((checks + 1))
	cmp -s "$TEST_NODE" "$ROOT/$h/deploy-test-node" ||
		fail "$h: the node binary arrived whole"
	checks=$((checks + 1))
	[ "$(stat -c %a "$ROOT/$h/deploy-test-node")" = 755 ] ||
		fail "$h: the binary is 0755"
	checks=$((checks + 1))
	cmp -s "$TEST_NODE" "$ROOT/$h/bundle/bin/deploy-test-node" ||
		fail "$h: the bundle is unpacked"
	expect_line "$ROOT/$h/bundle/README" "bundle one" "$h: the bundle's README"
	expect_line "$ROOT/$h/other" "other bytes" "$h: the file:// artifact"
done
checks=$((checks + 1))
[ -f "$HOME/.cache/deploy/artifacts/$NODE_SHA" ] ||
	fail "the cache holds the node under its digest"
"$ROOT/h1/deploy-test-node" --version >"$TMP/v"
expect_line "$TMP/v" "deploy-test-node" "the pushed binary runs"
stat -c '%Y %i' "$ROOT/h1/deploy-test-node" "$ROOT/h2/bundle/README" >before

# A second up: nothing fetched, nothing changed.
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_no_match "$TMP/out" "Fetching" "nothing fetched again"
expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"
run "$DEPLOY" up --yes --check topo.yml
expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 0 steps would change" "--check sees nothing to change"

# The hosts are asked for their copies' digests first (one sha256sum on
# the same session): a file artifact a host has is not sent again. The
# cached file is read once (its check), never to send it; after h1's copy
# is damaged, once more, for h1 alone.
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -e trace=openat -o "$TMP/trace" "$DEPLOY" up --yes topo.yml >"$TMP/out" 2>&1
	expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 0 steps changed" "up under strace changes nothing"
	checks=$((checks + 1))
	n=$(grep -c "artifacts/$NODE_SHA\"" "$TMP/trace")
	[ "$n" = 1 ] || fail "matching copies: the cached node is read once (its check), not sent; read $n times"
	echo damaged >"$ROOT/h1/deploy-test-node"
	strace -f -qq -e trace=openat -o "$TMP/trace" "$DEPLOY" up --yes topo.yml >"$TMP/out" 2>&1
	expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 1 step changed" "h1's copy is replaced"
	checks=$((checks + 1))
	n=$(grep -c "artifacts/$NODE_SHA\"" "$TMP/trace")
	[ "$n" = 2 ] || fail "one damaged copy: the node is read for h1 alone; read $n times"
	checks=$((checks + 1))
	cmp -s "$TEST_NODE" "$ROOT/h1/deploy-test-node" || fail "h1 has the node again"
	checks=$((checks + 1))
	[ "$(cat "$ROOT/h1/deploy-test-node.prev")" = damaged ] || fail "h1 kept what it replaced as .prev"
	stat -c '%Y %i' "$ROOT/h1/deploy-test-node" "$ROOT/h2/bundle/README" >before
fi

# A digest mismatch: the error names the artifact, the URL and both
# digests, at the sha256's place; no host is changed (up --yes fetches
# while it reaches and probes the hosts: they are contacted, never
# started; t0614).
topology "$WRONG_SHA"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a wrong digest"
expect_line "$TMP/err" "topo.yml:8:13: error: artifact 'node': $URL/node-1: sha256 mismatch: the topology pins $WRONG_SHA, the file fetched has $NODE_SHA; nothing was cached" "the mismatch, exactly"
expect_line "$TMP/err" "deploy: nothing was changed on any host" "nothing changed"
expect_no_match "$TMP/out" "started" "no host started"
stat -c '%Y %i' "$ROOT/h1/deploy-test-node" "$ROOT/h2/bundle/README" >after
expect_same before after "the hosts' files are untouched"

# The server goes away: up works from the cache (offline rehearsal); an
# artifact not in the cache is an unreachable URL, named.
kill "$HTTP_PID"
wait "$HTTP_PID" 2>/dev/null
topology "$NODE_SHA"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up offline, from the cache"
expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 0 steps changed" "offline up changes nothing"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan offline, from the cache"
expect_no_match "$TMP/out" "Fetching" "plan fetches nothing cached"
rm "$HOME/.cache/deploy/artifacts/$NODE_SHA"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with the artifact gone and the server down"
checks=$((checks + 1))
grep -q "^topo.yml:7:10: error: artifact 'node': $URL/node-1: .*[Cc]ouldn't connect" "$TMP/err" ||
	{ fail "unreachable: the artifact and URL named"; cat "$TMP/err" >&2; }
topology "$NODE_SHA" "file://$TMP/missing"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a missing file://"
expect_line "$TMP/err" "topo.yml:7:10: error: artifact 'node': file://$TMP/missing: cannot read it: No such file or directory" "missing file named"

# A step naming an artifact the topology lacks: nothing runs anywhere.
cp "$TEST_NODE" srv/node-1
topology "$NODE_SHA" "file://$TMP/srv/node-1"
sed -i 's/name: local,/name: lokal,/' pb.yml
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with an unknown artifact"
expect_line "$TMP/err" "error: host 'h1': ./pb.yml:8:22: steps[2].artifact.name: the topology has no artifact 'lokal' (add it under 'artifacts:')" "unknown artifact, at its place"
expect_line "$TMP/err" "deploy: nothing was run on any host" "nothing run"
stat -c '%Y %i' "$ROOT/h1/deploy-test-node" "$ROOT/h2/bundle/README" >after
expect_same before after "still untouched"

# validate: a missing sha256, bad hex, a short digest, an unknown key,
# a URL deploy cannot fetch.
cat >bad.yml <<'YAML'
version: 1
name: bad
artifacts:
  a: {url: https://example.com/a}
  b: {url: https://example.com/b, sha256: zz00000000000000000000000000000000000000000000000000000000000000}
  c: {url: https://example.com/c, sha256: abc123}
  d: {url: https://example.com/d, sha256: 0000000000000000000000000000000000000000000000000000000000000000, unpak: true}
  e: {url: ftp://example.com/e, sha256: 0000000000000000000000000000000000000000000000000000000000000000}
roles:
  r: {provider: ssh, hosts: [{name: x, address: 192.0.2.1}]}
YAML
run "$DEPLOY" validate bad.yml
expect_rc 1 "validate bad artifacts"
expect_line "$TMP/err" "bad.yml:4:6: error: missing key 'sha256' in artifacts.a (e.g. 'sha256: 64 hex digits from sha256sum')" "missing sha256"
expect_line "$TMP/err" "bad.yml:5:43: error: artifacts.b.sha256 is not hexadecimal ('z' at character 1): a SHA-256 digest is 64 hex digits (sha256sum FILE)" "bad hex"
expect_line "$TMP/err" "bad.yml:6:43: error: artifacts.c.sha256 has 6 hex digits, not 64: a SHA-256 digest is 64 hex digits (sha256sum FILE)" "short digest"
expect_line "$TMP/err" "bad.yml:7:109: error: unknown key 'unpak' in artifacts.d (did you mean 'unpack'?)" "unknown key"
expect_line "$TMP/err" "bad.yml:8:12: error: artifacts.e.url 'ftp://example.com/e' is not an https://, http:// or file:///PATH URL" "ftp refused"
expect_line "$TMP/err" "bad.yml: 5 errors" "five errors, digits-only digests allowed"
finish
