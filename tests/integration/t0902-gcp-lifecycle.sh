#!/bin/sh
# The GCP provider's lifecycle against the test server
# (tests/helper/gcp-server.py): a machine type, zone or image that does not
# exist is refused at the topology's file:line:col before anything is made;
# up makes the network, a subnetwork, a firewall per rule, the disk, the
# static address and the instances, with the exact insert bodies and a
# requestId on each; plan and up again make no mutating call; a firewall
# rule change is planned and applied rule by rule; an instance deleted
# behind deploy's back is made again, alone; down keeps the static_ip
# role's host and address, and --include-protected leaves nothing; an
# existing network named in the block is used and left alone. What the
# server holds is read with curl, not with deploy.
. "$TESTLIB"
. "$SRCDIR/tests/integration/gcp-lib.sh"

name="t0902-$$"
cleanup() {
	gcp_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
gcp_start --op-seconds 0.2 --wait-max 0.5

ssh-keygen -q -t ed25519 -N "" -C t0902 -f "$TMP/id" || fail "ssh-keygen"
write_topology() {
	cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, user: admin, admin_cidrs: [203.0.113.7/32]}
providers:
  gcp: {project: $GCP_PROJECT, region: us-central1}
roles:
  validator:
    size: ${VALIDATOR_SIZE:-n2-standard-4}
    image: ${VALIDATOR_IMAGE:-debian-12}
    static_ip: true
    disk: {size: 100, type: pd-ssd}
    firewall: [{port: 7100, from: [sentry]}]
  sentry:
    count: 2
    image: ubuntu-22.04
    firewall: [${SENTRY_RULE:-{port: 9000, from: world\}}]
TOPO
}

resources() {
	curl -sf "$GCP_URL/_test/resources" | jq -c "$1"
}

# mutating: the API calls that change something (not operations.wait).
mutating() {
	jq -s '[.[] | select(.api != null and (.api | test("^compute\\.")) and
		.method != "GET" and (.api | test("Operations\\.wait$") | not))]
		| length' "$GCP_LOG"
}

# calls API: "name requestId" of each call to that method, in order.
calls() {
	jq -r --arg api "$1" 'select(.api == $api) |
		"\(.body.name // .path) \(.query.requestId // "-")"' "$GCP_LOG"
}

# --- checked before anything is made ---------------------------------------

VALIDATOR_SIZE=n2-standard-3 write_topology
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "unknown machine type"
expect_line "$TMP/err" "topo.yml:8:11: error: role 'validator': gcp has no machine type 'n2-standard-3' in zone 'us-central1-a'" \
	"machine type refused at its line"
VALIDATOR_IMAGE=debian-9 write_topology
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "unknown image"
expect_line "$TMP/err" "topo.yml:9:12: error: role 'validator': image 'debian-9' is neither a known name (debian-12, debian-11, ubuntu-22.04, ubuntu-24.04) nor an image path (projects/P/global/images/[family/]NAME)" \
	"image refused at its line"
expect_eq "$(mutating)" 0 "nothing made before the checks pass"
write_topology
sed -i 's/^    count: 2$/    count: 2\n    zone: us-central1-z/' topo.yml
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "unknown zone"
expect_line "$TMP/err" "topo.yml:15:11: error: role 'sentry': gcp has no zone 'us-central1-z' in region 'us-central1'" \
	"zone refused at its line"
expect_eq "$(mutating)" 0 "still nothing made"

# --- up ---------------------------------------------------------------------

