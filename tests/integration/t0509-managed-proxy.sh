#!/bin/sh
# deploy's own apt proxy: with no providers.local.apt_proxy, `deploy up`
# runs a forward proxy on the bridge's address while it configures the
# hosts, and stops it when the run ends. No other proxy runs here: an apt
# step installs a package the base image lacks through deploy's proxy; a
# host not on its allowlist is refused (GET and CONNECT); the hosts still
# have no route out; once up returns, after a run that failed, and after
# one stopped by SIGTERM, nothing listens on the proxy's port. The hosts'
# apt names no proxy but deploy's, and what listens there during a run is
# the deploy process itself (whatever else runs on this machine). Only the
# proxy talks to Debian's mirror.
. "$TESTLIB"

local_setup t0509 239
name2="t0509b-$$"
subnet2=10.231.240.0/24
bridge2=10.231.240.1
port=8642
up_pid=
cleanup_first() {
	stop_pids "$up_pid"
	"$DEPLOY" down --yes "$TMP/topo2.yml" >/dev/null 2>&1
}

# listening ADDRESS: whether something listens on ADDRESS:$port.
listening() {
	ss -ltnH "src $1 and sport = :$port" | grep -q LISTEN
}

mkdir -p pb
cat >pb/tools.yml <<EOF
name: tools
steps:
  - name: jq from Debian (apt-get update first, whatever the image has)
    apt: {packages: [jq], cache_valid_time: 0}
  - name: a host not on the proxy's allowlist is refused
    shell: test "\$(curl -s -o /dev/null -w '%{http_code}' -x http://$bridge:$port http://example.org/)" = 403
    changed: false
  - name: a tunnel to a host not on the allowlist is refused
    shell: test "\$(curl -s -o /dev/null -w '%{http_connect}' -x http://$bridge:$port https://example.org/)" = 403
    changed: false
  - name: a port other than 80 is refused
    shell: test "\$(curl -s -o /dev/null -w '%{http_code}' -x http://$bridge:$port http://deb.debian.org:8080/)" = 403
    changed: false
EOF
local_topology <<EOF
roles:
  tools: {playbooks: [./pb/tools.yml]}
EOF

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 1 step changed" "first up installs jq"
checks=$((checks + 1))
! listening "$bridge" || fail "something listens on $bridge:$port after up returned"

# The host's apt is told of deploy's proxy, and jq is there.
run "$DEPLOY" run topo.yml -- cat /etc/apt/apt.conf.d/01deploy-proxy
expect_line "$TMP/out" "tools-0: Acquire::http::Proxy \"http://$bridge:$port\";" "the host's apt proxy setting"
expect_line "$TMP/out" "tools-0: Acquire::https::Proxy \"http://$bridge:$port\";" "the host's apt proxy setting for https"
run "$DEPLOY" run topo.yml -- "dpkg-query -W -f '\${Package} \${Status}\n' jq"
expect_rc 0 "dpkg-query jq"
expect_line "$TMP/out" "tools-0: jq install ok installed" "jq installed"

# Still no route out: the default route to the bridge and the subnet's
# own, nothing else (and no traffic is sent to find out).
addr=$(local_address tools-0)
run "$DEPLOY" run topo.yml -- ip route show
expect_rc 0 "ip route"
expect_line "$TMP/out" "tools-0: default via $bridge dev eth0 " "the default route goes to the bridge"
checks=$((checks + 1))
others=$(grep -v -x -e "tools-0: default via $bridge dev eth0 " \
	-e "tools-0: 10.231.239.0/24 dev eth0 proto kernel scope link src $addr " "$TMP/out")
[ -z "$others" ] || fail "other routes on the host: $others"

# Outside a run the proxy is not there: apt on the host cannot fetch.
run "$DEPLOY" run topo.yml -- "curl -s -o /dev/null -w '%{http_code}\n' -x http://$bridge:$port http://deb.debian.org/debian/"
expect_line "$TMP/out" "tools-0: 000" "no proxy between runs"

# A run that fails stops the proxy too.
mkdir -p pb2
cat >pb2/fails.yml <<EOF
name: fails
steps:
  - name: the proxy answers while the hosts are configured
    shell: test "\$(curl -s -o /dev/null -w '%{http_code}' -x http://$bridge2:$port http://example.org/)" = 403
    changed: false
  - name: then a step fails
    shell: exit 3
EOF
cat >topo2.yml <<EOF
version: 1
name: $name2
ssh: {key: $TMP/id}
providers:
  local: {subnet: $subnet2}
roles:
  box: {playbooks: [./pb2/fails.yml]}
EOF
run "$DEPLOY" up --yes topo2.yml
expect_rc 1 "an up with a failing step"
checks=$((checks + 1))
grep -Eq '^box-0 +failed +1 +0 +1 ' "$TMP/out" ||
	fail "the proxy did not answer during the failed up (its step is not ok)"
expect_line "$TMP/out" "1 host: 0 ok, 1 failed, 0 skipped; 0 steps changed" "the second step failed"
checks=$((checks + 1))
! listening "$bridge2" || fail "something listens on $bridge2:$port after a failed up"

# A run stopped by SIGTERM while a host is configured stops it too.
cat >pb2/fails.yml <<'EOF'
name: slow
steps:
  - name: a step that takes a while
    shell: sleep 6
    changed: false
EOF
"$DEPLOY" up --yes topo2.yml >"$TMP/up3.out" 2>"$TMP/up3.err" &
up_pid=$!
i=0
while ! listening "$bridge2" && kill -0 "$up_pid" 2>/dev/null && [ $i -lt 1200 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
listening "$bridge2" || fail "deploy's proxy never listened on $bridge2:$port during up"
checks=$((checks + 1))
ss -ltnpH "src $bridge2 and sport = :$port" | grep -q "pid=$up_pid," ||
	fail "what listens on $bridge2:$port is not deploy ($up_pid): $(ss -ltnpH "src $bridge2 and sport = :$port")"
kill -TERM "$up_pid"
wait "$up_pid"
rc=$?
up_pid=
checks=$((checks + 1))
[ "$rc" = 130 ] || {
	fail "up after SIGTERM: exit $rc, expected 130"
	sed 's/^/  | /' "$TMP/up3.out" "$TMP/up3.err" >&2
}
checks=$((checks + 1))
! listening "$bridge2" || fail "something listens on $bridge2:$port after an interrupted up"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
run "$DEPLOY" down --yes topo2.yml
expect_rc 0 "down the second"
ip -o addr show >addrs
expect_no_match addrs "$bridge/24" "no bridge left"
expect_no_match addrs "$bridge2/24" "no second bridge left"
finish
