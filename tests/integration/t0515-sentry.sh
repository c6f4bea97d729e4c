#!/bin/sh
# The built-in playbook sentry on real local hosts (systemd-nspawn Debian,
# nginx and libnginx-mod-stream from Debian through deploy's own apt
# proxy): a validator runs the stand-in node (the node built-in
# with deploy-test-node as an artifact), two NEAR sentries and one ICON
# sentry front it (sentry_of: validator). A request through a sentry
# reaches the validator's RPC and the answer comes back (NEAR /status,
# ICON icx_getLastBlock), P2P goes through the stream proxy; past the rate
# limit a sentry answers 429; /admin, /metrics and /debug are refused; the
# validator's RPC port is closed to a host that is not a sentry. Adding a
# validator host and a sentry, then removing them, updates every sentry's
# upstreams, and a second up changes nothing. A configuration nginx -t
# refuses keeps the running one and fails the step; a rate of "abc" fails
# validate and up at its file:line:col and changes nothing.
. "$TESTLIB"
: "${TEST_NODE:?}"
local_setup t0515 234
local_home

# req.py METHOD URL [BODY] [COUNT]: one line per request, "STATUS BODY"
# (or "ERROR WHAT" when there is no answer).
cat >req.py <<'EOF'
import sys, urllib.request, urllib.error
method, url = sys.argv[1], sys.argv[2]
body = sys.argv[3].encode() if len(sys.argv) > 3 and sys.argv[3] else None
for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 1):
    req = urllib.request.Request(url, data=body, method=method)
    if body:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            print(r.status, r.read().decode().replace("\n", " "))
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode(errors="replace").replace("\n", " "))
    except Exception as e:
        print("ERROR", type(e).__name__)
EOF
# p2p.py HOST PORT: the first line the peer sends.
cat >p2p.py <<'EOF'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    print(s.makefile().readline().strip())
except Exception as e:
    print("ERROR", type(e).__name__)
EOF

SHA=$(sha256sum <"$TEST_NODE" | cut -d' ' -f1)
# topology VALIDATORS SENTRIES RATE ICON_BODY
topology() {
	local_topology admin <<EOF
artifacts:
  testnode: {url: "file://$TEST_NODE", sha256: $SHA}
roles:
  validator:
    count: $1
    playbooks: [firewall, node]
    firewall:
      - {port: 3030, from: [sentry, isentry]}
      - {port: 24567, from: [sentry, isentry]}
    vars:
      node_name: testnode
      node_artifact: testnode
      node_binary: /usr/local/bin/deploy-test-node
      node_user: testnode
      node_data_dir: /var/lib/testnode
      node_args: [--rpc, "0.0.0.0:3030", --p2p, "0.0.0.0:24567", --name, t0515-node]
    health:
      - {tcp: "3030", timeout: 60}
  sentry:
    count: $2
    after: [validator]
    sentry_of: validator
    playbooks: [firewall, sentry]
    firewall: [{port: 3030, from: world}, {port: 24567, from: world}]
    vars: {sentry_chain: near, sentry_rate: $3, sentry_burst: 3}
  isentry:
    after: [validator]
    sentry_of: validator
    playbooks: [firewall, sentry]
    firewall: [{port: 3030, from: world}, {port: 24567, from: world}]
    vars: {sentry_chain: icon, sentry_rpc_port: 3030, sentry_p2p_port: 24567, sentry_max_body: $4}
  client: {}
EOF
}
# expect_summary N: the last up configured N hosts, all ok (client-0 runs
# no playbook and is not counted)
expect_summary() {
	checks=$((checks + 1))
	grep -q "^$1 hosts: $1 ok, 0 failed, 0 skipped; [0-9]* steps\? changed$" "$TMP/out" ||
		fail "up: no summary '$1 hosts: $1 ok' in: $(tail -n 3 "$TMP/out")"
}
# expect_tcp FROM ADDR PORT open|closed: a TCP connection from host FROM
expect_tcp() {
	run "$DEPLOY" run --limit "$1" topo.yml -- "timeout 8 bash -c 'exec 3<>/dev/tcp/$2/$3' 2>/dev/null && echo open || echo closed"
	expect_line "$TMP/out" "$1: $4" "$2:$3 from $1 is $4"
}
icx='{"jsonrpc": "2.0", "id": 7, "method": "icx_getLastBlock"}'

topology 1 2 1r/m 1m
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
expect_summary 4
V0=$(local_address validator-0)
S0=$(local_address sentry-0)
S1=$(local_address sentry-1)
I0=$(local_address isentry-0)

