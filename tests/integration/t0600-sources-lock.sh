#!/bin/sh
# Sources over file://, with plan (no SSH): the first plan locks each
# source's commit in topo.lock; later plans use the locked commit even
# after the tag or branch moved, and never change the lock (byte for byte);
# 'deploy sources update' refuses a moved tag (naming the tag and both
# commits) unless --accept-moved-tags, follows a branch, and drops sources
# the topology lost. A missing ref, an unreachable URL and a bad path are
# clear errors that leave the lock alone; credentials in a URL are never
# shown; one cache repository per URL, shared by topologies.
. "$TESTLIB"
. "$(dirname "$TESTLIB")/source-lib.sh"

repo_init origin
repo_commit origin "one" ops/hello.yml "name: hello" ops/templates/t "v1"
git -C origin tag v1
V1=$(repo_head origin)
repo_commit origin "two" ops/templates/t "v2"
MAIN2=$(repo_head origin)

topology() {
	cat >topo.yml <<YAML
version: 1
name: t
providers: {ssh: {}}
sources:
  ops: {git: "file://$TMP/origin", ref: v1, path: ops}
  tools: {git: "file://$TMP/origin", ref: main}
$1
roles:
  node:
    hosts: [{name: h, address: 127.0.0.1}]
    playbooks: [ops/hello]
YAML
}
topology ""

# The first plan fetches and locks.
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 0 "first plan"
expect_line "$TMP/out" "Fetching source ops from file://$TMP/origin ..." "fetch shown"
expect_line "$TMP/out" "source ops: v1 at $(short "$V1") (new in the lock file)" "ops locked at the tag"
expect_line "$TMP/out" "source tools: main at $(short "$MAIN2") (new in the lock file)" "tools locked at the branch"
checks=$((checks + 1))
[ "$(lock_commit topo.lock ops)" = "$V1" ] || fail "lock holds ops at $V1"
checks=$((checks + 1))
[ "$(lock_commit topo.lock tools)" = "$MAIN2" ] || fail "lock holds tools at $MAIN2"
cat >lock.expected <<JSON
{
  "version": 1,
  "sources": {
    "ops": {"git": "file://$TMP/origin", "ref": "v1", "commit": "$V1"},
    "tools": {"git": "file://$TMP/origin", "ref": "main", "commit": "$MAIN2"}
  }
}
JSON
expect_same lock.expected topo.lock "the lock file's format"
checks=$((checks + 1))
[ "$(cache_repos)" -eq 1 ] || fail "one cache repository per URL: $(cache_repos)"
checks=$((checks + 1))
[ -f "$TMP/cache/deploy/git/"*"-origin/trees/$V1/ops/hello.yml" ] ||
	fail "the commit's files are in the cache"

# A second plan: nothing fetched, the lock untouched.
cp topo.lock lock.before
touch -d '2020-01-01' topo.lock
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 0 "second plan"
expect_no_match "$TMP/out" "Fetching" "nothing fetched with the commits cached"
expect_line "$TMP/out" "source ops: v1 at $(short "$V1")" "ops from the lock"
expect_same lock.before topo.lock "plan leaves the lock"
checks=$((checks + 1))
[ "$(stat -c %Y topo.lock)" = "$(date -d 2020-01-01 +%s)" ] ||
	fail "plan rewrote the lock"

# The tag and the branch move; plan and plan --json still use the lock.
repo_commit origin "three" ops/templates/t "v3"
git -C origin tag -f v1 >/dev/null
V3=$(repo_head origin)
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 0 "plan after the tag moved"
expect_line "$TMP/out" "source ops: v1 at $(short "$V1")" "the locked commit, not the moved tag"
expect_line "$TMP/out" "source tools: main at $(short "$MAIN2")" "the locked commit, not the branch's new one"
expect_same lock.before topo.lock "plan leaves the lock after the move"
run "$DEPLOY" plan --json topo.yml
expect_line "$TMP/out" "{\"type\":\"source\",\"name\":\"ops\",\"git\":\"file://$TMP/origin\",\"ref\":\"v1\",\"commit\":\"$V1\",\"added\":false}" "plan --json names the source"
checks=$((checks + 1))
[ "$(sed -n 2p "$TMP/out" | cut -c1-17)" = '{"type":"source",' ] ||
	fail "the source lines follow the version line"

