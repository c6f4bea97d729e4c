#!/bin/sh
# providers.local.apt_proxy: the hosts' apt goes through a forward proxy
# (tinyproxy from Debian's packages, started here, reached on the bridge
# address), never by routing out. An apt step installs a package the base
# image lacks; the proxy's log shows the fetches; the host's only way out
# is still the default route to the bridge; a second up changes nothing;
# down leaves nothing behind. Nothing here sends traffic anywhere but to
# the hosts and the proxy: only the proxy talks to Debian's mirror.
. "$TESTLIB"

local_setup t0504 254
proxy_pid=
cleanup_first() {
	stop_pids "$proxy_pid"
}

if ! command -v tinyproxy >/dev/null; then
	echo "tinyproxy is missing: run tests/deps.sh" >&2
	exit 1
fi

# A free port for the proxy (on every address: the bridge does not exist
# before the first up), and only the test subnet allowed in.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
cat >"$TMP/tinyproxy.conf" <<EOF
Port $port
Timeout 120
MaxClients 20
LogFile "$TMP/tinyproxy.log"
LogLevel Info
PidFile "$TMP/tinyproxy.pid"
Allow $subnet
EOF
tinyproxy -d -c "$TMP/tinyproxy.conf" >"$TMP/tinyproxy.out" 2>&1 &
proxy_pid=$!
i=0
while ! ss -ltnH "sport = :$port" | grep -q LISTEN && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
if ! ss -ltnH "sport = :$port" | grep -q LISTEN; then
	fail "tinyproxy does not listen on $port"
	cat "$TMP/tinyproxy.out" >&2
	finish
fi
checks=$((checks + 1))
[ "$(cat "$TMP/tinyproxy.pid" 2>/dev/null)" = "$proxy_pid" ] ||
	fail "tinyproxy's pid file names $proxy_pid"

mkdir -p pb
cat >pb/tools.yml <<'EOF'
name: tools
steps:
  - name: jq from Debian (apt-get update first, whatever the image has)
    apt: {packages: [jq], cache_valid_time: 0}
EOF
cat >topo.yml <<EOF
version: 1
name: $name
ssh: {key: $TMP/id}
providers:
  local: {subnet: $subnet, apt_proxy: "http://$bridge:$port"}
roles:
  tools: {playbooks: [./pb/tools.yml]}
EOF

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 1 step changed" "first up installs jq"

# The host's apt is told of the proxy, and jq is there.
run "$DEPLOY" run topo.yml -- cat /etc/apt/apt.conf.d/01deploy-proxy
expect_line "$TMP/out" "tools-0: Acquire::http::Proxy \"http://$bridge:$port\";" "the host's apt proxy setting"
run "$DEPLOY" run topo.yml -- "dpkg-query -W -f '\${Package} \${Status}\n' jq"
expect_rc 0 "dpkg-query jq"
expect_line "$TMP/out" "tools-0: jq install ok installed" "jq installed"

# The fetches went through the proxy, from the host's address.
addr=$(local_address tools-0)
checks=$((checks + 1))
grep -q "Connect (file descriptor [0-9]*): $addr" "$TMP/tinyproxy.log" ||
	fail "no connection from $addr in tinyproxy's log"
checks=$((checks + 1))
grep -q "Request (file descriptor [0-9]*): GET http://deb.debian.org/debian/dists/bookworm/" "$TMP/tinyproxy.log" ||
	fail "apt-get update did not go through the proxy"
checks=$((checks + 1))
grep -q "Request (file descriptor [0-9]*): GET http://deb.debian.org/debian/pool/main/j/jq/jq_" "$TMP/tinyproxy.log" ||
	fail "jq's package did not come through the proxy"
if [ "$failures" -ne 0 ]; then
	sed 's/^/  tinyproxy: /' "$TMP/tinyproxy.log" >&2
fi

# Still no route out: the default route to the bridge and the subnet's
# own, nothing else (and no traffic is sent to find out).
run "$DEPLOY" run topo.yml -- ip route show
expect_rc 0 "ip route"
expect_line "$TMP/out" "tools-0: default via $bridge dev eth0 " "the default route goes to the bridge"
checks=$((checks + 1))
others=$(grep -v -x -e "tools-0: default via $bridge dev eth0 " \
	-e "tools-0: 10.231.254.0/24 dev eth0 proto kernel scope link src $addr " "$TMP/out")
[ -z "$others" ] || fail "other routes on the host: $others"

# A second up changes nothing (jq is there: no apt at all).
lines=$(wc -l <"$TMP/tinyproxy.log")
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"
tail -n +"$((lines + 1))" "$TMP/tinyproxy.log" >"$TMP/log2"
expect_no_match "$TMP/log2" "Request (" "the second up fetched nothing"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
expect_local_gone

# The proxy stops, and is gone.
kill "$proxy_pid"
wait "$proxy_pid" 2>/dev/null
checks=$((checks + 1))
if kill -0 "$proxy_pid" 2>/dev/null; then
	fail "tinyproxy ($proxy_pid) still runs"
else
	proxy_pid=
fi
finish
