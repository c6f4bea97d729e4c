#!/bin/sh
# The built-in playbook node on a real local host (systemd-nspawn Debian):
# the stand-in node (tests/helper/deploy-test-node) as an artifact, its
# system user, data directory and systemd unit (Restart=on-failure,
# LimitNOFILE, the chain's stop signal); the role's health gate waits
# through the node's syncing period; a second up changes nothing; a node
# killed by SIGKILL is started again by systemd.
. "$TESTLIB"
: "${TEST_NODE:?}"
local_setup t0507 247
local_home
SHA=$(sha256sum <"$TEST_NODE" | cut -d' ' -f1)
local_topology admin <<EOF
artifacts:
  testnode: {url: "file://$TEST_NODE", sha256: $SHA}
roles:
  chain:
    playbooks: [node]
    vars:
      node_name: testnode
      node_artifact: testnode
      node_binary: /usr/local/bin/deploy-test-node
      node_user: testnode
      node_data_dir: /var/lib/testnode
      node_args: [--rpc, "127.0.0.1:3030", --p2p, "0.0.0.0:24567", --syncing, "3", --height, "100"]
      node_stop_signal: SIGINT
    health:
      - name: synced
        http: http://127.0.0.1:3030/status
        field: sync_info.syncing
        equals: false
        interval: 1
        timeout: 120
      - {tcp: "24567", timeout: 30}
EOF

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 6 steps changed" "every step changed, and the restart handler"
run "$DEPLOY" run topo.yml -- systemctl show testnode -p ActiveState -p Restart -p LimitNOFILE -p KillSignal -p User -p WorkingDirectory
for want in ActiveState=active Restart=on-failure LimitNOFILE=65536 KillSignal=2 User=testnode WorkingDirectory=/var/lib/testnode; do
	expect_line "$TMP/out" "chain-0: $want" "unit: $want"
done
run "$DEPLOY" run topo.yml -- stat -c %U:%G:%a /var/lib/testnode /usr/local/bin/deploy-test-node
expect_line "$TMP/out" "chain-0: testnode:testnode:750" "the data directory"
expect_line "$TMP/out" "chain-0: root:root:755" "the binary"
run "$DEPLOY" run topo.yml -- "getent passwd testnode | cut -d: -f6,7"
expect_line "$TMP/out" "chain-0: /var/lib/testnode:/usr/sbin/nologin" "a system user without a login"
run "$DEPLOY" run topo.yml -- python3 -c "'import urllib.request as u; print(u.urlopen(\"http://127.0.0.1:3030/status\").read().decode())'"
checks=$((checks + 1))
grep -q '"syncing": false' "$TMP/out" || fail "synced after the gate: $(cat "$TMP/out")"

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"

# Restart=on-failure: SIGKILL the node, systemd starts it again.
run "$DEPLOY" run topo.yml -- "systemctl kill -s KILL testnode; for i in \$(seq 1 60); do [ \"\$(systemctl show testnode -p NRestarts --value)\" -ge 1 ] && systemctl is-active testnode && break; sleep 1; done"
expect_line "$TMP/out" "chain-0: active" "systemd restarted the killed node"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
