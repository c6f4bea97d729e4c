#!/bin/sh
# Google credentials (providers/gcp/credentials.h) through deploy-test-tool
# gcp-creds and gcp-call, against tests/helper/gcp-server.py: a
# service-account key file (JWT RS256 verified by the server with the
# key's public half), the provider block's file over the environment's,
# gcloud's authorized_user ADC, the metadata server, tokens refreshed as
# they age and when the API says 401, and each way of failing: a key the
# server does not know, a file that is not a key, the wrong audience, a
# token without the compute scope, no metadata server. No secret may
# appear in any output: every output is kept and searched at the end.

. "$TESTLIB"
. "$SRCDIR/tests/integration/gcp-lib.sh"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

trap 'gcp_stop; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

unset GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE
gcp_start

# tool [VAR=VALUE]... VERB [OPTION]...: run, keeping every output.
tool() {
	run env "$@"
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
}
TT=$TEST_TOOL

last_token_request() {
	jq -c 'select(.api == "oauth2.token")' "$GCP_LOG" | tail -n 1
}

# --- a service-account key file named by GOOGLE_APPLICATION_CREDENTIALS --

tool "$TT" gcp-creds
expect_rc 0 "key file"
expect_line "$TMP/out" "source: service-account key file $GCP_KEY (from GOOGLE_APPLICATION_CREDENTIALS)" "key file source"
expect_line "$TMP/out" "email: $GCP_EMAIL" "key file email"
expect_line "$TMP/out" "project: $GCP_PROJECT" "key file project"
expect_line "$TMP/out" "endpoint: $GCP_URL/compute/v1/" "endpoint from CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"
expect_line "$TMP/out" "fetches: 1" "one token"
req=$(last_token_request)
expect_eq "$(echo "$req" | jq -r .status)" 200 "token endpoint status"
expect_eq "$(echo "$req" | jq -r .path)" /token "token_uri honoured"
expect_eq "$(echo "$req" | jq -c .jwt_header)" \
	'{"alg":"RS256","kid":"0123456789abcdef0123456789abcdef01234567","typ":"JWT"}' \
	"JWT header"
expect_eq "$(echo "$req" | jq -r '.jwt_claims | [.iss, .aud, .scope] | join(" ")')" \
	"$GCP_EMAIL $GCP_URL/token https://www.googleapis.com/auth/compute" \
	"JWT claims"
expect_eq "$(echo "$req" | jq -r '.jwt_claims.exp - .jwt_claims.iat')" 3600 \
	"JWT lifetime"

# The token works with the API.
tool "$TT" gcp-call --project "$GCP_PROJECT" GET zones/us-central1-a zones.get
expect_rc 0 "API call with the token"
expect_match "$TMP/out" '"name":"us-central1-a"' "zones.get answer"

# --- the provider block's file wins over the environment's ---------------

gcp_keypair other
gcp_key_file "$TMP/other.json" other@deploy-test.iam.gserviceaccount.com \
	"$TMP/other.pem" "$GCP_URL/token"
tool "$TT" gcp-creds --credentials "$TMP/other.json"
expect_rc 1 "a key the server does not know"
expect_line "$TMP/out" "email: other@deploy-test.iam.gserviceaccount.com" \
	"block file over GOOGLE_APPLICATION_CREDENTIALS"
expect_line "$TMP/err" "service-account key file $TMP/other.json (providers.gcp credentials): $GCP_URL/token refused: HTTP 400: invalid_grant: Invalid grant: account not found" \
	"unknown account"

# The right email, signed with another key: the signature is checked.
gcp_key_file "$TMP/forged.json" "$GCP_EMAIL" "$TMP/other.pem" "$GCP_URL/token"
tool "$TT" gcp-creds --credentials "$TMP/forged.json"
expect_rc 1 "wrong key"
expect_line "$TMP/err" "service-account key file $TMP/forged.json (providers.gcp credentials): $GCP_URL/token refused: HTTP 400: invalid_grant: Invalid JWT Signature." \
	"bad signature"

# The audience must be the token endpoint; an old token_uri gives another.
gcp_key_file "$TMP/old-uri.json" "$GCP_EMAIL" "$TMP/sa.pem" \
	"$GCP_URL/o/oauth2/token"
tool "$TT" gcp-creds --credentials "$TMP/old-uri.json"
expect_rc 1 "wrong audience"
expect_match "$TMP/err" "refused: HTTP 400: invalid_grant: Invalid JWT: Failed audience check" \
	"wrong audience"

# Files that are not keys.
jq '.private_key = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"' \
	"$GCP_KEY" >"$TMP/bad-pem.json"
