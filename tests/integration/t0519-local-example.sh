#!/bin/sh
# examples/local.yml, the README's quickstart, as it is (on this test's
# subnet and under this test's name): its five hosts come up hardened and
# firewalled with their packages through deploy's own apt proxy; the
# quickstart's "where to look" lines work: Prometheus, through an ssh -L
# forward via the bastion (the only way in), reports every host's
# node_exporter up and probes each sentry's RPC, and its API through
# deploy run agrees; the sentries pass ICON's RPC to the validator and
# refuse /admin, and the validator's RPC drops this machine; a second up
# changes nothing; nothing listens on the proxy's port after either run.
. "$TESTLIB"

local_setup t0519 238
fwd_pid=
cleanup_first() {
	stop_pids "$fwd_pid"
}

sed -e "s|10\.231\.0\.0/24|$subnet|" -e "s|10\.231\.0\.1/32|$bridge/32|" \
	-e "s|^name: local-rehearsal|name: $name|" \
	"$SRCDIR/examples/local.yml" >topo.yml
checks=$((checks + 1))
[ "$(grep -c "$subnet\|$bridge/32\|^name: $name" topo.yml)" -eq 3 ] ||
	fail "examples/local.yml no longer has its subnet, admin_cidrs and name where this test expects them"

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_line "$TMP/out" "Up: 5 created, 0 destroyed, 0 unchanged." "five hosts made"
checks=$((checks + 1))
grep -Eq '^5 hosts: 5 ok, 0 failed, 0 skipped; [0-9]+ steps changed$' "$TMP/out" ||
	fail "every host configured: $(tail -n 1 "$TMP/out")"
checks=$((checks + 1))
! ss -ltnH "src $bridge and sport = :8642" | grep -q LISTEN ||
	fail "the apt proxy still listens after up"

# Prometheus' API, as the quickstart asks it: every target up (each counts
# once scraped, every 15 s).
query="curl -s 'http://127.0.0.1:9090/api/v1/query?query=up'"
i=0
while :; do
	run "$DEPLOY" run --limit monitoring topo.yml -- "$query"
	i=$((i + 1))
	if [ "$rc" = 0 ] && ! grep -q '"0"\]' "$TMP/out" &&
		[ "$(grep -o '"job":"node"' "$TMP/out" | wc -l)" -eq 5 ]; then
		break
	fi
	[ $i -lt 60 ] || break
	sleep 2
done
expect_rc 0 "deploy run on monitoring"
checks=$((checks + 1))
for h in bastion-0 monitoring-0 validator-0 sentry-0 sentry-1; do
	grep -q "\"host\":\"$h\",\"instance\":\"[0-9.]*:9100\",\"job\":\"node\",\"role\":\"[a-z]*\"},\"value\":\[[0-9.]*,\"1\"\]" "$TMP/out" ||
		fail "$h's node_exporter is not up in Prometheus: $(cat "$TMP/out")"
done

# The targets page through the bastion, as the quickstart prints it.
monitoring=$(local_address monitoring-0)
run "$DEPLOY" ssh-config --output fleet.conf topo.yml
expect_rc 0 "ssh-config"
lport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ssh -F fleet.conf -o BatchMode=yes -o ExitOnForwardFailure=yes -N \
	-L "127.0.0.1:$lport:$monitoring:9090" bastion-0 2>"$TMP/fwd.err" &
fwd_pid=$!
i=0
until curl -s -o "$TMP/targets" "http://127.0.0.1:$lport/api/v1/targets" ||
	[ $i -ge 100 ]; do
	sleep 0.2
	i=$((i + 1))
done
checks=$((checks + 1))
health=$(python3 -c '
import json, sys
ts = json.load(open(sys.argv[1]))["data"]["activeTargets"]
print(" ".join(sorted("%s/%s:%s" % (t["labels"].get("host", "?"), t["labels"]["job"], t["health"]) for t in ts)))
' "$TMP/targets" 2>&1)
[ "$health" = "bastion-0/node:up monitoring-0/node:up monitoring-0/prometheus:up sentry-0/blackbox:up sentry-0/node:up sentry-1/blackbox:up sentry-1/node:up validator-0/node:up" ] ||
	fail "the targets page through the bastion: $health $(cat "$TMP/fwd.err")"
kill "$fwd_pid"
wait "$fwd_pid" 2>/dev/null
fwd_pid=

# Prometheus is closed to everyone but the bastion: not this machine.
checks=$((checks + 1))
! curl -s -m 3 -o /dev/null "http://$monitoring:9090/" ||
	fail "Prometheus answers this machine directly"

# The sentries are the validator's public face: ICON's RPC passes through
# nginx to the validator (no node runs there: 502), /admin is refused
# (403); the validator's RPC port drops this machine (a timeout, not a
# refusal).
sentry=$(local_address sentry-1)
validator=$(local_address validator-0)
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d '{"jsonrpc":"2.0","method":"icx_getLastBlock","id":1}' "http://$sentry:9000/api/v3")
checks=$((checks + 1))
[ "$code" = 502 ] || fail "RPC through the sentry: $code, expected 502 from the validator with no node"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://$sentry:9000/admin/chain")
checks=$((checks + 1))
[ "$code" = 403 ] || fail "/admin through the sentry: $code, expected 403"
curl -s -m 3 -o /dev/null "http://$validator:9000/api/v3"
code=$?
checks=$((checks + 1))
[ "$code" = 28 ] || fail "the validator's RPC from this machine: curl exit $code, expected 28 (dropped)"

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "5 hosts: 5 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
ip -o addr show >addrs
expect_no_match addrs "$bridge/24" "no bridge left"
finish
