#!/bin/sh
# core/http's libuv driver (http-uv.c) on a loop that is not its own: many
# exchanges in flight on one http_client while another handle of the same
# loop (a repeating timer) keeps running, every answer whole; a server that
# answers too late is cut by the exchange's own timeout, an answer past the
# cap by the cap, on the caller's loop as on http_do_many()'s private one;
# the loop ends when the exchanges do (the client holds it no longer);
# the requests' stop flag ends exchanges in flight and unsent at once.
# The server is tests/helper/hold-server.py (a slow one: --delay).
. "$TESTLIB"

pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

mkdir srv
head -c 1048576 /dev/urandom >srv/big
echo small >srv/small

# start NAME DELAY: a server delaying each answer by DELAY seconds.
start() {
	python3 "$SRCDIR/tests/helper/hold-server.py" --dir srv \
		--bind 127.0.0.1 --port-file "$1.port" --log "$1.log" \
		--delay "$2" 2>"$1.err" &
	pids="$pids $!"
	i=0
	while [ ! -s "$1.port" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$1.port" ] || { fail "$1 did not start"; cat "$1.err" >&2; finish; }
	url="http://127.0.0.1:$(cat "$1.port")"
}
start quick 0.2
quick=$url
start slow 5
slow=$url

# 24 at once (16 in flight at most), each answered after 0.2 s, on the
# tool's loop beside its timer.
set --
i=0
while [ $i -lt 24 ]; do
	set -- "$@" "$quick/big"
	i=$((i + 1))
done
run "$TEST_TOOL" http-get --loop 16 "$@"
expect_rc 0 "24 exchanges on the caller's loop"
checks=$((checks + 1))
n=$(grep -cx "200 1048576 $quick/big" "$TMP/out")
[ "$n" = 24 ] || { fail "every answer whole: $n of 24"; cat "$TMP/out" >&2; }
expect_line "$TMP/out" "loop: timer ran while exchanges were in flight" "the loop was shared, not blocked"
checks=$((checks + 1))
n=$(grep -c '^GET /big' quick.log)
[ "$n" = 24 ] || fail "the server saw 24 requests, not $n"

# Timeouts and the cap, on the caller's loop and on a private one.
for mode in --loop --parallel; do
	run "$TEST_TOOL" http-get $mode 4 --timeout 500 "$slow/small" "$quick/small"
	expect_rc 1 "$mode: one exchange timed out"
	expect_line "$TMP/out" "error $slow/small: GET $slow/small: no answer within 500 ms" "$mode: the timeout, named"
	expect_line "$TMP/out" "200 6 $quick/small" "$mode: the other one answered"
	run "$TEST_TOOL" http-get $mode 4 --max 1000 "$quick/big" "$quick/small"
	expect_rc 1 "$mode: one answer past the cap"
	expect_line "$TMP/out" "error $quick/big: GET $quick/big: the answer is larger than 1000 bytes" "$mode: the cap, named"
	expect_line "$TMP/out" "200 6 $quick/small" "$mode: the small one whole"
done

# The requests' stop flag (SIGINT sets it, as deploy's handler does): on a
# server that answers after 120 s, the two exchanges in flight (one may
# wait for the other's connection) end as interrupted, the two not started
# yet are never sent, and the tool ends
# within 20 s (a bound that only catches the wait for the answers).
start held 120
held=$url
for mode in --loop --parallel; do
	: >held.log
	"$TEST_TOOL" http-get $mode 2 --timeout 600000 --stop-on-sigint \
		"$held/small" "$held/small" "$held/small" "$held/small" \
		>"$TMP/out" 2>"$TMP/err" &
	tool=$!
	i=0
	while ! grep -q '^GET' held.log && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -INT "$tool"
	i=0
	while kill -0 "$tool" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	checks=$((checks + 1))
	if kill -0 "$tool" 2>/dev/null; then
		fail "$mode: still running 20 s after SIGINT"
		kill -KILL "$tool"
	fi
	wait "$tool"
	rc=$?
	expect_rc 1 "$mode: interrupted"
	checks=$((checks + 1))
	[ "$(grep -cx "error $held/small: GET $held/small: interrupted" "$TMP/out")" = 2 ] ||
		{ fail "$mode: the two in flight ended as interrupted"; cat "$TMP/out" >&2; }
	checks=$((checks + 1))
	[ "$(grep -cx "error $held/small: GET $held/small: interrupted before it was sent" "$TMP/out")" = 2 ] ||
		{ fail "$mode: the two waiting were never sent"; cat "$TMP/out" >&2; }
	checks=$((checks + 1))
	[ "$(grep -c '^GET' held.log)" -le 2 ] || fail "$mode: the server saw at most 2 requests"
done
finish
