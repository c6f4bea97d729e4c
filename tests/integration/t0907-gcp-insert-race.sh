#!/bin/sh
# A killed run's instance insert ends between the next run's read of the
# instance (404, not made yet) and its read of the insert's operation
# (DONE, no error): the next run reads the instance again and adopts it,
# rather than taking the record for nothing made and inserting anew
# (which ended in alreadyExists: seen once in five sanitizer runs of
# t0903, where operations take 1.5 s). The server's finish_on_read ends
# an operation just before it is read, so the order is certain here.
. "$TESTLIB"
. "$SRCDIR/tests/integration/gcp-lib.sh"

name="t0907-$$"
cleanup() {
	gcp_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# The second instance insert (the first run makes one host, the second
# run a second one) is killed while its operation is waited for: the
# insert was answered, its operation recorded.
gcp_start --op-seconds 0.3 --wait-max 0.5 \
	--kill-at "compute.zoneOperations.wait:after#2" \
	--kill-pid-file "$TMP/deploy.pid"

ssh-keygen -q -t ed25519 -N "" -C t0907 -f "$TMP/id" || fail "ssh-keygen"
topology() {
	cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, user: admin, admin_cidrs: [203.0.113.7/32]}
providers: {gcp: {project: $GCP_PROJECT, zone: europe-west1-c}}
roles:
  node: {count: $1, size: e2-small}
TOPO
}

# up_killable: deploy up, its PID where the server reads it.
up_killable() {
	sh -c 'echo $$ >"$1"; exec "$2" up --yes topo.yml' sh \
		"$TMP/deploy.pid" "$DEPLOY" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

topology 1
up_killable
expect_rc 0 "the first up (one host)"

# The second host's insert is slow (60 s) and its run is killed once
# its operation was waited for once.
gcp_ctl '{"op_seconds": 60}'
topology 2
up_killable
expect_rc 137 "the second up, killed while it waits"
expect_eq "$(jq -r '.resources[] | select(.kind == "host" and .name == "node-1") | .attributes.operation | startswith("operation-")' ".deploy/$name.state.json")" \
	true "node-1 recorded with its insert's operation"

# The next run reads node-1 (404), then its operation, which ends just
# before that read.
gcp_ctl '{"op_seconds": 0.3, "finish_on_read": true}'
up_killable
expect_rc 0 "the third up"
[ "$rc" = 0 ] || sed 's/^/  | /' "$TMP/err" >&2
expect_eq "$(jq -s -c '[.[] | select(.api == "compute.instances.get" or .api == "compute.zoneOperations.get") | [.api, .status]]' "$GCP_LOG")" \
	'[["compute.instances.get",404],["compute.zoneOperations.get",200],["compute.instances.get",200]]' \
	"node-1 read (404), its operation read (done), node-1 read again"
expect_eq "$(jq -s '[.[] | select(.api == "compute.instances.insert" and .status == 200 and (.dedup | not))] | length' "$GCP_LOG")" \
	2 "two instances inserted, each once"
expect_eq "$(jq -s '[.[] | select(.api == "compute.instances.insert" and .status != 200)] | length' "$GCP_LOG")" \
	0 "no insert refused"
expect_eq "$(curl -sf "$GCP_URL/_test/resources" | jq -c '."zones/europe-west1-c/instances"')" \
	"[\"$name-node-0\",\"$name-node-1\"]" "each instance once"
expect_eq "$(jq -c '[.resources[] | select(.kind == "host") | .status] | unique' ".deploy/$name.state.json")" \
	'["created"]' "both recorded, created"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
