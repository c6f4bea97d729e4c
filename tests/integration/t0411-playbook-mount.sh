#!/bin/sh
# Step mount (and the built-in disk playbook that uses it) without a real
# disk: a device that never appears fails the step after its timeout,
# naming the device and what to check, and changes nothing; check mode
# does not wait; bad devices, file system types and options are errors at
# compile time. The real thing (a loop device formatted, mounted, kept)
# runs on a local host in t0521.
. "$TESTLIB"
. "$(dirname "$TESTLIB")/playbook-lib.sh"

pb_topology
cat >mount.yml <<'EOF2'
name: data
steps:
  - name: data disk
    mount:
      device: ["{{vars.root}}/dev/none", /dev/disk/by-id/deploy-t0411-none]
      path: "{{vars.root}}/data"
      timeout: 2
EOF2
pb_compile ./mount.yml
cp /etc/fstab "$TMP/fstab.before" 2>/dev/null || : >"$TMP/fstab.before"
for shell in sh "bash --posix"; do
	pb_run "$shell" --check
	expect_rc 0 "$shell: check mode does not wait"
	expect_line "$TMP/markers" "1/1 skipped no device $ROOT/dev/none /dev/disk/by-id/deploy-t0411-none now; would wait up to 2s" "$shell: check mode says what it would wait for"
	pb_run "$shell"
	expect_rc 1 "$shell: a device that never appears"
	expect_line "$TMP/markers" "1/1 failed device $ROOT/dev/none /dev/disk/by-id/deploy-t0411-none did not appear after 2s: is the volume attached to this host? (ls -l /dev/disk/by-id there shows what is)" "$shell: the error names the devices and what to check"
done
checks=$((checks + 1))
[ ! -e "$ROOT/data" ] || fail "the mount point was made for a missing device"
checks=$((checks + 1))
cmp -s "$TMP/fstab.before" /etc/fstab 2>/dev/null ||
	[ ! -e /etc/fstab ] || fail "/etc/fstab changed"

# A device that is not a block device is not taken for one either.
mkdir -p "$ROOT/dev"
: >"$ROOT/dev/none"
pb_run sh
expect_rc 1 "a plain file is no device"
checks=$((checks + 1))
grep -q '^1/1 failed device .* did not appear after 2s' "$TMP/markers" ||
	fail "a plain file is no device: $(cat "$TMP/markers")"

# The built-in disk playbook on a host whose role has no disk: skipped.
pb_compile disk
pb_run sh
expect_rc 0 "disk without a data disk"
expect_line "$TMP/markers" "1/1 skipped when: role.disk" "the disk step is skipped without roles.NAME.disk"

# Compile-time errors: where they are, what is wrong.
bad() { # bad WHAT YAML-OF-MOUNT EXPECTED-MESSAGE
	printf 'name: bad\nsteps:\n  - mount: %s\n' "$2" >bad.yml
	"$TEST_TOOL" playbook-compile --topology "$TMP/topo.yml" --host h \
		--playbook ./bad.yml >/dev/null 2>"$TMP/err"
	rc=$?
	expect_rc 1 "$1"
	checks=$((checks + 1))
	grep -qF -- "$3" "$TMP/err" || fail "$1: no '$3' in: $(cat "$TMP/err")"
}
bad "a relative device" "{device: sdf, path: /data}" \
	"steps[0].mount.device 'sdf' must be an absolute path"
bad "no device" "{path: /data}" "missing key 'device'"
bad "a bad file system type" "{device: /dev/sdf, path: /data, fstype: 'ext 4'}" \
	"steps[0].mount.fstype 'ext 4' is not a file system type such as ext4"
bad "options with a blank" "{device: /dev/sdf, path: /data, options: 'rw, noatime'}" \
	"must be options separated by commas, without blanks"
bad "a variable that is no list of devices" "{device: '{{topology.name}}', path: /data}" \
	"does not render to an absolute path without blanks"
bad "a variable that names nothing" "{device: '{{role.nothing}}', path: /data}" \
	"'role.nothing' is not a device path or a list of them on this host"
bad "a rendered fstype that is no type" "{device: /dev/sdf, path: /data, fstype: '{{vars.root}}'}" \
	"does not render to a file system type such as ext4"
finish
