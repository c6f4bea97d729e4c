#!/bin/sh
# The DigitalOcean API client (providers/digitalocean/api.h) against the
# test server (tests/helper/do-server.py), through deploy-test-tool do-call
# and do-list: paging across three pages, a burst of 429s survived and an
# endless one stopped with the code named, 5xx retried for a read and never
# for a create, a wrong token refused once with where it came from, the
# error text, the client-side limiter keeping under the server's limit
# (and the server refusing when it does not), and a next link that leaves
# the API's address refused.
. "$TESTLIB"
. "$SRCDIR/tests/integration/do-lib.sh"
: "${TEST_TOOL:?TEST_TOOL must name deploy-test-tool}"

cleanup() {
	do_stop
	rm -rf "$TMP"
}
trap cleanup EXIT

# stat NAME: a counter from the last run's output.
stat() {
	sed -n "s/^$1: //p" "$TMP/out"
}

expect_stat() {
	checks=$((checks + 1))
	got=$(stat "$1")
	[ "$got" = "$2" ] || fail "$3: $1 $got, expected $2"
}

# expect_requests what: the server's log as "METHOD PATH STATUS" lines is
# $TMP/want.
expect_requests() {
	do_requests >"$TMP/have"
	expect_same "$TMP/want" "$TMP/have" "$1"
}

# last_request_id: the request ID of the last request the server logged.
last_request_id() {
	tail -n 1 "$DO_LOG" |
		"$DO_PY" -c 'import json,sys; print(json.load(sys.stdin)["request_id"])'
}

CREATE='{"name":"web-0","region":"fra1","size":"s-1vcpu-1gb","image":"debian-12-x64","tags":["deploy:topology:t0801"]}'

# --- paging across three pages ---------------------------------------------

do_start --seed-droplets 45 --seed-tag deploy:topology:seed
DEPLOY_DO_PAGE_SIZE=20 run "$TEST_TOOL" do-list \
	"/v2/droplets?tag_name=deploy:topology:seed" droplets
expect_rc 0 "three pages"
expect_stat items 45 "three pages: every droplet"
expect_stat calls 3 "three pages: one call each"
"$DO_PY" -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e["path"], " ".join("%s=%s" % kv for kv in sorted(e["query"].items())))
' "$DO_LOG" >"$TMP/have"
cat >"$TMP/want" <<WANT
/v2/droplets per_page=20 tag_name=deploy:topology:seed
/v2/droplets page=2 per_page=20 tag_name=deploy:topology:seed
/v2/droplets page=3 per_page=20 tag_name=deploy:topology:seed
WANT
expect_same "$TMP/want" "$TMP/have" "three pages: the queries"
n=$(grep ' seed-' "$TMP/out" | sort -u | wc -l)
[ "$n" = 45 ] || fail "three pages: $n distinct droplets"
checks=$((checks + 1))

run "$TEST_TOOL" do-list "/v2/droplets?tag_name=deploy:topology:seed" \
	droplets
expect_stat calls 1 "per_page 200 by default: one page"

# --- a burst of 429s -----------------------------------------------------------

do_start --throttle 3
run "$TEST_TOOL" do-call GET /v2/account
expect_rc 0 "burst of 429"
expect_stat calls 4 "burst of 429: calls"
expect_stat throttled 3 "burst of 429: throttled"
printf 'GET /v2/account 429\nGET /v2/account 429\nGET /v2/account 429\nGET /v2/account 200\n' >"$TMP/want"
expect_requests "burst of 429: the requests"

# A refused create is asked again: one droplet in the end.
do_start --throttle 2 --throttle-match "POST /v2/droplets"
run "$TEST_TOOL" do-call POST /v2/droplets "$CREATE"
expect_rc 0 "throttled create"
expect_line "$TMP/out" "status: 202" "throttled create: accepted"
printf 'POST /v2/droplets 429\nPOST /v2/droplets 429\nPOST /v2/droplets 202\n' >"$TMP/want"
expect_requests "throttled create: asked again after each 429"
n=$(do_get "/v2/droplets?tag_name=deploy:topology:t0801" |
	"$DO_PY" -c 'import json,sys; print(len(json.load(sys.stdin)["droplets"]))')
[ "$n" = 1 ] || fail "throttled create: $n droplets, expected 1"
checks=$((checks + 1))

# --- endless 429 -------------------------------------------------------------

do_start --throttle-forever
start=$(date +%s)
run "$TEST_TOOL" do-call GET /v2/account
took=$(($(date +%s) - start))
expect_rc 1 "endless 429"
expect_stat calls 8 "endless 429: bounded"
expect_line "$TMP/err" "digitalocean GET /v2/account: too_many_requests: API rate limit exceeded. (request $(last_request_id)) (after 8 attempts)" "endless 429: the code named"
# Retry-After: 1 was honoured between the attempts (7 pauses).
[ "$took" -ge 6 ] || fail "endless 429: Retry-After not honoured (${took} s)"
checks=$((checks + 1))

