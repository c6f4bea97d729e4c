#!/bin/sh
# core/http's libuv driver (http-uv.c) on a loop that is not its own: many
# exchanges in flight on one http_client while another handle of the same
# loop (a repeating timer) keeps running, every answer whole; a server that
# answers too late is cut by the exchange's own timeout, an answer past the
# cap by the cap, on the caller's loop as on http_do_many()'s private one;
# the loop ends when the exchanges do (the client holds it no longer).
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
finish
