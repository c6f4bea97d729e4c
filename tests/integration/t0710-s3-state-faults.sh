#!/bin/sh
# The S3 state under faults (moto's S3, signatures checked, behind
# tests/helper/aws-proxy.py): state writes whose connection breaks are
# tried again, with backoff and a bound, and succeed (also when S3 took a
# write whose answer was lost: the retry's 412 is recognised as this run's
# own write); a state that cannot be written (500 on every attempt, or
# 403) stops the run before the resource whose pending record it is, with
# a clear error, the lock released; the next run resumes and makes only
# what is missing.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0710-$$"
bucket="deploy-state-$$"
key="$name.state.json"
cleanup() {
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start

# s3py CODE: python with boto3's S3 client as `s3` (not deploy).
s3py() {
	"$AWS_PY" -c "
import boto3, json, sys
s3 = boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1')
$1"
}
s3py "s3.create_bucket(Bucket='$bucket')" || fail "create the bucket"
ssh-keygen -q -t ed25519 -N "" -C t0710 -f "$TMP/id" || fail "ssh-keygen"
topo() {
	cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
state: {s3: {bucket: $bucket, path_style: true}}
roles:
  node: {count: $1, size: t3.micro, image: ubuntu-16.04}
TOPO
}
instances() {
	aws_query "$name" | awk '$1 == "instance" && $3 == "running"' | wc -l
}
# state_puts: the logged state writes' outcomes, one a line.
state_puts() {
	sed -n "s|^S3 PUT /$bucket/$key ||p" "$AWS_LOG"
}
# lock_released WHAT
lock_released() {
	checks=$((checks + 1))
	s3py "
try:
    s3.head_object(Bucket='$bucket', Key='$key.lock')
    sys.exit(1)
except s3.exceptions.ClientError:
    pass" || fail "$1: the lock is released"
}
# nothing_after_first_failure WHAT: no EC2 call that makes or changes
# anything after the first state write that failed.
nothing_after_first_failure() {
	checks=$((checks + 1))
	sed -n "\|^S3 PUT /$bucket/$key [^2]|,\$p" "$AWS_LOG" |
		grep -v '^S3 \|^Describe' >"$TMP/after"
	[ -s "$TMP/after" ] && fail "$1: calls after the state could not be written: $(cat "$TMP/after")"
}

# The first two writes of the state lose their connection (no answer):
# tried again, the run succeeds.
topo 1
aws_proxy_start --s3-fail-put "/$key" --s3-fail-count 2 --s3-fail-status 0
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with two state writes dropped"
expect_line "$TMP/out" "Up: 1 created, 0 destroyed, 0 unchanged." "up summary"
state_puts | head -3 >"$TMP/have"
printf '%s\n' dropped dropped 200 >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "the dropped writes were tried again"
checks=$((checks + 1))
[ "$(instances)" = 1 ] || fail "1 instance"

# A write S3 takes but whose answer is lost: the retry (If-Match the old
# ETag) gets 412, which is this run's own write (the object holds exactly
# what was sent): the run goes on.
topo 2
aws_proxy_start --s3-fail-put "/$key" --s3-fail-count 1 --s3-fail-status -1
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with a taken write's answer lost"
expect_line "$TMP/out" "Up: 1 created, 0 destroyed, 1 unchanged." "up summary"
state_puts | head -2 >"$TMP/have"
printf '%s\n' taken-dropped 412 >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "the retry's 412 taken as this run's write"
checks=$((checks + 1))
[ "$(instances)" = 2 ] || fail "2 instances"

# Every write from node-2's pending record on fails with 500: tried 5
# times (the bound), then the run stops before RunInstances for node-2.
topo 3
aws_proxy_start --s3-fail-put "/$key" --s3-fail-when node-2 --s3-fail-status 500
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up whose state cannot be written (500)"
expect_line "$TMP/err" "deploy: error: s3://$bucket/$key: cannot write the state: HTTP 500 (InternalError: We encountered an internal error. Please try again.)" "500: the error"
state_puts | grep -c '^500$' >"$TMP/have"
echo 5 >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "500: 5 attempts, then no more"
nothing_after_first_failure "500"
checks=$((checks + 1))
[ "$(instances)" = 2 ] || fail "500: node-2 not made"
lock_released "500"

# 403 (the bucket policy refuses the writes): not tried again.
aws_proxy_start --s3-fail-put "/$key" --s3-fail-when node-2 --s3-fail-status 403
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up whose state cannot be written (403)"
expect_line "$TMP/err" "deploy: error: s3://$bucket/$key: cannot write the state: HTTP 403 (AccessDenied: Access Denied): check the credentials (AWS_ACCESS_KEY_ID, state.s3.profile) and their rights on the bucket" "403: the error"
state_puts | grep -c '^403$' >"$TMP/have"
echo 1 >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "403: one attempt"
nothing_after_first_failure "403"
checks=$((checks + 1))
[ "$(instances)" = 2 ] || fail "403: node-2 not made"
lock_released "403"

# Writes accepted again: the next run makes node-2 alone.
aws_proxy_start
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up once the state can be written"
expect_line "$TMP/out" "Up: 1 created, 0 destroyed, 2 unchanged." "up makes node-2 only"
checks=$((checks + 1))
[ "$(grep -c '^RunInstances' "$AWS_LOG")" = 1 ] || fail "one RunInstances: $(cat "$AWS_LOG")"
checks=$((checks + 1))
[ "$(instances)" = 3 ] || fail "3 instances"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
