#!/bin/sh
# A deploy killed with SIGKILL after EC2 made an instance and before deploy
# could record its id (the proxy kills it between moto's answer to
# RunInstances and the answer's delivery) is run again: the instances of a
# role are asked for at once, each recorded as pending before any was
# asked, so moto made one or more of them before the kill; each is
# adopted, none made twice, and only the others are asked for. Then a kill after the first CreateVpc: the
# network is adopted by its tags, not duplicated.
. "$TESTLIB"
. "$SRCDIR/tests/integration/aws-lib.sh"

name="t0703-$$"
cleanup() {
	aws_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
aws_start --kill-after RunInstances --kill-pid-file "$TMP/deploy.pid"

ssh-keygen -q -t ed25519 -N "" -C t0703 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {aws: {region: us-east-1}}
roles:
  web: {count: 3, image: ubuntu-16.04}
TOPO
state=".deploy/$name.state.json"

# killed_up: run deploy up in the background, its PID where the proxy
# reads it, and wait for it.
killed_up() {
	"$DEPLOY" up --yes topo.yml >"$TMP/out" 2>"$TMP/err" &
	echo $! >"$TMP/deploy.pid"
	wait $!
	rc=$?
}

killed_up
expect_rc 137 "deploy killed after RunInstances"
checks=$((checks + 1))
grep -q '^KILLED ' "$AWS_LOG" || fail "the proxy killed deploy"
checks=$((checks + 1))
[ "$(grep -o '"status":[[:space:]]*"pending"' "$state" | wc -l)" = 3 ] ||
	fail "web-0, web-1 and web-2 recorded as pending before RunInstances"
made=$(aws_query "$name" | awk '$1 == "instance" && $3 == "running"' | wc -l)
checks=$((checks + 1))
[ "$made" -ge 1 ] && [ "$made" -le 3 ] || fail "moto made 1 to 3 instances before the kill, not $made"

aws_proxy_start
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the kill"
checks=$((checks + 1))
[ "$(grep -c '^RunInstances 200' "$AWS_LOG")" = $((3 - made)) ] ||
	fail "RunInstances for the $((3 - made)) not made before the kill only: $(grep -c '^RunInstances 200' "$AWS_LOG")"
aws_query "$name" | awk '$1 == "instance" {print $3, $4}' | sort >"$TMP/have"
printf 'running web-0\nrunning web-1\nrunning web-2\n' >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "no duplicate instance"
aws_query "$name" | awk '$1 ~ /^(vpc|subnet|internet-gateway|route-table|security-group|key-pair)$/ {print $1}' | sort >"$TMP/have"
printf 'internet-gateway\nkey-pair\nroute-table\nsecurity-group\nsubnet\nvpc\n' >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "one of each network resource"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"

# Killed right after CreateVpc: the VPC is found by its tags next time.
aws_proxy_start --kill-after CreateVpc --kill-pid-file "$TMP/deploy.pid"
killed_up
expect_rc 137 "deploy killed after CreateVpc"
aws_proxy_start
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the second kill"
aws_query "$name" | awk '$1 == "vpc"' >"$TMP/vpcs"
checks=$((checks + 1))
[ "$(wc -l <"$TMP/vpcs")" = 1 ] || fail "one VPC, not two: $(cat "$TMP/vpcs")"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
aws_query "$name" | grep -v '^instance [^ ]* terminated' >"$TMP/left"
expect_same /dev/null "$TMP/left" "nothing left"

# Killed after the first CreateSecurityGroup, before any host: down
# removes the network and the group the stopped run left.
aws_proxy_start --kill-after CreateSecurityGroup --kill-pid-file "$TMP/deploy.pid"
killed_up
expect_rc 137 "deploy killed after CreateSecurityGroup"
aws_proxy_start
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down with no host but a network left"
checks=$((checks + 1))
grep -q "^Destroyed [0-9]* shared resources of '$name'.\$" "$TMP/out" ||
	{ fail "down names the shared resources"; sed 's/^/  | /' "$TMP/out" >&2; }
aws_query "$name" | grep -v '^instance [^ ]* terminated' >"$TMP/left"
expect_same /dev/null "$TMP/left" "nothing left after a run stopped before its hosts"
checks=$((checks + 1))
grep -q '"resources":[[:space:]]*\[\]' "$state" || fail "no resource left in the state"
finish
