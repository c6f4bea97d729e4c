#!/bin/sh
# A host key that changes within one run, or between plan and up, is
# refused and named.
#
# Within one run: two hosts of `deploy up` reach the same address and port
# (a-1, then b-1 after it). While a-1 runs its step, the sshd there is
# replaced by one with another host key (a-1's own session goes on). b-1
# then meets the new key: it was recorded minutes ago (accept-new, in
# this very run) and is refused as changed, not taken as new.
#
# Between plan and up: `deploy plan` checks c-1 (its steps, in check mode)
# and records its key; the key changes; `deploy up` refuses c-1, naming
# it, and configures the others.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 49
sshd_start one 127.49.0.1
sshd_start c1 127.49.0.2
sshd_start d1 127.49.0.3
mkdir -p marks

cat >wait.yml <<YAML
name: wait
steps:
  - name: wait here
    shell: 'touch $TMP/marks/at; while [ ! -e $TMP/go ]; do sleep 0.1; done'
YAML
cat >plain.yml <<YAML
name: plain
steps:
  - {name: a file, file: {path: $TMP/marks/plain-file, content: "x\\n"}}
YAML
cat >topo.yml <<YAML
version: 1
name: keys
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
roles:
  a: {hosts: [{name: a-1, address: 127.49.0.1, port: $SSHD_PORT}], playbooks: [./wait.yml]}
  b: {after: [a], hosts: [{name: b-1, address: 127.49.0.1, port: $SSHD_PORT}], playbooks: [./plain.yml]}
YAML

"$DEPLOY" up --yes topo.yml >"$TMP/out" 2>"$TMP/err" &
up=$!
echo "$up" >>"$SSHD_DIR/pids"
i=0
while [ ! -e marks/at ] && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
[ $i -lt 600 ] || fail "a-1 did not start its step"
# Another sshd, with another key, on the same address and port.
kill "$(cat "$SSHD_DIR/one/sshd.pid")"
sleep 0.5
sshd_start two 127.49.0.1
touch go
i=0
while kill -0 "$up" 2>/dev/null && [ $i -lt 1200 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
if kill -0 "$up" 2>/dev/null; then
	fail "deploy up still runs after 120 s"
	kill "$up"
fi
wait "$up"
rc=$?
expect_rc 1 "a key that changed within the run"
checks=$((checks + 1))
grep -q "^a-1: ok" "$TMP/out" || fail "a-1 did not finish: $(cat "$TMP/out")"
checks=$((checks + 1))
grep -q "^b-1: failed: host key of 'b-1' (\[127.49.0.1\]:$SSHD_PORT) has changed: " "$TMP/out" ||
	fail "b-1 was not refused for the changed key: $(cat "$TMP/out" "$TMP/err")"
checks=$((checks + 1))
[ ! -e marks/plain-file ] || fail "b-1's step ran on a host with a changed key"
# known_hosts still holds the first key only.
expect_line known_hosts "[127.49.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$(sshd_host_key one)")" "the first key kept"
expect_no_match known_hosts "$(cut -d' ' -f2 "$(sshd_host_key two)")" "the second key not recorded"

# Between plan and up.
cat >topo2.yml <<YAML
version: 1
name: keys2
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts2}
providers: {ssh: {}}
roles:
  c: {hosts: [{name: c-1, address: 127.49.0.2, port: $SSHD_PORT}, {name: d-1, address: 127.49.0.3, port: $SSHD_PORT}], playbooks: [./plain.yml]}
YAML
run timeout 120 "$DEPLOY" plan topo2.yml
checks=$((checks + 1))
[ "$rc" -le 2 ] || fail "plan failed: $(cat "$TMP/out" "$TMP/err")"
checks=$((checks + 1))
grep -q "^\[127.49.0.2\]:$SSHD_PORT " known_hosts2 || fail "plan did not record c-1's key"
kill "$(cat "$SSHD_DIR/c1/sshd.pid")"
sleep 0.5
sshd_start c1b 127.49.0.2
run timeout 120 "$DEPLOY" up --yes topo2.yml
expect_rc 1 "a key that changed between plan and up"
checks=$((checks + 1))
grep -q "^c-1: failed: host key of 'c-1' (\[127.49.0.2\]:$SSHD_PORT) has changed: " "$TMP/out" ||
	fail "c-1 was not refused for the changed key: $(cat "$TMP/out" "$TMP/err")"
checks=$((checks + 1))
grep -q "^d-1: ok" "$TMP/out" || fail "d-1 was not configured: $(cat "$TMP/out")"
finish
