#!/bin/sh
# A user other than root runs the command through 'sudo -n': as root with
# passwordless sudo, and failing with a clear message without it.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 38
ok_user=dpu$$
no_user=dpn$$
sshd_user "$ok_user"
sshd_user "$no_user"
sshd_sudoers "$ok_user" "$ok_user ALL=(ALL) NOPASSWD: ALL"
sshd_start a 127.38.0.1

cat >topology.yml <<YAML
version: 1
name: sudo
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
roles:
  web:
    provider: ssh
    hosts:
      - {name: with-sudo, address: 127.38.0.1, port: $SSHD_PORT, user: $ok_user}
      - {name: no-sudo, address: 127.38.0.1, port: $SSHD_PORT, user: $no_user}
      - {name: as-root, address: 127.38.0.1, port: $SSHD_PORT}
YAML

run "$DEPLOY" run topology.yml -- 'id -u; echo "it'"'"'s quoted"'
expect_rc 1 "sudo"
expect_line "$TMP/out" "with-sudo: 0" "NOPASSWD sudo runs as root"
expect_line "$TMP/out" "with-sudo: it's quoted" "quotes survive sudo"
expect_line "$TMP/out" "as-root: 0" "root needs no sudo"
expect_line "$TMP/err" "deploy: sudo on 'no-sudo' needs a password: give '$no_user' passwordless sudo (NOPASSWD) or connect as root" "sudo message"
expect_line "$TMP/err" "2 ok, 1 failed, 0 unreachable" "closing line"
expect_no_match "$TMP/out" "no-sudo" "no-sudo ran nothing"

# The user logged in as themselves: sudo made root.
checks=$((checks + 1))
grep -q "Accepted publickey for $ok_user" "$SSHD_DIR/a/log" || fail "not logged in as $ok_user"
finish
