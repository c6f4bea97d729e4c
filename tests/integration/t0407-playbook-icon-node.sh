#!/bin/sh
# The built-in icon-node playbook, compiled for the hosts of a topology
# (it drives Docker and systemd, so it does not run here: the files it
# would write are taken out of the compiled script and checked). The
# keystore password reaches only its own 0600 file, which the container
# mounts read-only: never the environment file, the unit (docker's argv),
# a step label, the validate output or the script's progress lines.
# GOLOOP_P2P comes from the topology, JSON-RPC stays on loopback unless
# roles may reach it (and the firewall lets only them), the image is
# pulled by digest or loaded from an artifact, and the height gate
# compares with the topology's reference endpoints.

. "$TESTLIB"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"
XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME

PW='pw-t0407-s3cr3t-$(id)'
export ICON_PW="$PW"
printf '{"address": "hx0000000000000000000000000000000000000001"}\n' >keystore.json
# A `docker save` tarball as far as compiling needs: its manifest.json
# names the image's config, whose digest is the image ID the step checks.
CONFIG_ID=$(printf 'config' | sha256sum | cut -d' ' -f1)
python3 - "$CONFIG_ID" <<'PY' || fail "the image tarball"
import io, json, sys, tarfile
m = json.dumps([{"Config": sys.argv[1] + ".json",
                 "RepoTags": ["iconloop/icon2-node:v1.4.4"], "Layers": []}])
with tarfile.open("image.tar", "w") as t:
    for name, data in (("manifest.json", m.encode()),):
        i = tarfile.TarInfo(name)
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
PY
IMAGE_SHA=$(sha256sum <image.tar | cut -d' ' -f1)
DIGEST=iconloop/icon2-node@sha256:$(printf 'x' | sha256sum | cut -d' ' -f1)

cat >topo.yml <<EOF2
version: 1
name: icon
ssh: {admin_cidrs: [203.0.113.7/32]}
providers: {ssh: {}}
secrets:
  icon_keystore: {file: ./keystore.json}
  icon_keystore_password: {env: ICON_PW}
artifacts:
  icon2-node: {url: "file://$TMP/image.tar", sha256: $IMAGE_SHA, docker_load: true, image: "iconloop/icon2-node:v1.4.4"}
