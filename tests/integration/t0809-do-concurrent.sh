#!/bin/sh
# DigitalOcean calls at once (tests/helper/do-server.py holds each request
# --latency-ms, as the real API takes time, and logs how many were in
# flight): up creates a role's droplets and the roles' firewalls with
# several requests in flight; down deletes the droplets with several in
# flight, and only once every droplet's delete was answered the firewalls
# and the VPC; a 429 whose ratelimit-reset lies ahead holds every request
# until then; one create refused among six keeps the five made recorded,
# and the next up makes only the missing one.
. "$TESTLIB"
. "$SRCDIR/tests/integration/do-lib.sh"

name="t0809-$$"
cleanup() {
	do_stop
	rm -rf "$TMP"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N "" -C t0809 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {digitalocean: {region: fra1}}
roles:
  node: {count: 6, firewall: [{port: 9000, from: world}]}
  seed: {firewall: [{port: 9000, from: [node]}]}
TOPO

# stat KIND: "N max" for the requests "METHOD PATH-PREFIX" (KIND) in the
# log: how many, and the most in flight while one of them was read.
stat() {
	"$DO_PY" - "$DO_LOG" "$1" <<'PY'
import json, sys
m, p = sys.argv[2].split(" ", 1)
es = [json.loads(l) for l in open(sys.argv[1])]
es = [e for e in es if e.get("method") == m and e["path"].startswith(p)]
print(len(es), max([e["in_flight"] for e in es] or [0]))
PY
}

# --- up and down with calls at once -----------------------------------------

do_start --latency-ms 150 --active-ms 200
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_line "$TMP/out" "Up: 7 created, 0 destroyed, 0 unchanged." "up: 7 made"
set -- $(stat "POST /v2/droplets")
[ "$1" = 7 ] || fail "up: $1 droplet creates, expected 7"
[ "$2" -gt 1 ] || fail "up: droplet creates one at a time (at most $2 in flight)"
set -- $(stat "POST /v2/firewalls")
[ "$1" = 2 ] || fail "up: $1 firewall creates, expected 2"
[ "$2" -gt 1 ] || fail "up: firewall creates one at a time"
checks=$((checks + 4))

# plan reads the 7 recorded droplets with one list, not a GET each.
: >"$DO_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan"
set -- $(stat "GET /v2/droplets/")
[ "$1" = 0 ] || fail "plan: $1 GETs of one droplet, expected 0 (one list)"
set -- $(stat "GET /v2/droplets") # the list: no GET of one droplet above
[ "$1" -ge 1 ] || fail "plan: the droplets were not listed"
checks=$((checks + 2))

: >"$DO_LOG"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
set -- $(stat "DELETE /v2/droplets/")
[ "$1" = 7 ] || fail "down: $1 droplet deletes, expected 7"
[ "$2" -gt 1 ] || fail "down: droplet deletes one at a time (at most $2 in flight)"
set -- $(stat "DELETE /v2/firewalls/")
[ "$1" = 2 ] || fail "down: $1 firewall deletes, expected 2"
checks=$((checks + 3))
# Every droplet's delete answered before the first firewall or VPC delete
# was asked.
"$DO_PY" - "$DO_LOG" <<'PY' >"$TMP/have"
import json, sys
es = [json.loads(l) for l in open(sys.argv[1])]
es = [e for e in es if e.get("method") == "DELETE"]
drops = [e["t1"] for e in es if e["path"].startswith("/v2/droplets/")]
after = [e["t0"] for e in es if e["path"].startswith(("/v2/firewalls/", "/v2/vpcs/"))]
print("in order" if drops and after and max(drops) <= min(after) else
      "out of order: %r %r" % (drops, after))
PY
echo "in order" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "down: droplets before firewalls and VPC"
n=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" | "$DO_PY" -c 'import json, sys; print(len(json.load(sys.stdin)["droplets"]))')
[ "$n" = 0 ] || fail "down: $n droplets left"
checks=$((checks + 1))

# --- a 429 with a reset ahead -------------------------------------------------

# The first droplet create is refused with ratelimit-remaining 0 and a
# reset 2 s ahead (no Retry-After): no request goes out before the reset
# (ratelimit-reset is a whole epoch second: at least 1 s on), every
# droplet is made, and the run ends (the wait is bounded).
do_start --latency-ms 50 --active-ms 200 --throttle 1 \
	--throttle-match "POST /v2/droplets" --throttle-reset 2
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "429 with a reset"
"$DO_PY" - "$DO_LOG" <<'PY' >"$TMP/have"
import json, sys
es = [json.loads(l) for l in open(sys.argv[1])]
es = [e for e in es if "method" in e]
refused = [e for e in es if e["status"] == 429]
t = refused[0]["t1"] if len(refused) == 1 else None
later = [e["t0"] - t for e in es if t is not None and e["t0"] > t]
made = [e for e in es if e["method"] == "POST" and
        e["path"] == "/v2/droplets" and e["status"] == 202]
print("%d refused, %d made, %s" % (len(refused), len(made),
      "held" if later and min(later) >= 0.9 else "not held: %r" % later[:3]))
PY
echo "1 refused, 7 made, held" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "429 with a reset: honoured"
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down after the 429"

# --- one create refused among six -------------------------------------------

do_start --latency-ms 50 --active-ms 200 --fail 1 \
	--fail-match "POST /v2/droplets" --fail-status 422
run "$DEPLOY" up --yes topo.yml
expect_rc 1 "one create refused"
"$DO_PY" - ".deploy/$name.state.json" <<'PY' >"$TMP/have"
import json, sys
s = json.load(open(sys.argv[1]))
hosts = [r for r in s["resources"] if r["provider"] == "digitalocean"
         and r["kind"] == "host"]
print("%d recorded with an id, %d without" % (
    sum(1 for r in hosts if r.get("id")),
    sum(1 for r in hosts if not r.get("id"))))
PY
# The seed's droplet too: both roles are one level.
echo "6 recorded with an id, 1 without" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "one create refused: the others recorded"
set -- $(stat "POST /v2/droplets")
[ "$1" = 7 ] || fail "one create refused: $1 creates asked, expected 7"
checks=$((checks + 1))
: >"$DO_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after the refusal"
set -- $(stat "POST /v2/droplets")
[ "$1" = 1 ] || fail "up after the refusal: $1 creates, expected 1"
n=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" | "$DO_PY" -c 'import json, sys; print(len(json.load(sys.stdin)["droplets"]))')
[ "$n" = 7 ] || fail "up after the refusal: $n droplets, expected 7"
checks=$((checks + 2))
run "$DEPLOY" down --yes topo.yml
expect_rc 0 "last down"

finish