tool "$TT" gcp-creds --credentials "$TMP/bad-pem.json"
expect_rc 1 "bad PEM"
expect_line "$TMP/err" "service-account key file $TMP/bad-pem.json (providers.gcp credentials): private_key is not an RSA key in PEM" \
	"bad PEM"
jq 'del(.client_email)' "$GCP_KEY" >"$TMP/no-email.json"
tool "$TT" gcp-creds --credentials "$TMP/no-email.json"
expect_rc 1 "no client_email"
expect_line "$TMP/err" "service-account key file $TMP/no-email.json (providers.gcp credentials): no 'client_email' in the key" \
	"no client_email"
echo '{"type": "external_account"}' >"$TMP/external.json"
tool "$TT" gcp-creds --credentials "$TMP/external.json"
expect_rc 1 "external account"
expect_line "$TMP/err" "credentials file '$TMP/external.json' (providers.gcp credentials) has type 'external_account'; deploy reads service_account and authorized_user" \
	"unsupported type"
tool "$TT" gcp-creds --credentials "$TMP/missing.json"
expect_rc 1 "missing file"
expect_line "$TMP/err" "credentials file '$TMP/missing.json' (providers.gcp credentials) cannot be read" \
	"missing file"

# --- endpoints ------------------------------------------------------------

tool "$TT" gcp-creds --endpoint http://127.0.0.1:9/compute/v1
expect_line "$TMP/out" "endpoint: http://127.0.0.1:9/compute/v1/" \
	"block endpoint, slash added"
tool env -u CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE "$TT" gcp-creds
expect_line "$TMP/out" "endpoint: https://compute.googleapis.com/compute/v1/" \
	"default endpoint"
tool CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE='ftp://x/' "$TT" gcp-creds
expect_rc 1 "bad endpoint"
expect_line "$TMP/err" "the Compute endpoint (CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE) is not an http:// or https:// URL with a host and no user, query or fragment" \
	"bad endpoint"

# --- gcloud's application default credentials (authorized_user) ----------

ADC="$TMP/gcloud/application_default_credentials.json"
jq -n --arg id "$GCP_USER_ID" --arg secret "$GCP_USER_SECRET" \
	--arg refresh "$GCP_USER_REFRESH" --arg uri "$GCP_URL/token" '{
	client_id: $id, client_secret: $secret, refresh_token: $refresh,
	type: "authorized_user", quota_project_id: "deploy-test",
	token_uri: $uri}' >"$ADC"
tool env -u GOOGLE_APPLICATION_CREDENTIALS "$TT" gcp-creds
expect_rc 0 "ADC"
expect_line "$TMP/out" "source: authorized_user file $ADC (gcloud application default credentials)" "ADC source"
expect_line "$TMP/out" "project: deploy-test" "ADC quota project"
expect_eq "$(last_token_request | jq -r '.grant_type + " " + (.status | tostring)')" \
	"refresh_token 200" "refresh token grant"
tool env -u GOOGLE_APPLICATION_CREDENTIALS "$TT" gcp-call \
	--project "$GCP_PROJECT" GET regions/us-central1 regions.get
expect_rc 0 "API call with the ADC token"
# GOOGLE_APPLICATION_CREDENTIALS comes before the ADC file.
tool "$TT" gcp-creds
expect_line "$TMP/out" "email: $GCP_EMAIL" "environment before ADC"
jq '.client_secret = "wrong-secret"' "$ADC" >"$ADC.new" && mv "$ADC.new" "$ADC"
tool env -u GOOGLE_APPLICATION_CREDENTIALS "$TT" gcp-creds
expect_rc 1 "ADC with a wrong secret"
expect_line "$TMP/err" "authorized_user file $ADC (gcloud application default credentials): $GCP_URL/token refused: HTTP 401: invalid_client: Unauthorized" \
	"ADC refused"
# A refusal that quotes the client secret and the refresh token it was
# sent shows neither.
jq '.client_secret = "echo-wrong-secret-8c1f"' "$ADC" >"$ADC.new" &&
	mv "$ADC.new" "$ADC"
tool env -u GOOGLE_APPLICATION_CREDENTIALS "$TT" gcp-creds
expect_rc 1 "ADC refused by a server that quotes the secrets"
expect_line "$TMP/err" "authorized_user file $ADC (gcloud application default credentials): $GCP_URL/token refused: HTTP 401: invalid_client: Unauthorized: [secret gcp client secret] [secret gcp refresh token]" \
	"ADC refused, quoting the secrets"
expect_no_match "$TMP/err" "echo-wrong-secret-8c1f" "the client secret is not shown"
expect_no_match "$TMP/err" "$GCP_USER_REFRESH" "the refresh token is not shown"
rm -f "$ADC"

# --- the metadata server --------------------------------------------------