# Through a sentry to the validator's RPC, and back.
run python3 req.py GET "http://$S0:3030/status"
checks=$((checks + 1))
grep -q '^200 .*"version": "t0515-node"' "$TMP/out" || fail "NEAR /status through sentry-0: $(cat "$TMP/out")"
run python3 req.py POST "http://$I0:3030/api/v3" "$icx"
checks=$((checks + 1))
grep -q '^200 .*"id": 7, "result": {"height": [0-9]*, "version": "t0515-node"}' "$TMP/out" ||
	fail "ICON icx_getLastBlock through isentry-0: $(cat "$TMP/out")"
# P2P through the stream proxy.
run python3 p2p.py "$S1" 24567
expect_line "$TMP/out" "deploy-test-node p2p" "P2P through sentry-1"
run python3 p2p.py "$I0" 24567
expect_line "$TMP/out" "deploy-test-node p2p" "P2P through isentry-0"

# Everything but the chain's RPC is refused by the sentry itself.
for path in /admin /admin/chain /metrics /debug/pages /network_info; do
	run python3 req.py GET "http://$S0:3030$path"
	checks=$((checks + 1))
	grep -q '^403 ' "$TMP/out" || fail "GET $path through sentry-0: $(cat "$TMP/out")"
	run python3 req.py GET "http://$I0:3030$path"
	checks=$((checks + 1))
	grep -q '^403 ' "$TMP/out" || fail "GET $path through isentry-0: $(cat "$TMP/out")"
done
run python3 req.py POST "http://$I0:3030/api/v3d" "$icx"
checks=$((checks + 1))
grep -q '^403 ' "$TMP/out" || fail "POST /api/v3d through isentry-0: $(cat "$TMP/out")"
run python3 req.py GET "http://$S0:3030/"
checks=$((checks + 1))
grep -q '^403 ' "$TMP/out" || fail "GET / (NEAR takes POST only) through sentry-0: $(cat "$TMP/out")"

# Past the rate (1r/m, burst 3) the sentry answers 429.
run python3 req.py GET "http://$S1:3030/health" "" 10
checks=$((checks + 1))
n429=$(grep -c '^429 ' "$TMP/out")
[ "$n429" -ge 3 ] || fail "10 requests at once through sentry-1: $n429 answered 429: $(cat "$TMP/out")"
checks=$((checks + 1))
grep -q '^200 ' "$TMP/out" || fail "the first requests through sentry-1 pass: $(cat "$TMP/out")"

# The validator's RPC and P2P: open to its sentries, closed to the rest.
expect_tcp sentry-0 "$V0" 3030 open
expect_tcp isentry-0 "$V0" 24567 open
expect_tcp client-0 "$V0" 3030 closed
expect_tcp client-0 "$V0" 24567 closed
expect_tcp client-0 "$S0" 3030 open
run python3 req.py GET "http://$V0:3030/status"
expect_line "$TMP/out" "ERROR URLError" "the validator's RPC from this machine"

# The files: the stream block at the top level, the upstream from the
# topology.
run "$DEPLOY" run --limit sentry-0 topo.yml -- "grep -n -e '^include /etc/nginx/deploy/sentry-stream.conf;' -e 'server $V0:3030; # validator-0' -e 'server $V0:24567; # validator-0' /etc/nginx/nginx.conf /etc/nginx/deploy/sentry-http.conf /etc/nginx/deploy/sentry-stream.conf"
expect_line "$TMP/out" "sentry-0: /etc/nginx/nginx.conf:30:include /etc/nginx/deploy/sentry-stream.conf;" "the stream include, top level"
expect_line "$TMP/out" "sentry-0: /etc/nginx/deploy/sentry-http.conf:9:	server $V0:3030; # validator-0" "the RPC upstream"
expect_line "$TMP/out" "sentry-0: /etc/nginx/deploy/sentry-stream.conf:10:		server $V0:24567; # validator-0" "the P2P upstream"

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "4 hosts: 4 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"

# A second validator host and a third sentry: every sentry proxies to both
# validators, the new sentry works, the validators admit it.
topology 2 3 1r/m 1m
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with two validators and three sentries"
expect_summary 6
V1=$(local_address validator-1)
S2=$(local_address sentry-2)
for h in sentry-0 sentry-1 sentry-2 isentry-0; do
	run "$DEPLOY" run --limit "$h" topo.yml -- "grep -c -e 'server $V0:' -e 'server $V1:' /etc/nginx/deploy/sentry-http.conf /etc/nginx/deploy/sentry-stream.conf"
	expect_line "$TMP/out" "$h: /etc/nginx/deploy/sentry-http.conf:2" "$h proxies RPC to both validators"
	expect_line "$TMP/out" "$h: /etc/nginx/deploy/sentry-stream.conf:2" "$h proxies P2P to both validators"
