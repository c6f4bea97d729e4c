#!/bin/sh
# deploy state list/show/rm/mv/pull/push on a state made by hand (local
# file), then migrate local -> S3 -> local through moto's S3 (signatures
# checked) byte for byte, refusing to overwrite unless --force, and the
# same commands on the S3 state.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0708-$$"
bucket="deploy-state-$$"
cleanup() {
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT

cat >topo.yml <<TOPO
version: 1
name: $name
providers: {aws: {region: us-east-1}}
roles:
  node: {count: 2, image: ubuntu-16.04}
  web: {image: ubuntu-16.04}
TOPO
mkdir -p .deploy
state=".deploy/$name.state.json"
cat >"$state" <<STATE
{
	"version": 1,
	"lineage": "11111111-2222-4333-8444-555555555555",
	"serial": 7,
	"topology": "$name",
	"resources": [
		{"provider": "aws", "kind": "security-group", "name": "node", "id": "sg-1", "key": "k1", "status": "created"},
		{"provider": "aws", "kind": "host", "name": "node-0", "role": "node", "id": "i-0", "key": "k2", "status": "created", "attributes": {"region": "us-east-1"}},
		{"provider": "aws", "kind": "host", "name": "node-1", "role": "node", "id": "i-1", "key": "k3", "status": "created"},
		{"provider": "aws", "kind": "host", "name": "node-7", "role": "node", "id": "i-7", "key": "k4", "status": "created"}
	],
	"hosts": {
		"node-0": {"address": "198.51.100.1", "private_address": "10.0.0.1", "port": 22},
		"node-7": {"address": "198.51.100.7", "port": 22}
	},
	"outputs": {}
}
STATE
cp "$state" "$TMP/orig.json"

run "$DEPLOY" state list topo.yml
expect_rc 0 "state list"
printf '%s\n' aws.security-group.node aws.host.node-0 aws.host.node-1 aws.host.node-7 >"$TMP/want"
expect_same "$TMP/want" "$TMP/out" "state list"

run "$DEPLOY" state show --json aws.host.node-0 topo.yml
expect_rc 0 "state show --json"
checks=$((checks + 1))
python3 -c "
import json, sys
d = json.load(open('$TMP/out'))
sys.exit(not (d['id'] == 'i-0' and d['status'] == 'created' and
              d['host']['address'] == '198.51.100.1'))" || fail "show --json: $(cat "$TMP/out")"
run "$DEPLOY" state show node-0 topo.yml
expect_rc 0 "state show by host name"
cat >"$TMP/want" <<WANT
aws.host.node-0
  provider: aws
  kind: host
  name: node-0
  role: node
  id: i-0
  key: k2
  status: created
  attributes:
    region: us-east-1
  host:
    address: 198.51.100.1
    private_address: 10.0.0.1
    port: 22
WANT
expect_same "$TMP/want" "$TMP/out" "state show"
run "$DEPLOY" state show aws.host.nope topo.yml
expect_rc 1 "state show of an unknown resource"
expect_line "$TMP/err" "deploy: no resource 'aws.host.nope' in the state of '$name' (see 'deploy state list')" "unknown resource"

# rm asks; without a terminal it needs --yes.
run "$DEPLOY" state rm aws.host.node-1 topo.yml </dev/null
expect_rc 1 "state rm without a confirmation"
expect_same "$TMP/orig.json" "$state" "nothing changed without a confirmation"
run "$DEPLOY" state rm --yes aws.host.node-1 topo.yml
expect_rc 0 "state rm --yes"
expect_line "$TMP/out" "Removed aws.host.node-1 from the state (still at the provider: i-1)." "rm says what stays"
checks=$((checks + 1))
grep -q '"i-1"' "$state" && fail "node-1 forgotten"
checks=$((checks + 1))
grep -q '"serial":[[:space:]]*8' "$state" || fail "the serial went up"

# mv: node-7 becomes web-0 (and takes the role web); its host entry too.
run "$DEPLOY" state mv aws.host.node-7 aws.host.web-0 topo.yml
expect_rc 0 "state mv"
expect_line "$TMP/out" "Moved aws.host.node-7 to aws.host.web-0." "mv"
run "$DEPLOY" state show --json web-0 topo.yml
expect_rc 0 "show the moved host"
checks=$((checks + 1))
grep -q '"role":[[:space:]]*"web"' "$TMP/out" || fail "web-0 has the role web: $(cat "$TMP/out")"
checks=$((checks + 1))
grep -q '"address":[[:space:]]*"198.51.100.7"' "$TMP/out" || fail "web-0 kept node-7's address"
run "$DEPLOY" state mv web-0 aws.security-group.x topo.yml
expect_rc 1 "mv across kinds"
run "$DEPLOY" state mv web-0 node-0 topo.yml
expect_rc 1 "mv onto an existing resource"

# pull prints the state as stored; push refuses an older serial and
# another lineage, takes a newer one.
run "$DEPLOY" state pull topo.yml
expect_rc 0 "state pull"
expect_same "$state" "$TMP/out" "pull prints the state"
sed 's/"serial":[[:space:]]*[0-9]*/"serial": 3/' "$state" >"$TMP/old.json"
run "$DEPLOY" state push "$TMP/old.json" topo.yml
expect_rc 1 "push of an older serial"
checks=$((checks + 1))
grep -q "has serial 3, older than the state at .*(serial 9): not pushed" "$TMP/err" || fail "older serial: $(cat "$TMP/err")"
sed 's/"lineage":[[:space:]]*"[^"]*"/"lineage": "99999999-2222-4333-8444-555555555555"/; s/"serial":[[:space:]]*[0-9]*/"serial": 30/' "$state" >"$TMP/other.json"
run "$DEPLOY" state push "$TMP/other.json" topo.yml
expect_rc 1 "push of another lineage"
checks=$((checks + 1))
grep -q "is of another lineage" "$TMP/err" || fail "lineage: $(cat "$TMP/err")"
sed 's/"serial":[[:space:]]*[0-9]*/"serial": 20/' "$state" >"$TMP/new.json"
run "$DEPLOY" state push "$TMP/new.json" topo.yml
expect_rc 0 "push of a newer serial"
expect_same "$TMP/new.json" "$state" "the pushed state is the file"
cp "$state" "$TMP/local.json"

# migrate: local -> S3 -> local, byte for byte.
aws_start
"$AWS_PY" -c "
import boto3
boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1').create_bucket(Bucket='$bucket')" ||
	fail "create the bucket"
run "$DEPLOY" state migrate topo.yml
expect_rc 1 "migrate without state.s3"
cat >>topo.yml <<TOPO
state: {s3: {bucket: $bucket, key: teams/$name.json}}
TOPO
run "$DEPLOY" state migrate topo.yml
expect_rc 0 "migrate to S3"
expect_line "$TMP/out" "Copied the state of '$name' (serial 20) from ./$state to s3://$bucket/teams/$name.json." "migrate says what it did"
"$AWS_PY" -c "
import boto3, sys
o = boto3.client('s3', endpoint_url='$MOTO_URL', region_name='us-east-1').get_object(Bucket='$bucket', Key='teams/$name.json')
sys.stdout.buffer.write(o['Body'].read())" >"$TMP/remote.json" || fail "read it with boto3"
expect_same "$TMP/local.json" "$TMP/remote.json" "the S3 state is the local file, byte for byte"
run "$DEPLOY" state migrate topo.yml
expect_rc 1 "migrate again over the S3 state"
expect_line "$TMP/err" "deploy: error: s3://$bucket/teams/$name.json: a state is already there: deploy will not overwrite it unless told (--force)" "no overwrite unless told"
run "$DEPLOY" state migrate --force topo.yml
expect_rc 0 "migrate --force"

# The commands work on the S3 state; the local file is not touched.
run "$DEPLOY" state rm --yes node-0 topo.yml
expect_rc 0 "state rm on S3"
run "$DEPLOY" state list topo.yml
expect_rc 0 "state list on S3"
printf '%s\n' aws.security-group.node aws.host.web-0 >"$TMP/want"
expect_same "$TMP/want" "$TMP/out" "state list on S3"
expect_same "$TMP/local.json" "$state" "the local file untouched"
run "$DEPLOY" state pull topo.yml
cp "$TMP/out" "$TMP/s3.json"

# And back: refused over the local file, then with --force byte for byte.
run "$DEPLOY" state migrate --to local topo.yml
expect_rc 1 "migrate back over the local file"
rm "$state"
run "$DEPLOY" state migrate --to local topo.yml
expect_rc 0 "migrate back to the local file"
expect_same "$TMP/s3.json" "$state" "local file is the S3 state, byte for byte"
run "$DEPLOY" state migrate --to local --force topo.yml
expect_rc 0 "migrate back with --force"
expect_same "$TMP/s3.json" "$state" "still byte for byte"
checks=$((checks + 1))
[ "$(stat -c %a "$state")" = 600 ] || fail "the local state is mode 0600"
finish
