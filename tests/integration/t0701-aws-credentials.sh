#!/bin/sh
# AWS credentials, region and endpoint (providers/aws/credentials.h) through
# deploy-test-tool aws-creds: the environment, the shared files in a scratch
# HOME, instance metadata (IMDSv2) from tests/helper/imds-server.py on a
# loopback port, and the order between them. No secret may appear in any
# output: every output is kept and searched for them at the end.

. "$TESTLIB"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

IMDS_SERVER=$SRCDIR/tests/helper/imds-server.py
imds_pid=
trap 'if [ -n "$imds_pid" ]; then kill "$imds_pid" 2>/dev/null; fi; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

# Nothing from the caller's environment, and never the real metadata
# address: each IMDS case names the test server.
for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
	AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SHARED_CREDENTIALS_FILE \
	AWS_CONFIG_FILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL \
	AWS_ENDPOINT_URL_EC2 AWS_IGNORE_CONFIGURED_ENDPOINT_URLS \
	AWS_EC2_METADATA_SERVICE_ENDPOINT http_proxy https_proxy HTTP_PROXY \
	HTTPS_PROXY all_proxy ALL_PROXY; do
	unset "$v"
done
export AWS_EC2_METADATA_DISABLED=true
export no_proxy='*' NO_PROXY='*'
export HOME="$TMP/home"
mkdir -p "$HOME/.aws" "$TMP/bin"
printf '#!/bin/sh\nexec "%s" aws-creds "$@"\n' "$TEST_TOOL" >"$TMP/bin/aws-creds"
chmod +x "$TMP/bin/aws-creds"
PATH=$TMP/bin:$PATH

ENV_SECRET='envSecret/Key+0123456789abcdefghijklmn'
ENV_TOKEN='FwoGZXIvYXdzENVsessiontoken0123456789'
DEF_SECRET='defaultSecret/Key+abcdefghij0123456789'
PROD_SECRET='prodSecret/Key+abcdefghij0123456789xyz'
CFG_SECRET='configOnlySecret/Key+abcdefghij012345'
CFG_TOKEN='cfgSessionToken0123456789abcdefghij'
ALT_SECRET='altSecret/Key+abcdefghij0123456789abc'
IMDS_SECRET='imds/Secret+Key/0123456789abcdefghij'
IMDS_TOKEN='IQoJb3JpZ2luX2VjImdsToken'

# creds [VAR=VALUE]... aws-creds [OPTION]...: run, keeping every output.
creds() {
	run env "$@"
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
}

# expect_match FILE TEXT what: a line of FILE contains TEXT.
expect_match() {
	checks=$((checks + 1))
	if ! grep -qF -- "$2" "$1"; then
		fail "$3: no '$2' in $(basename "$1")"
		sed 's/^/  | /' "$1" >&2
	fi
}

