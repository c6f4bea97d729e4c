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

# Two up runs of one topology from two directories at once. The proxy
# holds the first run's first state write for 10 s (it holds the lock
# then): the second fails at once naming the holder and its lock id;
# with a long --lock-timeout it waits, then reads what the first made.
topo a "" 2
topo b "" 2
aws_proxy_start --hook-before-put "/$key" --hook "sleep 10"
: >"$AWS_LOG"
"$DEPLOY" up --yes a/topo.yml >"$TMP/a.out" 2>"$TMP/a.err" &
up1=$!
i=0
while ! grep -q "^S3 PUT /$bucket/$key.lock 200" "$AWS_LOG" && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
run "$DEPLOY" up --yes b/topo.yml
expect_rc 1 "a second up while the first holds the lock"
checks=$((checks + 1))
grep -q "^deploy: error: s3://$bucket/$key is locked by another deploy (.*, pid $up1, 'deploy up', since .*; lock id [0-9a-f-]*): wait for it (--lock-timeout SECONDS), or, if that run is gone, run 'deploy unlock [0-9a-f-]*'$" "$TMP/err" ||
	fail "the waiting run names the holder: $(cat "$TMP/err")"
run "$DEPLOY" up --yes --lock-timeout 60 b/topo.yml
expect_rc 0 "a second up with a long --lock-timeout"
expect_line "$TMP/out" "Nothing to create or destroy: 2 hosts exist." "the second run read what the first made"
wait $up1
rc=$?
up1=
expect_rc 0 "the first up"
expect_line "$TMP/a.out" "Up: 1 created, 0 destroyed, 1 unchanged." "the first up made node-1"
checks=$((checks + 1))
[ "$(instances)" = 2 ] || fail "2 instances, none made twice"

# A forged concurrent write: between this run's read and its first write
# the test PUTs a newer state. The run's If-Match PUT gets 412: it stops
# before making anything, and the newer state is left as it is.
cat >"$TMP/forge.py" <<FORGE
import boto3, json
s3 = boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1')
st = json.loads(s3.get_object(Bucket='$bucket', Key='$key')['Body'].read())
st['serial'] += 10
st['outputs']['forged'] = 'yes'
s3.put_object(Bucket='$bucket', Key='$key', Body=json.dumps(st).encode())
FORGE
nr_resources() {
	s3py "
st = json.loads(s3.get_object(Bucket='$bucket', Key='$key')['Body'].read())
print(st['outputs'].get('forged'), len(st['resources']))"
}
before=$(nr_resources)
topo a "" 3
aws_proxy_start --hook-before-put "/$key" --hook "$AWS_PY $TMP/forge.py"
: >"$AWS_LOG"
run "$DEPLOY" up --yes a/topo.yml
expect_rc 1 "up whose state changed behind it"
expect_line "$TMP/err" "deploy: error: s3://$bucket/$key: the state was changed by another run since this run read it (HTTP 412 PreconditionFailed): this run stops here and leaves the state as that run wrote it; run again to work from it" "412 stops the run"
checks=$((checks + 1))
grep -q "^RunInstances" "$AWS_LOG" && fail "no instance made without its pending record"
checks=$((checks + 1))
[ "$(instances)" = 2 ] || fail "still 2 instances"
nr_resources >"$TMP/have"
echo "yes ${before#None }" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "the newer state is intact"

# SIGKILL after RunInstances: the lock object stays; the next run fails
# naming it; 'deploy unlock ID' breaks it; up resumes, adopting the
# instance, and the state in S3 is right after.
aws_proxy_start --kill-after RunInstances --kill-pid-file "$TMP/deploy.pid"
"$DEPLOY" up --yes a/topo.yml >"$TMP/out" 2>"$TMP/err" &
echo $! >"$TMP/deploy.pid"
wait $!
rc=$?
expect_rc 137 "up killed after RunInstances"
aws_proxy_start
run "$DEPLOY" up --yes a/topo.yml
expect_rc 1 "up while the killed run's lock stays"
id=$(sed -n "s/.*run 'deploy unlock \([0-9a-f-]*\)'$/\1/p" "$TMP/err")
checks=$((checks + 1))
[ -n "$id" ] || fail "the lock id is shown: $(cat "$TMP/err")"
run "$DEPLOY" unlock 00000000-0000-4000-8000-000000000000 a/topo.yml
expect_rc 1 "unlock with another id"
run "$DEPLOY" unlock "$id" a/topo.yml
expect_rc 0 "unlock with the shown id"
expect_line "$TMP/out" "Lock broken." "unlock"
: >"$AWS_LOG"
run "$DEPLOY" up --yes a/topo.yml
expect_rc 0 "up after the unlock"
checks=$((checks + 1))
grep -q "^RunInstances" "$AWS_LOG" && fail "the killed run's instance adopted, not made again"
checks=$((checks + 1))
[ "$(instances)" = 3 ] || fail "3 instances"
run "$DEPLOY" plan b/topo.yml
expect_rc 2 "plan from b (count 2) after the resume"
expect_line "$TMP/out" "Plan: 0 to create, 1 to destroy, 2 unchanged." "S3 state has 3 hosts"

run "$DEPLOY" down --yes a/topo.yml
expect_rc 0 "down through the S3 state"
checks=$((checks + 1))
[ "$(instances)" = 0 ] || fail "no instance left"
s3py "
st = json.loads(s3.get_object(Bucket='$bucket', Key='$key')['Body'].read())
print(len(st['resources']))" >"$TMP/have"
echo 0 >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "no resource left in the S3 state"
finish
