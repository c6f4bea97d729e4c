#!/bin/sh
# The built-in docker playbook on real local hosts (systemd-nspawn Debian,
# Docker inside them: the local provider's privileged profile for roles
# that run docker). docker.io comes from Debian through the apt proxy; the
# image is made here without a registry: a `docker save` tarball whose
# whole root file system is the statically linked stand-in node, shipped
# as a docker_load artifact and loaded once (the tarball travels beside
# the script; a second up finds the image's ID on the host and sends
# nothing). Two containers publish ports;
# the role's firewall allows one of them from the other host only: that
# one answers from there, the other does not (Docker's NAT would let it
# through any input-chain firewall), and both still answer on the host
# itself. A second up changes nothing; down leaves nothing behind.
. "$TESTLIB"
: "${TEST_NODE_STATIC:?TEST_NODE_STATIC must name the static stand-in node}"
local_setup t0511 230
local_home

# expect_match FILE REGEX what: a line of FILE matches the extended REGEX.
expect_match() {
	checks=$((checks + 1))
	if ! grep -qE -- "$2" "$1"; then
		fail "$3: no line matching '$2' in $(basename "$1")"
		sed 's/^/  | /' "$1" >&2
	fi
}

# The image: `docker save` format (manifest.json, the config, one layer
# holding /node), made byte for byte here: no engine, no registry.
IMAGE_ID=$(python3 - "$TMP/image.tar" deploy-test-node:1 "$TEST_NODE_STATIC" <<'EOF'
import hashlib, io, json, sys, tarfile
out, ref, binary = sys.argv[1:4]
def tar(members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data, mode in members:
            i = tarfile.TarInfo(name)
            i.size, i.mode, i.mtime = len(data), mode, 0
            t.addfile(i, io.BytesIO(data))
    return b.getvalue()
layer = tar([("node", open(binary, "rb").read(), 0o755)])
diff_id = hashlib.sha256(layer).hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Entrypoint": ["/node"]},
                     "rootfs": {"type": "layers",
                                "diff_ids": ["sha256:" + diff_id]}},
                    sort_keys=True).encode()
config_id = hashlib.sha256(config).hexdigest()
manifest = json.dumps([{"Config": config_id + ".json", "RepoTags": [ref],
                        "Layers": [diff_id + "/layer.tar"]}]).encode()
open(out, "wb").write(tar([(config_id + ".json", config, 0o644),
                           (diff_id + "/layer.tar", layer, 0o644),
                           ("manifest.json", manifest, 0o644)]))
print("sha256:" + config_id)
EOF
)
checks=$((checks + 1))
[ -s "$TMP/image.tar" ] || fail "no image tarball"
IMAGE_SHA=$(sha256sum <"$TMP/image.tar" | cut -d' ' -f1)

mkdir -p pb
cat >pb/containers.yml <<'EOF'
name: containers
steps:
  - name: the image
    docker_image: {ref: "{{vars.node_image}}"}
  - name: allowed
    command:
      argv: [docker, run, -d, --name, allowed, --restart, unless-stopped,
             -p, "9001:9000", "{{vars.node_image}}",
             --rpc, "0.0.0.0:9000", --p2p, "0.0.0.0:7000",
             --name, "{{vars.tag}}-allowed"]
      unless: docker container inspect allowed >/dev/null 2>&1
  - name: refused
    command:
      argv: [docker, run, -d, --name, refused, --restart, unless-stopped,
             -p, "9002:9000", "{{vars.node_image}}",
             --rpc, "0.0.0.0:9000", --p2p, "0.0.0.0:7000",
             --name, "{{vars.tag}}-refused"]
      unless: docker container inspect refused >/dev/null 2>&1
EOF
local_topology admin <<EOF
artifacts:
  node-image:
    url: "file://$TMP/image.tar"
    sha256: $IMAGE_SHA
    docker_load: true
    image: deploy-test-node:1
roles:
  client: {}
  app:
    playbooks: [firewall, docker, ./pb/containers.yml]
    firewall: [{port: 9001, from: [client]}]
    vars: {node_image: "deploy-test-node:1", tag: $name}
EOF

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
if [ "$rc" -ne 0 ]; then
	"$DEPLOY" run --limit app topo.yml -- 'journalctl -u docker --no-pager | tail -30' >&2
	finish
