#!/bin/sh
# Crash safety with requestIds: deploy is SIGKILLed by the test server
# (tests/helper/gcp-server.py --kill-at) at every step of an instance
# insert: when the insert arrives (its requestId saved, nothing done), once
# it was carried out (its answer lost), while its operation is waited for,
# and while the instances are listed until they run; and once a network
# and a firewall insert were carried out. Each next run repeats the same
# requestId (Compute answers the first operation) or finds what was made
# and adopts it: in the end each resource exists once and is recorded,
# and every insert of the instance carried the same requestId.
. "$TESTLIB"
. "$SRCDIR/tests/integration/gcp-lib.sh"

name="t0903-$$"
cleanup() {
	gcp_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
POINTS="compute.networks.insert:after,compute.firewalls.insert:after"
POINTS="$POINTS,compute.instances.insert:before,compute.instances.insert:after"
POINTS="$POINTS,compute.zoneOperations.wait:after"
# Each run lists the topology's instances once in its plan: the 7th list
# is the first one that waits for the instance to run.
POINTS="$POINTS,compute.instances.aggregatedList:after#7"
# Operations take long enough for a killed run's insert to be still
# running when the next run starts.
gcp_start --op-seconds 1.5 --wait-max 0.5 --kill-at "$POINTS" \
	--kill-pid-file "$TMP/deploy.pid"

ssh-keygen -q -t ed25519 -N "" -C t0903 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, user: admin, admin_cidrs: [203.0.113.7/32]}
providers: {gcp: {project: $GCP_PROJECT, zone: europe-west1-c}}
roles:
  node: {size: e2-small, firewall: [{port: 9000, from: world}]}
TOPO

# up_killable: deploy up, its PID where the server reads it.
up_killable() {
	sh -c 'echo $$ >"$1"; exec "$2" up --yes topo.yml' sh \
		"$TMP/deploy.pid" "$DEPLOY" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

runs=0
while [ $runs -lt 10 ]; do
	runs=$((runs + 1))
	up_killable
	[ "$rc" = 0 ] && break
	[ "$rc" = 137 ] || {
		fail "run $runs: exit $rc, expected 0 or 137 (SIGKILL)"
		cat "$TMP/err" >&2
		break
	}
done
expect_rc 0 "the last run"
expect_eq "$(jq -s -c '[.[] | .at // empty]' "$GCP_LOG")" \
	'["compute.networks.insert:after","compute.firewalls.insert:after","compute.instances.insert:before","compute.instances.insert:after","compute.zoneOperations.wait:after","compute.instances.aggregatedList:after"]' \
	"killed at every point, in order"
expect_eq "$runs" 7 "runs"

# Every instance insert carried the same requestId; one was carried out.
expect_eq "$(jq -s '[.[] | select(.api == "compute.instances.insert") | .query.requestId] | unique | length' "$GCP_LOG")" \
	1 "one requestId for the instance"
expect_eq "$(jq -s '[.[] | select(.api == "compute.instances.insert" and .status == 200 and (.dedup | not))] | length' "$GCP_LOG")" \
	1 "the instance inserted once"
expect_eq "$(jq -s '[.[] | select(.api == "compute.networks.insert" and .status == 200 and (.dedup | not))] | length' "$GCP_LOG")" \
	1 "the network inserted once"

# The server holds each once, and the state records each, created.
expect_eq "$(curl -sf "$GCP_URL/_test/resources" | jq -c '[."zones/europe-west1-c/instances", ."global/networks", (."global/firewalls" | length), ."regions/europe-west1/subnetworks"]')" \
	"[[\"$name-node-0\"],[\"default\",\"deploy-$name\"],2,[\"deploy-$name-europe-west1\"]]" \
	"each resource once"
expect_eq "$(jq -c '[.resources[] | [.kind, .status]] | sort | unique' ".deploy/$name.state.json")" \
	'[["firewall","created"],["host","created"],["network","created"],["subnetwork","created"]]' \
	"each recorded, created"
expect_eq "$(jq -r '.resources[] | select(.kind == "host") | .key' ".deploy/$name.state.json")" \
	"$(jq -r 'select(.api == "compute.instances.insert") | .query.requestId' "$GCP_LOG" | head -1)" \
	"the host's key is that requestId"
expect_eq "$(jq -r '.hosts["node-0"].address' ".deploy/$name.state.json")" \
	"$(curl -sf "$GCP_URL/_test/dump" | jq -r '."zones/europe-west1-c/instances"[].networkInterfaces[0].accessConfigs[0].natIP')" \
	"its address recorded"

run "$DEPLOY" plan topo.yml
expect_rc 0 "plan after"
expect_line "$TMP/out" "Plan: 0 to create, 0 to destroy, 1 unchanged." "nothing left to do"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
expect_eq "$(curl -sf "$GCP_URL/_test/resources" | jq -c .)" \
	'{"global/networks":["default"]}' "down leaves nothing"

finish
