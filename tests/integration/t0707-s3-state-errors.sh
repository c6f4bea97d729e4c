#!/bin/sh
# The S3 state backend's errors: the state block is checked with
# file:line:col; an unreachable store, wrong credentials and a missing
# bucket stop up with a clear message before anything is made at EC2; so
# does a lock object deploy did not write, which 'deploy unlock --yes'
# removes.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

cat >bad.yml <<'YAML'
version: 1
name: t0707
providers: {aws: {region: us-east-1}}
state:
  s3:
    bucket: Bad_Bucket
    key: /x//y
    encrypt: false
    kms_key_id: alias/state
    regoin: us-east-1
roles:
  node: {image: ubuntu-16.04}
YAML
run "$DEPLOY" validate bad.yml
expect_rc 1 "a wrong state block"
cat >"$TMP/want" <<'WANT'
bad.yml:6:13: error: state.s3.bucket 'Bad_Bucket' is not an S3 bucket name: use 3 to 63 lowercase letters, digits, '.' and '-'
bad.yml:7:10: error: state.s3.key '/x//y' is not a key deploy can use: use letters, digits, '.', '_', '-' and '/' between non-empty parts
bad.yml:9:17: error: state.s3.kms_key_id needs encrypt: true
bad.yml:10:5: error: unknown key 'regoin' in state.s3 (did you mean 'region'?)
bad.yml: 4 errors
WANT
expect_same "$TMP/want" "$TMP/err" "state block errors"
printf 'version: 1\nname: t\nstate: {s3: {}}\nroles: {n: {provider: local}}\n' >nobucket.yml
run "$DEPLOY" validate nobucket.yml
expect_rc 1 "state.s3 without a bucket"
expect_line "$TMP/err" "nobucket.yml:3:13: error: missing key 'bucket' in state.s3 (e.g. 'bucket: my-team-state')" "bucket required"

name="t0707-$$"
bucket="deploy-state-$$"
cleanup() {
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start
"$AWS_PY" -c "
import boto3
boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1').create_bucket(Bucket='$bucket')" ||
	fail "create the bucket"
ssh-keygen -q -t ed25519 -N "" -C t0707 -f "$TMP/id" || fail "ssh-keygen"
topo() {
	cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
state: {s3: {bucket: $1, path_style: true$2}}
roles:
  node: {size: t3.micro, image: ubuntu-16.04}
TOPO
}
# nothing_made WHAT: no call to EC2 but reads, and no instance.
nothing_made() {
	aws_mutating | grep -v '^S3 ' >"$TMP/mutating"
	expect_same /dev/null "$TMP/mutating" "$1: nothing made at EC2"
	checks=$((checks + 1))
	[ -z "$(aws_query "$name" | awk '$1 == "instance"')" ] || fail "$1: no instance"
}

# Unreachable: a port nobody listens on; retried a few times, then a
# clear error.
port=$(free_port)
topo "$bucket" ", endpoint: 'http://127.0.0.1:$port'"
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with the store unreachable"
checks=$((checks + 1))
grep -q "^deploy: error: PUT http://127.0.0.1:$port/$bucket/$name.state.json.lock: .*" "$TMP/err" ||
	fail "unreachable: $(cat "$TMP/err")"
nothing_made "unreachable store"

# Wrong credentials (a profile with a wrong secret; EC2 keeps the
# environment's right ones).
cat >"$TMP/creds" <<CREDS
[wrong]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = not-the-secret
CREDS
AWS_SHARED_CREDENTIALS_FILE="$TMP/creds"
export AWS_SHARED_CREDENTIALS_FILE
topo "$bucket" ", profile: wrong"
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with wrong credentials for the store"
expect_line "$TMP/err" "deploy: error: s3://$bucket/$name.state.json.lock: cannot take the lock: HTTP 403 (SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.): check the credentials (AWS_ACCESS_KEY_ID, state.s3.profile) and their rights on the bucket" "wrong credentials"
expect_no_match "$TMP/err" "not-the-secret" "no secret in the message"
nothing_made "wrong credentials"

# A missing bucket.
topo "no-such-$bucket" ""
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a missing bucket"
expect_line "$TMP/err" "deploy: error: s3://no-such-$bucket/$name.state.json.lock: cannot take the lock: HTTP 404 (NoSuchBucket: The specified bucket does not exist): the bucket does not exist (deploy does not make it: create it with versioning on)" "missing bucket"
nothing_made "missing bucket"

# A lock object deploy did not write: named, nothing made, and removed by
# 'deploy unlock --yes'.
topo "$bucket" ""
"$AWS_PY" -c "
import boto3
boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1').put_object(Bucket='$bucket', Key='$name.state.json.lock', Body=b'garbage')" ||
	fail "put a foreign lock object"
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a lock object deploy cannot read"
expect_line "$TMP/err" "deploy: error: s3://$bucket/$name.state.json is locked by an object deploy cannot read at s3://$bucket/$name.state.json.lock (not a lock note deploy wrote: not JSON): if no deploy run is under way, 'deploy unlock --yes' removes it" "a foreign lock object"
nothing_made "a foreign lock object"
run "$DEPLOY" unlock --yes topo.yml
expect_rc 0 "unlock --yes of a foreign lock object"
run "$DEPLOY" unlock topo.yml
expect_rc 0 "unlock after it"
expect_line "$TMP/out" "Nobody holds the lock of '$name'." "the foreign lock object is gone"

# SSE-KMS: the objects carry aws:kms and the key id.
topo "$bucket" ", kms_key_id: alias/deploy-state"
run "$DEPLOY" plan topo.yml
expect_rc 2 "plan with SSE-KMS"
finish
