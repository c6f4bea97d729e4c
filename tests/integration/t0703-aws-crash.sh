#!/bin/sh
# A deploy killed with SIGKILL after EC2 made an instance and before deploy
# could record its id (the proxy kills it between moto's answer to
# RunInstances and the answer's delivery) is run again: the three hosts
# of the role are one RunInstances (MinCount=MaxCount=3, its ClientToken
# the launch's token, tagged deploy:launch), each recorded as pending with
# its launch key (TOKEN.INDEX.COUNT) before it was asked, so moto made all
# three, not yet tagged as their hosts; each is found by its launch index,
# tagged and adopted, none made twice. Then killed after the first
# CreateTags (some tagged as their hosts, some not): found by tags or by
# key, none made again. Killed after RunInstances, then down: the
# untagged instances are terminated. Then a kill after the first CreateVpc: the network
# is adopted by its tags, not duplicated.
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
checks=$((checks + 1))
[ "$(grep -c '^RunInstances 200' "$AWS_LOG")" = 1 ] || fail "one RunInstances for the role"
checks=$((checks + 1))
keys=$(grep -o '"key":[[:space:]]*"[^"]*"' "$state" | sed 's/.*"\([^"]*\)"$/\1/' | grep '\.[0-2]\.3$' | sed 's/\..*//' | sort -u | wc -l)
[ "$keys" = 1 ] || fail "the three hosts' keys name one launch of 3: $(cat "$state")"
made=$(aws_query "$name" | awk '$1 == "instance" && $3 == "running"' | wc -l)
checks=$((checks + 1))
[ "$made" = 3 ] || fail "moto made the 3 instances of the launch before the kill, not $made"
checks=$((checks + 1))
[ "$(aws_query "$name" | awk '$1 == "instance" && $4 != "-"' | wc -l)" = 0 ] ||
	fail "none tagged as its host yet"

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

# Killed after the first CreateTags of the launch's instances.
aws_proxy_start --kill-after CreateTags --kill-pid-file "$TMP/deploy.pid"
killed_up
expect_rc 137 "deploy killed after CreateTags"
checks=$((checks + 1))
grep -q '^KILLED ' "$AWS_LOG" || fail "the proxy killed deploy after CreateTags"
checks=$((checks + 1))
[ "$(aws_query "$name" | awk '$1 == "instance" && $3 == "running"' | wc -l)" = 3 ] ||
	fail "3 instances made before the kill"
aws_proxy_start
: >"$AWS_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the kill after CreateTags"
checks=$((checks + 1))
grep -q '^RunInstances' "$AWS_LOG" && fail "nothing made again after CreateTags"
aws_query "$name" | awk '$1 == "instance" && $3 == "running" {print $3, $4}' | sort >"$TMP/have"
printf 'running web-0\nrunning web-1\nrunning web-2\n' >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "each instance tagged as its host, no duplicate"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"

# Killed after RunInstances again, then down: the launch's instances, not
# tagged as their hosts, are found by their launch index and terminated.
aws_proxy_start --kill-after RunInstances --kill-pid-file "$TMP/deploy.pid"
killed_up
expect_rc 137 "deploy killed after RunInstances, before down"
aws_proxy_start
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down after a kill after RunInstances"
checks=$((checks + 1))
[ "$(aws_query "$name" | awk '$1 == "instance" && $3 != "terminated"' | wc -l)" = 0 ] ||
	fail "the launch's untagged instances terminated by down: $(aws_query "$name")"

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