# --- 5xx ---------------------------------------------------------------------

do_start --fail 2 --fail-status 503
run "$TEST_TOOL" do-call GET /v2/account
expect_rc 0 "5xx on a read"
printf 'GET /v2/account 503\nGET /v2/account 503\nGET /v2/account 200\n' >"$TMP/want"
expect_requests "5xx on a read: retried"

do_start --fail 1 --fail-match "POST /v2/droplets"
run "$TEST_TOOL" do-call POST /v2/droplets "$CREATE"
expect_rc 1 "5xx on a create"
printf 'POST /v2/droplets 500\n' >"$TMP/want"
expect_requests "5xx on a create: never sent twice"
expect_line "$TMP/err" "digitalocean POST /v2/droplets: server_error: Server was unable to give you a response. (request $(last_request_id))" "5xx on a create: the error"

# --safe marks a POST that may be repeated.
do_start --fail 1 --fail-match "POST /v2/tags"
run "$TEST_TOOL" do-call --safe POST /v2/tags '{"name":"deploy:role:web"}'
expect_rc 0 "5xx on a safe POST"
printf 'POST /v2/tags 500\nPOST /v2/tags 201\n' >"$TMP/want"
expect_requests "5xx on a safe POST: retried"

# --- a wrong token, and a refused body --------------------------------------

do_start
DIGITALOCEAN_TOKEN=dop_v1_wrong run "$TEST_TOOL" do-call GET /v2/account
expect_rc 1 "wrong token"
printf 'GET /v2/account 401\n' >"$TMP/want"
expect_requests "wrong token: asked once"
expect_line "$TMP/err" "digitalocean GET /v2/account: unauthorized: Unable to authenticate you (request $(last_request_id)); the token came from DIGITALOCEAN_TOKEN" "wrong token: the error"
expect_no_match "$TMP/err" "dop_v1_wrong" "wrong token: never shown"
expect_no_match "$DO_LOG" "dop_v1_wrong" "wrong token: never logged"

run "$TEST_TOOL" do-call POST /v2/droplets \
	'{"name":"web-0","size":"s-1vcpu-1gb","image":"debian-12-x64","colour":"blue"}'
expect_rc 1 "unknown field"
expect_line "$TMP/err" "digitalocean POST /v2/droplets: unprocessable_entity: unknown field 'colour' (request $(last_request_id))" "unknown field: the error"
expect_line "$TMP/out" "error_id: unprocessable_entity" "unknown field: the id"

# --- nothing listening ---------------------------------------------------------

do_stop
run "$TEST_TOOL" do-call GET /v2/account
expect_rc 1 "no server: read"
expect_stat calls 8 "no server: a read is tried 8 times"
run "$TEST_TOOL" do-call POST /v2/droplets "$CREATE"
expect_rc 1 "no server: create"
expect_stat calls 1 "no server: a create is tried once"
grep -qF "(digitalocean POST /v2/droplets not repeated: it may have been carried out)" "$TMP/err" ||
	fail "no server: create: $(cat "$TMP/err")"
checks=$((checks + 1))

# --- the client-side limiter -------------------------------------------------
# The server allows 5 requests in any 5 s; so does the client (its
# "minute" shortened to 5 s): 12 calls, none refused, some waiting. With
# the client's limit above the server's, the server refuses. (A window of
# seconds, not less: on a busy machine 6 calls must still fit in one.)

do_start --per-minute 5 --window-s 5
DEPLOY_DO_RATE_PER_MIN=5 DEPLOY_DO_RATE_WINDOW_S=5 run "$TEST_TOOL" \
	do-list --repeat 12 /v2/regions regions
expect_rc 0 "limiter"
expect_stat calls 12 "limiter: calls"
expect_stat throttled 0 "limiter: never refused"
[ "$(stat waited_ms)" -gt 1000 ] || fail "limiter: waited $(stat waited_ms) ms"
checks=$((checks + 1))
expect_no_match "$DO_LOG" '"status": 429' "limiter: the server never refused"

do_start --per-minute 5 --window-s 5
DEPLOY_DO_RATE_PER_MIN=50 DEPLOY_DO_RATE_WINDOW_S=5 run "$TEST_TOOL" \
	do-list --repeat 12 /v2/regions regions
expect_rc 0 "without the limiter"
[ "$(stat throttled)" -gt 0 ] || fail "without the limiter: the server never refused"
checks=$((checks + 1))

# --- a next link elsewhere ---------------------------------------------------

do_start --seed-droplets 3 --links-base http://198.51.100.1:8080
DEPLOY_DO_PAGE_SIZE=2 run "$TEST_TOOL" do-list /v2/droplets droplets
expect_rc 1 "next link elsewhere"
expect_line "$TMP/err" "digitalocean GET /v2/droplets: the next page is at http://198.51.100.1:8080/v2/droplets, not on the API's address (the token is not sent there)" "next link elsewhere"
expect_stat calls 1 "next link elsewhere: not followed"

finish
