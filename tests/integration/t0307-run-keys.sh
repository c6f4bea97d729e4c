#!/bin/sh
# Key files: an encrypted key with DEPLOY_SSH_KEY_PASSPHRASE, a wrong
# passphrase and none at all (each failing clearly, the passphrase never
# shown), ECDSA and RSA keys, a key named for one host, the default
# ~/.ssh/id_* keys.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 37
sshd_start a 127.37.0.1
sshd_start b 127.37.0.2
# This sshd takes RSA signatures made with SHA-1 (ssh-rsa), which
# libssh2 1.10 makes; OpenSSH refuses them by default since 8.8.
sshd_start rsa 127.37.0.3 "" "PubkeyAcceptedAlgorithms +ssh-rsa"

pass='correct horse battery staple'
ssh-keygen -q -t ed25519 -N "$pass" -C enc -f "$TMP/enc_key"
ssh-keygen -q -t ecdsa -N '' -C ecdsa -f "$TMP/ecdsa_key"
ssh-keygen -q -t rsa -b 3072 -N '' -C rsa -f "$TMP/rsa_key"
cat "$TMP/enc_key.pub" "$TMP/ecdsa_key.pub" "$TMP/rsa_key.pub" >>"$SSHD_DIR/auth/root"

topology() {
	cat <<YAML
version: 1
name: keys
ssh: {key: $1, known_hosts: $TMP/known_hosts}
roles:
  web:
    provider: ssh
    hosts:
      - {name: web-1, address: 127.37.0.1, port: $SSHD_PORT}
      - {name: web-2, address: 127.37.0.2, port: $SSHD_PORT, key: $SSHD_KEY}
YAML
}

# A passphrase from the environment opens the key.
topology "$TMP/enc_key" >enc.yml
run env DEPLOY_SSH_KEY_PASSPHRASE="$pass" "$DEPLOY" run enc.yml -- echo opened </dev/null
expect_rc 0 "encrypted key with the passphrase"
expect_line "$TMP/out" "web-1: opened" "web-1 with the encrypted key"
# web-2 names its own key, which is not encrypted.
expect_line "$TMP/out" "web-2: opened" "web-2 with its own key"

# A wrong one fails the host, says so, and is never printed.
run env DEPLOY_SSH_KEY_PASSPHRASE="not-the-passphrase" "$DEPLOY" run enc.yml -- echo opened </dev/null
expect_rc 1 "wrong passphrase"
expect_line "$TMP/err" "deploy: host 'web-1': permission denied for user 'root' (key '$TMP/enc_key' is encrypted and the passphrase given is wrong)" "wrong passphrase message"
expect_line "$TMP/err" "1 ok, 1 failed, 0 unreachable" "wrong passphrase closing line"
expect_no_match "$TMP/err" "not-the-passphrase" "passphrase not in stderr"
expect_no_match "$TMP/out" "not-the-passphrase" "passphrase not in stdout"
checks=$((checks + 1))
grep -rq "not-the-passphrase" .deploy && fail "passphrase in the logs"

# None given, and no terminal to ask on.
run "$DEPLOY" run enc.yml -- echo opened </dev/null
expect_rc 1 "no passphrase"
expect_line "$TMP/err" "deploy: host 'web-1': permission denied for user 'root' (key '$TMP/enc_key' is encrypted and no passphrase was given (set DEPLOY_SSH_KEY_PASSPHRASE, or run on a terminal))" "no passphrase message"

# On a terminal, deploy asks for it (once, before connecting), with echo
# off; the passphrase typed never shows. onpty.py runs its arguments but
# the last on a terminal and types the last one when asked.
cat >onpty.py <<'PY'
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:-1])
out = b''
deadline = time.time() + 120
sent = False
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not sent and b'Enter passphrase for key' in out:
        os.write(fd, sys.argv[-1].encode() + b'\n')
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace').replace('\r', ''))
sys.exit(os.waitstatus_to_exitcode(status))
PY
run python3 onpty.py "$DEPLOY" run --limit web-1 enc.yml -- echo asked "$pass"
expect_rc 0 "passphrase asked on the terminal"
expect_line "$TMP/out" "Enter passphrase for key '$TMP/enc_key': " "the prompt"
expect_line "$TMP/out" "web-1: asked" "opened with the typed passphrase"
checks=$((checks + 1))
[ "$(grep -c "$pass" "$TMP/out")" -eq 0 ] || fail "the passphrase was echoed"

# ECDSA. (libssh2 1.10 leaks a little reading such a key: see
# lsan-libssh2.supp; these variables matter to sanitizer builds only.)
topology "$TMP/ecdsa_key" >ecdsa.yml
run env ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0" \
	LSAN_OPTIONS="suppressions=$SRCDIR/tests/integration/lsan-libssh2.supp:print_suppressions=0" \
	"$DEPLOY" run --limit web-1 ecdsa.yml -- echo ecdsa
expect_rc 0 "ecdsa key"
expect_line "$TMP/out" "web-1: ecdsa" "ecdsa output"

# RSA: works where the server takes ssh-rsa signatures, and where it
# does not, the message says why.
cat >rsa.yml <<YAML
version: 1
name: keys
ssh: {key: $TMP/rsa_key, known_hosts: $TMP/known_hosts}
roles:
  web:
    provider: ssh
    hosts:
      - {name: rsa-1, address: 127.37.0.3, port: $SSHD_PORT}
      - {name: web-1, address: 127.37.0.1, port: $SSHD_PORT}
YAML
run "$DEPLOY" run rsa.yml -- echo rsa
expect_rc 1 "rsa key"
expect_line "$TMP/out" "rsa-1: rsa" "rsa output"
expect_line "$TMP/err" "deploy: host 'web-1': permission denied for user 'root' (key '$TMP/rsa_key' refused (an RSA key: this build signs with ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse by default; use an ed25519 or ECDSA key))" "rsa refused message"

# The default keys: ~/.ssh/id_ed25519 when the topology names none.
cp "$SSHD_KEY" "$HOME/.ssh/id_ed25519"
cat >default.yml <<YAML
version: 1
name: keys
ssh: {known_hosts: $TMP/known_hosts}
roles:
  web: {provider: ssh, hosts: [{name: web-1, address: 127.37.0.1, port: $SSHD_PORT}]}
YAML
run "$DEPLOY" run default.yml -- echo default
expect_rc 0 "default key"
expect_line "$TMP/out" "web-1: default" "default key output"

# A key file that is not there.
topology "$TMP/missing_key" >missing.yml
run "$DEPLOY" run --limit web-1 missing.yml -- true
expect_rc 1 "missing key"
expect_line "$TMP/err" "deploy: host 'web-1': permission denied for user 'root' (key '$TMP/missing_key': no such file)" "missing key message"
finish
