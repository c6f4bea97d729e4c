#!/bin/sh
# The Compute client (providers/gcp/compute.h) through deploy-test-tool
# gcp-call against tests/helper/gcp-server.py: operations waited for,
# requestId deduplication, pages, label filters, throttling (429 and 403
# rateLimitExceeded) survived with bounded retries, 5xx retried only when
# safe, Google's errors passed on as "gcp WHAT: REASON: MESSAGE" (a quota
# error inside an operation, a network in use, a field the schema does not
# have).

. "$TESTLIB"
. "$SRCDIR/tests/integration/gcp-lib.sh"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

trap 'gcp_stop; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

gcp_start --op-seconds 0.6 --wait-max 0.2

call() {
	run "$TEST_TOOL" gcp-call --project "$GCP_PROJECT" "$@"
}

stat() {
	sed -n "s/^stats: .*$1=\([0-9]*\).*/\1/p" "$TMP/out"
}

resources() {
	curl -sf "$GCP_URL/_test/resources" | jq -c "$1"
}

# --- an insert waited for; the same requestId again makes nothing ----------

RID=6d3f2e1c-8a4b-4c5d-9e6f-0a1b2c3d4e5f
call --request-id $RID --body '{"name": "net-a", "autoCreateSubnetworks": false}' \
	POST global/networks "networks.insert net-a"
expect_rc 0 "network insert"
expect_line "$TMP/out" "done" "network insert waited for"
checks=$((checks + 1))
[ "$(stat waits)" -ge 1 ] || fail "no operations.wait call"
expect_eq "$(jq -s -c '[.[] | select(.api == "compute.networks.insert")][0] | [.query.requestId, .body]' "$GCP_LOG")" \
	"[\"$RID\",{\"autoCreateSubnetworks\":false,\"name\":\"net-a\"}]" \
	"exact insert request"
call --request-id $RID --body '{"name": "net-a", "autoCreateSubnetworks": false}' \
	POST global/networks "networks.insert net-a"
expect_rc 0 "same requestId again"
expect_eq "$(jq -s '[.[] | select(.dedup == true)] | length' "$GCP_LOG")" 1 \
	"the repeat answered the first operation"
expect_eq "$(resources '."global/networks"')" '["default","net-a"]' \
	"one network"
# A new requestId for the same name: Google's alreadyExists.
call --request-id new --body '{"name": "net-a", "autoCreateSubnetworks": false}' \
	POST global/networks "networks.insert net-a"
expect_rc 1 "duplicate name"
expect_line "$TMP/err" "gcp networks.insert net-a: alreadyExists: The resource 'projects/deploy-test/global/networks/net-a' already exists" \
	"alreadyExists"

# --- the schema is checked: unknown and output-only fields refused ---------

call --request-id new --body '{"name": "net-b", "labels": {"a": "b"}}' \
	POST global/networks "networks.insert net-b"
expect_rc 1 "unknown field"
expect_line "$TMP/err" "gcp networks.insert net-b: invalid: Invalid JSON payload received. Unknown name \"labels\" at 'resource': Cannot find field." \
	"unknown field"
call --request-id 00000000-0000-0000-0000-000000000000 \
	--body '{"name": "net-b"}' POST global/networks "networks.insert net-b"
expect_rc 1 "zero requestId"
expect_match "$TMP/err" "The request ID must be a valid UUID with the exception that zero UUID is not supported." \
	"zero requestId"

# --- a network in use cannot go ---------------------------------------------

call --request-id new --body "{\"name\": \"sub-a\", \"network\": \"global/networks/net-a\", \"ipCidrRange\": \"10.20.0.0/24\"}" \
	POST regions/us-central1/subnetworks "subnetworks.insert sub-a"
expect_rc 0 "subnetwork"
call --request-id new DELETE global/networks/net-a "networks.delete net-a"
expect_rc 1 "network in use"
expect_line "$TMP/err" "gcp networks.delete net-a: resourceInUseByAnotherResource: The network resource 'projects/deploy-test/global/networks/net-a' is already being used by 'projects/deploy-test/regions/us-central1/subnetworks/sub-a'" \
	"resourceInUseByAnotherResource"

# --- pages and label filters ------------------------------------------------

for i in 1 2 3 4 5; do
	call --request-id new --body "{\"name\": \"fw-$i\", \"network\": \"global/networks/net-a\", \"allowed\": [{\"IPProtocol\": \"tcp\", \"ports\": [\"22\"]}], \"sourceRanges\": [\"10.0.0.0/8\"], \"targetTags\": [\"t$((i % 2))\"]}" \
		POST global/firewalls "firewalls.insert fw-$i"
	expect_rc 0 "firewall $i"
done
before=$(gcp_count compute.firewalls.list)
run env DEPLOY_GCP_PAGE_SIZE=2 "$TEST_TOOL" gcp-call --project "$GCP_PROJECT" \
	--list '' GET global/firewalls firewalls.list
