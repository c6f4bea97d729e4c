#!/bin/sh
# The built-in monitoring and node-exporter playbooks on real local hosts
# (systemd-nspawn Debian), with Debian's prometheus, alertmanager,
# blackbox and node_exporter through deploy's own apt proxy:
# Prometheus' API reports every generated target up (node_exporter on the
# three hosts, the stand-in node's /metrics, a blackbox probe of its RPC);
# 9100 and 9090 answer only the roles allowed; stopping node_exporter on a
# host makes Alertmanager post InstanceDown for that host to a webhook the
# test runs on the bridge; adding and removing a host updates the targets
# with Prometheus' pid unchanged, and a second up changes nothing; an
# Alertmanager configuration amtool refuses keeps the running one and
# fails the step; the webhook's URL never shows in output or state.
. "$TESTLIB"
: "${TEST_NODE:?}"
local_setup t0510 237
local_home
hook_pid=
cleanup_first() {
	stop_pids "$hook_pid"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

# The webhook receiver's URL is a secret: its token must never show.
token="hook-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
hook_port=$(free_port)
T0510_HOOK="http://$bridge:$hook_port/$token"
export T0510_HOOK

SHA=$(sha256sum <"$TEST_NODE" | cut -d' ' -f1)
topology() { # topology PLAIN_COUNT [EMAIL_TO]
	local_topology admin <<EOF
secrets:
  alertmanager_webhook_url: {env: T0510_HOOK}
artifacts:
  testnode: {url: "file://$TEST_NODE", sha256: $SHA}
vars:
  prometheus_scrape_interval: 2s
  prometheus_evaluation_interval: 2s
  alert_instance_down_for: 4s
  alertmanager_group_wait: 1s
  alertmanager_group_interval: 2s
roles:
  monitoring:
    playbooks: [firewall, monitoring, node-exporter]
    vars: {alert_email_to: ${2:-null}}
  chain:
    playbooks: [firewall, node-exporter, node]
    vars:
      node_name: testnode
      node_artifact: testnode
      node_binary: /usr/local/bin/deploy-test-node
      node_user: testnode
      node_data_dir: /var/lib/testnode
      node_args: [--rpc, "0.0.0.0:3030", --p2p, "127.0.0.1:24567"]
      metrics_port: 3030
      public_rpc_port: 3030
      public_rpc_path: /status
      public_rpc_module: near_rpc
  plain:
    count: $1
    playbooks: [firewall, node-exporter]
  outsider:
    playbooks: [firewall]
EOF
}

# Everything deploy prints is kept, to look for the webhook's token.
all=$TMP/all-output
up() { # up WHAT
	run "$DEPLOY" up --yes topo.yml
	cat "$TMP/out" "$TMP/err" >>"$all"
}

topology 1
up "first up"
expect_rc 0 "first up"
checks=$((checks + 1))
grep -q "^4 hosts: 4 ok, 0 failed, 0 skipped; " "$TMP/out" ||
	fail "first up summary: $(tail -n 3 "$TMP/out")"

mon=$(local_address monitoring-0)

# targets: "JOB HOST HEALTH" for every active target, sorted
targets() {
	python3 - "http://$mon:9090/api/v1/targets" <<'EOF'
import json, sys, urllib.request
try:
    d = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
except Exception as e:
    print("error", e)
    sys.exit(0)
for t in sorted(d["data"]["activeTargets"], key=lambda t: (t["labels"]["job"], t["labels"].get("host", ""))):
    print(t["labels"]["job"], t["labels"].get("host", "-"), t["health"])
EOF
}
# wait_targets FILE WHAT: until the targets are FILE's lines (bounded).
wait_targets() {
	i=0
	while [ $i -lt 120 ]; do
		targets >"$TMP/targets"
		cmp -s "$1" "$TMP/targets" && break
		sleep 1
		i=$((i + 1))
	done
	expect_same "$1" "$TMP/targets" "$2"
	if ! cmp -s "$1" "$TMP/targets"; then
		"$DEPLOY" run --limit monitoring topo.yml -- \
			"systemctl status prometheus --no-pager; journalctl -u prometheus -n 40 --no-pager" |
			sed 's/^/  prometheus: /' >&2
	fi
}
cat >want <<'EOF'
blackbox chain-0 up
metrics chain-0 up
node chain-0 up
node monitoring-0 up
node plain-0 up
prometheus monitoring-0 up
EOF
wait_targets want "every generated target is up"

# The blackbox probe asked the node's RPC a real question (near_rpc: a
# sync_info in the answer to GET /status) and got its answer.
probe_success() {
	python3 - "http://$mon:9090/api/v1/query?query=probe_success" <<'EOF'
import json, sys, urllib.request
try:
    d = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))
except Exception as e:
    sys.exit(0)
for r in d["data"]["result"]:
    print(r["metric"].get("host"), r["metric"].get("instance"), r["value"][1])
EOF
}
want_probe="chain-0 http://$(local_address chain-0):3030/status 1"
i=0
while [ "$(probe_success)" != "$want_probe" ] && [ $i -lt 60 ]; do
	sleep 1
	i=$((i + 1))
done
checks=$((checks + 1))
[ "$(probe_success)" = "$want_probe" ] ||
	fail "the probe of chain-0's RPC: $(probe_success)"

