#!/bin/sh
# Output past the in-memory cap (1 MiB per stream): --group shows the end
# and says what was left out, the log holds all of it, streaming prints all
# of it. A command past --timeout fails its host alone.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 39
sshd_start a 127.39.0.1
sshd_start b 127.39.0.2
sshd_topology topology.yml web:web-1@127.39.0.1 web:web-2@127.39.0.2

# 300000 lines of 7 bytes: 2100000 bytes.
run "$DEPLOY" run --group --limit web-1 topology.yml -- seq -w 1 300000
expect_rc 0 "big output"
checks=$((checks + 1))
size=$(wc -c <"$TMP/out")
# Three header lines, then at most 1 MiB (and the newline added to a
# line cut at the front does not count).
[ "$size" -le $((1048576 + 3 * 20)) ] || fail "--group printed $size bytes"
checks=$((checks + 1))
[ "$size" -ge 1048576 ] || fail "--group printed only $size bytes"
checks=$((checks + 1))
[ "$(tail -n 1 "$TMP/out")" = 300000 ] || fail "the end is not there"
expect_line "$TMP/err" "deploy: host 'web-1': only the last 1.0 MiB of its output is shown (1.0 MiB before it were left out); all of it is in .deploy/logs/web-1.log" "dropped note"
checks=$((checks + 1))
[ "$(grep -c '^[0-9]\{6\}$' .deploy/logs/web-1.log)" -eq 300000 ] ||
	fail "the log does not hold every line"
checks=$((checks + 1))
grep -q '^000001$' .deploy/logs/web-1.log || fail "the log lost the start"

# Without --group every line is printed as it comes.
run "$DEPLOY" run --limit web-1 topology.yml -- seq -w 1 300000
expect_rc 0 "big output streamed"
checks=$((checks + 1))
[ "$(grep -c '^web-1: [0-9]\{6\}$' "$TMP/out")" -eq 300000 ] || fail "streamed lines missing"

# Standard error is capped the same way, apart from standard output.
run "$DEPLOY" run --group --limit web-2 topology.yml -- 'seq -w 1 300000 >&2; echo out'
expect_rc 0 "big stderr"
expect_line "$TMP/out" "out" "stdout kept whole"

# --timeout: web-1's command outlives it, web-2's does not (10 s is room
# for web-2 on a busy machine; web-1 would sleep 10 minutes: it leaves its
# PID, killed below, since sshd leaves it running).
start=$(date +%s)
run "$DEPLOY" run --timeout 10 topology.yml -- \
	'case $SSH_CONNECTION in *" 127.39.0.1 "*) echo $$ >'"$TMP/sleeper"'; exec sleep 600 ;; esac; echo done'
end=$(date +%s)
[ -s "$TMP/sleeper" ] && kill "$(cat "$TMP/sleeper")"
expect_rc 1 "command timeout"
expect_line "$TMP/err" "deploy: host 'web-1': command timed out after 10 s" "timeout message"
expect_line "$TMP/out" "web-2: done" "web-2 finished"
expect_line "$TMP/err" "1 ok, 1 failed, 0 unreachable" "timeout closing line"
# Bounded, not fast: the run ends long before web-1's sleep would.
checks=$((checks + 1))
[ $((end - start)) -lt 120 ] || fail "the run took $((end - start)) s"
finish