done
run python3 req.py GET "http://$S2:3030/status"
checks=$((checks + 1))
grep -q '^200 .*"version": "t0515-node"' "$TMP/out" || fail "NEAR /status through the new sentry-2: $(cat "$TMP/out")"
expect_tcp sentry-2 "$V1" 3030 open
expect_tcp client-0 "$V1" 3030 closed
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up after the scale-up"
expect_line "$TMP/out" "6 hosts: 6 ok, 0 failed, 0 skipped; 0 steps changed" "second up after the scale-up changes nothing"

# And back: validator-1 and sentry-2 go, and leave every upstream.
topology 1 2 1r/m 1m
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up with one validator and two sentries again"
expect_summary 4
for h in sentry-0 sentry-1 isentry-0; do
	run "$DEPLOY" run --limit "$h" topo.yml -- "grep -c -e 'server $V1:' /etc/nginx/deploy/sentry-http.conf /etc/nginx/deploy/sentry-stream.conf"
	expect_line "$TMP/out" "$h: /etc/nginx/deploy/sentry-http.conf:0" "$h no longer proxies RPC to validator-1"
	expect_line "$TMP/out" "$h: /etc/nginx/deploy/sentry-stream.conf:0" "$h no longer proxies P2P to validator-1"
done
run python3 req.py POST "http://$I0:3030/api/v3" "$icx"
checks=$((checks + 1))
grep -q '^200 .*"result"' "$TMP/out" || fail "icx_getLastBlock through isentry-0 after the scale-down: $(cat "$TMP/out")"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up after the scale-down"
expect_line "$TMP/out" "4 hosts: 4 ok, 0 failed, 0 skipped; 0 steps changed" "second up after the scale-down changes nothing"

# A configuration nginx -t refuses (a broken file of the operator's in
# conf.d): the step fails, the running configuration stays and serves.
run "$DEPLOY" run --limit isentry-0 topo.yml -- "echo 'this is not nginx;' >/etc/nginx/conf.d/broken.conf"
expect_rc 0 "a broken conf.d file"
topology 1 2 1r/m 2m
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up while nginx -t fails on isentry-0"
checks=$((checks + 1))
grep -q "^isentry-0: failed: .*nginx configuration checked (nginx -t) and in place" "$TMP/out" "$TMP/err" ||
	fail "isentry-0 fails at the check: $(cat "$TMP/out" "$TMP/err" | tail -n 15)"
run "$DEPLOY" run --limit isentry-0 topo.yml -- "grep -c 'client_max_body_size 1m;' /etc/nginx/deploy/sentry-http.conf; systemctl is-active nginx"
expect_line "$TMP/out" "isentry-0: 1" "the live configuration is the old one"
expect_line "$TMP/out" "isentry-0: active" "nginx still runs"
run python3 req.py POST "http://$I0:3030/api/v3" "$icx"
checks=$((checks + 1))
grep -q '^200 .*"result"' "$TMP/out" || fail "isentry-0 still serves: $(cat "$TMP/out")"
run "$DEPLOY" run --limit isentry-0 topo.yml -- "rm /etc/nginx/conf.d/broken.conf"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up once the broken file is gone"
run "$DEPLOY" run --limit isentry-0 topo.yml -- "grep -c 'client_max_body_size 2m;' /etc/nginx/deploy/sentry-http.conf"
expect_line "$TMP/out" "isentry-0: 1" "the new configuration is live"

# A rate of "abc": an error at its place, before anything changes.
cp ".deploy/$name.state.json" state.before
topology 1 2 abc 2m
line=$(grep -n 'sentry_rate: abc' topo.yml | cut -d: -f1)
col=$(awk -v n="$line" 'NR == n { print index($0, "abc") }' topo.yml)
want="topo.yml:$line:$col: error: roles.sentry.vars.sentry_rate: 'abc' is not a rate such as 100r/s or 600r/m"
run "$DEPLOY" validate topo.yml
expect_rc 1 "validate with a rate of abc"
expect_line "$TMP/err" "$want" "validate names the bad rate"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with a rate of abc"
expect_line "$TMP/err" "$want" "up names the bad rate"
expect_same state.before ".deploy/$name.state.json" "the state is untouched"
topology 1 2 1r/m 2m
run "$DEPLOY" run --limit sentry-0 topo.yml -- "grep -c 'rate=1r/m;' /etc/nginx/deploy/sentry-http.conf"
expect_line "$TMP/out" "sentry-0: 1" "the sentries' configuration is untouched"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
