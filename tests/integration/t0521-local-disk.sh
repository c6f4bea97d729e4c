#!/bin/sh
# A role's data disk on a real local host (systemd-nspawn Debian): the
# local provider backs it with a sparse file on a loop device handed to the
# container; up formats it (ext4, only because it is blank), writes an
# fstab line by UUID with nofail and mounts it at /data before the role's
# playbooks, so the node playbook's data directory lands on it; a second
# up changes nothing and formats nothing; the container powered off and
# made again has the same file system, mounted again by up, and the file
# written on it; another file system at /data is refused by name; down detaches every loop device of the
# backing file (one left by a killed run too) and removes the file.
. "$TESTLIB"
: "${TEST_NODE:?}"
local_setup t0521 243
local_home
command -v losetup >/dev/null || fail "losetup (util-linux) is missing"

SHA=$(sha256sum <"$TEST_NODE" | cut -d' ' -f1)
local_topology <<EOF
artifacts:
  testnode: {url: "file://$TEST_NODE", sha256: $SHA}
roles:
  chain:
    disk: {size: 2}
    playbooks: [node]
    vars:
      node_name: testnode
      node_artifact: testnode
      node_binary: /usr/local/bin/deploy-test-node
      node_user: testnode
      node_args: [--rpc, "127.0.0.1:3030", --p2p, "0.0.0.0:24567"]
EOF
img=$local_dir/$name/chain-0/disk.img

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "first up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 7 steps changed" "the disk step and the node's steps changed"

# The backing file: sparse, 2 GiB, on one loop device.
checks=$((checks + 1))
[ "$(stat -c %s "$img" 2>/dev/null)" = $((2 << 30)) ] || fail "disk.img is not 2 GiB: $(ls -ls "$img" 2>&1)"
checks=$((checks + 1))
[ "$(losetup --list --noheadings --output NAME --associated "$img" | wc -l)" = 1 ] ||
	fail "disk.img is not on one loop device: $(losetup -a)"

# Inside: ext4 at /data from the stable path, an fstab line by UUID.
run "$DEPLOY" run topo.yml -- findmnt -rn -o FSTYPE,SOURCE /data
expect_line "$TMP/out" "chain-0: ext4 /dev/disk/by-id/deploy-data" "ext4 mounted at /data"
run "$DEPLOY" run topo.yml -- blkid -s UUID -o value /dev/disk/by-id/deploy-data
uuid=$(sed -n 's/^chain-0: //p' "$TMP/out")
checks=$((checks + 1))
[ -n "$uuid" ] || fail "no UUID: $(cat "$TMP/out" "$TMP/err")"
run "$DEPLOY" run topo.yml -- grep " /data " /etc/fstab
expect_line "$TMP/out" "chain-0: UUID=$uuid /data ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2" "the fstab line"

# The node's data directory is on it (node_data_dir: /data/node).
run "$DEPLOY" run topo.yml -- findmnt -n -o TARGET -T /data/node
expect_line "$TMP/out" "chain-0: /data" "node_data_dir is on the disk"
run "$DEPLOY" run topo.yml -- systemctl show testnode -p WorkingDirectory -p ActiveState
expect_line "$TMP/out" "chain-0: WorkingDirectory=/data/node" "the unit runs in /data/node"
expect_line "$TMP/out" "chain-0: ActiveState=active" "the node runs"
run "$DEPLOY" run topo.yml -- "echo t0521-kept >/data/node/kept && sync"
expect_rc 0 "a file on the disk"

# Again: nothing changes, nothing is formatted.
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "second up"
expect_line "$TMP/out" "1 host: 1 ok, 0 failed, 0 skipped; 0 steps changed" "second up changes nothing"
run "$DEPLOY" run topo.yml -- "blkid -s UUID -o value /dev/disk/by-id/deploy-data; cat /data/node/kept"
expect_line "$TMP/out" "chain-0: $uuid" "the same file system"
expect_line "$TMP/out" "chain-0: t0521-kept" "the file is there"

# Powered off and made again: the same overlay and disk. In a container
# systemd leaves fstab's device lines alone (systemd-fstab-generator), so
# the disk step mounts it again; it does not format it.
pid=$(cat "$local_dir/$name/chain-0/pid")
"$DEPLOY" run topo.yml -- systemctl poweroff >/dev/null 2>&1
for _ in $(seq 1 300); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
checks=$((checks + 1))
! kill -0 "$pid" 2>/dev/null || fail "the container did not power off"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the container stopped"
expect_line "$TMP/out" "chain-0: [1/7] disk: data disk: changed" "mounted again"
run "$DEPLOY" run topo.yml -- "findmnt -n -o SOURCE /data; blkid -s UUID -o value /dev/disk/by-id/deploy-data; cat /data/node/kept"
expect_line "$TMP/out" "chain-0: /dev/disk/by-id/deploy-data" "mounted after the restart"
expect_line "$TMP/out" "chain-0: $uuid" "the same file system after the restart"
expect_line "$TMP/out" "chain-0: t0521-kept" "the file survived the restart"

# Another file system at /data: up refuses, names it, formats nothing.
run "$DEPLOY" run topo.yml -- "systemctl stop testnode && umount /data && mount -t tmpfs t0521-tmpfs /data"
expect_rc 0 "a tmpfs at /data"
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "up with another file system at /data"
checks=$((checks + 1))
grep -qF "/data is already a different file system (t0521-tmpfs tmpfs), not /dev/disk/by-id/deploy-data: unmount it there, or set the role's disk.mount to another path" "$TMP/out" "$TMP/err" ||
	fail "the error names the mount point, what is there and what to do: $(cat "$TMP/out" "$TMP/err")"
run "$DEPLOY" run topo.yml -- "umount /data"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up once /data is free again"
run "$DEPLOY" run topo.yml -- "blkid -s UUID -o value /dev/disk/by-id/deploy-data; cat /data/node/kept"
expect_line "$TMP/out" "chain-0: $uuid" "still the same file system"
expect_line "$TMP/out" "chain-0: t0521-kept" "still the file"

# A second loop device on the backing file, as a run killed between
# attaching one and booting could leave: down finds it by the file.
stray=$(losetup --find --show "$img")
checks=$((checks + 1))
[ -n "$stray" ] || fail "could not attach a stray loop device"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
checks=$((checks + 1))
[ ! -e "$img" ] || fail "disk.img left after down"
losetup -a >"$TMP/loops"
expect_no_match "$TMP/loops" "$local_dir/$name/" "no loop device left"
if [ -n "$stray" ] && losetup "$stray" 2>/dev/null | grep -qF "$name"; then
	losetup -d "$stray"
fi
expect_local_gone
finish
