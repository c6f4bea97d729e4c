#!/bin/sh
# DigitalOcean volumes (disk:) and reserved IPs (static_ip:) against the test
# server (tests/helper/do-server.py):
#   - a disk type is refused at the role before anything is made;
#   - up makes a volume per host, attached to its droplet through an action,
#     and a reserved IP assigned to the static_ip host, which becomes its
#     address; the exact create and attach bodies; plan and up again make
#     no mutating call;
#   - a droplet deleted outside deploy is made again alone, its volume
#     attached and its reserved IP assigned to the new one (the address
#     stays);
#   - down keeps the static_ip role's droplet, volume and reserved IP (and
#     what they share); down --include-protected removes them, and a
#     volume of the topology's that no record names: nothing left;
#   - deploy is SIGKILLed after the volume create, the volume attach and the
#     reserved IP create were carried out and before their answers reached
#     it: each next run adopts what the killed one made, so each exists once
#     and is recorded;
#   - deploy is SIGKILLed during down after each kind of delete was carried
#     out: the next down goes on, nothing is left, no delete fails.
. "$TESTLIB"
. "$SRCDIR/tests/integration/do-lib.sh"

name="t0806-$$"
cleanup() {
	do_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
do_start --active-ms 200

ssh-keygen -q -t ed25519 -N "" -C t0806 -f "$TMP/id" || fail "ssh-keygen"
cat >topo.yml <<TOPO
version: 1
name: $name
ssh: {key: $TMP/id, admin_cidrs: [203.0.113.7/32]}
providers: {digitalocean: {region: fra1}}
roles:
  validator: {static_ip: true, disk: 10, firewall: [{port: 7100, from: [sentry]}]}
  sentry: {count: 2, disk: {size: 20}, firewall: [{port: 9000, from: world}]}
TOPO

py() {
	"$DO_PY" -c "import json, sys; d = json.load(sys.stdin); $1"
}

# snapshot FILE: what the server holds, by the names deploy gave, sorted.
snapshot() {
	{
		do_get "/v2/droplets?per_page=200" |
			py 'print("\n".join("droplet %s" % x["name"] for x in d["droplets"]))'
		do_get "/v2/droplets?per_page=200" >"$TMP/droplets.json"
		do_get "/v2/volumes?per_page=200" | "$DO_PY" -c '
import json, sys
names = {x["id"]: x["name"] for x in json.load(open(sys.argv[1]))["droplets"]}
for v in json.load(sys.stdin)["volumes"]:
    print("volume %s %s %d %s on %s" % (v["name"], v["region"]["slug"],
          v["size_gigabytes"], v["filesystem_type"],
          ",".join(names.get(i, str(i)) for i in v["droplet_ids"]) or "-"))
' "$TMP/droplets.json"
		do_get "/v2/reserved_ips?per_page=200" |
			py 'print("\n".join("reserved-ip %s on %s" % (r["region"]["slug"], r["droplet"]["name"] if r["droplet"] else "-") for r in d["reserved_ips"]))'
		do_get "/v2/firewalls?per_page=200" |
			py 'print("\n".join("firewall %s" % f["name"] for f in d["firewalls"]))'
		do_get "/v2/vpcs?per_page=200" |
			py 'print("\n".join("vpc %s" % v["name"] for v in d["vpcs"] if not v["default"]))'
		do_get "/v2/account/keys?per_page=200" |
			py 'print("\n".join("key %s" % k["name"] for k in d["ssh_keys"]))'
	} | sed '/^$/d' | sort >"$1"
}

mutating() {
	do_requests | grep -v '^GET ' || true
}

# state_records: "KIND NAME STATUS ATTRIBUTES" of the state's records.
state_records() {
	"$DO_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
for r in s["resources"]:
    a = r.get("attributes") or {}
    print(r["kind"], r["name"], r["status"], "id" if r.get("id") else "-",
          " ".join("%s=%s" % (k, "DROPLET" if k in ("attached", "assigned") else v)
                   for k, v in sorted(a.items()) if k != "protect"))
' ".deploy/$name.state.json" | sort
}

# --- a disk type: refused before anything is made ---------------------------

sed 's/disk: {size: 20}/disk: {size: 20, type: gp3}/' topo.yml >typed.yml
run "$DEPLOY" up --yes typed.yml
expect_rc 1 "a disk type"
grep -q "typed.yml:[0-9]*:[0-9]*: .*role 'sentry': digitalocean volumes have no type (disk type 'gp3'): leave it out" "$TMP/err" ||
	fail "a disk type: $(cat "$TMP/err")"
checks=$((checks + 1))
mutating >"$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "a disk type: nothing made"
rm -rf .deploy typed.yml
: >"$DO_LOG"

# --- up ------------------------------------------------------------------

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_line "$TMP/out" "Up: 3 created, 0 destroyed, 0 unchanged." "up summary"
snapshot "$TMP/have"
sort >"$TMP/want" <<WANT
droplet sentry-0
droplet sentry-1
droplet validator-0
firewall deploy-$name-sentry
firewall deploy-$name-validator
key deploy-$name
reserved-ip fra1 on validator-0
volume deploy-$name-sentry-0 fra1 20 ext4 on sentry-0
volume deploy-$name-sentry-1 fra1 20 ext4 on sentry-1
volume deploy-$name-validator-0 fra1 10 ext4 on validator-0
vpc deploy-$name-fra1
WANT
expect_same "$TMP/want" "$TMP/have" "up: what the server holds"

# The exact bodies of the creates, the attaches and the reserved IP's.
do_get "/v2/droplets?per_page=200" >"$TMP/droplets.json"
"$DO_PY" -c '
import json, sys
names = {x["id"]: x["name"] for x in json.load(open(sys.argv[2]))["droplets"]}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("method") != "POST":
        continue
    b = e["body"]
    if e["path"] == "/v2/volumes" or e["path"] == "/v2/reserved_ips" or \
            e["path"].endswith("/actions"):
        if "droplet_id" in b:
            b["droplet_id"] = names.get(b["droplet_id"], "?")
        path = "/v2/volumes/ID/actions" if e["path"].startswith("/v2/volumes/") else e["path"]
        print(path, e["status"], json.dumps(b, sort_keys=True))
' "$DO_LOG" "$TMP/droplets.json" | sort >"$TMP/have"
sort >"$TMP/want" <<WANT
/v2/volumes 201 {"description": "deploy topology $name, host validator-0", "filesystem_type": "ext4", "name": "deploy-$name-validator-0", "region": "fra1", "size_gigabytes": 10, "tags": ["deploy:topology:$name", "deploy:role:validator"]}
/v2/volumes 201 {"description": "deploy topology $name, host sentry-0", "filesystem_type": "ext4", "name": "deploy-$name-sentry-0", "region": "fra1", "size_gigabytes": 20, "tags": ["deploy:topology:$name", "deploy:role:sentry"]}
/v2/volumes 201 {"description": "deploy topology $name, host sentry-1", "filesystem_type": "ext4", "name": "deploy-$name-sentry-1", "region": "fra1", "size_gigabytes": 20, "tags": ["deploy:topology:$name", "deploy:role:sentry"]}
/v2/volumes/ID/actions 202 {"droplet_id": "validator-0", "region": "fra1", "type": "attach"}
/v2/volumes/ID/actions 202 {"droplet_id": "sentry-0", "region": "fra1", "type": "attach"}
/v2/volumes/ID/actions 202 {"droplet_id": "sentry-1", "region": "fra1", "type": "attach"}
/v2/reserved_ips 202 {"droplet_id": "validator-0"}
WANT
expect_same "$TMP/want" "$TMP/have" "up: the create and attach bodies"

# The reserved IP is the validator's address; the state records it all.
rip=$(do_get "/v2/reserved_ips" | py 'print(d["reserved_ips"][0]["ip"])')
addr=$("$DO_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["hosts"]["validator-0"]["address"])
' ".deploy/$name.state.json")
[ "$addr" = "$rip" ] || fail "validator-0's address is $addr, not the reserved IP $rip"
checks=$((checks + 1))
state_records | grep -E '^(volume|reserved-ip) ' >"$TMP/have"
sort >"$TMP/want" <<WANT
reserved-ip validator-0 created id assigned=DROPLET region=fra1
volume sentry-0 created id attached=DROPLET region=fra1
volume sentry-1 created id attached=DROPLET region=fra1
volume validator-0 created id attached=DROPLET region=fra1
WANT
expect_same "$TMP/want" "$TMP/have" "up: the records"
calls=$(do_requests | wc -l)
echo "# up, 3 droplets, 3 volumes, 1 reserved IP: $calls API calls"

# --- plan and up again: no mutating call -------------------------------

: >"$DO_LOG"
run "$DEPLOY" plan topo.yml
expect_rc 0 "plan"
grep -q "digitalocean \(volume\|reserved-ip\)" "$TMP/out" &&
	fail "plan: changes to volumes or reserved IPs: $(cat "$TMP/out")"
checks=$((checks + 1))
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up again"
mutating >"$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "plan and up again: no mutating call"

# --- a droplet deleted outside deploy: its volume and address follow -----

id=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" |
	py 'print([x["id"] for x in d["droplets"] if x["name"] == "validator-0"][0])')
curl -sS -X DELETE -H "Authorization: Bearer $DO_TOKEN" "$DO_URL/v2/droplets/$id"
: >"$DO_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after a delete outside"
expect_line "$TMP/out" "Up: 1 created, 0 destroyed, 2 unchanged." "made again, alone"
mutating | sed -e 's|/v2/volumes/[^/]*/|/v2/volumes/ID/|' \
	-e 's|/v2/reserved_ips/[^/]*/|/v2/reserved_ips/IP/|' >"$TMP/have"
cat >"$TMP/want" <<WANT
POST /v2/tags 201
POST /v2/tags 201
POST /v2/droplets 202
POST /v2/volumes/ID/actions 202
POST /v2/reserved_ips/IP/actions 201
WANT
expect_same "$TMP/want" "$TMP/have" "made again: the droplet, an attach, an assign"
snapshot "$TMP/have"
grep -E '^(volume|reserved-ip) .*validator' "$TMP/have" >"$TMP/have-v"
printf '%s\n' "reserved-ip fra1 on validator-0" \
	"volume deploy-$name-validator-0 fra1 10 ext4 on validator-0" >"$TMP/want"
expect_same "$TMP/want" "$TMP/have-v" "made again: the same volume and reserved IP on it"
new=$(do_get "/v2/droplets?tag_name=deploy:topology:$name" |
	py 'print([x["id"] for x in d["droplets"] if x["name"] == "validator-0"][0])')
[ "$new" != "$id" ] || fail "validator-0 was not made again"
rip2=$(do_get "/v2/reserved_ips" | py 'print(d["reserved_ips"][0]["ip"])')
addr=$("$DO_PY" -c '
import json, sys
print(json.load(open(sys.argv[1]))["hosts"]["validator-0"]["address"])
' ".deploy/$name.state.json")
[ "$rip2" = "$rip" ] && [ "$addr" = "$rip" ] ||
	fail "made again: reserved IP $rip2, address $addr, expected $rip"
checks=$((checks + 2))
: >"$DO_LOG"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up once more"
mutating >"$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "made again, then up: no mutating call"

# --- down keeps the static_ip role; --include-protected takes it ---------

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
expect_line "$TMP/out" "= keep digitalocean host validator-0 (role 'validator' is protected (protect or static_ip): kept unless --include-protected)" "static_ip kept"
snapshot "$TMP/have"
sort >"$TMP/want" <<WANT
droplet validator-0
firewall deploy-$name-sentry
firewall deploy-$name-validator
key deploy-$name
reserved-ip fra1 on validator-0
volume deploy-$name-validator-0 fra1 10 ext4 on validator-0
vpc deploy-$name-fra1
WANT
expect_same "$TMP/want" "$TMP/have" "down: the static_ip host kept with its volume and address"

# A volume of the topology's no record names (a lost state's) goes too.
curl -sS -o /dev/null -X POST -H "Authorization: Bearer $DO_TOKEN" \
	-H "Content-Type: application/json" "$DO_URL/v2/volumes" \
	-d "{\"name\": \"lost-one\", \"size_gigabytes\": 1, \"region\": \"fra1\", \"tags\": [\"deploy:topology:$name\"]}"
run "$DEPLOY" down --yes --include-protected topo.yml
expect_rc 0 "down --include-protected"
snapshot "$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "down --include-protected: nothing left"
state_records >"$TMP/have"
expect_same "$TMP/want" "$TMP/have" "down --include-protected: nothing recorded"

# --- SIGKILL after each create, before its answer ------------------------

KILLS="POST /v2/volumes,POST /v2/volumes/,POST /v2/reserved_ips"
KILLS="$KILLS,DELETE /v2/droplets/,DELETE /v2/volumes/,DELETE /v2/reserved_ips/"
KILLS="$KILLS,DELETE /v2/firewalls/,DELETE /v2/vpcs/"
do_start --active-ms 200 --kill-after "$KILLS" --kill-pid-file "$TMP/deploy.pid"
rm -rf .deploy

# killable ARGS...: deploy ARGS, its PID where the server reads it.
killable() {
	sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$TMP/deploy.pid" \
		"$DEPLOY" "$@" topo.yml >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# until_done ARGS...: killable ARGS until it exits 0; $runs the runs.
until_done() {
	runs=0
	while [ $runs -lt 10 ]; do
		runs=$((runs + 1))
		killable "$@"
		[ "$rc" = 0 ] && break
		[ "$rc" = 137 ] || {
			fail "$* run $runs: exit $rc, expected 0 or 137 (SIGKILL)"
			cat "$TMP/err" >&2
			break
		}
	done
	checks=$((checks + 1))
	expect_rc 0 "$*: the last run"
}

# The first run dies once the first volume is made, its droplets made: the
# next plan shows what is left of each host's, from the state alone, and
# exits 2 (changes to make).
killable up --yes
[ "$rc" = 137 ] || fail "the first up: exit $rc, expected 137 (SIGKILL)"
checks=$((checks + 1))
run "$DEPLOY" plan topo.yml
expect_rc 2 "plan after the kill"
grep '^~ digitalocean' "$TMP/out" >"$TMP/have"
cat >"$TMP/want" <<WANT
~ digitalocean volume validator-0: + 10 GiB, attach
~ digitalocean reserved-ip validator-0: + reserve, assign
~ digitalocean volume sentry-0: + 20 GiB, attach
~ digitalocean volume sentry-1: + 20 GiB, attach
WANT
expect_same "$TMP/want" "$TMP/have" "plan after the kill: what is left"
until_done up --yes
kills=$(grep -c '"killed"' "$DO_LOG")
[ "$kills" = 3 ] || fail "up: $kills kills, expected 3"
[ "$runs" = 3 ] || fail "up: $runs runs after the first, expected 3"
checks=$((checks + 2))

# Each create and attach was carried out once: what was killed was adopted.
do_requests | grep -E '^POST /v2/(volumes|reserved_ips)' |
	sed 's|/v2/volumes/[^/]*/|/v2/volumes/ID/|' |
	sort | uniq -c | sed 's/^ *//' | sort >"$TMP/have"
sort >"$TMP/want" <<WANT
1 POST /v2/reserved_ips 202
3 POST /v2/volumes 201
3 POST /v2/volumes/ID/actions 202
WANT
expect_same "$TMP/want" "$TMP/have" "each create and attach carried out once"
snapshot "$TMP/have"
sort >"$TMP/want" <<WANT
droplet sentry-0
droplet sentry-1
droplet validator-0
firewall deploy-$name-sentry
firewall deploy-$name-validator
key deploy-$name
reserved-ip fra1 on validator-0
volume deploy-$name-sentry-0 fra1 20 ext4 on sentry-0
volume deploy-$name-sentry-1 fra1 20 ext4 on sentry-1
volume deploy-$name-validator-0 fra1 10 ext4 on validator-0
vpc deploy-$name-fra1
WANT
expect_same "$TMP/want" "$TMP/have" "after the kills: each once"
state_records | grep -E '^(volume|reserved-ip) ' >"$TMP/have"
sort >"$TMP/want" <<WANT
reserved-ip validator-0 created id assigned=DROPLET region=fra1
volume sentry-0 created id attached=DROPLET region=fra1
volume sentry-1 created id attached=DROPLET region=fra1
volume validator-0 created id attached=DROPLET region=fra1
WANT
expect_same "$TMP/want" "$TMP/have" "after the kills: each recorded"
# The recorded ids are the server's.
"$DO_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("\n".join(sorted(r["id"] for r in s["resources"] if r["kind"] in ("volume", "reserved-ip"))))
' ".deploy/$name.state.json" >"$TMP/have"
{
	do_get "/v2/volumes" | py 'print("\n".join(v["id"] for v in d["volumes"]))'
	do_get "/v2/reserved_ips" | py 'print("\n".join(r["ip"] for r in d["reserved_ips"]))'
} | sort >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "after the kills: the ids recorded are the server's"

# --- SIGKILL during down, after each kind of delete ------------------------

: >"$DO_LOG"
until_done down --yes --include-protected
kills=$(grep -c '"killed"' "$DO_LOG")
[ "$kills" = 5 ] || fail "down: $kills kills, expected 5"
checks=$((checks + 1))
snapshot "$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "down after the kills: nothing left"
state_records >"$TMP/have"
expect_same "$TMP/want" "$TMP/have" "down after the kills: nothing recorded"
# Every delete went through once; one repeated after a kill found it gone
# (404) and went on; none was refused.
do_requests | grep '^DELETE ' | grep -v ' 204$' | grep -v ' 404$' >"$TMP/have"
: >"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "down: no delete refused"
# A delete repeated is one whose answer a kill cut off (the droplets'
# and the firewalls' deletes go at once: those in flight beside it too).
do_requests | grep '^DELETE .* 404$' | sed 's|^DELETE \(/v2/[a-z_]*\)/.*|\1|' |
	sort -u >"$TMP/have"
printf '%s\n' /v2/droplets /v2/firewalls /v2/reserved_ips /v2/volumes /v2/vpcs \
	>"$TMP/want"
expect_same "$TMP/want" "$TMP/have" "down: only a delete a kill cut off is repeated"
do_requests | grep '^DELETE .* 204$' | sed 's|^DELETE \(/v2/[a-z_]*\)/.*|\1|' |
	sort | uniq -c | sed 's/^ *//' | sort >"$TMP/have"
sort >"$TMP/want" <<WANT
1 /v2/account
1 /v2/reserved_ips
1 /v2/vpcs
2 /v2/firewalls
3 /v2/droplets
3 /v2/volumes
WANT
expect_same "$TMP/want" "$TMP/have" "down: each resource deleted once"

finish