write_topology
: >"$GCP_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_eq "$(resources '[."zones/us-central1-a/instances", ."zones/us-central1-b/instances"]')" \
	"[[\"$name-sentry-0\",\"$name-validator-0\"],[\"$name-sentry-1\"]]" \
	"instances spread over the region's zones"
expect_eq "$(resources '."global/firewalls" | length')" 4 "a firewall per rule"
expect_eq "$(resources '."regions/us-central1/addresses"')" "[\"$name-validator-0\"]" \
	"the static address"
expect_eq "$(resources '."zones/us-central1-a/disks"')" "[\"$name-validator-0-data\"]" \
	"the data disk"

# Every insert carried a requestId, each its own.
for api in networks subnetworks firewalls disks addresses instances; do
	n=$(jq -s --arg a "compute.$api.insert" '[.[] | select(.api == $a and (.query.requestId | test("^[0-9a-f-]{36}$")))] | length' "$GCP_LOG")
	checks=$((checks + 1))
	[ "$n" -ge 1 ] || fail "$api.insert without a requestId"
done
expect_eq "$(jq -s '[.[] | .query.requestId // empty] | (length == (unique | length))' "$GCP_LOG")" \
	true "requestIds all different"

# The exact bodies.
body() {
	jq -S -c --arg a "$1" --arg n "$2" 'select(.api == $a and .body.name == $n) | .body' "$GCP_LOG"
}
expect_eq "$(body compute.networks.insert "deploy-$name")" \
	"{\"autoCreateSubnetworks\":false,\"description\":\"deploy-topology=$name\",\"name\":\"deploy-$name\"}" \
	"network body"
expect_eq "$(body compute.subnetworks.insert "deploy-$name-us-central1")" \
	"{\"description\":\"deploy-topology=$name\",\"ipCidrRange\":\"10.10.0.0/20\",\"name\":\"deploy-$name-us-central1\",\"network\":\"projects/$GCP_PROJECT/global/networks/deploy-$name\"}" \
	"subnetwork body"
fw=$(jq -r 'select(.api == "compute.firewalls.insert" and (.body.description | endswith("tcp 7100 from sentry"))) | .body.name' "$GCP_LOG")
expect_eq "$(body compute.firewalls.insert "$fw")" \
	"{\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"7100\"]}],\"description\":\"deploy-topology=$name deploy-role=validator: tcp 7100 from sentry\",\"direction\":\"INGRESS\",\"name\":\"$fw\",\"network\":\"projects/$GCP_PROJECT/global/networks/deploy-$name\",\"priority\":1000,\"sourceTags\":[\"deploy-$name-sentry\"],\"targetTags\":[\"deploy-$name-validator\"]}" \
	"firewall body (a role as source: its tag)"
labels="{\"deploy-host\":\"validator-0\",\"deploy-role\":\"validator\",\"deploy-topology\":\"$name\"}"
expect_eq "$(body compute.disks.insert "$name-validator-0-data")" \
	"{\"labels\":$labels,\"name\":\"$name-validator-0-data\",\"sizeGb\":\"100\",\"type\":\"projects/$GCP_PROJECT/zones/us-central1-a/diskTypes/pd-ssd\"}" \
	"disk body"
expect_eq "$(body compute.addresses.insert "$name-validator-0")" \
	"{\"addressType\":\"EXTERNAL\",\"labels\":$labels,\"name\":\"$name-validator-0\"}" \
	"address body"
ip=$(curl -sf "$GCP_URL/_test/dump" | jq -r '."regions/us-central1/addresses"."'"$name"'-validator-0".address')
key=$(cat "$TMP/id.pub")
want=$(jq -S -c -n --arg name "$name" --arg p "$GCP_PROJECT" --arg ip "$ip" \
	--arg keys "admin:$key" --argjson labels "$labels" '{
	name: "\($name)-validator-0",
	machineType: "zones/us-central1-a/machineTypes/n2-standard-4",
	labels: $labels,
	tags: {items: ["deploy-\($name)-validator"]},
	disks: [{boot: true, autoDelete: true, initializeParams: {
		sourceImage: "projects/debian-cloud/global/images/family/debian-12",
		diskSizeGb: "20"}},
		{source: "projects/\($p)/zones/us-central1-a/disks/\($name)-validator-0-data",
		 deviceName: "data", autoDelete: false}],
	networkInterfaces: [{subnetwork: "projects/\($p)/regions/us-central1/subnetworks/deploy-\($name)-us-central1",
		accessConfigs: [{name: "External NAT", type: "ONE_TO_ONE_NAT", natIP: $ip}]}],
	metadata: {items: [{key: "ssh-keys", value: $keys}]}}')
expect_eq "$(body compute.instances.insert "$name-validator-0")" "$want" \
	"instance body"

# The state has each host's addresses; one list a round while waiting.
expect_eq "$(jq -r '.hosts["validator-0"].address' ".deploy/$name.state.json")" \
	"$ip" "the static address is the host's"
expect_eq "$(jq -s '[.[] | select(.api == "compute.instances.list" or .api == "compute.instances.get" and .status == 200)] | length' "$GCP_LOG")" \
	0 "no list or get per instance while waiting"

# --- plan and up again: nothing mutating ------------------------------------

: >"$GCP_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan"
expect_line "$TMP/out" "Plan: 0 to create, 0 to destroy, 3 unchanged." "plan keeps all"
expect_no_match "$TMP/out" "~ gcp" "no shared change planned"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up again"
expect_eq "$(mutating)" 0 "plan and up again make no mutating call"

# --- a firewall rule changed: rule by rule ----------------------------------

SENTRY_RULE='{port: 9001, from: world}' write_topology
: >"$GCP_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 2 "plan of a rule change (changes: exit 2)"
expect_line "$TMP/out" "~ gcp firewall sentry: + tcp 9001 from 0.0.0.0/0" "rule added in plan"
expect_line "$TMP/out" "~ gcp firewall sentry: - tcp 9000 from 0.0.0.0/0" "rule removed in plan"
expect_eq "$(mutating)" 0 "plan of a change makes no mutating call"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with the rule change"
expect_eq "$(jq -s -c '[.[] | select(.api != null and (.api | test("^compute\\.")) and .method != "GET" and (.api | test("wait$") | not)) | .api]' "$GCP_LOG")" \
	'["compute.firewalls.insert","compute.firewalls.delete"]' \
	"one firewall made, one deleted, nothing else"
expect_eq "$(curl -sf "$GCP_URL/_test/dump" | jq -c '[."global/firewalls"[] | select(.targetTags == ["deploy-'"$name"'-sentry"]) | [.allowed[0].ports[0], (.sourceRanges // .sourceTags)[0]]] | sort')" \
	'[["22","203.0.113.7/32"],["9001","0.0.0.0/0"]]' "sentry's rules now"

# --- an instance deleted outside deploy: made again, alone ------------------

gcp_ctl "{\"remove\": [\"instances\", \"zones/us-central1-b\", \"$name-sentry-1\"]}"
: >"$GCP_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 2 "plan after a deletion"
expect_line "$TMP/out" "Plan: 1 to create, 0 to destroy, 2 unchanged." "plan makes it again"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after a deletion"
expect_eq "$(jq -s -c '[.[] | select(.api != null and (.api | test("^compute\\.")) and .method != "GET" and (.api | test("wait$") | not)) | [.api, .body.name]]' "$GCP_LOG")" \
	"[[\"compute.instances.insert\",\"$name-sentry-1\"]]" "only that instance made"
expect_eq "$(resources '."zones/us-central1-b/instances"')" "[\"$name-sentry-1\"]" \
	"it is back"

# --- down: the static_ip role kept; then everything ------------------------

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
expect_eq "$(resources '[."zones/us-central1-a/instances", ."regions/us-central1/addresses"]')" \
	"[[\"$name-validator-0\"],[\"$name-validator-0\"]]" \
	"the static_ip host and its address kept"
: >"$GCP_LOG"
run "$DEPLOY" down --yes --include-protected topo.yml
expect_rc 0 "down --include-protected"
expect_eq "$(resources '.')" '{"global/networks":["default"]}' "nothing left"
expect_eq "$(jq '.resources | length' ".deploy/$name.state.json")" 0 "nothing recorded"
# The order: instances, addresses, disks, firewalls, subnetworks, network.
expect_eq "$(jq -r 'select(.method == "DELETE") | .api' "$GCP_LOG" | uniq | tr '\n' ' ')" \
	"compute.instances.delete compute.addresses.delete compute.disks.delete compute.firewalls.delete compute.subnetworks.delete compute.networks.delete " \
	"down in reverse"

# --- an existing network named in the block: used, left alone ---------------

cat >net.yml <<TOPO
version: 1
name: $name-net
ssh: {key: $TMP/id, user: admin, admin_cidrs: [203.0.113.7/32]}
providers:
  gcp: {project: $GCP_PROJECT, zone: us-east1-c, network: default}
roles:
  web: {firewall: [{port: 443, from: world}]}
TOPO
: >"$GCP_LOG"
run "$DEPLOY" up --yes net.yml
expect_rc 0 "up on the default network"
expect_eq "$(curl -sf "$GCP_URL/_test/dump" | jq -c '[."zones/us-east1-c/instances"[] | .networkInterfaces[0] | [(.network | sub(".*/"; "")), .subnetwork]]')" \
	'[["default",null]]' "the instance on the auto-mode network"
expect_eq "$(curl -sf "$GCP_URL/_test/dump" | jq -c '[."global/firewalls"[] | .network | sub(".*/"; "")] | unique')" \
	'["default"]' "its firewalls on it"
expect_eq "$(jq -s '[.[] | select(.api == "compute.networks.insert" or .api == "compute.subnetworks.insert")] | length' "$GCP_LOG")" \
	0 "no network made"
run "$DEPLOY" down --yes net.yml
expect_rc 0 "down on the default network"
expect_eq "$(resources '.')" '{"global/networks":["default"]}' \
	"the network left alone, the rest gone"

finish
