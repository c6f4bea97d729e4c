#!/bin/sh
# deploy up runs a playbook from a source (file://) on a real sshd host:
# the playbook and its template come from the locked commit, at the
# source's path. After the tag moves, up still applies the locked commit
# and leaves the lock byte for byte; with the origin gone, up works from
# the cache; after 'sources update --accept-moved-tags' up applies the new
# commit. A playbook missing from the source stops up before any host is
# touched.
. "$TESTLIB"
. "$SSHDLIB"
. "$(dirname "$TESTLIB")/source-lib.sh"

sshd_setup 62
sshd_start h 127.62.0.1

ROOT=$TMP/root
mkdir -p "$ROOT"
repo_init origin
repo_commit origin "one" \
	ops/web/site.yml "name: site
steps:
  - name: the page
    file: {path: '{{vars.root}}/index.html', template: ../templates/index.mustache, mode: '0644'}" \
	ops/templates/index.mustache "release one on {{host.name}}" \
	README "not a playbook"
git -C origin tag v1
ONE=$(repo_head origin)

cat >topo.yml <<YAML
version: 1
name: srcup
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
vars: {root: $ROOT}
sources:
  ops: {git: "file://$TMP/origin", ref: v1, path: ops}
roles:
  web:
    hosts: [{name: web-1, address: 127.62.0.1, port: $SSHD_PORT}]
    playbooks: [ops/web/site]
YAML

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
expect_line "$TMP/out" "source ops: v1 at $(short "$ONE") (new in the lock file)" "up locks the source"
expect_line "$ROOT/index.html" "release one on web-1" "the template from the source, rendered on the host"
checks=$((checks + 1))
[ "$(lock_commit topo.lock ops)" = "$ONE" ] || fail "the lock holds $ONE"
cp topo.lock lock.before

# The release tag moves to another commit.
repo_commit origin "two" ops/templates/index.mustache "release two on {{host.name}}"
git -C origin tag -f v1 >/dev/null
TWO=$(repo_head origin)
rm "$ROOT/index.html"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the tag moved"
expect_line "$TMP/out" "source ops: v1 at $(short "$ONE")" "up shows the locked commit"
expect_no_match "$TMP/out" "Fetching" "nothing fetched"
expect_line "$ROOT/index.html" "release one on web-1" "the locked commit's template, not the moved tag's"
expect_same lock.before topo.lock "up leaves the lock"

# The origin goes away: the cache is enough.
mv origin origin.away
rm "$ROOT/index.html"
start=$(date +%s%N)
run "$DEPLOY" up --yes topo.yml
end=$(date +%s%N)
expect_rc 0 "offline up"
expect_line "$ROOT/index.html" "release one on web-1" "offline up from the cache"
expect_same lock.before topo.lock "offline up leaves the lock"
echo "offline up: $(((end - start) / 1000000)) ms"
run "$DEPLOY" plan topo.yml
expect_rc 0 "offline plan with the steps checked"
expect_same lock.before topo.lock "plan leaves the lock"
mv origin.away origin

# Only sources update moves the pin.
run "$DEPLOY" sources update --accept-moved-tags topo.yml
expect_rc 0 "update"
expect_line "$TMP/out" "~ ops: tag v1 $(short "$ONE") -> $(short "$TWO")" "old and new"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the update"
expect_line "$ROOT/index.html" "release two on web-1" "the new commit's template"

# A playbook the source does not have: nothing runs.
sed -i 's|playbooks: \[ops/web/site\]|playbooks: [ops/web/nope]|' topo.yml
printf 'untouched\n' >"$ROOT/index.html"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "missing playbook"
expect_line "$TMP/err" "topo.yml:11:17: error: playbook 'ops/web/nope': source 'ops' has no file 'web/nope' (nor with .yml or .yaml)" "missing playbook named"
expect_line "$ROOT/index.html" "untouched" "no host touched"
finish
