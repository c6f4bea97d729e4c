#!/bin/sh
# core/http keeps connections alive and reuses them per endpoint: calls one
# after another to two HTTPS servers on loopback (a test CA, trusted
# through CURL_CA_BUNDLE) cost one TLS handshake per server, however many
# calls; calls at once open no more connections than the parallel limit
# and still reuse them; a server whose certificate the CA did not sign is
# refused. The servers (tests/helper/tls-server.py) log each handshake.
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

# A CA and a certificate for 127.0.0.1 signed by it.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=deploy test CA" \
	-keyout ca.key -out ca.pem >/dev/null 2>&1 || fail "the CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	-keyout srv.key -out srv.csr >/dev/null 2>&1 || fail "the request"
printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 2 -extfile san.ext -out srv.pem >/dev/null 2>&1 || fail "the certificate"

# start NAME: a server logging to NAME.log; its URL in $url.
start() {
	python3 "$SRCDIR/tests/helper/tls-server.py" --cert srv.pem --key srv.key \
		--port-file "$1.port" --log "$1.log" 2>"$1.err" &
	pids="$pids $!"
	i=0
	while [ ! -s "$1.port" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$1.port" ] || { fail "$1 did not start"; cat "$1.err" >&2; finish; }
	: >"$1.log"
	url="https://127.0.0.1:$(cat "$1.port")"
}
start a
a=$url
start b
b=$url

# handshakes NAME, requests NAME: counted from the server's log.
handshakes() { grep -c '^handshake ' "$1.log"; }
requests() { grep -c '^GET ' "$1.log"; }

# expect_count WHAT GOT WANT
expect_count() {
	checks=$((checks + 1))
	[ "$2" = "$3" ] || fail "$1: $2, expected $3"
}

# Not trusted without the test CA: refused before any request.
run "$TEST_TOOL" http-get "$a/untrusted"
expect_rc 1 "a server the system's CAs do not know"
expect_count "requests a server got before its certificate was trusted" "$(requests a)" 0

export CURL_CA_BUNDLE="$TMP/ca.pem"
: >a.log

# Ten calls, one after another, alternating between the two servers.
set --
for i in 1 2 3 4 5; do
	set -- "$@" "$a/one-by-one/$i" "$b/one-by-one/$i"
done
run "$TEST_TOOL" http-get "$@"
expect_rc 0 "ten calls one by one"
expect_count "answers" "$(grep -c '^200 3 ' "$TMP/out")" 10
expect_count "server a: requests" "$(requests a)" 5
expect_count "server b: requests" "$(requests b)" 5
expect_count "server a: handshakes for 5 calls" "$(handshakes a)" 1
expect_count "server b: handshakes for 5 calls" "$(handshakes b)" 1

# Twelve at once to a, at most three in flight: at most three
# connections, so at most three handshakes for all fifteen calls.
: >a.log
set --
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	set -- "$@" "$a/at-once/$i"
done
run "$TEST_TOOL" http-get --parallel 3 "$@"
expect_rc 0 "twelve calls at once"
expect_count "answers at once" "$(grep -c '^200 3 ' "$TMP/out")" 12
expect_count "server a: requests at once" "$(requests a)" 12
checks=$((checks + 1))
[ "$(handshakes a)" -le 3 ] || fail "server a: $(handshakes a) handshakes for 12 calls, 3 at most in flight"

# A certificate the CA did not sign: refused.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout other.key -out other.pem >/dev/null 2>&1 ||
	fail "the other certificate"
python3 "$SRCDIR/tests/helper/tls-server.py" --cert other.pem --key other.key \
	--port-file c.port --log c.log 2>c.err &
pids="$pids $!"
i=0
while [ ! -s c.port ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
: >c.log
run "$TEST_TOOL" http-get "https://127.0.0.1:$(cat c.port)/self-signed"
expect_rc 1 "a certificate the CA did not sign"
expect_count "requests with a certificate the CA did not sign" "$(requests c)" 0

finish
