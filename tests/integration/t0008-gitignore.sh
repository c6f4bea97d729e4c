#!/bin/sh
# The repository's .gitignore keeps what deploy writes beside a topology
# (.deploy/: state, lock, the private key it makes for the quickstart) out
# of commits at any depth, not only at the top (defect 5:
# examples/.deploy/*.id_ed25519 was one `git add -A` away from a commit).
. "$TESTLIB"

git init -q repo || fail "git init"
cp "$SRCDIR/.gitignore" repo/
for p in .deploy/t.state.json examples/.deploy/local.id_ed25519 \
	a/b/.deploy/x.lock; do
	mkdir -p "repo/$(dirname "$p")"
	echo key >"repo/$p"
	checks=$((checks + 1))
	git -C repo check-ignore -q "$p" || fail "$p is not ignored"
done
# What is not deploy's stays visible.
mkdir -p repo/examples
echo 'version: 1' >repo/examples/local.yml
echo 'x' >repo/examples/deploy.txt
run git -C repo status --porcelain --untracked-files=all
expect_line "$TMP/out" "?? examples/local.yml" "a topology is not ignored"
expect_line "$TMP/out" "?? examples/deploy.txt" "nor a file named like it"
expect_no_match "$TMP/out" ".deploy/" "git add -A would take no .deploy file"

finish