sha() {
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# A closed loopback port: bound, then let go.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_imds [OPTION]...: the test server, its port in $IMDS_PORT and its
# request log in $TMP/imds.log (fresh for each server).
start_imds() {
	rm -f "$TMP/imds.port" "$TMP/imds.log"
	python3 "$IMDS_SERVER" --port-file "$TMP/imds.port" \
		--log "$TMP/imds.log" "$@" &
	imds_pid=$!
	for _ in $(seq 600); do
		[ -s "$TMP/imds.port" ] && break
		sleep 0.1
	done
	IMDS_PORT=$(cat "$TMP/imds.port" 2>/dev/null)
	[ -n "$IMDS_PORT" ] || {
		echo "the IMDS test server did not start" >&2
		exit 1
	}
	IMDS=http://127.0.0.1:$IMDS_PORT
}

stop_imds() {
	kill "$imds_pid"
	wait "$imds_pid" 2>/dev/null
	imds_pid=
}

# --- the environment -----------------------------------------------------

creds AWS_ACCESS_KEY_ID=AKIAENVIRONMENT00001 \
	AWS_SECRET_ACCESS_KEY="$ENV_SECRET" AWS_SESSION_TOKEN="$ENV_TOKEN" \
	AWS_REGION=eu-west-1 aws-creds
expect_rc 0 "environment"
cat >expected <<EOF
source: environment
access_key: AKIAENVIRONMENT00001
secret_sha256: $(sha "$ENV_SECRET")
token: yes
region: eu-west-1
endpoint: https://ec2.eu-west-1.amazonaws.com
EOF
expect_same expected "$TMP/out" "environment"

creds AWS_ACCESS_KEY_ID=AKIAENVIRONMENT00001 AWS_REGION=eu-west-1 aws-creds
expect_rc 1 "key id without secret"
expect_line "$TMP/err" \
	"AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" \
	"key id without secret"

# --- the shared files ----------------------------------------------------

cat >"$HOME/.aws/credentials" <<EOF
# written by hand
[default]
aws_access_key_id=AKIADEFAULT000000001
	aws_secret_access_key   =   $DEF_SECRET   ; rotated monthly

; production
[prod]   # the real one
aws_access_key_id = AKIAPROD000000000001
aws_secret_access_key = $PROD_SECRET

[half]
aws_access_key_id = AKIAHALF000000000001
EOF
cat >"$HOME/.aws/config" <<EOF
[default]
region = us-west-2
s3 =
  max_concurrent_requests = 20

[profile prod]
region = ap-south-1

[profile cfgonly]
aws_access_key_id = AKIACONFIGONLY000001
aws_secret_access_key = $CFG_SECRET
aws_session_token = $CFG_TOKEN
region = ca-central-1

[profile sso]
sso_session = corp
region = eu-north-1

[sso-session corp]
sso_start_url = https://corp.example.com/start
EOF

creds aws-creds
expect_rc 0 "default profile"
cat >expected <<EOF
source: profile 'default' in $HOME/.aws/credentials
access_key: AKIADEFAULT000000001
secret_sha256: $(sha "$DEF_SECRET")
token: no
region: us-west-2
endpoint: https://ec2.us-west-2.amazonaws.com
EOF
expect_same expected "$TMP/out" "default profile"

creds AWS_PROFILE=prod aws-creds
expect_rc 0 "AWS_PROFILE"
cat >expected <<EOF
source: profile 'prod' in $HOME/.aws/credentials
access_key: AKIAPROD000000000001
secret_sha256: $(sha "$PROD_SECRET")
token: no
region: ap-south-1
endpoint: https://ec2.ap-south-1.amazonaws.com
EOF
expect_same expected "$TMP/out" "AWS_PROFILE"

creds aws-creds --profile prod
expect_rc 0 "profile in the provider block"
expect_same expected "$TMP/out" "profile in the provider block"

# The block's profile wins over AWS_PROFILE.
creds AWS_PROFILE=cfgonly aws-creds --profile prod
expect_rc 0 "block profile over AWS_PROFILE"
expect_same expected "$TMP/out" "block profile over AWS_PROFILE"

creds AWS_PROFILE=cfgonly aws-creds
expect_rc 0 "keys in the config file only"
cat >expected <<EOF
source: profile 'cfgonly' in $HOME/.aws/config
access_key: AKIACONFIGONLY000001
secret_sha256: $(sha "$CFG_SECRET")
token: yes
region: ca-central-1
endpoint: https://ec2.ca-central-1.amazonaws.com
EOF
expect_same expected "$TMP/out" "keys in the config file only"

# --- environment against profile ----------------------------------------

# The environment's keys win over AWS_PROFILE (as in the SDKs) ...
creds AWS_ACCESS_KEY_ID=AKIAENVIRONMENT00001 \
	AWS_SECRET_ACCESS_KEY="$ENV_SECRET" AWS_PROFILE=prod aws-creds
expect_rc 0 "environment over AWS_PROFILE"
expect_line "$TMP/out" "source: environment" "environment over AWS_PROFILE"
expect_line "$TMP/out" "token: no" "no session token in the environment"
expect_line "$TMP/out" "region: ap-south-1" "region from AWS_PROFILE's"
# ... but not over a profile named in the provider block.
creds AWS_ACCESS_KEY_ID=AKIAENVIRONMENT00001 \
	AWS_SECRET_ACCESS_KEY="$ENV_SECRET" aws-creds --profile prod
expect_rc 0 "block profile over the environment"
expect_line "$TMP/out" "source: profile 'prod' in $HOME/.aws/credentials" \
	"block profile over the environment"
expect_line "$TMP/out" "access_key: AKIAPROD000000000001" \
	"block profile over the environment: its key"

# --- other files: AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE ----------

mkdir -p "$HOME/alt"
printf '[default]\naws_access_key_id = AKIAALTERNATE0000001\naws_secret_access_key = %s\n' \
	"$ALT_SECRET" >"$HOME/alt/creds"
printf '[default]\nregion = sa-east-1\n' >"$HOME/alt/conf"
creds AWS_SHARED_CREDENTIALS_FILE='~/alt/creds' \
	AWS_CONFIG_FILE="$HOME/alt/conf" aws-creds
expect_rc 0 "other files"
expect_line "$TMP/out" "source: profile 'default' in $HOME/alt/creds" \
	"AWS_SHARED_CREDENTIALS_FILE with ~/"
expect_line "$TMP/out" "secret_sha256: $(sha "$ALT_SECRET")" "other files"
expect_line "$TMP/out" "region: sa-east-1" "AWS_CONFIG_FILE"

# --- profile errors -------------------------------------------------------

creds aws-creds --profile nope
expect_rc 1 "missing profile"
expect_line "$TMP/err" "profile 'nope' not found in $HOME/.aws/credentials or $HOME/.aws/config (no [nope] in the first, no [profile nope] in the second)" \
	"missing profile"
creds AWS_PROFILE=nope aws-creds
expect_rc 1 "missing AWS_PROFILE"
expect_match "$TMP/err" "profile 'nope' not found in $HOME/.aws/credentials or" \
	"missing AWS_PROFILE"

creds AWS_PROFILE=half aws-creds
expect_rc 1 "profile without its secret"
expect_line "$TMP/err" "$HOME/.aws/credentials:11:1: profile 'half' has aws_access_key_id but no aws_secret_access_key" \
	"profile without its secret"

creds AWS_PROFILE=sso aws-creds
expect_rc 1 "sso profile"
expect_line "$TMP/err" "$HOME/.aws/config:15:1: profile 'sso' uses sso_session, which deploy does not support; give it aws_access_key_id and aws_secret_access_key, or set them in the environment" \
	"sso profile"

printf '[default]\naws_access_key_id\n' >"$HOME/broken"
creds AWS_SHARED_CREDENTIALS_FILE="$HOME/broken" aws-creds
expect_rc 1 "broken file"
expect_line "$TMP/err" "$HOME/broken:2:1: expected '[section]' or 'key = value'" \
	"broken file"

# --- nothing anywhere, instance metadata turned off ---------------------

mkdir -p "$TMP/empty"
creds HOME="$TMP/empty" aws-creds
expect_rc 1 "no credentials"
expect_line "$TMP/err" "no AWS credentials: AWS_ACCESS_KEY_ID is not set, no profile 'default' with keys in $TMP/empty/.aws/credentials or $TMP/empty/.aws/config, instance metadata: turned off by AWS_EC2_METADATA_DISABLED=true; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile with keys (\`profile:\` in providers.aws, or AWS_PROFILE)" \
	"no credentials"

# --- instance metadata (IMDSv2) ------------------------------------------

start_imds
creds HOME="$TMP/empty" AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS/" AWS_REGION=us-east-1 \
	aws-creds
expect_rc 0 "instance metadata"
cat >expected <<EOF
source: instance metadata (role deploy-test-role)
access_key: ASIAIMDSTEST0000001
secret_sha256: $(sha "$IMDS_SECRET")
token: yes
expires: $(date -u -d 2026-11-21T20:00:00Z +%s)
region: us-east-1
endpoint: https://ec2.us-east-1.amazonaws.com
EOF
expect_same expected "$TMP/out" "instance metadata"
# The token first, then both GETs with it: exactly these requests.
cat >expected <<EOF
PUT /latest/api/token ttl=21600 xff=no -> 200
GET /latest/meta-data/iam/security-credentials/ token=valid -> 200
GET /latest/meta-data/iam/security-credentials/deploy-test-role token=valid -> 200
EOF
expect_same expected "$TMP/imds.log" "instance metadata requests"

# The server follows the documentation: no token, no answer; a token
# request through a proxy (X-Forwarded-For) or without a TTL is refused.
checks=$((checks + 1))
s=$(curl -s -o /dev/null -w '%{http_code}' \
	"$IMDS/latest/meta-data/iam/security-credentials/")
[ "$s" = 401 ] || fail "GET without a token: HTTP $s, expected 401"
checks=$((checks + 1))
s=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
	-H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
	-H 'X-Forwarded-For: 10.0.0.1' "$IMDS/latest/api/token")