# The files on the monitoring host: the receiver's secret is 0640
# root:prometheus; Alertmanager gossips nowhere.
run "$DEPLOY" run --limit monitoring topo.yml -- "stat -c '%a %U:%G %n' /etc/prometheus/alertmanager.yml /etc/prometheus/file_sd/node.json"
cat "$TMP/out" "$TMP/err" >>"$all"
expect_line "$TMP/out" "monitoring-0: 640 root:prometheus /etc/prometheus/alertmanager.yml" "alertmanager.yml mode and owner"
expect_line "$TMP/out" "monitoring-0: 644 root:root /etc/prometheus/file_sd/node.json" "file_sd file"
run "$DEPLOY" run --limit monitoring topo.yml -- "ss -ltnH | awk '{print \$4}' | sort"
expect_no_match "$TMP/out" ":9094" "no cluster gossip port"
expect_line "$TMP/out" "monitoring-0: 127.0.0.1:9115" "blackbox on loopback only"

# probe ROLE ADDRESS PORT: "open" or "closed", seen from ROLE's host.
probe() {
	"$DEPLOY" run --limit "$1" topo.yml -- \
		"timeout 3 bash -c '</dev/tcp/$2/$3' && echo open || echo closed" |
		sed 's/^[a-z-]*-0: //'
}
plain=$(local_address plain-0)
checks=$((checks + 1))
[ "$(probe monitoring "$plain" 9100)" = open ] || fail "9100 should answer monitoring"
checks=$((checks + 1))
[ "$(probe outsider "$plain" 9100)" = closed ] || fail "9100 should not answer outsider"
checks=$((checks + 1))
[ "$(probe outsider "$mon" 9090)" = closed ] || fail "9090 should not answer outsider"

# An alert end to end: node_exporter stops on plain-0; Alertmanager posts
# InstanceDown naming plain-0 to the webhook on the bridge.
cat >hook.py <<'EOF'
import http.server, sys
path, out = "/" + sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == path:
            with open(out, "ab") as f:
                f.write(body + b"\n")
        self.send_response(200 if self.path == path else 404)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
EOF
python3 hook.py "$bridge" "$hook_port" "$token" "$TMP/posts" &
hook_pid=$!
"$DEPLOY" run --limit plain topo.yml -- systemctl stop prometheus-node-exporter >>"$all" 2>&1
fired() {
	python3 - "$TMP/posts" <<'EOF'
import json, sys
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    sys.exit(1)
for line in lines:
    if not line.strip():
        continue
    d = json.loads(line)
    for a in d["alerts"]:
        l = a["labels"]
        if a["status"] == "firing" and l.get("alertname") == "InstanceDown" and l.get("host") == "plain-0" and l.get("job") == "node":
            sys.exit(0)
sys.exit(1)
EOF
}
i=0
while ! fired && [ $i -lt 180 ]; do
	sleep 1
	i=$((i + 1))
done
checks=$((checks + 1))
fired || fail "no InstanceDown for plain-0 reached the webhook: $(cat "$TMP/posts" 2>/dev/null)"
"$DEPLOY" run --limit plain topo.yml -- systemctl start prometheus-node-exporter >>"$all" 2>&1

# A host more, then one less: the targets follow, Prometheus is the same
# process throughout.
pid() {
	"$DEPLOY" run --limit monitoring topo.yml -- systemctl show -p MainPID --value prometheus |
		sed 's/^monitoring-0: //'
}
pid1=$(pid)
topology 2
up "up with plain-1"
expect_rc 0 "up with plain-1"
cat >want2 <<'EOF'
blackbox chain-0 up
metrics chain-0 up
node chain-0 up
node monitoring-0 up
node plain-0 up
node plain-1 up
prometheus monitoring-0 up
EOF
wait_targets want2 "plain-1 is a target, up"
up "second up"
expect_rc 0 "second up"
expect_line "$TMP/out" "5 hosts: 5 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"
topology 1
up "up without plain-1"
expect_rc 0 "up without plain-1"
wait_targets want "plain-1 is no target any more"
pid2=$(pid)
checks=$((checks + 1))
[ -n "$pid1" ] && [ "$pid1" != 0 ] && [ "$pid1" = "$pid2" ] ||
	fail "Prometheus restarted: pid $pid1, then $pid2"

# A configuration amtool refuses (email without a smarthost) is not
# moved in: the running one stays, and the step fails.
run "$DEPLOY" run --limit monitoring topo.yml -- sha256sum /etc/prometheus/alertmanager.yml
before=$(cat "$TMP/out")
topology 1 oncall@example.com
up "up with a refused configuration"
expect_rc 1 "up with a refused configuration"
checks=$((checks + 1))
grep -q "^monitoring-0: failed: monitoring: Alertmanager configuration checked and in place: exit status 1" "$TMP/out" ||
	fail "the failing check is named: $(grep monitoring-0 "$TMP/out")"
run "$DEPLOY" run --limit monitoring topo.yml -- sha256sum /etc/prometheus/alertmanager.yml
checks=$((checks + 1))
[ "$(cat "$TMP/out")" = "$before" ] || fail "alertmanager.yml changed: $before, then $(cat "$TMP/out")"
topology 1
up "up repaired"
expect_rc 0 "up repaired"

# The webhook's URL is in no output and not in the state.
cat ".deploy/$name.state.json" >>"$all"
expect_no_match "$all" "$token" "the webhook's token never shows"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
