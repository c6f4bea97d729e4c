#!/bin/sh
# AWS errors and retries against moto behind the test proxy: throttling
# (RequestLimitExceeded, HTTP 503) is retried with backoff and the run
# succeeds; throttling past the bound fails naming the code and the
# attempts; a wrong secret gives a clear authentication error with no
# secret in it and nothing made; an image name moto does not have and an
# unknown zone are refused before anything is made.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0704-$$"
cleanup() {
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start --throttle 4

ssh-keygen -q -t ed25519 -N "" -C t0704 -f "$TMP/id" || fail "ssh-keygen"
topology() { # topology IMAGE [ZONE]
	cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
roles:
  web: {count: 2, image: $1${2:+, zone: $2}}
TOPO
}

# Throttled 4 times: backed off and succeeded.
topology ubuntu-16.04
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up through 4 throttled answers"
checks=$((checks + 1))
[ "$(grep -c ' 503$' "$AWS_LOG")" = 4 ] || fail "4 throttled answers"
aws_query "$name" | awk '$1 == "instance" {print $3, $4}' | sort >"$TMP/have"
printf 'running web-0\nrunning web-1\n' >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "both instances, once each"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"

# Just made, not known yet (eventual consistency): DescribeInstances by id
# answers InvalidInstanceID.NotFound twice; deploy asks again.
aws_proxy_start --throttle 2 --throttle-action DescribeInstances \
	--throttle-param InstanceId.1 --error-code InvalidInstanceID.NotFound \
	--error-status 400
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up through InvalidInstanceID.NotFound"
checks=$((checks + 1))
[ "$(grep -c '^DescribeInstances 400' "$AWS_LOG")" = 2 ] || fail "2 NotFound answers"
aws_query "$name" | awk '$1 == "instance" && $3 == "running" {print $4}' | sort >"$TMP/have"
printf 'web-0\nweb-1\n' >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "both instances running, once each"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"

# Throttled for ever: bounded, and said.
aws_proxy_start --throttle 1000
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up that is always throttled"
expect_line "$TMP/err" "deploy: error: aws DescribeInstances: RequestLimitExceeded: Request limit exceeded. (request proxy-throttle-8) (after 8 attempts)" "throttling bounded"
checks=$((checks + 1))
[ "$(wc -l <"$AWS_LOG")" = 8 ] || fail "8 attempts, not $(wc -l <"$AWS_LOG")"

# A wrong secret: moto refuses the signature; deploy says so.
aws_proxy_start
: >"$AWS_LOG"
good=$AWS_SECRET_ACCESS_KEY
run env AWS_SECRET_ACCESS_KEY=wrong-secret-t0704 "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a wrong secret"
expect_line "$TMP/err" "deploy: error: aws DescribeInstances: AuthFailure: AWS was not able to validate the provided access credentials; credentials from environment" "authentication error"
expect_no_match "$TMP/err" "wrong-secret-t0704" "no secret in the error"
expect_no_match "$TMP/out" "wrong-secret-t0704" "no secret in the output"
expect_no_match "$TMP/err" "$good" "not the right secret either"
aws_mutating >"$TMP/mutating"
expect_same /dev/null "$TMP/mutating" "nothing made with a wrong secret"

# Checked before anything is made: the image, the zone.
topology debian-12
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "an image moto lacks"
expect_line "$TMP/err" "topo.yml:6:3: error: role 'web': no image 'debian-12' (owner 136693071363, name debian-12-amd64-*) in region 'us-east-1': use an AMI id" "image not found"
topology ubuntu-16.04 us-east-1z
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "an unknown zone"
expect_line "$TMP/err" "topo.yml:6:3: error: role 'web': zone 'us-east-1z' is not an available zone of region 'us-east-1' (available: us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f)" "zone not found"
aws_mutating >"$TMP/mutating"
expect_same /dev/null "$TMP/mutating" "nothing made before the checks"
aws_query "$name" | grep -v '^instance [^ ]* terminated' >"$TMP/left"
expect_same /dev/null "$TMP/left" "nothing left"
finish