# sources update refuses the moved tag and changes nothing.
run "$DEPLOY" sources update topo.yml
expect_rc 1 "update with a moved tag"
expect_line "$TMP/err" "topo.yml:5:3: error: source 'ops': tag 'v1' has moved: topo.lock locks commit $V1, file://$TMP/origin now has it at $V3; if that is intended, run 'deploy sources update --accept-moved-tags'" "moved tag refused"
expect_line "$TMP/err" "deploy: topo.lock was not changed" "says the lock stayed"
expect_same lock.before topo.lock "a refused update leaves the lock"

# Only the branch: it may move.
run "$DEPLOY" sources update tools topo.yml
expect_rc 0 "update one branch source"
expect_line "$TMP/out" "~ tools: branch main $(short "$MAIN2") -> $(short "$V3")" "old and new commits"
expect_line "$TMP/out" "Wrote topo.lock." "says it wrote"
checks=$((checks + 1))
[ "$(lock_commit topo.lock tools)" = "$V3" ] || fail "tools now at $V3"
checks=$((checks + 1))
[ "$(lock_commit topo.lock ops)" = "$V1" ] || fail "ops left at $V1"

# --accept-moved-tags takes the tag's new commit.
run "$DEPLOY" sources update --accept-moved-tags topo.yml
expect_rc 0 "update accepting moved tags"
expect_line "$TMP/out" "~ ops: tag v1 $(short "$V1") -> $(short "$V3")" "tag moved on"
expect_line "$TMP/out" "= tools: branch main at $(short "$V3") (unchanged)" "branch unchanged"
checks=$((checks + 1))
[ "$(lock_commit topo.lock ops)" = "$V3" ] || fail "ops now at $V3"
cp topo.lock lock.before
run "$DEPLOY" sources update topo.yml
expect_rc 0 "update with nothing new"
expect_line "$TMP/out" "topo.lock is up to date." "nothing to write"
expect_same lock.before topo.lock "an update with nothing new"

# A ref the topology changed: plan asks for an update.
sed -i 's/ref: v1,/ref: main,/' topo.yml
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 1 "plan with a changed ref"
expect_line "$TMP/err" "topo.yml:5:3: error: source 'ops': topo.lock locks ref 'v1', the topology now asks for ref 'main': run 'deploy sources update ops'" "changed ref"
expect_same lock.before topo.lock "a changed ref leaves the lock"
sed -i 's/ref: main,/ref: v1,/' topo.yml

# A missing ref, an unreachable URL, a path that is not there, a
# credential in a URL: errors, and the lock stays.
topology "  bad: {git: \"file://$TMP/origin\", ref: v9}"
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 1 "missing ref"
expect_line "$TMP/err" "topo.yml:7:3: error: source 'bad': ref 'v9' is not a branch, tag or commit of file://$TMP/origin" "missing ref named"
expect_same lock.before topo.lock "a missing ref leaves the lock"
topology "  bad: {git: \"file://$TMP/gone\"}"
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 1 "unreachable URL"
expect_line "$TMP/err" "topo.yml:7:3: error: source 'bad': cannot fetch file://$TMP/gone: failed to resolve path '$TMP/gone': No such file or directory" "unreachable URL named"
expect_same lock.before topo.lock "an unreachable URL leaves the lock"
topology "  bad: {git: \"file://$TMP/origin\", path: nothere}"
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 1 "missing path"
expect_line "$TMP/err" "topo.yml:7:3: error: source 'bad': path 'nothere' is not a directory in commit $(short "$V3")" "missing path named"
expect_same lock.before topo.lock "a missing path leaves the lock"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
topology "  bad: {git: \"https://deploy:s3cr3t-token@127.0.0.1:$port/x.git\"}"
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 1 "https with a password"
expect_line "$TMP/out" "Fetching source bad from https://***@127.0.0.1:$port/x.git ..." "URL shown without the credential"
checks=$((checks + 1))
grep -q "error: source 'bad': cannot fetch https://\*\*\*@127.0.0.1:$port/x.git: " "$TMP/err" ||
	fail "https error: $(cat "$TMP/err")"
