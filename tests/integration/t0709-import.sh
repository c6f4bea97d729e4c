#!/bin/sh
# deploy import ROLE HOST ID: an EC2 instance made outside deploy (boto3,
# at moto, signatures checked) becomes HOST of ROLE, tagged as deploy tags
# its instances; plan afterwards makes no host, down deletes it. The state
# is in S3. Refused: an unknown id, a host already recorded, an instance of
# another topology, a host not of the role.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0709-$$"
bucket="deploy-state-$$"
cleanup() {
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start

ssh-keygen -q -t ed25519 -N "" -C t0709 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
state: {s3: {bucket: $bucket}}
roles:
  node: {count: 1, size: t3.micro, image: ubuntu-16.04}
TOPO
# made_outside [TAGS]: an instance made with boto3; prints its id.
made_outside() {
	"$AWS_PY" -c "
import boto3
ec2 = boto3.client('ec2', endpoint_url='$MOTO_URL', region_name='us-east-1')
boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1').create_bucket(Bucket='$bucket') if '$1' == 'bucket' else None
img = ec2.describe_images()['Images'][0]['ImageId']
tags = [{'Key': 'deploy:topology', 'Value': 'other'}, {'Key': 'deploy:host', 'Value': 'x-0'}] if '$1' == 'other' else [{'Key': 'Name', 'Value': 'legacy'}]
r = ec2.run_instances(ImageId=img, MinCount=1, MaxCount=1, InstanceType='t2.micro',
    TagSpecifications=[{'ResourceType': 'instance', 'Tags': tags}])
print(r['Instances'][0]['InstanceId'])"
}
id=$(made_outside bucket) || fail "make an instance outside deploy"
other=$(made_outside other) || fail "make another topology's instance"

run "$DEPLOY" plan topo.yml
expect_rc 2 "plan before the import"
expect_line "$TMP/out" "+ create aws host node-0" "plan wants node-0 before"

run "$DEPLOY" import node node-1 "$id" topo.yml
expect_rc 1 "import as a host the role does not have"
run "$DEPLOY" import node node-0 i-0123456789abcdef0 topo.yml
expect_rc 1 "import of an unknown id"
checks=$((checks + 1))
grep -q "InvalidInstanceID.NotFound" "$TMP/err" || fail "unknown id: $(cat "$TMP/err")"
run "$DEPLOY" import node node-0 "$other" topo.yml
expect_rc 1 "import of another topology's instance"
expect_line "$TMP/err" "deploy: error: instance '$other' is already host 'x-0' of topology 'other' (its deploy: tags): not imported" "another topology's"

: >"$AWS_LOG"
run "$DEPLOY" import node node-0 "$id" topo.yml
expect_rc 0 "import"
expect_line "$TMP/out" "Imported aws $id as host node-0 of role node." "import says it"
checks=$((checks + 1))
grep -q "^CreateTags 200" "$AWS_LOG" || fail "the instance was tagged"
checks=$((checks + 1))
grep -q "^RunInstances" "$AWS_LOG" && fail "nothing made by import"
aws_query "$name" | awk '$1 == "instance" {print $2, $3, $4}' >"$TMP/have"
echo "$id running node-0" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "tagged as deploy's host node-0"
run "$DEPLOY" state show --json node-0 topo.yml
expect_rc 0 "state show of the imported host"
checks=$((checks + 1))
grep -q "\"id\":[[:space:]]*\"$id\"" "$TMP/out" || fail "recorded with its id"
run "$DEPLOY" import node node-0 "$id" topo.yml
expect_rc 1 "import of a host already recorded"

: >"$AWS_LOG"
run "$DEPLOY" plan topo.yml
checks=$((checks + 1))
grep -q "^+ create aws host" "$TMP/out" && fail "plan wants no host after the import: $(cat "$TMP/out")"
checks=$((checks + 1))
grep -q "^Plan: 0 to create, 0 to destroy, 1 unchanged.$" "$TMP/out" || fail "plan: $(cat "$TMP/out")"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
checks=$((checks + 1))
grep -q "^TerminateInstances 200" "$AWS_LOG" || fail "down terminated it"
"$AWS_PY" -c "
import boto3
ec2 = boto3.client('ec2', endpoint_url='$MOTO_URL', region_name='us-east-1')
print(ec2.describe_instances(InstanceIds=['$id'])['Reservations'][0]['Instances'][0]['State']['Name'])" >"$TMP/have"
echo terminated >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "the imported instance is gone after down"
finish
