#!/bin/sh
# A mixed fleet in one `deploy up`: the ICON example's shape with the
# bastion and the validator on AWS (moto's server, every request signed)
# and the sentries on DigitalOcean (tests/helper/do-server.py). The
# sentries come after the validator, so their firewall admits the
# validator's recorded address; down removes everything from both.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"
. "$SRCDIR/tests/integration/do-lib.sh"

name="t0805-$$"
cleanup() {
	do_stop
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start
do_start --active-ms 200

ssh-keygen -q -t ed25519 -N "" -C t0805 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers:
  aws: {region: us-east-1}
  digitalocean: {region: fra1}
roles:
  bastion: {provider: aws, size: t3.micro, image: ubuntu-16.04}
  validator:
    provider: aws
    size: m5.large
    image: ubuntu-16.04
    via: bastion
  sentry:
    provider: digitalocean
    count: 2
    after: [validator]
    firewall: [{port: 7100, from: [validator]}, {port: 9000, from: world}]
TOPO

py() {
	"$DO_PY" -c "import json, sys; d = json.load(sys.stdin); $1"
}

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_line "$TMP/out" "Up: 4 created, 0 destroyed, 0 unchanged." "up summary"
aws_query "$name" >"$TMP/aws" 2>&1
n=$(awk '$1 == "instance" && $3 == "running"' "$TMP/aws" | wc -l)
[ "$n" = 2 ] || fail "$n aws instances running, expected 2: $(cat "$TMP/aws")"
checks=$((checks + 1))
n=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" | py 'print(sum(1 for x in d["droplets"] if x["status"] == "active"))')
[ "$n" = 2 ] || fail "$n droplets active, expected 2"
checks=$((checks + 1))

# The sentries' firewall admits the validator's recorded address.
addr=$("$DO_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["hosts"]["validator-0"]["address"])
' ".deploy/$name.state.json")
do_get "/v2/firewalls" |
	py 'print("\n".join(sorted("%s %s %s" % (r["protocol"], r["ports"], ",".join(r["sources"].get("addresses", []) + r["sources"].get("tags", []))) for f in d["firewalls"] for r in f["inbound_rules"])))' >"$TMP/have"
sort >"$TMP/want" <<WANT
tcp 22 203.0.113.7/32
tcp 7100 $addr/32
tcp 9000 0.0.0.0/0
tcp 9000 ::/0
WANT
expect_same "$TMP/want" "$TMP/have" "the sentries' firewall"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
aws_query "$name" >"$TMP/aws" 2>&1
n=$(awk '$1 == "instance" && $3 == "running"' "$TMP/aws" | wc -l)
[ "$n" = 0 ] || fail "down: $n aws instances left: $(cat "$TMP/aws")"
n=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" | py 'print(len(d["droplets"]))')
[ "$n" = 0 ] || fail "down: $n droplets left"
n=$(do_get "/v2/firewalls" | py 'print(len(d["firewalls"]))')
[ "$n" = 0 ] || fail "down: $n firewalls left"
checks=$((checks + 3))

finish
