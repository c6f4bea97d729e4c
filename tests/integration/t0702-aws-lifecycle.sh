#!/bin/sh
# The AWS provider's whole lifecycle against moto's server, every request
# signed (moto checks each SigV4 signature): up makes the key pair, VPC,
# subnet, gateway, route table, a security group per role with the
# topology's rules and the instances; plan and up again make no mutating
# call; a host terminated behind deploy's back is made again, alone; down
# keeps static_ip roles, --include-protected removes them, and afterwards
# nothing of the topology is left at moto. What moto holds is read with
# boto3 (tests/helper/aws-query.py), not with deploy.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0702-$$"
cleanup() {
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start

ssh-keygen -q -t ed25519 -N "" -C t0702 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
roles:
  bastion: {size: t3.micro, image: ubuntu-16.04}
  validator:
    count: 2
    size: m5.large
    image: ubuntu-16.04
    via: bastion
    after: [sentry]
    disk: {size: 100}
    firewall: [{port: 7100, from: [sentry]}]
  sentry:
    count: 2
    image: ubuntu-16.04
    static_ip: true
    firewall: [{port: 7100, from: [validator]}, {port: 9000, from: world}]
TOPO

# snapshot FILE: what moto holds, ids replaced by names, sorted.
snapshot() {
	aws_query "$name" >"$TMP/raw" || fail "aws-query.py"
	cp "$TMP/raw" "$TMP/named"
	for g in $(awk '$1 == "security-group" {print $2 "=" $3}' "$TMP/raw"); do
		sed -i "s/${g%=*}/${g#*=}/g" "$TMP/named"
	done
	awk '$1 == "instance" {print $1, $3, $4, $5; next}
	     $1 == "address" {print $1, ($4 == "-" ? "unassociated" : "associated"); next}
	     $1 ~ /^(vpc|subnet)$/ {print $1, $3; next}
	     $1 ~ /^(internet-gateway|route-table)$/ {print $1; next}
	     $1 == "security-group" {print $1, $3, $4; next}
	     {print}' "$TMP/named" | sort >"$1"
}

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_line "$TMP/out" "Up: 5 created, 0 destroyed, 0 unchanged." "up summary"
snapshot "$TMP/have"
sort >"$TMP/want" <<WANT
address associated
address associated
instance running bastion-0 t3.micro
instance running sentry-0 t3.micro
instance running sentry-1 t3.micro
instance running validator-0 m5.large
instance running validator-1 m5.large
internet-gateway
key-pair deploy-$name
route-table
rule deploy-$name-bastion tcp 22-22 203.0.113.7/32
rule deploy-$name-sentry tcp 22-22 203.0.113.7/32
rule deploy-$name-sentry tcp 7100-7100 deploy-$name-validator
rule deploy-$name-sentry tcp 9000-9000 0.0.0.0/0
rule deploy-$name-sentry tcp 9000-9000 ::/0
rule deploy-$name-validator tcp 22-22 deploy-$name-bastion
rule deploy-$name-validator tcp 7100-7100 deploy-$name-sentry
security-group deploy-$name-bastion security-group/bastion
security-group deploy-$name-sentry security-group/sentry
security-group deploy-$name-validator security-group/validator
subnet us-east-1a
vpc 10.0.0.0/16
WANT
expect_same "$TMP/want" "$TMP/have" "what up made at moto"

# The state knows each host's id, and no credential.
state=".deploy/$name.state.json"
checks=$((checks + 1))
[ "$(grep -c '"id":[[:space:]]*"i-' "$state")" = 5 ] || fail "5 instance ids in the state"
expect_no_match "$state" "$AWS_SECRET_ACCESS_KEY" "no secret key in the state"
expect_no_match "$state" "$AWS_ACCESS_KEY_ID" "no access key in the state"
# The validators' data disks: the volume on /dev/sdf that each instance's
# block device mapping names, recorded (the disk step's NVMe path).
python3 - "$state" >"$TMP/volumes" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["resources"]:
    if r["kind"] == "host":
        v = (r.get("attributes") or {}).get("data_volume", "")
        print(r["name"], "vol-..." if v.startswith("vol-") and len(v) > 4 else v or "-")
PY
sort >"$TMP/volumes.want" <<WANT
bastion-0 -
sentry-0 -
sentry-1 -
validator-0 vol-...
validator-1 vol-...
WANT
sort -o "$TMP/volumes" "$TMP/volumes"
expect_same "$TMP/volumes.want" "$TMP/volumes" "data_volume recorded for the hosts with a disk"

# Converged: plan and up change nothing and make no mutating call.
: >"$AWS_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan on a converged fleet"
expect_line "$TMP/out" "Plan: 0 to create, 0 to destroy, 5 unchanged." "plan"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "Nothing to create or destroy: 5 hosts exist." "second up"
aws_mutating >"$TMP/mutating"
checks=$((checks + 1))
grep -q '^DescribeInstances 200' "$AWS_LOG" || fail "plan read the instances"
expect_same /dev/null "$TMP/mutating" "no mutating call by plan and up"

# A firewall rule changed: plan shows the rule changes (and changes
# nothing), up makes them, rule by rule.
sed -i 's/port: 9000, from: world/port: 9001, from: world/' topo.yml
: >"$AWS_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 2 "plan with a changed firewall rule"
for l in "~ aws security-group sentry: + tcp 9001 from 0.0.0.0/0" \
	"~ aws security-group sentry: + tcp 9001 from ::/0" \
	"~ aws security-group sentry: - tcp 9000 from 0.0.0.0/0" \
	"~ aws security-group sentry: - tcp 9000 from ::/0" \
	"4 changes to shared resources (firewall groups)."; do
	expect_line "$TMP/out" "$l" "plan shows the rule change"
done
aws_mutating >"$TMP/mutating"
expect_same /dev/null "$TMP/mutating" "plan changes nothing"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with a changed firewall rule"
expect_line "$TMP/out" "Shared resources: 4 changes made." "up made the changes"
checks=$((checks + 1))
[ "$(grep -c '^AuthorizeSecurityGroupIngress 200' "$AWS_LOG")" = 2 ] || fail "2 rules added"
checks=$((checks + 1))
[ "$(grep -c '^RevokeSecurityGroupIngress 200' "$AWS_LOG")" = 2 ] || fail "2 rules revoked"
snapshot "$TMP/have"
grep "^rule deploy-$name-sentry tcp 900" "$TMP/have" >"$TMP/rules"
printf '%s\n' "rule deploy-$name-sentry tcp 9001-9001 0.0.0.0/0" \
	"rule deploy-$name-sentry tcp 9001-9001 ::/0" >"$TMP/want"
expect_same "$TMP/want" "$TMP/rules" "the new rule at moto, the old one gone"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan after the rule change"

# A host terminated behind deploy's back is made again, and only it.
id=$(awk '$1 == "instance" && $4 == "validator-1" {print $2}' "$TMP/raw")
"$AWS_PY" -c "
import boto3
boto3.client('ec2', endpoint_url='$MOTO_URL', region_name='us-east-1').terminate_instances(InstanceIds=['$id'])" ||
	fail "terminate behind deploy's back"
run "$DEPLOY" plan topo.yml
expect_rc 2 "plan after an outside delete"
expect_line "$TMP/out" "+ create aws host validator-1 (it is in the state but gone at provider 'aws': deleted outside deploy?)" "plan names the gone host"
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after an outside delete"
checks=$((checks + 1))
[ "$(grep -c '^RunInstances 200' "$AWS_LOG")" = 1 ] || fail "exactly one RunInstances"
snapshot "$TMP/have"
checks=$((checks + 1))
[ "$(grep -c '^instance running' "$TMP/have")" = 5 ] || fail "5 running instances"

# down keeps the static_ip role; --include-protected takes it too.
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
expect_line "$TMP/out" "= keep aws host sentry-0 (role 'sentry' is protected (protect or static_ip): kept unless --include-protected)" "static_ip kept"
snapshot "$TMP/have"
checks=$((checks + 1))
[ "$(grep -c '^instance running' "$TMP/have")" = 2 ] || fail "the 2 sentries still run"
run "$DEPLOY" down --yes --include-protected topo.yml
expect_rc 0 "down --include-protected"
snapshot "$TMP/have"
grep -v '^instance terminated' "$TMP/have" >"$TMP/left"
expect_same /dev/null "$TMP/left" "nothing of the topology left at moto"
checks=$((checks + 1))
grep -q '"resources":[[:space:]]*\[\]' "$state" || fail "no resource left in the state"
finish
