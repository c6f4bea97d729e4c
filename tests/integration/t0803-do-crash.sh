#!/bin/sh
# Crash safety without an idempotency key: deploy is SIGKILLed by the test
# server (tests/helper/do-server.py --kill-after) after each kind of create
# was carried out and before its answer reached deploy: the SSH key, the
# VPC, a firewall, a droplet. Each next run finds what the killed one made
# (by the droplet's unique key tag, by name, by fingerprint) and adopts it;
# in the end every resource exists exactly once and is recorded.
. "$TESTLIB"
. "$SRCDIR/tests/integration/do-lib.sh"

name="t0803-$$"
cleanup() {
	do_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
KILLS="POST /v2/account/keys,POST /v2/vpcs,POST /v2/firewalls,POST /v2/droplets"
do_start --active-ms 200 --kill-after "$KILLS" --kill-pid-file "$TMP/deploy.pid"

ssh-keygen -q -t ed25519 -N "" -C t0803 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {digitalocean: {region: ams3}}
roles:
  node: {count: 3, firewall: [{port: 9000, from: world}]}
  seed: {firewall: [{port: 9000, from: [node]}]}
TOPO

# up_killable: deploy up, its PID where the server reads it.
up_killable() {
	sh -c 'echo $$ >"$1"; exec "$2" up --yes topo.yml' sh \
		"$TMP/deploy.pid" "$DEPLOY" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

runs=0
while [ $runs -lt 8 ]; do
	runs=$((runs + 1))
	up_killable
	[ "$rc" = 0 ] && break
	[ "$rc" = 137 ] || {
		fail "run $runs: exit $rc, expected 0 or 137 (SIGKILL)"
		cat "$TMP/err" >&2
		break
	}
done
checks=$((checks + 1))
expect_rc 0 "the last run"
kills=$(grep -c '"killed"' "$DO_LOG")
[ "$kills" = 4 ] || fail "$kills kills, expected 4"
[ "$runs" = 5 ] || fail "$runs runs, expected 5"
checks=$((checks + 2))

# Each create was carried out once: what was killed was adopted.
do_requests | grep -E '^POST /v2/(account/keys|vpcs|firewalls|droplets) ' |
	sort | uniq -c | sed 's/^ *//' | sort >"$TMP/have"
sort >"$TMP/want" <<WANT
1 POST /v2/account/keys 201
1 POST /v2/vpcs 201
2 POST /v2/firewalls 202
4 POST /v2/droplets 202
WANT
expect_same "$TMP/want" "$TMP/have" "every create carried out once"

# The server holds each once, and the state records each with its id.
py() {
	"$DO_PY" -c "import json, sys; d = json.load(sys.stdin); $1"
}
{
	do_get "/v2/droplets?tag_name=deploy:topology:$name" |
		py 'print("\n".join("host %s %s" % (x["name"], x["id"]) for x in d["droplets"]))'
	do_get "/v2/firewalls" |
		py 'print("\n".join("firewall %s %s" % (f["name"].rsplit("-", 1)[1], f["id"]) for f in d["firewalls"]))'
	do_get "/v2/vpcs" |
		py 'print("\n".join("vpc %s %s" % (v["region"], v["id"]) for v in d["vpcs"] if not v["default"]))'
	do_get "/v2/account/keys" |
		py 'print("\n".join("ssh-key operator %s" % k["id"] for k in d["ssh_keys"]))'
} | sort >"$TMP/want"
"$DO_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
for r in s["resources"]:
    print(r["kind"], r["name"], r.get("id"), r["status"])
' ".deploy/$name.state.json" | sort >"$TMP/state"
sed 's/ created$//' "$TMP/state" >"$TMP/have"
expect_same "$TMP/want" "$TMP/have" "each resource once, recorded with its id"
[ "$(grep -vc ' created$' "$TMP/state")" = 0 ] || fail "records not created: $(cat "$TMP/state")"
checks=$((checks + 1))
[ "$(wc -l <"$TMP/want")" = 8 ] || fail "$(wc -l <"$TMP/want") resources, expected 8"
checks=$((checks + 1))

# And down removes all of it.
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
n=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" | py 'print(len(d["droplets"]))')
[ "$n" = 0 ] || fail "down: $n droplets left"
checks=$((checks + 1))

finish
