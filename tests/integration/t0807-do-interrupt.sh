#!/bin/sh
# SIGINT while a DigitalOcean API call waits for its answer (the server
# holds every request 120 s) ends the call at once, not at its timeout:
# deploy up is gone within 20 s (a bound that only catches the wait), with
# 130 and the call named as interrupted; the state file is valid and
# records nothing as made. The next run, with a prompt server, makes each
# resource once.
. "$TESTLIB"
. "$SRCDIR/tests/integration/do-lib.sh"

name="t0807-$$"
DEPLOY_PID=
cleanup() {
	[ -n "$DEPLOY_PID" ] && kill -KILL "$DEPLOY_PID" 2>/dev/null
	do_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
do_start --latency-ms 120000

ssh-keygen -q -t ed25519 -N "" -C t0807 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {digitalocean: {region: ams3}}
roles:
  node: {count: 2}
TOPO
state=".deploy/$name.state.json"
port=$(cat "$TMP/do.port")

"$DEPLOY" up --yes topo.yml >"$TMP/out" 2>"$TMP/err" &
DEPLOY_PID=$!
# Until deploy has a connection open to the server (a call under way).
i=0
until [ "$(ss -Htn state established "( dport = :$port )" | wc -l)" -gt 0 ] ||
	[ $i -ge 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
[ $i -lt 600 ] || fail "no call under way after 60 s"
kill -INT "$DEPLOY_PID"
i=0
while kill -0 "$DEPLOY_PID" 2>/dev/null && [ $i -lt 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
if kill -0 "$DEPLOY_PID" 2>/dev/null; then
	fail "still running 20 s after SIGINT"
	kill -KILL "$DEPLOY_PID"
fi
wait "$DEPLOY_PID"
rc=$?
DEPLOY_PID=
expect_rc 130 "up interrupted while an API call waits"
checks=$((checks + 1))
grep -q "$DO_URL/v2/[a-z/]*: interrupted" "$TMP/err" ||
	{ fail "the call, named as interrupted"; cat "$TMP/err" >&2; }
expect_no_match "$TMP/err" "$DO_TOKEN" "the token is never shown"
if [ -e "$state" ]; then
	checks=$((checks + 1))
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$state" ||
		fail "the state file is valid JSON"
	expect_no_match "$state" '"status": "created"' "nothing recorded as made"
fi

# Then, prompt: every resource made once.
do_start
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the interrupt"
checks=$((checks + 1))
[ "$(do_requests | grep -c '^POST /v2/droplets ')" -le 2 ] ||
	fail "at most one create per droplet"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
