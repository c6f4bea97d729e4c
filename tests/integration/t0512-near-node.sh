#!/bin/sh
# The built-in playbook near-node on a real local host (systemd-nspawn
# Debian): the stand-in node (tests/helper/deploy-test-node, which takes
# neard's `init` and `run`) as the neard artifact from a local HTTP
# server; `neard init --chain-id NETWORK` once; node_key.json and
# validator_key.json from secrets (0600, the node's user, never in the
# output, the state or --json events); NEAR's unit (SIGINT, SIGHUP
# reloads); the playbook's health gate (its checks' timing overridden by
# name) waits through the syncing period; the firewall opens P2P to the
# world and RPC only to the roles in near_rpc_from; a second up changes
# nothing.
. "$TESTLIB"
: "${TEST_NODE:?}"
local_setup t0512 232
local_home
HTTP_PID=
cleanup_first() {
	stop_pids "$HTTP_PID"
}

mkdir -p srv
HTTP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd srv && exec python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1) \
	>"$TMP/http.log" 2>&1 &
HTTP_PID=$!
python3 - "$HTTP_PORT" <<'PY' || fail "the HTTP server did not start"
import socket, sys, time
end = time.time() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        break
    except OSError:
        if time.time() > end:
            sys.exit(1)
        time.sleep(0.05)
PY
cp "$TEST_NODE" srv/neard-2.3.0
printf '\nDEPLOY_TEST_NODE name=2.3.0 syncing=4 height=200\n' >>srv/neard-2.3.0
SHA=$(sha256sum <srv/neard-2.3.0 | cut -d' ' -f1)

NODE_KEY='{"account_id": "node0", "public_key": "ed25519:pub0", "secret_key": "ed25519:t0512-node-secret-XyZ"}'
VAL_KEY='{"account_id": "pool.t0512", "public_key": "ed25519:pub1", "secret_key": "ed25519:t0512-validator-secret-QwE"}'
printf '%s\n' "$NODE_KEY" >node_key.json
printf '%s\n' "$VAL_KEY" >validator_key.json
chmod 600 node_key.json validator_key.json

local_topology admin <<EOF
network: testnet
secrets:
  near_node_key: {file: ./node_key.json}
  near_validator_key: {file: ./validator_key.json}
artifacts:
  neard: {url: "http://127.0.0.1:$HTTP_PORT/neard-2.3.0", sha256: $SHA}
roles:
  validator:
    playbooks: [firewall, near-node]
    vars:
      near_role: validator
      near_node_key: true
      near_rpc_from: [proxy]
    health:
      - {name: synced, http: "http://127.0.0.1:3030/status", field: sync_info.syncing, equals: false, interval: 1, timeout: 120}
      - {name: neard health, http: "http://127.0.0.1:3030/health", interval: 1, timeout: 60}
  proxy: {}
  other: {}
EOF

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
cat "$TMP/out" >first.out
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 15 steps changed" "every step changed, and the handlers"
checks=$((checks + 1))
grep -q "^validator-0: \[handler [0-9]/[0-9]\] health: synced: waiting: sync_info.syncing true" "$TMP/out" ||
	fail "the gate waited through the syncing period"
run "$DEPLOY" run topo.yml -- systemctl show neard -p ActiveState -p Restart -p RestartUSec -p KillSignal -p User -p TimeoutStopUSec -p LimitNOFILE
for want in ActiveState=active Restart=on-failure RestartUSec=30s KillSignal=2 User=near TimeoutStopUSec=45s LimitNOFILE=65536; do
	expect_line "$TMP/out" "validator-0: $want" "unit: $want"
