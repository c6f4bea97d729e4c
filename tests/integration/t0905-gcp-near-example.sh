#!/bin/sh
# examples/near-gcp.yml, as a user copies it, comes up and goes down
# against the test server (tests/helper/gcp-server.py), with its playbooks
# left out (the test's instances have no SSH behind them) and its project
# the server's: the key file named by its `credentials:` (relative to the
# topology) is used; monitoring, the validator (static address, data
# disk) and two RPC nodes in another zone are made level by level, with a
# firewall per rule; plan then changes nothing; down --include-protected
# leaves nothing.
. "$TESTLIB"
. "$SRCDIR/tests/integration/gcp-lib.sh"

cleanup() {
	gcp_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
gcp_start --op-seconds 0.2 --wait-max 0.5

# The example as it is, but for its playbooks, its project and its key.
sed -e '/^ *playbooks:/d' \
	-e "s/project: example-near-ops/project: $GCP_PROJECT/" \
	"$SRCDIR/examples/near-gcp.yml" >near.yml
cp "$GCP_KEY" gcp-service-account.json
unset GOOGLE_APPLICATION_CREDENTIALS
echo '{"account_id": "test", "secret_key": "ed25519:x"}' >validator_key.json
mkdir -p "$TMP/home/.ssh"
export HOME="$TMP/home"
ssh-keygen -q -t ed25519 -N "" -C t0905 -f "$HOME/.ssh/id_ed25519" ||
	fail "ssh-keygen"

resources() {
	curl -sf "$GCP_URL/_test/resources" | jq -c "$1"
}

run "$DEPLOY" up --yes near.yml
expect_rc 0 "up"
expect_eq "$(resources '[."zones/europe-west1-b/instances", ."zones/europe-west1-c/instances"]')" \
	'[["near-mainnet-monitoring-0","near-mainnet-validator-0"],["near-mainnet-rpc-0","near-mainnet-rpc-1"]]' \
	"instances in their zones"
expect_eq "$(resources '[."zones/europe-west1-b/disks", ."zones/europe-west1-c/disks"]')" \
	'[["near-mainnet-validator-0-data"],["near-mainnet-rpc-0-data","near-mainnet-rpc-1-data"]]' \
	"the data disks"
expect_eq "$(curl -sf "$GCP_URL/_test/dump" | jq -c '[."zones/europe-west1-c/disks"[] | [.sizeGb, (.type | sub(".*/"; ""))]] | unique')" \
	'[["1000","pd-ssd"]]' "of the example's size and type"
expect_eq "$(resources '."regions/europe-west1/addresses"')" '["near-mainnet-validator-0"]' \
	"the validator's static address"
expect_eq "$(resources '[."global/networks", ."regions/europe-west1/subnetworks"]')" \
	'[["default","deploy-near-mainnet"],["deploy-near-mainnet-europe-west1"]]' \
	"the network and its subnetwork"
expect_eq "$(curl -sf "$GCP_URL/_test/dump" | jq -r '."global/firewalls"[] | .description | sub("^deploy-topology=near-mainnet deploy-role="; "")' | sort | tr '\n' ';')" \
	"monitoring: tcp 22 from 203.0.113.0/29;monitoring: tcp 3000 from 203.0.113.0/29;rpc: tcp 22 from 203.0.113.0/29;rpc: tcp 24567 from 0.0.0.0/0;rpc: tcp 3030 from 0.0.0.0/0;rpc: tcp 9100 from monitoring;validator: tcp 22 from 203.0.113.0/29;validator: tcp 24567 from 0.0.0.0/0;validator: tcp 3030 from monitoring;validator: tcp 9100 from monitoring;" \
	"the example's firewall, rule by rule"
expect_eq "$(jq -s -c '[.[] | select(.api == "oauth2.token") | .jwt_claims.iss]' "$GCP_LOG")" \
	"[\"$GCP_EMAIL\"]" "the key file named by credentials: used, once"

run "$DEPLOY" plan near.yml
expect_rc 0 "plan after up"
expect_line "$TMP/out" "Plan: 0 to create, 0 to destroy, 4 unchanged." "nothing to do"

run "$DEPLOY" down --yes --include-protected near.yml
expect_rc 0 "down"
expect_eq "$(resources .)" '{"global/networks":["default"]}' "nothing left"

finish