MD_HOST=127.0.0.1:$GCP_PORT
tool env -u GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST="$MD_HOST" \
	"$TT" gcp-creds
expect_rc 0 "metadata"
expect_line "$TMP/out" "source: metadata server at $MD_HOST (no credentials file: GOOGLE_APPLICATION_CREDENTIALS is not set, no $TMP/gcloud/application_default_credentials.json)" \
	"metadata source"
expect_eq "$(jq -s '[.[] | select(.api == "metadata" and .status == 200)] | length' "$GCP_LOG")" 1 \
	"one metadata token request"

# Nothing listening: a clear failure, bounded (not a hang).
start=$(date +%s)
tool env -u GOOGLE_APPLICATION_CREDENTIALS "$TT" gcp-creds
expect_rc 1 "no metadata server"
expect_match "$TMP/err" "metadata server at $GCE_METADATA_HOST (no credentials file: GOOGLE_APPLICATION_CREDENTIALS is not set, no $TMP/gcloud/application_default_credentials.json): GET http://$GCE_METADATA_HOST/computeMetadata/v1/instance/service-accounts/default/token: " \
	"no metadata server"
checks=$((checks + 1))
[ $(($(date +%s) - start)) -lt 60 ] || fail "the metadata wait is not bounded"

# A GCE_METADATA_HOST that is not host[:port].
tool env -u GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST=http://x/ \
	"$TT" gcp-creds
expect_rc 1 "bad GCE_METADATA_HOST"
expect_line "$TMP/err" "GCE_METADATA_HOST is not host[:port]" \
	"bad GCE_METADATA_HOST"

gcp_stop

# --- a token without the compute scope (the instance's scopes) ------------

gcp_start --metadata-scopes https://www.googleapis.com/auth/devstorage.read_only
MD_HOST=127.0.0.1:$GCP_PORT
tool env -u GOOGLE_APPLICATION_CREDENTIALS GCE_METADATA_HOST="$MD_HOST" \
	"$TT" gcp-call --project "$GCP_PROJECT" GET zones/us-central1-a zones.get
expect_rc 1 "missing scope"
expect_line "$TMP/err" "gcp zones.get: insufficientPermissions: Request had insufficient authentication scopes.; credentials from metadata server at $MD_HOST (no credentials file: GOOGLE_APPLICATION_CREDENTIALS is not set, no $TMP/gcloud/application_default_credentials.json)" \
	"missing scope"
gcp_stop

# --- tokens refreshed before they end -------------------------------------

# expires_in 4 s: fresh for 2 s, then asked again.
gcp_start --token-ttl 4
tool "$TT" gcp-creds --tokens 3 --sleep-ms 2500
expect_rc 0 "refresh as tokens age"
expect_line "$TMP/out" "fetches: 3" "a token per 2.5 s with a 4 s life"
t1=$(sed -n 's/^token 1: //p' "$TMP/out")
t2=$(sed -n 's/^token 2: //p' "$TMP/out")
checks=$((checks + 1))
[ -n "$t1" ] && [ "$t1" != "$t2" ] || fail "the second token is not new"
tool "$TT" gcp-creds --tokens 3 --sleep-ms 300
expect_line "$TMP/out" "fetches: 1" "a fresh token kept"
gcp_stop

# Tokens that end long before their expires_in (revoked): a 401 mid-run
# fetches a new one and the call goes on.
gcp_start --token-real-ttl 0.5 --op-seconds 2.5 --wait-max 0.3
tool "$TT" gcp-call --project "$GCP_PROJECT" --request-id new \
	--body '{"name": "net-a", "autoCreateSubnetworks": false}' \
	POST global/networks "networks.insert net-a"
expect_rc 0 "401 mid-run"
expect_line "$TMP/out" "done" "operation waited for across tokens"
checks=$((checks + 1))
fetches=$(sed -n 's/.* fetches=\([0-9]*\)$/\1/p' "$TMP/out")
[ "${fetches:-0}" -ge 2 ] || fail "no token fetched again after a 401 ($fetches)"
expect_eq "$(jq -s '[.[] | select(.status == 401)] | length > 0' "$GCP_LOG")" true \
	"the server said 401"
gcp_stop

# --- no secret in any output -----------------------------------------------

for secret in "$GCP_USER_SECRET" "$GCP_USER_REFRESH" "ya29.test-" \
	"$(sed -n 2p "$TMP/sa.pem")" "$(sed -n 2p "$TMP/other.pem")" \
	"eyJhbGciOiJSUzI1NiI"; do
	expect_no_match "$TMP/all-output" "$secret" "a secret in the output"
done
expect_no_match "$GCP_LOG" "ya29.test-" "an access token in the server log"

finish
