#!/bin/sh
# The DigitalOcean provider's lifecycle against the test server
# (tests/helper/do-server.py): an unknown slug refused before anything is
# made; up makes the key, the VPC, a firewall per role with the
# topology's rules and the droplets, with the exact create bodies; plan and
# up again make no mutating call; a firewall rule change is planned and
# applied rule by rule; a droplet deleted behind deploy's back is made
# again, alone; down leaves nothing of the topology. What the server holds
# is read with curl, not with deploy.
. "$TESTLIB"
. "$SRCDIR/tests/integration/do-lib.sh"

name="t0802-$$"
cleanup() {
	do_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
do_start --active-ms 300

ssh-keygen -q -t ed25519 -N "" -C t0802 -f "$TMP/id" || fail "ssh-keygen"
# The topology's firewall: SENTRY_PORTS is rewritten below.
write_topology() {
	cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {digitalocean: {region: fra1}}
roles:
  validator:
    size: ${VALIDATOR_SIZE:-s-2vcpu-4gb}
    image: debian-12
    via: sentry
    firewall: [{port: 7100, from: [sentry]}]
  sentry:
    count: 2
    image: ubuntu-24.04
    firewall: [$SENTRY_RULES]
TOPO
}

# py CODE: python over the server's JSON on stdin.
py() {
	"$DO_PY" -c "import json, sys; d = json.load(sys.stdin); $1"
}

# snapshot FILE: what the server holds of the topology, sorted.
snapshot() {
	{
		do_get "/v2/droplets?tag_name=deploy:topology:$name&per_page=200" |
			py 'print("\n".join("droplet %s %s %s %s" % (x["name"], x["size_slug"], x["image"]["slug"], x["status"]) for x in d["droplets"]))'
		do_get "/v2/firewalls?per_page=200" |
			py 'print("\n".join("rule %s %s %s %s" % (f["name"], r["protocol"], r["ports"], ",".join(r["sources"].get("addresses", []) + r["sources"].get("tags", []))) for f in d["firewalls"] for r in f["inbound_rules"]))'
		do_get "/v2/firewalls?per_page=200" |
			py 'print("\n".join("firewall %s %s" % (f["name"], ",".join(f["tags"])) for f in d["firewalls"]))'
		do_get "/v2/vpcs?per_page=200" |
			py 'print("\n".join("vpc %s %s" % (v["name"], v["region"]) for v in d["vpcs"] if not v["default"]))'
		do_get "/v2/account/keys?per_page=200" |
			py 'print("\n".join("key %s" % k["name"] for k in d["ssh_keys"]))'
	} | sed '/^$/d' | sort >"$1"
}

# mutating: the server's logged requests that are not GETs.
mutating() {
	do_requests | grep -v '^GET ' || true
}

# --- an unknown slug: nothing made -------------------------------------------

SENTRY_RULES="{port: 9000, from: world}"
VALIDATOR_SIZE=s-2vcpu-4gbx write_topology
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "unknown size"
grep -q "topo.yml:[0-9]*:[0-9]*: .*role 'validator': digitalocean has no size 's-2vcpu-4gbx' (did you mean 's-2vcpu-4gb'?)" "$TMP/err" ||
	fail "unknown size: $(cat "$TMP/err")"
checks=$((checks + 1))
mutating >"$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "unknown size: nothing made"

# --- up ----------------------------------------------------------------------

write_topology
: >"$DO_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_line "$TMP/out" "Up: 3 created, 0 destroyed, 0 unchanged." "up summary"
snapshot "$TMP/have"
sort >"$TMP/want" <<WANT
droplet sentry-0 s-1vcpu-1gb ubuntu-24-04-x64 active
droplet sentry-1 s-1vcpu-1gb ubuntu-24-04-x64 active
droplet validator-0 s-2vcpu-4gb debian-12-x64 active
firewall deploy-$name-sentry deploy:$name:sentry
firewall deploy-$name-validator deploy:$name:validator
key deploy-$name
rule deploy-$name-sentry tcp 22 203.0.113.7/32
rule deploy-$name-sentry tcp 9000 0.0.0.0/0
rule deploy-$name-sentry tcp 9000 ::/0
rule deploy-$name-validator tcp 22 deploy:$name:sentry
rule deploy-$name-validator tcp 7100 deploy:$name:sentry
vpc deploy-$name-fra1 fra1
WANT
expect_same "$TMP/want" "$TMP/have" "up: what the server holds"

# The exact create bodies (the key tag is per record: checked apart).
"$DO_PY" -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("method") == "POST" and e["path"] == "/v2/droplets":
        b = e["body"]
        key = [t for t in b["tags"] if t.startswith("deploy:key:")]
        b["tags"] = [t for t in b["tags"] if not t.startswith("deploy:key:")]
        b["vpc_uuid"] = "VPC" if b["vpc_uuid"] else None
        b["ssh_keys"] = ["FP" if len(k) == 47 else k for k in b["ssh_keys"]]
        print(json.dumps(b, sort_keys=True), len(key), len(key[0]) if key else 0)
' "$DO_LOG" | sort >"$TMP/have"
sort >"$TMP/want" <<WANT
{"image": "debian-12-x64", "monitoring": true, "name": "validator-0", "region": "fra1", "size": "s-2vcpu-4gb", "ssh_keys": ["FP"], "tags": ["deploy:topology:$name", "deploy:role:validator", "deploy:$name:validator"], "vpc_uuid": "VPC"} 1 47
{"image": "ubuntu-24-04-x64", "monitoring": true, "name": "sentry-0", "region": "fra1", "size": "s-1vcpu-1gb", "ssh_keys": ["FP"], "tags": ["deploy:topology:$name", "deploy:role:sentry", "deploy:$name:sentry"], "vpc_uuid": "VPC"} 1 47
{"image": "ubuntu-24-04-x64", "monitoring": true, "name": "sentry-1", "region": "fra1", "size": "s-1vcpu-1gb", "ssh_keys": ["FP"], "tags": ["deploy:topology:$name", "deploy:role:sentry", "deploy:$name:sentry"], "vpc_uuid": "VPC"} 1 47
WANT
expect_same "$TMP/want" "$TMP/have" "up: the droplet create bodies"
# Each droplet's key tag is the one its record holds.
"$DO_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("\n".join(sorted("%s deploy:key:%s" % (r["name"], r["key"]) for r in s["resources"] if r["kind"] == "host")))
' .deploy/"$name".state.json >"$TMP/want"
do_get "/v2/droplets?tag_name=deploy:topology:$name" |
	py 'print("\n".join(sorted("%s %s" % (x["name"], [t for t in x["tags"] if t.startswith("deploy:key:")][0]) for x in d["droplets"])))' >"$TMP/have"
expect_same "$TMP/want" "$TMP/have" "up: the key tags recorded"
calls=$(do_requests | wc -l)
echo "# up, 3 droplets: $calls API calls"

# --- plan and up again: no mutating call ------------------------------------

: >"$DO_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up again"
mutating >"$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "plan and up again: no mutating call"

# --- a firewall rule change, rule by rule ---------------------------------

SENTRY_RULES="{port: 9000, from: [validator]}, {port: 26656, proto: udp, from: [198.51.100.0/24]}"
write_topology
run "$DEPLOY" plan topo.yml
expect_line "$TMP/out" "~ digitalocean firewall sentry: + tcp 9000 from tag:deploy:$name:validator" "plan: rule added"
expect_line "$TMP/out" "~ digitalocean firewall sentry: + udp 26656 from 198.51.100.0/24" "plan: udp rule added"
expect_line "$TMP/out" "~ digitalocean firewall sentry: - tcp 9000 from 0.0.0.0/0" "plan: rule removed"
expect_line "$TMP/out" "~ digitalocean firewall sentry: - tcp 9000 from ::/0" "plan: v6 rule removed"
: >"$DO_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with new rules"
# The rule calls go at once, in no set order: compared sorted.
mutating | sed 's/firewalls\/[^/]*\//firewalls\/ID\//' | LC_ALL=C sort >"$TMP/have"
cat >"$TMP/want" <<WANT
DELETE /v2/firewalls/ID/rules 204
DELETE /v2/firewalls/ID/rules 204
POST /v2/firewalls/ID/rules 204
POST /v2/firewalls/ID/rules 204
POST /v2/tags 201
POST /v2/tags 201
WANT
expect_same "$TMP/want" "$TMP/have" "rule change: one call per rule"
snapshot "$TMP/have"
grep "^rule deploy-$name-sentry" "$TMP/have" >"$TMP/have-rules"
sort >"$TMP/want" <<WANT
rule deploy-$name-sentry tcp 22 203.0.113.7/32
rule deploy-$name-sentry tcp 9000 deploy:$name:validator
rule deploy-$name-sentry udp 26656 198.51.100.0/24
WANT
expect_same "$TMP/want" "$TMP/have-rules" "rule change: the rules now"

# --- a droplet deleted outside deploy ---------------------------------------

id=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" |
	py 'print([x["id"] for x in d["droplets"] if x["name"] == "sentry-1"][0])')
curl -sS -X DELETE -H "Authorization: Bearer $DO_TOKEN" "$DO_URL/v2/droplets/$id"
: >"$DO_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after a delete outside"
expect_line "$TMP/out" "Up: 1 created, 0 destroyed, 2 unchanged." "made again, alone"
do_requests | grep "^POST /v2/droplets " >"$TMP/have"
printf 'POST /v2/droplets 202\n' >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "one droplet made"

# --- down: nothing left -------------------------------------------------------

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
snapshot "$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "down: nothing of the topology left"
n=$(do_get "/v2/tags/deploy:topology:$name" | py 'print(d["tag"]["resources"]["count"])')
[ "$n" = 0 ] || fail "down: $n resources still tagged"
checks=$((checks + 1))

finish
