#!/bin/sh
# The local provider's hosts: real Debian containers booted with
# systemd-nspawn, reached with OpenSSH with strict host-key checking
# against the key deploy made for each, and removed without a trace.
. "$TESTLIB"
: "${TEST_TOOL:?}"

local_setup t0500 250
hosts="alpha beta"
cleanup_first() {
	# shellcheck disable=SC2086 # a list of hosts
	"$TEST_TOOL" local down "$name" "$subnet" $hosts >/dev/null 2>&1
}

run "$TEST_TOOL" local up "$name" "$subnet" "$TMP/id.pub" $hosts
expect_rc 0 "local up"
cp "$TMP/out" "$TMP/up1"
expect_line "$TMP/up1" "alpha 10.231.250.2 $(awk '$1 == "alpha" {print $3 " " $4 " " $5}' "$TMP/up1")" "alpha's address"
checks=$((checks + 1))
[ "$(awk '$1 == "beta" {print $2}' "$TMP/up1")" = 10.231.250.3 ] || fail "beta's address"

# Each host has its own key, and it is the one deploy made: OpenSSH with
# StrictHostKeyChecking=yes and only these keys accepts them.
awk '{print $2 " " $3 " " $4}' "$TMP/up1" >"$TMP/known_hosts"
checks=$((checks + 1))
[ "$(awk '{print $4}' "$TMP/up1" | sort -u | wc -l)" -eq 2 ] || fail "host keys differ"
for h in $hosts; do
	addr=$(awk -v h="$h" '$1 == h {print $2}' "$TMP/up1")
	run ssh -i "$TMP/id" -o UserKnownHostsFile="$TMP/known_hosts" \
		-o StrictHostKeyChecking=yes -o BatchMode=yes \
		-o ConnectTimeout=10 "root@$addr" \
		'hostname; systemctl is-system-running --wait; ip -4 -o addr show eth0'
	expect_rc 0 "ssh to $h"
	expect_line "$TMP/out" "$h" "$h's hostname"
	checks=$((checks + 1))
	grep -q "inet $addr/24" "$TMP/out" || fail "$h has $addr on eth0"
	checks=$((checks + 1))
	grep -qx "running\|degraded" "$TMP/out" || fail "$h booted: $(cat "$TMP/out")"
done

# The hosts see each other on the bridge, and nothing routes them out.
run ip netns exec "deploy-$name-alpha" ip route show
expect_line "$TMP/out" "default via 10.231.250.1 dev eth0 " "default route to the bridge only"

# Up again: nothing changes, same addresses and keys.
run "$TEST_TOOL" local up "$name" "$subnet" "$TMP/id.pub" $hosts
expect_rc 0 "local up again"
expect_same "$TMP/up1" "$TMP/out" "second up is a no-op"

# Down leaves no namespace, bridge, mount, process or file behind. It
# returns once each host's systemd-nspawn is gone, not when nspawn let the
# host's lock go: checked by the containers' pids, right after down
# returned. kill -0 sees a zombie too (ps and pgrep list it), and this
# machine's init reaps orphans seconds late, so down waits for that.
pids=$(for h in $hosts; do cat "$local_dir/$name/$h/pid"; done)
checks=$((checks + 1))
[ "$(echo $pids | wc -w)" -eq 2 ] || fail "a pid per host: $pids"
run "$TEST_TOOL" local down "$name" "$subnet" $hosts
expect_rc 0 "local down"
for p in $pids; do
	checks=$((checks + 1))
	if kill -0 "$p" 2>/dev/null; then
		fail "systemd-nspawn $p still there after down returned: $(ps -o stat=,args= -p "$p")"
	fi
done
ip netns list >"$TMP/ns"
expect_no_match "$TMP/ns" "deploy-$name-" "no namespace left"
mount >"$TMP/mounts"
expect_no_match "$TMP/mounts" "/$name/" "no mount left"
ps -eo args >"$TMP/ps"
expect_no_match "$TMP/ps" "/$name/" "no nspawn left"
checks=$((checks + 1))
[ -e "$local_dir/$name" ] && fail "host files left"
ip -o addr show >"$TMP/addrs"
expect_no_match "$TMP/addrs" "10.231.250.1/24" "no bridge address left"

# Down again is fine: already gone.
run "$TEST_TOOL" local down "$name" "$subnet" $hosts
expect_rc 0 "local down again"

# Not root: a clear message, nothing made.
run setpriv --reuid=65534 --regid=65534 --clear-groups "$TEST_TOOL" local up "$name" "$subnet" "$TMP/id.pub" alpha
expect_rc 1 "not root"
expect_line "$TMP/err" "deploy-test-tool: the local provider needs root: it makes network namespaces, mounts and containers (run deploy as root, e.g. with sudo)" "root message"
finish