expect_no_match "$TMP/err" "s3cr3t" "no credential in errors"
expect_no_match "$TMP/out" "s3cr3t" "no credential in output"
run "$DEPLOY" sources list topo.yml
expect_no_match "$TMP/out" "s3cr3t" "no credential in the list"
checks=$((checks + 1))
grep -q "^bad  *https://\*\*\*@127.0.0.1:$port/x.git  *default branch  *-  *-$" "$TMP/out" ||
	fail "list of an unlocked source: $(cat "$TMP/out")"

# A full commit id as the ref.
topology "  pinned: {git: \"file://$TMP/origin\", ref: $MAIN2}"
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 0 "commit as the ref"
expect_line "$TMP/out" "source pinned: $MAIN2 at $(short "$MAIN2") (new in the lock file)" "commit ref"
expect_no_match "$TMP/out" "Fetching source pinned" "a cached commit needs no fetch"

# sources list: URL, ref, locked commit, cached.
run "$DEPLOY" sources list topo.yml
expect_rc 0 "list"
checks=$((checks + 1))
grep -q "^ops  *file://$TMP/origin  *v1  *$(short "$V3")  *yes$" "$TMP/out" ||
	fail "list: $(cat "$TMP/out")"

# An unknown name is a usage error.
run "$DEPLOY" sources update tols topo.yml
expect_rc 64 "unknown source"
expect_line "$TMP/err" "deploy: unknown source 'tols' (did you mean 'tools'?)" "did you mean"
run "$DEPLOY" sources topo.yml
expect_rc 64 "no subcommand"
expect_line "$TMP/err" "deploy: unknown subcommand 'topo.yml': list or update" "subcommand first"
run "$DEPLOY" sources
expect_rc 64 "no arguments"
expect_line "$TMP/err" "deploy: missing subcommand: list or update" "subcommand needed"

# A second topology on the same URL shares the cache repository.
mkdir other
sed "s/^name: t/name: other/" topo.yml | grep -v "bad:" >other/topo.yml
run "$DEPLOY" plan --no-steps other/topo.yml
expect_rc 0 "second topology"
checks=$((checks + 1))
[ "$(cache_repos)" -eq 1 ] || fail "one cache repository for both: $(cache_repos)"
checks=$((checks + 1))
[ -f other/topo.lock ] || fail "its own lock beside it"

# Without the origin, plan works from the cache; update says why not.
topology ""
cp topo.lock lock.before
mv origin origin.away
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 0 "offline plan"
expect_no_match "$TMP/out" "Fetching" "offline: nothing fetched"
expect_line "$TMP/out" "source ops: v1 at $(short "$V3")" "offline: the locked commit"
run "$DEPLOY" sources update topo.yml
expect_rc 1 "offline update"
expect_line "$TMP/err" "topo.yml:5:3: error: source 'ops': cannot fetch file://$TMP/origin: failed to resolve path '$TMP/origin': No such file or directory" "offline update names the URL"
expect_same lock.before topo.lock "a failed update leaves the lock"
mv origin.away origin

# Removing a source from the topology: update drops it from the lock.
sed -i '/^  tools:/d' topo.yml
run "$DEPLOY" sources update topo.yml
expect_rc 0 "update after removing a source"
expect_line "$TMP/out" "- tools: $(short "$V3") (not in the topology any more)" "dropped source shown"
checks=$((checks + 1))
grep -q '"tools"' topo.lock && fail "tools still in the lock"

# Four updates at once on a fresh cache: the flock keeps it whole.
rm -rf "$XDG_CACHE_HOME"
pids=""
for i in 1 2 3 4; do
	"$DEPLOY" sources update topo.yml >"out.$i" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	checks=$((checks + 1))
	wait "$p" || fail "concurrent update $p failed: $(cat out.*)"
done
run git --git-dir="$(echo "$XDG_CACHE_HOME"/deploy/git/*-origin/repo.git)" fsck --no-progress
expect_rc 0 "the cache repository is sound after concurrent fetches"
finish
