#!/bin/sh
# The built-in icon-node playbook on real local hosts (systemd-nspawn
# Debian, Docker inside): the image is the stand-in node
# (tests/helper/deploy-test-node) made into a `docker save` tarball here,
# without a registry or a Docker daemon, and shipped as a docker_load
# artifact. Its /init refuses to start unless the keystore is mounted and
# KEY_PASSWORD (set by deploy's entrypoint) equals the mounted password
# file. A second host runs the stand-in as the reference; the P-Rep's
# height gate waits (progress shows both heights) until it is within 30
# blocks of it. The password is nowhere in deploy's output, --json
# events, state, the container's configuration (docker inspect) or any
# process's argv on the host; a second up changes nothing.
. "$TESTLIB"
: "${TEST_NODE:?}"
local_setup t0514 241
local_home

PW="pw-t0514-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
ICON_PW=$PW
export ICON_PW
printf '{"address": "hx%040d"}\n' 1 >keystore.json

# The image: /init, the stand-in node, a shell and cat with the libraries
# they load, as `docker save` writes it (manifest.json, the config, one
# layer).
cat >init <<'EOF'
#!/bin/sh
# The stand-in icon2-node: starts only with what icon-node promises.
[ -s /goloop/config/keystore.json ] || { echo "no keystore" >&2; exit 1; }
[ -n "$KEY_PASSWORD" ] || { echo "no KEY_PASSWORD" >&2; exit 1; }
[ "$KEY_PASSWORD" = "$(cat /goloop/secret/keysecret)" ] ||
	{ echo "KEY_PASSWORD is not the file's" >&2; exit 1; }
echo "ROLE=$ROLE SERVICE=$SERVICE GOLOOP_P2P=$GOLOOP_P2P" >/goloop/data/seen
case $GOLOOP_RPC_ADDR in
:*) rpc=0.0.0.0$GOLOOP_RPC_ADDR ;;
*) rpc=$GOLOOP_RPC_ADDR ;;
esac
# Synced at 5600 after 6 s, then one a block a second as the reference
# (5000 + its age): the P-Rep stays within 30 blocks unless it started
# more than 10 minutes after the reference (5100 failed when a loaded
# machine took 130 s between them).
exec /usr/local/bin/deploy-test-node --rpc "$rpc" \
	--p2p "0.0.0.0$GOLOOP_P2P_LISTEN" --syncing 6 --height 5600
EOF
python3 - "$TEST_NODE" image.tar <<'PY' || fail "the image tarball"
import hashlib, io, json, os, subprocess, sys, tarfile
node, out = sys.argv[1:3]
files = {"/init": "init", "/usr/local/bin/deploy-test-node": node,
         "/bin/sh": os.path.realpath("/bin/sh"), "/bin/cat": "/bin/cat"}
for exe in list(files.values()):
    for line in subprocess.run(["ldd", exe], capture_output=True,
                               text=True).stdout.splitlines():
        for w in line.split():
            if w.startswith("/"):
                files[w] = os.path.realpath(w)
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as t:
    made = set()
    for dst in sorted(files):
        parts = dst.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in made:
                ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
                t.addfile(ti); made.add(d)
        ti = t.gettarinfo(files[dst], dst.strip("/"))
        ti.mode = 0o755; ti.uid = ti.gid = 0; ti.uname = ti.gname = "root"
        with open(files[dst], "rb") as f:
            t.addfile(ti, f)
    for d in ("goloop", "goloop/config", "goloop/data", "goloop/logs", "tmp"):
        if d not in made:
            ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
            t.addfile(ti)
layer = layer.getvalue()
diff = hashlib.sha256(layer).hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"Entrypoint": ["/init"], "Env": ["PATH=/usr/local/bin:/bin"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]},
    "history": [{"created_by": "t0514"}]}).encode()
cid = hashlib.sha256(config).hexdigest()
manifest = json.dumps([{"Config": cid + ".json",
    "RepoTags": ["deploy-test/icon2-node:t0514"],
    "Layers": [diff + "/layer.tar"]}]).encode()
with tarfile.open(out, "w") as t:
    for name, data in ((diff + "/layer.tar", layer), (cid + ".json", config),
                       ("manifest.json", manifest)):
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
PY
IMAGE_SHA=$(sha256sum <image.tar | cut -d' ' -f1)
NODE_SHA=$(sha256sum <"$TEST_NODE" | cut -d' ' -f1)