expect_rc 0 "paged list"
expect_eq "$(grep -c '^fw-' "$TMP/out")" 5 "every firewall over the pages"
expect_eq "$(($(gcp_count compute.firewalls.list) - before))" 3 "three pages of two"
expect_eq "$(jq -s -c '[.[] | select(.api == "compute.firewalls.list")][-1].query | [.maxResults, (.pageToken | length > 0)]' "$GCP_LOG")" \
	'["2",true]' "maxResults and pageToken sent"

BOOT='"disks": [{"boot": true, "autoDelete": true, "initializeParams": {"sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}]'
NIC='"networkInterfaces": [{"subnetwork": "regions/us-central1/subnetworks/sub-a"}]'
for vm in vm-1:a vm-2:b vm-3:a; do
	call --request-id new --body "{\"name\": \"${vm%:*}\", \"machineType\": \"zones/us-central1-a/machineTypes/e2-micro\", \"labels\": {\"deploy-topology\": \"${vm#*:}\"}, $BOOT, $NIC}" \
		POST zones/us-central1-a/instances "instances.insert ${vm%:*}"
	expect_rc 0 "instance ${vm%:*}"
done
call --list 'labels.deploy-topology = "a"' GET zones/us-central1-a/instances \
	instances.list
expect_rc 0 "filtered list"
printf 'vm-1\nvm-3\n' >"$TMP/want"
grep -v '^stats:' "$TMP/out" >"$TMP/got"
expect_same "$TMP/want" "$TMP/got" "label filter"

# --- throttling -------------------------------------------------------------

gcp_ctl '{"throttle": 3, "throttle_kind": "429"}'
call GET zones/us-central1-a zones.get
expect_rc 0 "429 survived"
expect_eq "$(stat throttled)/$(stat retries)" 3/3 "three 429s, three retries"
gcp_ctl '{"throttle": 2, "throttle_kind": "403"}'
call --request-id new --body '{"name": "addr-1"}' POST regions/us-central1/addresses \
	"addresses.insert addr-1"
expect_rc 0 "403 rateLimitExceeded survived"
expect_eq "$(stat throttled)" 2 "two 403 rateLimitExceeded"
# Bounded: a server that keeps saying 429 is given up on.
gcp_ctl '{"throttle": 100, "throttle_kind": "429"}'
call GET zones/us-central1-a zones.get
expect_rc 1 "endless throttling"
expect_match "$TMP/err" "gcp zones.get: rateLimitExceeded: Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com' (after 8 attempts)" \
	"bounded retries"
gcp_ctl '{"throttle": 0}'

# --- 5xx: retried for reads and requestId writes, not for other writes -------

gcp_ctl '{"fail5xx": 1}'
call GET zones/us-central1-a zones.get
expect_rc 0 "5xx on a read retried"
gcp_ctl '{"fail5xx": 1}'
call --body '{"name": "addr-2"}' POST regions/us-central1/addresses \
	"addresses.insert addr-2"
expect_rc 1 "5xx on a write without requestId"
expect_line "$TMP/err" "gcp addresses.insert addr-2: backendError: Backend Error" \
	"5xx write not repeated"
gcp_ctl '{"fail5xx": 1}'
call --request-id new --body '{"name": "addr-2"}' POST regions/us-central1/addresses \
	"addresses.insert addr-2"
expect_rc 0 "5xx on a write with requestId retried"

# --- an operation's error: a quota ------------------------------------------

gcp_ctl '{"quota_cpus": 6}'
call --request-id new --body "{\"name\": \"vm-big\", \"machineType\": \"zones/us-central1-a/machineTypes/e2-standard-4\", $BOOT, $NIC}" \
	POST zones/us-central1-a/instances "instances.insert vm-big"
expect_rc 1 "quota"
expect_line "$TMP/err" "gcp instances.insert vm-big: QUOTA_EXCEEDED: Quota 'CPUS' exceeded.  Limit: 6.0 in region us-central1." \
	"quota error from the operation"
expect_eq "$(resources '."zones/us-central1-a/instances"')" '["vm-1","vm-2","vm-3"]' \
	"nothing made"

# --- a deadline on operations -----------------------------------------------

gcp_ctl '{"op_seconds": 30}'
run env DEPLOY_GCP_OP_DEADLINE_MS=1500 "$TEST_TOOL" gcp-call --project "$GCP_PROJECT" \
	--request-id new DELETE zones/us-central1-a/instances/vm-2 "instances.delete vm-2"
expect_rc 1 "operation deadline"
expect_match "$TMP/err" "gcp instances.delete vm-2: operation operation-" "deadline names the operation"
expect_match "$TMP/err" "not done after 1 s" "deadline"

finish