fi
expect_match "$TMP/out" "app-0: \[[0-9]*/[0-9]*\] docker: docker.io installed: changed" "docker.io installed"
expect_match "$TMP/out" "app-0: \[[0-9]*/[0-9]*\] containers: the image: changed" "the image loaded from its artifact"
expect_match "$TMP/out" "^  sent 1 artifact beside the script: [0-9.]* MiB in " "the tarball sent once, beside the script"

app=$(local_address app-0)

# From the other host: the allowed port answers, the other does not.
run "$DEPLOY" run --limit client topo.yml -- \
	"curl -sS -m 5 http://$app:9001/status; echo; echo rc=\$?"
expect_match "$TMP/out" "client-0: .*\"version\": \"$name-allowed\"" "9001 answers the other host"
run "$DEPLOY" run --limit client topo.yml -- \
	"curl -sS -m 5 -o /dev/null http://$app:9002/status; echo rc=\$?"
expect_line "$TMP/out" "client-0: rc=28" "9002 is unreachable from the other host (dropped: curl times out)"
# From this machine (an admin address, not a 'client'): neither.
checks=$((checks + 1))
if curl -s -m 5 -o /dev/null "http://$app:9001/status"; then
	fail "9001 answers this machine, which the rule does not name"
fi
checks=$((checks + 1))
if curl -s -m 5 -o /dev/null "http://$app:9002/status"; then
	fail "9002 answers this machine"
fi

# On the host itself both answer: published, only filtered from outside.
run "$DEPLOY" run --limit app topo.yml -- \
	"curl -sS -m 5 http://127.0.0.1:9002/status; echo; curl -sS -m 5 http://$app:9002/status"
expect_rc 0 "curl on the host"
expect_match "$TMP/out" "app-0: .*\"version\": \"$name-refused\"" "9002 answers on the host"

# How: Docker's NAT redirects the ports (the bypass), deploy's forward
# chain holds the redirected connections to the rules.
run "$DEPLOY" run --limit app topo.yml -- "nft list table ip nat; nft list table inet deploy"
expect_match "$TMP/out" "app-0: .*tcp dport 9002 .*dnat to 172\.17\." "Docker's NAT publishes 9002"
expect_match "$TMP/out" "app-0: .*ct status dnat ct direction original jump published" "redirected connections judged"
expect_match "$TMP/out" "app-0: .*meta l4proto tcp ct original proto-dst 9001 accept" "9001 by the rule"

# daemon.json as the playbook wrote it, and what dockerd made of it.
run "$DEPLOY" run --limit app topo.yml -- \
	"docker info --format '{{.LoggingDriver}} {{.LiveRestoreEnabled}} {{.Driver}}'; docker image inspect -f '{{.Id}}' deploy-test-node:1; ls -A /var/lib/deploy/artifacts; echo listed"
expect_rc 0 "docker info"
expect_match "$TMP/out" "app-0: json-file true [a-z0-9]*" "log driver and live-restore in force"
expect_line "$TMP/out" "app-0: $IMAGE_ID" "the image loaded has the ID of the tarball's manifest"
expect_line "$TMP/out" "app-0: listed" "the host's listing ran"
expect_no_match "$TMP/out" "app-0: app-0" "the tarball's copy is gone once loaded"

# Second up: nothing changes; the host's docker has the image's ID, so
# the tarball is not sent (no transfer command on the session) nor loaded.
rm -f .deploy/logs/app-0.log
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"
expect_match "$TMP/out" "^app-0: ok \(11 ok, 0 changed\)" "every step ok, the image not loaded again"
expect_no_match "$TMP/out" "sent 1 artifact" "the tarball is not sent again"
checks=$((checks + 1))
[ -s .deploy/logs/app-0.log ] || fail "the host's log of the second up"
expect_no_match .deploy/logs/app-0.log ".part" "no transfer command ran on the second up"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
ip netns list >ns
expect_no_match ns "deploy-$name-" "no namespace left"
mount >mounts
expect_no_match mounts "/$name/" "no mount left"
ps -eo args >procs
expect_no_match procs "/$name/" "no container left"
expect_no_match procs "$name-allowed" "no node process left"
checks=$((checks + 1))
[ -e "$local_dir/$name" ] && fail "the hosts' directory (with /var/lib/docker) is left"
finish
