#!/bin/sh
# GCP calls at once (tests/helper/gcp-server.py holds each request
# --latency-ms, as the real API takes time, and logs how many were in
# flight): up inserts a level's seven instances and the rules' firewalls with
# several requests in flight, waits for their operations together and for
# the instances to run with lists, not one GET an instance; down deletes
# the instances with several in flight, and only once every instance's
# delete was answered the firewalls and the network; two inserts over the
# CPU quota among seven leave the five others made and recorded, and the
# next up inserts only those two.
. "$TESTLIB"
. "$SRCDIR/tests/integration/gcp-lib.sh"

name="t0906-$$"
cleanup() {
	gcp_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ssh-keygen -q -t ed25519 -N "" -C t0906 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, user: admin, admin_cidrs: [203.0.113.7/32]}
providers: {gcp: {project: $GCP_PROJECT, region: us-central1, zone: us-central1-a}}
roles:
  node: {count: 6, size: n2-standard-4, firewall: [{port: 9000, from: world}, {port: 9100, from: world}]}
  seed: {size: n2-standard-4, firewall: [{port: 9000, from: [node]}]}
TOPO

resources() {
	curl -sf "$GCP_URL/_test/resources" | jq -c "$1"
}

# stat API: "N max" for the calls of API in the log: how many, and the
# most requests in flight while one of them was read.
stat() {
	jq -s -r --arg api "$1" '[.[] | select(.api == $api)] |
		"\(length) \(map(.in_flight) | max // 0)"' "$GCP_LOG"
}

# --- up and down with calls at once -----------------------------------------

gcp_start --latency-ms 150 --op-seconds 0.3 --wait-max 0.5
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
set -- $(stat compute.instances.insert)
expect_eq "$1" 7 "up: instance inserts"
[ "$2" -gt 1 ] || fail "up: instance inserts one at a time (at most $2 in flight)"
set -- $(stat compute.firewalls.insert)
expect_eq "$1" 5 "up: firewall inserts (SSH and 2 rules, SSH and 1)"
[ "$2" -gt 1 ] || fail "up: firewall inserts one at a time"
set -- $(stat compute.zoneOperations.wait)
[ "$2" -gt 1 ] || fail "up: operations waited for one at a time"
expect_eq "$(gcp_count compute.instances.get)" 0 "up: no GET an instance"
checks=$((checks + 3))

# plan reads the 7 recorded instances with one list, not a GET each.
: >"$GCP_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan"
expect_eq "$(gcp_count compute.instances.get)" 0 "plan: no GET an instance"
[ "$(gcp_count compute.instances.list)" -ge 1 ] ||
	[ "$(gcp_count compute.instances.aggregatedList)" -ge 1 ] ||
	fail "plan: the instances were not listed"
checks=$((checks + 1))

: >"$GCP_LOG"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
set -- $(stat compute.instances.delete)
expect_eq "$1" 7 "down: instance deletes"
[ "$2" -gt 1 ] || fail "down: instance deletes one at a time (at most $2 in flight)"
checks=$((checks + 1))
# Every instance's delete answered before the first firewall, subnetwork
# or network delete (the server refuses a network still in use).
jq -s -r '[.[] | select(.api == "compute.instances.delete") | .t1] as $i |
	[.[] | select(.api != null and (.api | test("^compute\\.(firewalls|subnetworks|networks)\\.delete$"))) | .t0] as $f |
	if ($i | length) > 0 and ($f | length) > 0 and ($i | max) <= ($f | min)
	then "in order" else "out of order" end' "$GCP_LOG" >"$TMP/have"
echo "in order" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "down: instances before firewalls and network"
expect_eq "$(resources .)" '{"global/networks":["default"]}' "down: nothing left"

# --- inserts over the quota among seven -------------------------------------

# 4 vCPUs each, 20 allowed: five of the seven inserts (both roles are one
# level) end done, two in QUOTA_EXCEEDED (those the server takes last,
# whichever they are).
gcp_stop
gcp_start --latency-ms 50 --op-seconds 0.3 --wait-max 0.5 --quota-cpus 20
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "inserts over the quota"
expect_match "$TMP/err" "QUOTA_EXCEEDED" "the quota named"
made=$(resources '."zones/us-central1-a/instances" // [] | length')
expect_eq "$made" 5 "over the quota: five made"
jq -r '[.resources[] | select(.provider == "gcp" and .kind == "host" and .id != null) | .name] | length' \
	".deploy/$name.state.json" >"$TMP/n"
[ "$(cat "$TMP/n")" -ge 5 ] || fail "over the quota: $(cat "$TMP/n") hosts recorded with an id"
checks=$((checks + 1))
gcp_ctl '{"quota_cpus": 0}'
: >"$GCP_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up once the quota allows"
expect_eq "$(gcp_count compute.instances.insert)" 2 "only the two missing inserted"
expect_eq "$(resources '."zones/us-central1-a/instances" | length')" 7 "all seven there"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "last down"

finish
