#!/bin/sh
# deploy init writes each example as a topology that validates, with its
# header; it never overwrites a file or follows a link; unknown examples
# are a usage error.
. "$TESTLIB"

run "$DEPLOY" init --list
expect_rc 0 "init --list"
names=$(cut -d' ' -f1 "$TMP/out")
checks=$((checks + 1))
[ "$(echo $names)" = "local bare-metal aws gcp multi-cloud" ] ||
	fail "init --list names: $names"

# Each example: written, identical to its file after the header, valid.
for name in $names; do
	mkdir "$name" && cd "$name" || exit 1
	run "$DEPLOY" init --example "$name"
	expect_rc 0 "init --example $name"
	file=$(sed -n "s/^Wrote topology.yml from the example '$name' (\(.*\))\.$/\1/p" "$TMP/out")
	checks=$((checks + 1))
	[ -n "$file" ] || fail "init --example $name: no 'Wrote' line"
	expect_line topology.yml "# Written by 'deploy init --example $name' from $file: edit it," "$name: the header"
	sed '1,/^#$/d' topology.yml >body
	expect_same "$SRCDIR/$file" body "$name: the example as it is"
	run "$DEPLOY" validate
	expect_rc 0 "$name: the written topology validates"
	cd .. || exit 1
done

# The default is local; the path may be given.
run "$DEPLOY" init my.yml
expect_rc 0 "init my.yml"
expect_line my.yml "# Written by 'deploy init --example local' from examples/local.yml: edit it," "the default example"

# Never overwritten, not even through a link.
printf 'mine\n' >my.yml
run "$DEPLOY" init my.yml
expect_rc 1 "init over a file"
expect_line "$TMP/err" "deploy: 'my.yml' exists already: not overwritten (remove it, or name another file)" "refused"
printf 'mine\n' >want
expect_same want my.yml "the file is as it was"
ln -s elsewhere.yml link.yml
run "$DEPLOY" init link.yml
expect_rc 1 "init over a dangling link"
checks=$((checks + 1))
[ ! -e elsewhere.yml ] || fail "init followed a link"

run "$DEPLOY" init --example aw x.yml
expect_rc 64 "an unknown example"
checks=$((checks + 1))
[ ! -e x.yml ] || fail "an unknown example wrote a file"

finish
