#!/bin/sh
# The GCP provider's errors against the test server: a token that ends in
# the middle of a run (the API says 401) and one that gets old are fetched
# again and the run goes on; throttling (429, 403 rateLimitExceeded)
# survived; a bad key file, a wrong audience and a token without the
# compute scope each a clear error naming the source, with nothing made;
# a quota error inside an operation reported as GCP gives it, and the next
# run making only what is missing.
. "$TESTLIB"
. "$SRCDIR/tests/integration/gcp-lib.sh"

name="t0904-$$"
cleanup() {
	gcp_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ssh-keygen -q -t ed25519 -N "" -C t0904 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, user: admin, admin_cidrs: [203.0.113.7/32]}
providers: {gcp: {project: $GCP_PROJECT, region: us-central1}}
roles:
  node: {count: 2, size: n2-standard-4, firewall: [{port: 9000, from: world}]}
TOPO

resources() {
	curl -sf "$GCP_URL/_test/resources" | jq -c "$1"
}

mutating() {
	jq -s '[.[] | select(.api != null and (.api | test("^compute\\.")) and
		.method != "GET" and (.api | test("Operations\\.wait$") | not))]
		| length' "$GCP_LOG"
}

down_clean() {
	run "$DEPLOY" down --yes topo.yml
	expect_rc 0 "down ($1)"
	expect_eq "$(resources .)" '{"global/networks":["default"]}' \
		"nothing left ($1)"
}

# --- a token that ends mid-run: 401, fetched again, the run goes on ---------

# The tokens say they last an hour but end after 1.5 s; each operation
# takes 0.6 s (the run waits for four in turn), so the run outlives its
# first token.
gcp_start --op-seconds 0.6 --wait-max 0.3 --token-real-ttl 1.5
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up outliving its token"
checks=$((checks + 2))
[ "$(jq -s '[.[] | select(.status == 401)] | length' "$GCP_LOG")" -ge 1 ] ||
	fail "no call was refused with 401"
[ "$(gcp_count oauth2.token)" -ge 2 ] || fail "the token was not fetched again"
expect_eq "$(resources '[."zones/us-central1-a/instances", ."zones/us-central1-b/instances"] | add | length')" \
	2 "both instances made"
down_clean "after the 401"
gcp_stop

# A token that gets old (expires_in 2 s; the run takes longer, 0.6 s an
# operation): fetched again once past half its life, before its end,
# without a 401.
gcp_start --op-seconds 0.6 --wait-max 0.3 --token-ttl 2
: >"$GCP_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with short-lived tokens"
expect_eq "$(jq -s '[.[] | select(.status == 401)] | length' "$GCP_LOG")" 0 \
	"no 401: refreshed before the end"
checks=$((checks + 1))
[ "$(gcp_count oauth2.token)" -ge 2 ] || fail "the token was not refreshed"
down_clean "short-lived tokens"

# --- throttling survived ---------------------------------------------------

: >"$GCP_LOG"
gcp_ctl '{"throttle": 3, "throttle_kind": "429"}'
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up through 429s"
expect_eq "$(jq -s '[.[] | select(.status == 429)] | length' "$GCP_LOG")" 3 \
	"three 429s answered"
gcp_ctl '{"throttle": 2, "throttle_kind": "403"}'
: >"$GCP_LOG"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down through 403 rateLimitExceeded"
expect_eq "$(jq -s '[.[] | select(.status == 403 and .error == "rateLimitExceeded")] | length' "$GCP_LOG")" \
	2 "two 403 rateLimitExceeded answered"
expect_eq "$(resources .)" '{"global/networks":["default"]}' "down made it all the same"

# --- credentials that do not work: a clear error, nothing made -------------

: >"$GCP_LOG"
jq '.private_key = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"' \
	"$GCP_KEY" >"$TMP/bad.json"
GOOGLE_APPLICATION_CREDENTIALS="$TMP/bad.json" run "$DEPLOY" up --yes topo.yml
expect_rc 1 "a bad key file"
expect_match "$TMP/err" "service-account key file $TMP/bad.json" "names the file"
expect_no_match "$TMP/err" "bm90IGEga2V5" "the key is not shown"

jq --arg u "$GCP_URL/o/oauth2/token" '.token_uri = $u' "$GCP_KEY" >"$TMP/aud.json"
GOOGLE_APPLICATION_CREDENTIALS="$TMP/aud.json" run "$DEPLOY" up --yes topo.yml
expect_rc 1 "a wrong audience"
expect_match "$TMP/err" "invalid_grant: Invalid JWT: Failed audience check" \
	"the endpoint's refusal quoted"
expect_match "$TMP/err" "$TMP/aud.json" "names the file"
expect_eq "$(mutating)" 0 "nothing made with bad credentials"
gcp_stop

# A token without the compute scope (the metadata server's, here).
gcp_start --metadata-scopes https://www.googleapis.com/auth/devstorage.read_only
unset GOOGLE_APPLICATION_CREDENTIALS
run env GCE_METADATA_HOST="127.0.0.1:$GCP_PORT" "$DEPLOY" up --yes topo.yml
expect_rc 1 "a token without the compute scope"
expect_match "$TMP/err" "insufficientPermissions: Request had insufficient authentication scopes." \
	"Google's reason"
expect_match "$TMP/err" "metadata server" "names the source"
expect_eq "$(mutating)" 0 "nothing made without the scope"
expect_eq "$(resources .)" '{"global/networks":["default"]}' "nothing at the server"
export GOOGLE_APPLICATION_CREDENTIALS="$GCP_KEY"
gcp_stop

# --- a quota error inside an operation -------------------------------------

# The two inserts go at once: the one the server takes second is over the
# quota, whichever it is.
gcp_start --op-seconds 0.3 --wait-max 0.5 --quota-cpus 4
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up beyond the CPU quota"
made=$(resources '[."zones/us-central1-a/instances", ."zones/us-central1-b/instances"] | map(select(. != null)) | add | .[]' | tr -d '"')
case $made in
"$name-node-0") host=node-1 ;;
"$name-node-1") host=node-0 ;;
*)
	host=none
	fail "the first made, not the second: made '$made'"
	;;
esac
checks=$((checks + 1))
expect_line "$TMP/err" "deploy: error: gcp instances.insert $host: QUOTA_EXCEEDED: Quota 'CPUS' exceeded.  Limit: 4.0 in region us-central1." \
	"the operation's error as GCP gives it"
gcp_ctl '{"quota_cpus": 0}'
: >"$GCP_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up once the quota allows"
expect_eq "$(jq -s -c '[.[] | select(.api == "compute.instances.insert") | .body.name]' "$GCP_LOG")" \
	"[\"$name-$host\"]" "only the missing one made"
down_clean "after the quota"

finish