done
run "$DEPLOY" run topo.yml -- "grep -E '^(ExecStart|ExecReload)=' /etc/systemd/system/neard.service"
expect_line "$TMP/out" "validator-0: ExecStart=/usr/local/bin/neard --home /var/lib/near run" "neard --home HOME run"
expect_line "$TMP/out" "validator-0: ExecReload=/bin/kill -HUP \$MAINPID" "reload is SIGHUP"
run "$DEPLOY" run topo.yml -- "stat -c '%n %U:%G:%a' /var/lib/near /var/lib/near/node_key.json /var/lib/near/validator_key.json /var/lib/near/config.json /var/lib/near/genesis.json"
expect_line "$TMP/out" "validator-0: /var/lib/near near:near:750" "the home"
expect_line "$TMP/out" "validator-0: /var/lib/near/node_key.json near:near:600" "node_key.json 0600, the node's user"
expect_line "$TMP/out" "validator-0: /var/lib/near/validator_key.json near:near:600" "validator_key.json 0600, the node's user"
expect_line "$TMP/out" "validator-0: /var/lib/near/config.json near:near:644" "neard init wrote config.json, as the node's user"
run "$DEPLOY" run topo.yml -- sha256sum /var/lib/near/node_key.json /var/lib/near/validator_key.json
expect_line "$TMP/out" "validator-0: $(sha256sum <node_key.json | cut -d' ' -f1)  /var/lib/near/node_key.json" "node_key.json is the secret"
expect_line "$TMP/out" "validator-0: $(sha256sum <validator_key.json | cut -d' ' -f1)  /var/lib/near/validator_key.json" "validator_key.json is the secret"
run "$DEPLOY" run topo.yml -- python3 -c "'import urllib.request as u; print(u.urlopen(\"http://127.0.0.1:3030/status\").read().decode())'"
checks=$((checks + 1))
grep -q '"chain_id": "testnet".*"version": "2.3.0".*"syncing": false' "$TMP/out" ||
	fail "init for the topology's network, the artifact's version, synced: $(cat "$TMP/out")"
# (In a container the kernel's net.core settings are the machine's: the
# file is checked, not the running values.)
run "$DEPLOY" run topo.yml -- cat /etc/sysctl.d/60-deploy-near.conf
for want in "net.core.rmem_max = 8388608" "net.core.wmem_max = 8388608" "net.ipv4.tcp_rmem = 4096 87380 8388608" "net.ipv4.tcp_wmem = 4096 16384 8388608" "net.ipv4.tcp_slow_start_after_idle = 0"; do
	expect_line "$TMP/out" "validator-0: $want" "NEAR's network settings: $want"
done

# The firewall: P2P from anyone, RPC only from the proxy role.
probe() { # probe HOST PORT: what HOST sees of the validator's PORT
	"$DEPLOY" run --limit "$1" topo.yml -- python3 -c "'import socket
try:
    socket.create_connection((\"$VALIDATOR\", $2), 3).close(); print(\"open\")
except OSError as e:
    print(\"closed\")'"
}
VALIDATOR=$(local_address validator-0)
probe proxy-0 3030 >"$TMP/p"
expect_line "$TMP/p" "proxy-0: open" "RPC open to a role in near_rpc_from"
probe other-0 3030 >"$TMP/p"
expect_line "$TMP/p" "other-0: closed" "RPC closed to other roles"
probe other-0 24567 >"$TMP/p"
expect_line "$TMP/p" "other-0: open" "P2P open to the world"

# SIGHUP (systemctl reload) does not stop neard.
run "$DEPLOY" run topo.yml -- "systemctl reload neard && sleep 1 && systemctl show neard -p ActiveState -p NRestarts"
expect_line "$TMP/out" "validator-0: ActiveState=active" "reload keeps it running"
expect_line "$TMP/out" "validator-0: NRestarts=0" "reload is no restart"

run "$DEPLOY" up --yes --json topo.yml
expect_rc 0 "second up"
cat "$TMP/out" >second.json
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "third up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 0 steps changed" "a second up changes nothing"

# The keys' secret parts: nowhere deploy writes or shows.
for f in first.out second.json "$TMP/out" "$TMP/err" .deploy/*; do
	for s in t0512-node-secret-XyZ t0512-validator-secret-QwE; do
		checks=$((checks + 1))
		! grep -qs "$s" "$f" || fail "$s in $f"
	done
done
checks=$((checks + 1))
! grep -rqs "t0512-validator-secret-QwE" "$HOME" || fail "a secret under \$HOME (cache, logs)"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