[ "$s" = 403 ] || fail "PUT with X-Forwarded-For: HTTP $s, expected 403"
checks=$((checks + 1))
s=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$IMDS/latest/api/token")
[ "$s" = 400 ] || fail "PUT without a TTL: HTTP $s, expected 400"
checks=$((checks + 1))
s=$(curl -s -o /dev/null -w '%{http_code}' \
	-H 'X-aws-ec2-metadata-token: forged' \
	"$IMDS/latest/meta-data/iam/security-credentials/")
[ "$s" = 401 ] || fail "GET with a forged token: HTTP $s, expected 401"
stop_imds

# Instance metadata comes after the shared files.
start_imds
creds AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" aws-creds
expect_rc 0 "profile before instance metadata"
expect_line "$TMP/out" "source: profile 'default' in $HOME/.aws/credentials" \
	"profile before instance metadata"
checks=$((checks + 1))
[ ! -s "$TMP/imds.log" ] || fail "instance metadata asked though a profile had keys"
stop_imds

# One 500 is tried again.
start_imds --fail 1
creds HOME="$TMP/empty" AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" AWS_REGION=us-east-1 \
	aws-creds
expect_rc 0 "one 500 from instance metadata"
expect_line "$TMP/out" "source: instance metadata (role deploy-test-role)" \
	"one 500 from instance metadata"
