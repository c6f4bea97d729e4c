#!/bin/sh
# deploy import ROLE HOST ID for DigitalOcean (tests/helper/do-server.py):
# a droplet made outside deploy (another size and image, not in the role's
# firewall, in the region's default VPC) becomes HOST of ROLE, tagged with
# the topology's and the role's tags; plan then makes no droplet and tells
# each difference as a '~' line; up makes the firewall, the VPC and the
# role's other droplet and leaves the imported one as it is (then in
# another VPC than the topology's: told too); down deletes it. Refused: an id that is not
# one, an unknown droplet, another topology's.
. "$TESTLIB"
. "$SRCDIR/tests/integration/do-lib.sh"

name="t0808-$$"
cleanup() {
	do_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
do_start --active-ms 300

ssh-keygen -q -t ed25519 -N "" -C t0808 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {digitalocean: {region: fra1}}
roles:
  node: {count: 2, size: s-1vcpu-1gb, image: debian-12}
TOPO

# made_outside NAME TAG: a droplet made with curl, not deploy; prints its
# id once it is active.
made_outside() {
	id=$(curl -sS -H "Authorization: Bearer $DO_TOKEN" \
		-H "Content-Type: application/json" -X POST "$DO_URL/v2/droplets" \
		-d "{\"name\": \"$1\", \"region\": \"fra1\", \"size\": \"s-2vcpu-4gb\", \"image\": \"ubuntu-22-04-x64\", \"tags\": [\"$2\"]}" |
		"$DO_PY" -c 'import json, sys; print(json.load(sys.stdin)["droplet"]["id"])') || return 1
	i=0
	while [ $i -lt 100 ]; do
		do_get "/v2/droplets/$id" | grep -q '"status": "active"' && {
			echo "$id"
			return 0
		}
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
id=$(made_outside legacy legacy) || fail "make a droplet outside deploy"
other=$(made_outside x-0 deploy:topology:other) || fail "make another topology's droplet"
# mutating: the logged requests that are not GETs.
mutating() {
	do_requests | grep -v '^GET ' || true
}

run "$DEPLOY" plan topo.yml
expect_rc 2 "plan before the import"
expect_line "$TMP/out" "+ create digitalocean host node-0" "plan wants node-0 before"

: >"$DO_LOG"
run "$DEPLOY" import node node-0 abc topo.yml
expect_rc 1 "import of an id that is not one"
expect_line "$TMP/err" "deploy: error: 'abc' is not a droplet id (digits)" "not an id"
run "$DEPLOY" import node node-0 999999 topo.yml
expect_rc 1 "import of an unknown droplet"
expect_line "$TMP/err" "deploy: error: digitalocean droplet '999999' not found" "unknown droplet"
run "$DEPLOY" import node node-0 "$other" topo.yml
expect_rc 1 "import of another topology's droplet"
expect_line "$TMP/err" "deploy: error: droplet '$other' is already host 'x-0' of topology 'other' (its deploy: tags): not imported" "another topology's"
checks=$((checks + 1))
mutating | grep -v '^POST /v2/tags 201$' | grep -q . && fail "refused imports change nothing: $(mutating)"

: >"$DO_LOG"
run "$DEPLOY" import node node-0 "$id" topo.yml
expect_rc 0 "import"
expect_line "$TMP/out" "Imported digitalocean $id as host node-0 of role node." "import says it"
mutating | grep '/resources' >"$TMP/have"
cat >"$TMP/want" <<WANT
POST /v2/tags/deploy:topology:$name/resources 204
POST /v2/tags/deploy:role:node/resources 204
WANT
expect_same "$TMP/want" "$TMP/have" "tagged with the topology's and the role's tags"
checks=$((checks + 1))
mutating | grep -q '^POST /v2/droplets' && fail "nothing made by import"
do_get "/v2/droplets/$id" | "$DO_PY" -c '
import json, sys
d = json.load(sys.stdin)["droplet"]
print(d["name"], d["status"], " ".join(sorted(d["tags"])))' >"$TMP/have"
echo "legacy active deploy:role:node deploy:topology:$name legacy" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "the droplet keeps its name, gains the tags"
run "$DEPLOY" state show --json node-0 topo.yml
expect_rc 0 "state show of the imported host"
checks=$((checks + 1))
"$DO_PY" -c "
import json, sys
d = json.load(open('$TMP/out'))
sys.exit(not (d['id'] == '$id' and d['attributes']['imported'] == 'true'
              and d['attributes']['region'] == 'fra1' and d['host']['address']))" ||
	fail "recorded with its id, region and address: $(cat "$TMP/out")"
run "$DEPLOY" import node node-0 "$id" topo.yml
expect_rc 1 "import of a host already recorded"

: >"$DO_LOG"
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 2 "plan after the import (node-1 and the firewall are still to make)"
cat >"$TMP/want" <<WANT
+ create digitalocean host node-1
~ digitalocean host node-0: size s-2vcpu-4gb, the topology says s-1vcpu-1gb
~ digitalocean host node-0: not in firewall deploy-$name-node (tag deploy:$name:node), the topology puts it there
~ digitalocean host node-0: image ubuntu-22-04-x64, the topology says debian-12-x64
+ digitalocean firewall node
Plan: 1 to create, 0 to destroy, 1 unchanged.
1 change to shared resources (firewall groups).
3 differences between kept hosts and the topology, which up does not change (see docs/state.md).
WANT
expect_same "$TMP/want" "$TMP/out" "plan tells what differs, makes node-1 only, lists no unrecorded droplet"
checks=$((checks + 1))
[ "$(mutating)" = "" ] || fail "plan changes nothing: $(mutating)"

# up makes node-1 (and with it the VPC) and the firewall; node-0 stays.
: >"$DO_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the import"
expect_line "$TMP/out" "Up: 1 created, 0 destroyed, 1 unchanged." "up makes node-1 only"
mutating | grep -E "^(POST|DELETE) /v2/droplets" >"$TMP/have"
echo "POST /v2/droplets 202" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "one droplet made, none deleted"
do_get "/v2/droplets/$id" | "$DO_PY" -c '
import json, sys
d = json.load(sys.stdin)["droplet"]
print(d["name"], d["status"], d["size_slug"], d["image"]["slug"])' >"$TMP/have"
echo "legacy active s-2vcpu-4gb ubuntu-22-04-x64" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "the imported droplet is as it was"
vpc=$(do_get "/v2/vpcs?per_page=200" |
	"$DO_PY" -c "import json, sys; print([v['id'] for v in json.load(sys.stdin)['vpcs'] if v['name'] == 'deploy-$name-fra1'][0])")
default=$(do_get "/v2/droplets/$id" | "$DO_PY" -c 'import json, sys; print(json.load(sys.stdin)["droplet"]["vpc_uuid"])')
run "$DEPLOY" plan --no-steps topo.yml
expect_rc 0 "plan after up: differences only"
cat >"$TMP/want" <<WANT
~ digitalocean host node-0: size s-2vcpu-4gb, the topology says s-1vcpu-1gb
~ digitalocean host node-0: not in firewall deploy-$name-node (tag deploy:$name:node), the topology puts it there
~ digitalocean host node-0: vpc $default, the topology says $vpc
~ digitalocean host node-0: image ubuntu-22-04-x64, the topology says debian-12-x64
Plan: 0 to create, 0 to destroy, 2 unchanged.
4 differences between kept hosts and the topology, which up does not change (see docs/state.md).
WANT
expect_same "$TMP/want" "$TMP/out" "plan after up"

: >"$DO_LOG"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
checks=$((checks + 1))
mutating | grep -q "^DELETE /v2/droplets/$id 204$" || fail "down deleted the droplet: $(mutating)"
checks=$((checks + 1))
do_get "/v2/droplets/$id" | grep -q '"droplet"' && fail "the imported droplet is gone after down"
checks=$((checks + 1))
do_get "/v2/droplets?tag_name=deploy:topology:$name" | grep -q '"name"' && fail "no droplet of the topology left"
checks=$((checks + 1))
do_get "/v2/droplets/$other" | grep -q '"droplet"' || fail "the other topology's droplet is left alone"
finish
