#!/bin/sh
# deploy-test-tool sigv4: AWS Signature Version 4 over the project's own
# requests in tests/integration/sigv4/, byte for byte. Each .expected file
# was computed by an independent implementation (Python's hashlib, hmac
# and urllib.parse; see tests/unit/test-sigv4.c for the derivation), not by
# deploy. The classic AWS suite is run by tests/conformance/aws-sigv4.sh.

. "$TESTLIB"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

fixtures=$SRCDIR/tests/integration/sigv4
AK=AKIAIOSFODNN7EXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
TOKEN='FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLEsessiontoken+abc/def=='

# --- an EC2 Query API call: CRLF request, form body, signed session token -

run "$TEST_TOOL" sigv4 --request "$fixtures/ec2-describe-instances.req" \
	--access-key "$AK" --secret "$SECRET" --region eu-west-1 \
	--service ec2 --date 20261121T093000Z --token "$TOKEN"
expect_rc 0 "ec2 DescribeInstances"
expect_same "$fixtures/ec2-describe-instances.expected" "$TMP/out" \
	"ec2 DescribeInstances"
expect_no_match "$TMP/out" "$SECRET" "the secret is not printed"

# --- path normalisation and double encoding, query decoding and sorting,
# --- repeated, tab-filled and folded headers ------------------------------

run "$TEST_TOOL" sigv4 --request "$fixtures/get-normalize.req" \
	--access-key "$AK" --secret "$SECRET" --region eu-central-1 \
	--service execute-api --date 20261121T093000Z
expect_rc 0 "normalised GET"
expect_same "$fixtures/get-normalize.expected" "$TMP/out" "normalised GET"

# --- errors ----------------------------------------------------------------

printf 'POST / HTTP/1.1\nHost:h\nX-Amz-Security-Token:t\n' >token.req
run "$TEST_TOOL" sigv4 --request token.req --access-key "$AK" \
	--secret "$SECRET" --region eu-west-1 --service ec2 \
	--date 20261121T093000Z --token "$TOKEN"
expect_rc 1 "--token on a request that has one"
expect_line "$TMP/err" \
	"deploy-test-tool: token.req: request already has an 'X-Amz-Security-Token' header (drop --token)" \
	"--token on a request that has one"

printf 'GET /\nHost:h\n' >bad.req
run "$TEST_TOOL" sigv4 --request bad.req --access-key "$AK" \
	--secret "$SECRET" --region eu-west-1 --service ec2 \
	--date 20261121T093000Z
expect_rc 1 "bad request line"
expect_line "$TMP/err" \
	"deploy-test-tool: bad.req:1:1: request line is not 'METHOD TARGET HTTP/VERSION'" \
	"bad request line"

printf 'GET / HTTP/1.1\nHost:h\n' >good.req
run "$TEST_TOOL" sigv4 --request good.req --access-key "$AK" \
	--secret "$SECRET" --region eu-west-1 --service ec2 \
	--date 2026-11-21T09:30:00Z
expect_rc 1 "bad date"
expect_line "$TMP/err" \
	"deploy-test-tool: sigv4: date '2026-11-21T09:30:00Z' is not YYYYMMDDTHHMMSSZ" \
	"bad date"
expect_no_match "$TMP/err" "$SECRET" "no secret in the error"
expect_no_match "$TMP/out" "AWS4-HMAC-SHA256" "nothing printed on an error"

run "$TEST_TOOL" sigv4 --request good.req --access-key "$AK" \
	--secret "$SECRET" --region eu-west-1 --service ec2
expect_rc 64 "no --date"

finish
