#!/bin/sh
# Host keys: accept-new records a new key (atomically, in OpenSSH's
# format) and the next run checks it; a changed key is refused with both
# SHA256 fingerprints and known_hosts is left alone; strict refuses an
# unknown key; an @revoked key is refused.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 33
sshd_start a 127.33.0.1
sshd_start b 127.33.0.2
sshd_topology topology.yml web:web-a@127.33.0.1 web:web-b@127.33.0.2

fp() {
	ssh-keygen -lf "$1" | cut -d' ' -f2
}
line_of() {
	echo "[$1]:$SSHD_PORT $(cut -d' ' -f1,2 "$2")"
}

# accept-new (the default): both keys written, nothing else.
run "$DEPLOY" run topology.yml -- true
expect_rc 0 "first contact"
line_of 127.33.0.1 "$(sshd_host_key a)" >expected
line_of 127.33.0.2 "$(sshd_host_key b)" >>expected
sort known_hosts >got
sort expected >want
expect_same want got "known_hosts after first contact"
checks=$((checks + 1))
[ "$(stat -c %a known_hosts)" = 600 ] || fail "known_hosts mode $(stat -c %a known_hosts)"
cp known_hosts known_hosts.first
b_line=$(grep -n '^\[127.33.0.2\]' known_hosts | cut -d: -f1)

# OpenSSH's own client agrees with what was written.
checks=$((checks + 1))
ssh -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-o UserKnownHostsFile="$TMP/known_hosts" -i "$SSHD_KEY" \
	-p "$SSHD_PORT" root@127.33.0.1 true 2>"$TMP/ssh.err" ||
	fail "ssh refuses the recorded key: $(cat "$TMP/ssh.err")"

# web-b gets a new host key (a reinstalled host, or an attacker).
old_fp=$(fp "$(sshd_host_key b)")
old_pid=$(cat "$SSHD_DIR/b/sshd.pid")
kill "$old_pid"
# Gone before the new one starts on its address (bounded: 60 s).
i=0
while kill -0 "$old_pid" 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
mv "$SSHD_DIR/b" "$SSHD_DIR/b.old"
sshd_start b 127.33.0.2
new_fp=$(fp "$(sshd_host_key b)")
checks=$((checks + 1))
[ "$old_fp" != "$new_fp" ] || fail "the new key is the old one"

run "$DEPLOY" run topology.yml -- echo hello
expect_rc 1 "changed key"
expect_line "$TMP/out" "web-a: hello" "the other host runs"
expect_no_match "$TMP/out" "web-b" "web-b runs nothing"
expect_line "$TMP/err" "deploy: host key of 'web-b' ([127.33.0.2]:$SSHD_PORT) has changed: $TMP/known_hosts:$b_line has ED25519 key $old_fp, the host presented ED25519 key $new_fp; if the host was reinstalled, remove the old key with: ssh-keygen -R '[127.33.0.2]:$SSHD_PORT' -f $TMP/known_hosts" "both fingerprints"
expect_line "$TMP/err" "1 ok, 1 failed, 0 unreachable" "closing line"
expect_same known_hosts.first known_hosts "known_hosts unchanged by a changed key"

# After the operator removes the old key, accept-new takes the new one.
ssh-keygen -q -R "[127.33.0.2]:$SSHD_PORT" -f known_hosts >/dev/null 2>&1
rm -f known_hosts.old
run "$DEPLOY" run topology.yml -- true
expect_rc 0 "after ssh-keygen -R"
expect_line known_hosts "$(line_of 127.33.0.2 "$(sshd_host_key b)")" "new key recorded"

# strict: an unknown key is refused, with its fingerprint; nothing written.
rm -f known_hosts
SSHD_TOPO_SSH="  host_keys: strict" sshd_topology strict.yml \
	web:web-a@127.33.0.1 web:web-b@127.33.0.2
run "$DEPLOY" run strict.yml -- true
expect_rc 1 "strict and unknown"
expect_line "$TMP/err" "deploy: host key of 'web-a' ([127.33.0.1]:$SSHD_PORT) is not known and ssh.host_keys is strict: the host presented ED25519 key $(fp "$(sshd_host_key a)"); check it and add it to $TMP/known_hosts" "strict message"
expect_line "$TMP/err" "0 ok, 2 failed, 0 unreachable" "strict closing line"
checks=$((checks + 1))
[ -e known_hosts ] && fail "strict wrote known_hosts"

# strict with the keys known (as ssh-keyscan would list them): runs.
line_of 127.33.0.1 "$(sshd_host_key a)" >known_hosts
line_of 127.33.0.2 "$(sshd_host_key b)" >>known_hosts
run "$DEPLOY" run strict.yml -- true
expect_rc 0 "strict and known"

# Hashed entries (ssh-keygen -H) are found too.
ssh-keygen -q -H -f known_hosts >/dev/null 2>&1
rm -f known_hosts.old
checks=$((checks + 1))
grep -q '^|1|' known_hosts || fail "ssh-keygen -H did not hash"
run "$DEPLOY" run strict.yml -- true
expect_rc 0 "hashed entries"

# @revoked refuses a key even where another line accepts it.
echo "@revoked * $(cut -d' ' -f1,2 "$(sshd_host_key a)")" >>known_hosts
run "$DEPLOY" run strict.yml -- true
expect_rc 1 "revoked"
expect_line "$TMP/err" "deploy: host key of 'web-a' ([127.33.0.1]:$SSHD_PORT) is revoked in $TMP/known_hosts:3: ED25519 key $(fp "$(sshd_host_key a)")" "revoked message"
finish
