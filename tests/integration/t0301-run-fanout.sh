#!/bin/sh
# deploy run on 50 sshd hosts at once: every host's line, the closing
# line, the logs, and host keys recorded on first contact and used after.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 31
specs=""
i=1
while [ $i -le 50 ]; do
	sshd_start "h$i" "127.31.0.$i"
	specs="$specs web:web-$i@127.31.0.$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
sshd_topology topology.yml $specs

run "$DEPLOY" run topology.yml -- 'echo "up on $(echo $SSH_CONNECTION | cut -d" " -f3)"'
expect_rc 0 "50 hosts"
i=1
while [ $i -le 50 ]; do
	expect_line "$TMP/out" "web-$i: up on 127.31.0.$i" "web-$i line"
	i=$((i + 1))
done
checks=$((checks + 1))
[ "$(wc -l <"$TMP/out")" -eq 50 ] || fail "expected 50 lines, got $(wc -l <"$TMP/out")"
expect_line "$TMP/err" "50 ok, 0 failed, 0 unreachable" "closing line"

# accept-new wrote every key, once, in OpenSSH's format.
checks=$((checks + 1))
[ "$(wc -l <known_hosts)" -eq 50 ] || fail "known_hosts has $(wc -l <known_hosts) lines"
for i in 1 17 50; do
	expect_line known_hosts "[127.31.0.$i]:$SSHD_PORT $(cut -d' ' -f1,2 "$(sshd_host_key "h$i")")" "key of h$i recorded"
done
checks=$((checks + 1))
ssh-keygen -F "[127.31.0.9]:$SSHD_PORT" -f known_hosts >/dev/null || fail "ssh-keygen cannot find h9 in known_hosts"
checks=$((checks + 1))
ls -a | grep -q 'known_hosts\.deploy-' && fail "temporary known_hosts file left"

# The sessions run with sshd-lib.sh's empty HOME, not root's (whose
# ~/.bashrc may take seconds per session).
run "$DEPLOY" run --limit web-1 topology.yml -- 'echo "home $HOME"'
expect_line "$TMP/out" "web-1: home $SSHD_DIR/home" "the session's HOME"

# A second run uses the recorded keys and changes nothing; fewer slots.
cp known_hosts known_hosts.before
run "$DEPLOY" run --parallel 7 topology.yml -- echo again
expect_rc 0 "second run"
expect_line "$TMP/err" "50 ok, 0 failed, 0 unreachable" "second closing line"
expect_line "$TMP/out" "web-33: again" "second run output"
expect_same known_hosts.before known_hosts "known_hosts unchanged"

# Each host's log holds both runs, with a header naming the command.
checks=$((checks + 1))
[ "$(stat -c %a .deploy/logs)" = 700 ] || fail "logs directory mode $(stat -c %a .deploy/logs)"
checks=$((checks + 1))
[ "$(stat -c %a .deploy/logs/web-5.log)" = 600 ] || fail "log mode"
expect_line .deploy/logs/web-5.log "up on 127.31.0.5" "first output in the log"
expect_line .deploy/logs/web-5.log "again" "second output in the log"
checks=$((checks + 1))
[ "$(grep -c '^== exit 0 (' .deploy/logs/web-5.log)" -eq 2 ] || fail "two exit lines expected"
checks=$((checks + 1))
[ "$(grep -c '^== .* root@127.31.0.5:[0-9]* \$ echo again$' .deploy/logs/web-5.log)" -eq 1 ] ||
	fail "no header line for the second command"
finish