vars:
  icon_reference: [https://ctz.solidwallet.io/api/v3, https://api.icon.community/api/v3]
roles:
  prep:
    hosts: [{name: p1, address: 198.51.100.2}]
    playbooks: [harden, firewall, docker, icon-node]
    vars:
      icon_image: "$DIGEST"
      icon_role: prep
      icon_data_dir: /data/icon
      icon_rpc_from: [sentry]
  citizen:
    hosts: [{name: c1, address: 198.51.100.3}]
    playbooks: [firewall, docker, icon-node]
    vars:
      icon_image: iconloop/icon2-node:v1.4.4
      icon_p2p_address: 203.0.113.50:7100
      icon_network: LisbonNet
    health:
      - name: synced
        height: {rpc: "http://127.0.0.1:9000/api/v3", method: icx_getLastBlock, field: result.height, reference: "https://lisbon.net.solidwallet.io/api/v3", within: 5}
        timeout: 600
  sentry:
    hosts: [{name: s1, address: 198.51.100.4}]
    playbooks: [harden]
EOF2

run "$DEPLOY" validate topo.yml
expect_rc 0 "validate"
expect_no_match "$TMP/out" "s3cr3t" "validate shows no password"

# expect_has FILE TEXT what: some line of FILE contains TEXT.
expect_has() {
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" || fail "$3: no '$2' in $(basename "$1")"
}

# compile HOST
compile() {
	"$TEST_TOOL" playbook-compile --topology topo.yml --host "$1" \
		--nonce 1 >"$1.sh" 2>"$1.err"
	rc=$?
}

compile p1
checks=$((checks + 1))
[ "$rc" -eq 0 ] || fail "p1 compiles: $(cat p1.err)"
compiled_file p1.sh /etc/icon2-node/keysecret >p1.keysecret
checks=$((checks + 1))
[ "$(cat p1.keysecret)" = "$PW" ] || fail "the password file holds the password"
compiled_file p1.sh /etc/icon2-node/keysecret mode >p1.mode
expect_line p1.mode "600 root root" "the password file is 0600 root"
compiled_file p1.sh /etc/icon2-node/keystore.json mode >p1.mode
expect_line p1.mode "600 root root" "the keystore is 0600 root"
compiled_file p1.sh /etc/icon2-node/env >p1.env
compiled_file p1.sh /etc/systemd/system/icon2-node.service >p1.unit
compiled_file p1.sh /etc/icon2-node/role.env >p1.role
compiled_file p1.sh /etc/icon2-node/entry >p1.entry
for f in p1.env p1.unit p1.role p1.entry; do
	expect_no_match "$f" "s3cr3t" "$f holds no password"
done
for f in p1.env p1.unit p1.role; do
	expect_no_match "$f" "KEY_PASSWORD" "$f sets no KEY_PASSWORD"
done
expect_line p1.env "GOLOOP_P2P=198.51.100.2:7100" "GOLOOP_P2P: the host's address"
expect_line p1.env "GOLOOP_RPC_ADDR=:9000" "JSON-RPC on every address (the firewall lets the sentry in)"
expect_line p1.env "SERVICE=MainNet" "the network"
expect_line p1.env "GOLOOP_KEY_SECRET=/goloop/secret-rt/keysecret" "the image's copy of the password on a tmpfs"
expect_line p1.role "ROLE=3" "a P-Rep"
expect_line p1.entry 'KEY_PASSWORD=$(cat /goloop/secret/keysecret) || exit 1' "the entrypoint reads the mounted file"
expect_line p1.unit "	--mount type=bind,src=/etc/icon2-node/keysecret,dst=/goloop/secret/keysecret,readonly \\" "the password is mounted read-only"
expect_line p1.unit "	--mount type=bind,src=/data/icon/data,dst=/goloop/data \\" "data on the data directory"
expect_line p1.unit "	$DIGEST /init" "the image by digest"
# Progress labels: the step lines hold no password.
checks=$((checks + 1))
grep "_dp_step\|_dp_gate" p1.sh | grep -q "s3cr3t" && fail "a step line holds the password"
expect_has p1.sh "dp_docker_image pull '' '$DIGEST'" "pulled by digest"
expect_has p1.sh "'health: synced' dp_health 'height' '21600' '10' 'http://127.0.0.1:9000/api/v3' 'icx_getLastBlock' 'result.height' '30' 'https://ctz.solidwallet.io/api/v3' 'https://api.icon.community/api/v3'" "the height gate against the references"
compiled_file p1.sh /etc/nftables.conf >p1.nft
expect_line p1.nft "		tcp dport 7100 accept" "P2P from the world"
expect_line p1.nft "		ip saddr { 198.51.100.4 } tcp dport 9000 accept" "JSON-RPC from the sentry only"

compile c1
checks=$((checks + 1))
[ "$rc" -eq 0 ] || fail "c1 compiles: $(cat c1.err)"
compiled_file c1.sh /etc/icon2-node/env >c1.env
compiled_file c1.sh /etc/icon2-node/role.env >c1.role
compiled_file c1.sh /etc/nftables.conf >c1.nft
expect_line c1.role "ROLE=0" "a citizen"
expect_line c1.env "GOLOOP_P2P=203.0.113.50:7100" "GOLOOP_P2P as the topology says"
expect_line c1.env "GOLOOP_RPC_ADDR=127.0.0.1:9000" "JSON-RPC on loopback when no role may reach it"
expect_line c1.env "SERVICE=LisbonNet" "the network"
expect_no_match c1.nft "dport 9000" "no firewall rule for JSON-RPC"
expect_has c1.sh "dp_docker_image load 'icon2-node' 'iconloop/icon2-node:v1.4.4' 'sha256:$CONFIG_ID'" "the docker save tarball is pushed and loaded, unless its image ID is there"
expect_has c1.sh "'health: synced' dp_health 'height' '600' '5' 'http://127.0.0.1:9000/api/v3' 'icx_getLastBlock' 'result.height' '5' 'https://lisbon.net.solidwallet.io/api/v3'" "the role's synced check replaces the playbook's"
checks=$((checks + 1))
[ "$(grep -c "^	_dp_gate " c1.sh)" -eq 1 ] || fail "one gate on c1"
finish
