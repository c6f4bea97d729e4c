#!/bin/sh
# Unreachable hosts fail alone, within the connect timeout: a closed port
# (refused, tried again with backoff) and a listener that takes the
# connection and never speaks. The other hosts run.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 34
sshd_start a 127.34.0.1
sshd_start b 127.34.0.2
sshd_silent 127.34.0.3
# Nothing listens on 127.34.0.4.
sshd_topology topology.yml web:web-1@127.34.0.1 web:web-2@127.34.0.2 \
	web:silent@127.34.0.3 web:closed@127.34.0.4

# 5 s leaves the real hosts' handshakes room on a busy machine.
start=$(date +%s)
run "$DEPLOY" run --connect-timeout 5 topology.yml -- echo hi
end=$(date +%s)
expect_rc 1 "unreachable hosts"
expect_line "$TMP/out" "web-1: hi" "web-1 runs"
expect_line "$TMP/out" "web-2: hi" "web-2 runs"
expect_line "$TMP/err" "deploy: host 'silent' unreachable: 127.34.0.3 port $SSHD_PORT took the connection but the SSH handshake did not finish within 5 s" "silent host"
expect_line "$TMP/err" "deploy: host 'closed' unreachable: connect to 127.34.0.4 port $SSHD_PORT: Connection refused (3 attempts)" "closed port"
expect_line "$TMP/err" "2 ok, 0 failed, 2 unreachable" "closing line"
# Bounded, not fast: the silent listener never speaks, so without the
# connect timeout the run would never end; 60 s is far past 5 s (retries
# included) and still ends on a machine as busy as it gets.
checks=$((checks + 1))
[ $((end - start)) -lt 60 ] || fail "the run took $((end - start)) s"

# The logs say so too.
checks=$((checks + 1))
grep -q "^== unreachable: host 'closed' unreachable: connect to" .deploy/logs/closed.log ||
	fail "no unreachable line in closed.log"
checks=$((checks + 1))
grep -q "^== unreachable: host 'silent' unreachable" .deploy/logs/silent.log ||
	fail "no unreachable line in silent.log"

# With only unreachable hosts, nothing ok.
run "$DEPLOY" run --connect-timeout 1 --limit closed,silent topology.yml -- true
expect_rc 1 "all unreachable"
expect_line "$TMP/err" "0 ok, 0 failed, 2 unreachable" "all unreachable closing line"
finish
