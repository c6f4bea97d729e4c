#!/bin/sh
# DigitalOcean errors at the level of deploy up: a wrong token is a clear
# error and nothing is made; a burst of 429s on the droplet creates is
# survived; an endless 429 stops with the code named; lists walk every page
# (a page size of 1: the topology's three droplets over three pages); an
# error message that quotes the token shows it nowhere.
. "$TESTLIB"
. "$SRCDIR/tests/integration/do-lib.sh"

name="t0804-$$"
cleanup() {
	do_stop
	rm -rf "$TMP"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N "" -C t0804 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {digitalocean: {region: nyc3}}
roles:
  node: {count: 3}
TOPO

mutating() {
	do_requests | grep -v '^GET ' || true
}

py() {
	"$DO_PY" -c "import json, sys; d = json.load(sys.stdin); $1"
}

# --- a wrong token ---------------------------------------------------------

do_start
DIGITALOCEAN_TOKEN=dop_v1_wrong run "$DEPLOY" up --yes topo.yml
expect_rc 1 "wrong token"
grep -q "digitalocean GET /v2/[a-z]*: unauthorized: Unable to authenticate you (request [0-9a-f-]*); the token came from DIGITALOCEAN_TOKEN" "$TMP/err" ||
	fail "wrong token: $(cat "$TMP/err")"
checks=$((checks + 1))
expect_no_match "$TMP/err" "dop_v1_wrong" "wrong token: never shown"
mutating >"$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "wrong token: nothing made"

# --- a burst of 429s, and pages of one ------------------------------------------

do_start --throttle 4 --throttle-match "POST /v2/droplets" --active-ms 200
DEPLOY_DO_PAGE_SIZE=1 run "$DEPLOY" up --yes topo.yml
expect_rc 0 "burst of 429"
expect_line "$TMP/out" "Up: 3 created, 0 destroyed, 0 unchanged." "burst of 429: up"
n=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" | py 'print(len(d["droplets"]))')
[ "$n" = 3 ] || fail "burst of 429: $n droplets, expected 3"
checks=$((checks + 1))
do_requests | grep -c '^POST /v2/droplets 429' >"$TMP/n"
[ "$(cat "$TMP/n")" = 4 ] || fail "burst of 429: $(cat "$TMP/n") refusals logged"
checks=$((checks + 1))
# The wait's list by the topology's tag walked three pages of one.
"$DO_PY" -c '
import json, sys
pages = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("path") == "/v2/droplets" and e.get("method") == "GET" and \
            e["query"].get("tag_name", "").startswith("deploy:topology:") \
            and "per_page" in e["query"]:
        pages.add((e["query"].get("page", "1"), e["query"]["per_page"]))
print(" ".join("%s/%s" % p for p in sorted(pages)))
' "$DO_LOG" >"$TMP/have"
echo "1/1 2/1 3/1" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "pages of one: three pages walked"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down after the burst"

# --- endless 429 ------------------------------------------------------------

do_start --throttle-forever
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "endless 429"
grep -q "digitalocean GET /v2/[a-z]*: too_many_requests: API rate limit exceeded. (request [0-9a-f-]*) (after 8 attempts)" "$TMP/err" ||
	fail "endless 429: $(cat "$TMP/err")"
checks=$((checks + 1))

# --- an error that quotes the token -----------------------------------------

# A broken server (or proxy) quotes the Authorization header it got in
# its error message, as it is and in base64: neither reaches the error,
# plan's --json or the state.
# token_forms: the token of this server start, raw and as it echoes it.
token_forms() {
	forms="$forms $DO_TOKEN $(printf 'Bearer %s' "$DO_TOKEN" | base64 -w0)"
}
forms=
do_start --fail 1 --fail-match "GET /v2/" --fail-status 400 --fail-echo
token_forms
run "$DEPLOY" plan --json topo.yml
expect_rc 1 "an echoed token: plan --json"
cp "$TMP/out" "$TMP/echo-plan.out"
cp "$TMP/err" "$TMP/echo-plan.err"
do_start --fail 1 --fail-match "GET /v2/" --fail-status 400 --fail-echo
token_forms
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "an echoed token: up"
checks=$((checks + 1))
grep -q "server_error: Server was unable to give you a response. You sent: \[secret digitalocean token\] (\[secret digitalocean token\])" "$TMP/err" ||
	fail "an echoed token: up's error: $(cat "$TMP/err")"
for form in $forms; do
	checks=$((checks + 1))
	hits=$(grep -rlF -e "$form" "$TMP/out" "$TMP/err" "$TMP/echo-plan.out" \
		"$TMP/echo-plan.err" .deploy 2>/dev/null)
	[ -z "$hits" ] || fail "an echoed token in: $(echo $hits)"
done

finish