cat >expected <<EOF
PUT /latest/api/token ttl=21600 xff=no -> 500
PUT /latest/api/token ttl=21600 xff=no -> 200
GET /latest/meta-data/iam/security-credentials/ token=valid -> 200
GET /latest/meta-data/iam/security-credentials/deploy-test-role token=valid -> 200
EOF
expect_same expected "$TMP/imds.log" "one 500: the requests"
stop_imds

# Only 500s: two attempts, then the chain's error.
start_imds --fail -1
creds HOME="$TMP/empty" AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" aws-creds
expect_rc 1 "instance metadata failing"
expect_match "$TMP/err" "instance metadata: PUT $IMDS/latest/api/token: HTTP 500 (2 attempts); set AWS_ACCESS_KEY_ID" \
	"instance metadata failing"
checks=$((checks + 1))
[ "$(wc -l <"$TMP/imds.log")" -eq 2 ] || fail "not 2 attempts: $(cat "$TMP/imds.log")"
stop_imds

# An instance without a role.
start_imds --no-role
creds HOME="$TMP/empty" AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" aws-creds
expect_rc 1 "no role"
expect_match "$TMP/err" "instance metadata: $IMDS: no IAM role is attached to this instance; set" \
	"no role"
stop_imds

# A role whose credentials are not there.
start_imds --code AssumeRoleUnauthorizedAccess
creds HOME="$TMP/empty" AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" aws-creds
expect_rc 1 "credentials not available"
expect_line "$TMP/err" "instance metadata at $IMDS: the credentials of role 'deploy-test-role' are not available (Code 'AssumeRoleUnauthorizedAccess')" \
	"credentials not available"
stop_imds

# A service that answers too late: given up after 2 s, not tried again.
# It would answer after a minute: a run that ends well before that did not
# wait for the answer (the bound is generous: a busy machine is slow).
start_imds --delay 60
start=$(date +%s)
creds HOME="$TMP/empty" AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" aws-creds
end=$(date +%s)
expect_rc 1 "slow instance metadata"
expect_match "$TMP/err" "instance metadata: PUT $IMDS/latest/api/token: no answer within 2000 ms; set" \
	"slow instance metadata"
checks=$((checks + 1))
[ $((end - start)) -lt 30 ] || fail "slow instance metadata took $((end - start)) s"
stop_imds

# Nothing listening: fails without a long wait, and says where it looked.
port=$(free_port)
start=$(date +%s)
creds HOME="$TMP/empty" AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$port" aws-creds
end=$(date +%s)
expect_rc 1 "unreachable instance metadata"
expect_match "$TMP/err" "no AWS credentials: AWS_ACCESS_KEY_ID is not set, no profile 'default' with keys in $TMP/empty/.aws/credentials or $TMP/empty/.aws/config, instance metadata: PUT http://127.0.0.1:$port/latest/api/token: " \
	"unreachable instance metadata"
expect_match "$TMP/err" "(2 attempts); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" \
	"unreachable instance metadata: attempts"
checks=$((checks + 1))
[ $((end - start)) -lt 30 ] || fail "unreachable instance metadata took $((end - start)) s"

