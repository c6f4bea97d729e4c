#!/bin/sh
# The AWS provider with networks it does not own and instance details, at
# moto (read back with boto3): the default VPC; a VPC and subnet the
# operator made and names; an AMI id, user data and a data disk reaching
# RunInstances; every tag; a key pair of the same name holding another key
# refused; Describe answers walked page by page (NextToken).
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0705-$$"
cleanup() {
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start
export DEPLOY_AWS_PAGE_SIZE=5

ssh-keygen -q -t ed25519 -N "" -C t0705 -f "$TMP/id" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N "" -C other -f "$TMP/other" || fail "ssh-keygen"
printf '#cloud-config\nhostname: t0705\n' >"$TMP/user-data.yml"

py() { # py CODE: boto3 against moto, ec2 = a client
	"$AWS_PY" -c "import boto3, base64
ec2 = boto3.client('ec2', endpoint_url='$MOTO_URL', region_name='us-east-1')
$1"
}

ami=$(py "print(ec2.describe_images(Owners=['099720109477'])['Images'][0]['ImageId'])")
default_vpc=$(py "print(ec2.describe_vpcs(Filters=[{'Name': 'isDefault', 'Values': ['true']}])['Vpcs'][0]['VpcId'])")

# 1. The default VPC, 7 hosts, an AMI id, user data, a data disk. moto
# pages DescribeInstances by reservation, and the new hosts of a role are
# one RunInstances (one reservation): node-0 to node-4 are made one run
# each (--limit), then node-5 and node-6 by one launch, so that the 6
# reservations take two pages of 5.
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1, vpc: default}}
roles:
  node:
    count: 7
    image: $ami
    user_data: user-data.yml
    disk: {size: 50, type: gp3}
TOPO

for i in 0 1 2 3 4; do
	run "$DEPLOY" up --yes --limit "node-$i" topo.yml
	expect_rc 0 "up node-$i in the default VPC"
done
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up in the default VPC"
checks=$((checks + 1))
[ "$(grep -c '^RunInstances 200' "$AWS_LOG")" = 1 ] || fail "node-5 and node-6 made by one RunInstances"
checks=$((checks + 1))
[ "$(grep -c '^CreateTags 200' "$AWS_LOG")" = 2 ] || fail "each of the launch tagged as its host"
py "
r = ec2.describe_instances(Filters=[{'Name': 'tag:deploy:topology', 'Values': ['$name']}])
for res in r['Reservations']:
    for i in res['Instances']:
        tags = dict((t['Key'], t['Value']) for t in i['Tags'])
        ud = ec2.describe_instance_attribute(InstanceId=i['InstanceId'], Attribute='userData')['UserData']['Value']
        vols = [b['DeviceName'] for b in i.get('BlockDeviceMappings', [])]
        print(tags['deploy:host'], i['VpcId'] == '$default_vpc', i['ImageId'] == '$ami',
              base64.b64decode(ud).decode().splitlines()[1], '/dev/sdf' in vols,
              tags['Name'], tags['deploy:topology'] == '$name', tags['deploy:role'],
              tags['deploy:resource'], i['KeyName'])
" | sort >"$TMP/have" || fail "describe"
: >"$TMP/want"
for i in 0 1 2 3 4 5 6; do
	echo "node-$i True True hostname: t0705 True node-$i True node host/node-$i deploy-$name" >>"$TMP/want"
done
expect_same "$TMP/want" "$TMP/have" "instances in the default VPC with AMI, user data, disk, tags"
aws_query "$name" | awk '$1 ~ /^(vpc|subnet|internet-gateway|route-table)$/' >"$TMP/made"
expect_same /dev/null "$TMP/made" "no network made in the default VPC"

# plan walks the instances in pages of 5.
: >"$AWS_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan"
checks=$((checks + 1))
grep -q '^DescribeInstances NextToken 200' "$AWS_LOG" || fail "a second page asked for with NextToken"
expect_line "$TMP/out" "Plan: 0 to create, 0 to destroy, 7 unchanged." "every instance found across pages"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
checks=$((checks + 1))
py "print(len(ec2.describe_vpcs(VpcIds=['$default_vpc'])['Vpcs']))" | grep -qx 1 || fail "the default VPC is left alone"
aws_query "$name" | grep -v '^instance [^ ]* terminated' >"$TMP/left"
expect_same /dev/null "$TMP/left" "nothing of the topology left"

# 2. A VPC and subnet of the operator's, named in the topology.
ids=$(py "
v = ec2.create_vpc(CidrBlock='10.9.0.0/16')['Vpc']['VpcId']
s = ec2.create_subnet(VpcId=v, CidrBlock='10.9.1.0/24', AvailabilityZone='us-east-1b')['Subnet']['SubnetId']
print(v, s)")
vpc=${ids% *}
subnet=${ids#* }
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1, vpc: $vpc, subnets: [$subnet]}}
roles:
  node: {count: 2, image: ubuntu-16.04, zone: us-east-1b}
TOPO
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up in a named VPC"
py "
r = ec2.describe_instances(Filters=[{'Name': 'tag:deploy:topology', 'Values': ['$name']}, {'Name': 'instance-state-name', 'Values': ['running']}])
for res in r['Reservations']:
    for i in res['Instances']:
        print(i['VpcId'] == '$vpc', i['SubnetId'] == '$subnet')
" >"$TMP/have"
printf 'True True\nTrue True\n' >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "instances in the named subnet"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
checks=$((checks + 1))
py "print(len(ec2.describe_subnets(SubnetIds=['$subnet'])['Subnets']))" | grep -qx 1 || fail "the operator's subnet is left alone"
aws_query "$name" | grep -v '^instance [^ ]* terminated' >"$TMP/left"
expect_same /dev/null "$TMP/left" "the topology's groups are gone"

# 3. A key pair of deploy's name holding another key is not reused.
py "ec2.import_key_pair(KeyName='deploy-$name', PublicKeyMaterial=open('$TMP/other.pub').read())" ||
	fail "import another key"
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a key pair holding another key"
checks=$((checks + 1))
grep -q "^deploy: error: aws key pair 'deploy-$name' in 'us-east-1' holds another public key (fingerprint .*) than yours: it is not reused; delete it (aws ec2 delete-key-pair --key-name deploy-$name) or use that key\$" "$TMP/err" ||
	{ fail "key pair conflict named"; sed 's/^/  | /' "$TMP/err" >&2; }
aws_mutating >"$TMP/mutating"
expect_same /dev/null "$TMP/mutating" "nothing made"
finish
