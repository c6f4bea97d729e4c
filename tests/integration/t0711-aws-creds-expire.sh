#!/bin/sh
# Instance-metadata credentials that expire in the middle of a run: the
# IMDS test server hands out credentials whose Expiration is already inside
# deploy's refresh window (AWS_CREDS_REFRESH_S, 5 minutes), new keys and
# session token on every fetch (from moto's STS AssumeRole, so moto checks
# them); the proxy in front of moto takes each
# session token for 2 requests only, then answers ExpiredToken. A
# `deploy up` of several instances (dozens of signed calls) succeeds only
# if deploy fetches credentials again before they run out. The control:
# the same run with credentials that expire in an hour is refused at the
# third call, so the proxy does bite.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0711-$$"
imds_pid=
cleanup() {
	if [ -n "$imds_pid" ]; then
		kill "$imds_pid" 2>/dev/null
		wait "$imds_pid" 2>/dev/null
	fi
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start --token-uses 2

# start_imds [OPTION]...: the IMDS test server handing out moto's keys.
start_imds() {
	rm -f "$TMP/imds.port" "$TMP/imds.log"
	"$AWS_PY" "$SRCDIR/tests/helper/imds-server.py" \
		--port-file "$TMP/imds.port" --log "$TMP/imds.log" \
		--sts "$MOTO_URL" --access-key "$MOTO_KEY" \
		--secret "$MOTO_SECRET" "$@" >>"$TMP/imds.out" 2>&1 &
	imds_pid=$!
	i=0
	while [ ! -s "$TMP/imds.port" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$TMP/imds.port" ] || { echo "imds-server.py did not start" >&2; exit 1; }
	export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$(cat "$TMP/imds.port")"
}
stop_imds() {
	kill "$imds_pid"
	wait "$imds_pid" 2>/dev/null
	imds_pid=
}

# The role the instance's credentials are for (moto checks its policy).
"$AWS_PY" - "$MOTO_URL" <<'PY' || fail "create the role"
import json, os, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
         "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
iam.create_role(RoleName="deploy-test-role",
                AssumeRolePolicyDocument=json.dumps(trust))
iam.put_role_policy(RoleName="deploy-test-role", PolicyName="all",
                    PolicyDocument=json.dumps({"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*",
                                   "Resource": "*"}]}))
PY

# deploy gets its credentials from instance metadata only; aws-query.py
# (boto3) keeps the IAM user's.
MOTO_KEY=$AWS_ACCESS_KEY_ID
MOTO_SECRET=$AWS_SECRET_ACCESS_KEY
export AWS_EC2_METADATA_DISABLED=false
D="env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $DEPLOY"

ssh-keygen -q -t ed25519 -N "" -C t0711 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
roles:
  node: {count: 3, size: t3.micro, image: ubuntu-16.04}
TOPO

# The control: an Expiration an hour away is not refreshed; the proxy
# refuses the token at the third call and the run stops, naming it.
start_imds --rotate --expires-in 3600
run $D up --yes topo.yml
expect_rc 1 "up with a credential that expires behind deploy's back"
grep -q ExpiredToken "$TMP/err" || fail "control: the refusal is not named: $(cat "$TMP/err")"
[ "$(grep -c 'creds=' "$TMP/imds.log")" -eq 1 ] ||
	fail "control: credentials fetched $(grep -c 'creds=' "$TMP/imds.log") times, expected once"
grep -q ' expired$' "$AWS_LOG" || fail "control: the proxy refused nothing"
stop_imds
aws_query "$name" >"$TMP/before" || fail "aws-query.py"

# Credentials already inside the refresh window: fetched again before each
# signed call, the run goes on with each new one.
: >"$AWS_LOG"
start_imds --rotate --expires-in 120
run $D up --yes topo.yml
expect_rc 0 "up outliving its credentials"
fetched=$(grep -c 'creds=' "$TMP/imds.log")
calls=$(grep -vc ' expired$' "$AWS_LOG")
[ "$fetched" -gt 1 ] || fail "credentials fetched $fetched times, expected more than once"
[ "$calls" -gt 2 ] || fail "only $calls AWS calls: the run did not outlive a credential"
expect_no_match "$AWS_LOG" " expired" "no call refused for an expired token"
[ "$(aws_query "$name" | awk '$1 == "instance" && $3 == "running"' | wc -l)" -eq 3 ] ||
	fail "not 3 running instances at moto"
echo "# $calls AWS calls, credentials fetched $fetched times"

# Every output is free of the secret.
for f in "$TMP/out" "$TMP/err" .deploy/*; do
	[ -f "$f" ] || continue
	! grep -qF "$MOTO_SECRET" "$f" || fail "the secret in $f"
done

run $D down --yes topo.yml
expect_rc 0 "down"
stop_imds
finish