creds HOME="$TMP/empty" AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT=169.254.169.254 aws-creds
expect_rc 1 "metadata endpoint without a scheme"
expect_line "$TMP/err" "AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http:// URL" \
	"metadata endpoint without a scheme"

# --- region ----------------------------------------------------------------

E="AWS_ACCESS_KEY_ID=AKIAENVIRONMENT00001"
S="AWS_SECRET_ACCESS_KEY=$ENV_SECRET"
creds "$E" "$S" AWS_REGION=us-east-2 AWS_DEFAULT_REGION=us-west-1 \
	aws-creds --role-region eu-west-3 --block-region eu-central-1
expect_line "$TMP/out" "region: eu-west-3" "the role's region first"
creds "$E" "$S" AWS_REGION=us-east-2 AWS_DEFAULT_REGION=us-west-1 \
	aws-creds --block-region eu-central-1
expect_line "$TMP/out" "region: eu-central-1" "then the block's"
creds "$E" "$S" AWS_REGION=us-east-2 AWS_DEFAULT_REGION=us-west-1 aws-creds
expect_line "$TMP/out" "region: us-east-2" "then AWS_REGION"
creds "$E" "$S" AWS_DEFAULT_REGION=us-west-1 aws-creds
expect_line "$TMP/out" "region: us-west-1" "then AWS_DEFAULT_REGION"
creds "$E" "$S" aws-creds
expect_line "$TMP/out" "region: us-west-2" "then the profile's"
creds "$E" "$S" HOME="$TMP/empty" aws-creds
expect_rc 1 "no region"
expect_line "$TMP/out" "source: environment" "no region: credentials printed"
expect_line "$TMP/err" "no AWS region: set \`region:\` in providers.aws (or on the role), or AWS_REGION, or region in profile 'default' of $TMP/empty/.aws/config" \
	"no region"
creds "$E" "$S" AWS_REGION='us-east-1.evil.example/' aws-creds
expect_rc 1 "bad region"
expect_line "$TMP/err" "region 'us-east-1.evil.example/' (AWS_REGION) is not a region name such as us-east-1" \
	"bad region"

# --- endpoint --------------------------------------------------------------

creds "$E" "$S" AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
	AWS_ENDPOINT_URL_EC2=http://127.0.0.1:4566/ \
	aws-creds --block-endpoint https://ec2.internal.example:8443/
expect_line "$TMP/out" "endpoint: https://ec2.internal.example:8443" \
	"the block's endpoint first, without its slash"
creds "$E" "$S" AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
	AWS_ENDPOINT_URL_EC2=http://127.0.0.1:4566/ aws-creds
expect_line "$TMP/out" "endpoint: http://127.0.0.1:4566" \
	"then AWS_ENDPOINT_URL_EC2"
creds "$E" "$S" AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
	aws-creds
expect_line "$TMP/out" "endpoint: http://127.0.0.1:5000" \
	"then AWS_ENDPOINT_URL"
creds "$E" "$S" AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
	AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true aws-creds
expect_line "$TMP/out" "endpoint: https://ec2.us-east-1.amazonaws.com" \
	"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
creds "$E" "$S" aws-creds --block-region cn-north-1
expect_line "$TMP/out" "endpoint: https://ec2.cn-north-1.amazonaws.com.cn" \
	"the China partition"
creds "$E" "$S" AWS_REGION=us-east-1 AWS_ENDPOINT_URL_EC2=ftp://127.0.0.1/ \
	aws-creds
expect_rc 1 "endpoint scheme"
expect_line "$TMP/err" "endpoint 'ftp://127.0.0.1/' (AWS_ENDPOINT_URL_EC2) is not an http:// or https:// URL" \
	"endpoint scheme"
creds "$E" "$S" AWS_REGION=us-east-1 aws-creds \
	--block-endpoint "https://user:$ENV_SECRET@127.0.0.1/"
expect_rc 1 "endpoint with a password"
expect_line "$TMP/err" "the endpoint (providers.aws endpoint) has a user name or password, which is not supported" \
	"endpoint with a password"

# --- no secret anywhere ----------------------------------------------------

for secret in "$ENV_SECRET" "$ENV_TOKEN" "$DEF_SECRET" "$PROD_SECRET" \
	"$CFG_SECRET" "$CFG_TOKEN" "$ALT_SECRET" "$IMDS_SECRET" "$IMDS_TOKEN"; do
	expect_no_match "$TMP/all-output" "$secret" "a secret in the output"
done
finish