local_topology admin <<EOF
artifacts:
  testnode: {url: "file://$TEST_NODE", sha256: $NODE_SHA}
  icon2-node:
    url: "file://$TMP/image.tar"
    sha256: $IMAGE_SHA
    docker_load: true
    image: deploy-test/icon2-node:t0514
secrets:
  icon_keystore: {file: ./keystore.json}
  icon_keystore_password: {env: ICON_PW}
roles:
  # The network: a synced stand-in, 5000 blocks and climbing.
  reference:
    playbooks: [node]
    vars:
      node_name: testnode
      node_artifact: testnode
      node_binary: /usr/local/bin/deploy-test-node
      node_user: testnode
      node_args: [--rpc, "0.0.0.0:9000", --p2p, "0.0.0.0:7100", --height, "5000"]
    health:
      - {tcp: "9000", timeout: 60}
  prep:
    after: [reference]
    playbooks: [firewall, docker, icon-node]
    vars:
      icon_image: deploy-test/icon2-node:t0514
      icon_role: prep
      icon_network: LisbonNet
    health:
      - name: synced
        height:
          rpc: http://127.0.0.1:9000/api/v3
          method: icx_getLastBlock
          field: result.height
          reference: "http://{{#roles.reference.hosts}}{{private_address}}{{/roles.reference.hosts}}:9000/api/v3"
          within: 30
        interval: 1
        timeout: 300
EOF

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
checks=$((checks + 1))
grep -q "^prep-0: \[handler [0-9]*/[0-9]*\] health: synced: waiting: height [0-9]* vs reference [0-9]*$" "$TMP/out" ||
	fail "the progress shows the heights while the P-Rep catches up"
expect_no_match "$TMP/out" "$PW" "the password is not in the output"
expect_no_match "$TMP/err" "$PW" "nor in the errors"

run "$DEPLOY" run topo.yml --limit prep -- cat /var/lib/icon2-node/data/seen
checks=$((checks + 1))
grep -q "^prep-0: ROLE=3 SERVICE=LisbonNet GOLOOP_P2P=10\.231\.241\.[0-9]*:7100$" "$TMP/out" ||
	fail "GOLOOP_P2P is the host's address: $(cat "$TMP/out")"
run "$DEPLOY" run topo.yml --limit prep -- "docker inspect --format '{{json .Config.Env}} {{json .Args}} {{json .Mounts}}' icon2-node"
expect_rc 0 "docker inspect"
expect_no_match "$TMP/out" "$PW" "the container's configuration holds no password"
expect_no_match "$TMP/out" "KEY_PASSWORD" "nor KEY_PASSWORD"
checks=$((checks + 1))
grep -q '"Destination":"/goloop/secret/keysecret","Mode":"","RW":false' "$TMP/out" ||
	grep -q '"Destination":"/goloop/secret/keysecret".*"RW":false' "$TMP/out" ||
	fail "the password file is mounted read-only: $(cat "$TMP/out")"
run "$DEPLOY" run topo.yml --limit prep -- "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '"
expect_no_match "$TMP/out" "$PW" "no process on the host has the password in its argv"
run "$DEPLOY" run topo.yml --limit prep -- "stat -c '%a %U' /etc/icon2-node/keysecret; ss -Hltn 'sport = :9000' | awk '{print \$4}'"
expect_line "$TMP/out" "prep-0: 600 root" "the password file is 0600 root"
expect_line "$TMP/out" "prep-0: 127.0.0.1:9000" "JSON-RPC on loopback (no role may reach it)"

run "$DEPLOY" up --yes --json topo.yml
expect_rc 0 "second up"
expect_no_match "$TMP/out" "$PW" "the password is not in the --json events"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "third up"
checks=$((checks + 1))
grep -q "^2 hosts: 2 ok, 0 failed, 0 skipped; 0 steps changed$" "$TMP/out" ||
	fail "a second up changes nothing: $(tail -n 3 "$TMP/out")"
checks=$((checks + 1))
! grep -rqsF "$PW" .deploy || fail "the password is in .deploy"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
finish
