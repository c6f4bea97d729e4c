#!/bin/sh
# deploy import ROLE HOST ID: an EC2 instance made outside deploy (boto3,
# at moto, signatures checked) becomes HOST of ROLE, tagged as deploy tags
# its instances; plan afterwards makes no host and tells, as '~' lines, how
# the instance differs from the role (size, groups, zone, network, image);
# up leaves it as it is; down deletes it. The state is in S3. Refused: an unknown id, a host already recorded, an instance of
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
# Two of moto's images: the instance made outside runs the first, the
# topology names the second.
"$AWS_PY" -c "
import boto3
ec2 = boto3.client('ec2', endpoint_url='$MOTO_URL', region_name='us-east-1')
print(' '.join(i['ImageId'] for i in ec2.describe_images()['Images'][:2]))" >"$TMP/images" ||
	fail "list moto's images"
read -r ami_outside ami_topology <"$TMP/images"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
state: {s3: {bucket: $bucket}}
roles:
  node: {count: 1, size: t3.micro, image: $ami_topology, zone: us-east-1b}
TOPO
# made_outside [bucket|other]: an instance made with boto3 (t2.micro, in
# us-east-1a, in a group 'legacy' of the default VPC); prints its id.
made_outside() {
	"$AWS_PY" -c "
import boto3
ec2 = boto3.client('ec2', endpoint_url='$MOTO_URL', region_name='us-east-1')
boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1').create_bucket(Bucket='$bucket') if '$1' == 'bucket' else None
sg = ec2.create_security_group(GroupName='legacy-$1', Description='made outside deploy')['GroupId']
tags = [{'Key': 'deploy:topology', 'Value': 'other'}, {'Key': 'deploy:host', 'Value': 'x-0'}] if '$1' == 'other' else [{'Key': 'Name', 'Value': 'legacy'}]
r = ec2.run_instances(ImageId='$ami_outside', MinCount=1, MaxCount=1, InstanceType='t2.micro',
    SecurityGroupIds=[sg], Placement={'AvailabilityZone': 'us-east-1a'},
    TagSpecifications=[{'ResourceType': 'instance', 'Tags': tags}])
i = r['Instances'][0]
print(i['InstanceId'], i['VpcId'], i['SubnetId'])"
}
made_outside bucket >"$TMP/made" || fail "make an instance outside deploy"
read -r id vpc subnet <"$TMP/made"
other=$(made_outside other | cut -d' ' -f1) || fail "make another topology's instance"

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
expect_rc 2 "plan after the import (the network is still to make)"
# What differs is told as '~' lines; nothing is made again.
grep '^~ aws host' "$TMP/out" >"$TMP/have"
cat >"$TMP/want" <<WANT
~ aws host node-0: size t2.micro, the topology says t3.micro
~ aws host node-0: security groups legacy-bucket, the topology says deploy-$name-node (not made yet)
~ aws host node-0: zone us-east-1a, the topology says us-east-1b
~ aws host node-0: network $vpc ($subnet), the topology's VPC is not made yet
~ aws host node-0: image $ami_outside, the topology says $ami_topology
WANT
expect_same "$TMP/want" "$TMP/have" "plan tells what differs"
expect_line "$TMP/out" "Plan: 0 to create, 0 to destroy, 1 unchanged." "plan keeps the imported host"
expect_line "$TMP/out" "5 differences between kept hosts and the topology, which up does not change (see docs/state.md)." "plan counts them"
checks=$((checks + 1))
grep -q "^+ create aws host" "$TMP/out" && fail "plan wants no host after the import: $(cat "$TMP/out")"
checks=$((checks + 1))
[ "$(grep -c '^DescribeInstances' "$AWS_LOG")" -le 2 ] ||
	fail "one refresh of the topology's instances: $(cat "$AWS_LOG")"

# up makes the network and the group, and leaves the instance as it is.
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the import"
expect_line "$TMP/out" "Nothing to create or destroy: 1 host exists." "up makes no host"
checks=$((checks + 1))
grep -Eq "^(RunInstances|TerminateInstances|StopInstances|ModifyInstanceAttribute)" "$AWS_LOG" &&
	fail "up neither made, replaced nor changed the instance: $(cat "$AWS_LOG")"
aws_query "$name" | awk '$1 == "instance" {print $2, $3, $4}' >"$TMP/have"
echo "$id running node-0" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "the imported instance still runs"

run "$DEPLOY" plan topo.yml
expect_rc 0 "plan after up: differences only"
newvpc=$("$AWS_PY" -c "
import boto3
ec2 = boto3.client('ec2', endpoint_url='$MOTO_URL', region_name='us-east-1')
print(ec2.describe_vpcs(Filters=[{'Name': 'tag:deploy:topology', 'Values': ['$name']}])['Vpcs'][0]['VpcId'])")
cat >"$TMP/want" <<WANT
~ aws host node-0: size t2.micro, the topology says t3.micro
~ aws host node-0: security groups legacy-bucket, the topology says deploy-$name-node
~ aws host node-0: zone us-east-1a, the topology says us-east-1b
~ aws host node-0: network $vpc ($subnet), the topology says $newvpc
~ aws host node-0: image $ami_outside, the topology says $ami_topology
Plan: 0 to create, 0 to destroy, 1 unchanged.
5 differences between kept hosts and the topology, which up does not change (see docs/state.md).
WANT
expect_same "$TMP/want" "$TMP/out" "plan after up"
run "$DEPLOY" plan --json topo.yml
expect_rc 0 "plan --json"
checks=$((checks + 1))
[ "$(grep -c '"type":"drift"' "$TMP/out")" = 5 ] || fail "plan --json: 5 drift lines: $(cat "$TMP/out")"

: >"$AWS_LOG"
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
