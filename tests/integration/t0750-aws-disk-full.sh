#!/bin/sh
# Disk full when saving the state: the state directory (.deploy/) is a tiny
# tmpfs this test mounts (and unmounts on exit, whatever happens). After a
# first up, the topology grows a role and the tmpfs is filled: up fails
# with the reason, the previous state is intact byte for byte, and no
# mutating call reached AWS (the pending record could not be saved, so
# nothing was made that the state could not record). With room again, up
# makes the new host once.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0750-$$"
mounted=
cleanup() {
	aws_stop
	cd / || true
	[ -n "$mounted" ] && umount "$mounted"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP/.deploy"
mount -t tmpfs -o size=512k,mode=0700 "deploy-test-$$" "$TMP/.deploy" ||
	{
		echo "cannot mount a tmpfs (not root?)" >&2
		exit 1
	}
mounted=$TMP/.deploy
aws_start

ssh-keygen -q -t ed25519 -N "" -C t0750 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
roles:
  web: {size: t3.micro, image: ubuntu-16.04}
TOPO
state=.deploy/$name.state.json

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
cp "$state" state.before

cat >>topo.yml <<TOPO
  extra: {size: t3.micro, image: ubuntu-16.04}
TOPO
# Fill the tmpfs to the last page, then give one back: room for the run
# lock's holder line (taken first), none for the state.
dd if=/dev/zero of=.deploy/filler bs=4k 2>/dev/null
truncate -s -4K .deploy/filler
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up on a full disk"
checks=$((checks + 1))
grep -q "$state.*: cannot write the state: No space left on device" "$TMP/err" ||
	fail "the reason, naming the file: $(cat "$TMP/err")"
expect_same state.before "$state" "the previous state is intact"
checks=$((checks + 1))
[ -z "$(aws_mutating)" ] || {
	fail "mutating calls on a full disk:"
	aws_mutating >&2
}
checks=$((checks + 1))
for f in .deploy/*.tmp.*; do
	[ -e "$f" ] && fail "a temporary file was left: $f"
done

rm .deploy/filler
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with room again"
checks=$((checks + 1))
[ "$(grep -c '^RunInstances 200' "$AWS_LOG")" = 1 ] ||
	fail "one RunInstances for the new host"

finish
