#!/bin/sh
# Fault: a host's sshd session is killed in the middle of its script
# (`deploy up` on an ssh inventory, three loopback sshd hosts). That host
# is reported failed, naming the step that was under way and "lost
# connection"; the others finish; the state records exactly what is known
# (the others applied, the victim not); a re-run completes it.
#
# Each host's second step waits for a file the test makes: the test kills
# the victim's session (the sshd processes under its listener: the
# listener itself stays, so a re-run can log in), then lets the others go.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 45
for i in 1 2 3; do
	sshd_start "h$i" "127.45.0.$i"
done
mkdir -p marks

cat >slow.yml <<YAML
name: slow
steps:
  - name: first
    shell: 'set -- \$SSH_CONNECTION; touch $TMP/marks/first-\$3'
  - name: wait here
    shell: 'set -- \$SSH_CONNECTION; touch $TMP/marks/at-\$3; while [ ! -e $TMP/go ]; do sleep 0.1; done'
  - name: last
    shell: 'set -- \$SSH_CONNECTION; touch $TMP/marks/last-\$3'
YAML
cat >topo.yml <<YAML
version: 1
name: faults
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
roles:
  web:
    hosts:
      - {name: web-1, address: 127.45.0.1, port: $SSHD_PORT}
      - {name: victim, address: 127.45.0.2, port: $SSHD_PORT}
      - {name: web-3, address: 127.45.0.3, port: $SSHD_PORT}
    playbooks: [./slow.yml]
YAML

# wait_for PATH...: until each exists (60 s); false if one does not.
wait_for() {
	_i=0
	for _p in "$@"; do
		while [ ! -e "$_p" ]; do
			[ $_i -ge 600 ] && return 1
			sleep 0.1
			_i=$((_i + 1))
		done
	done
}

# descendants PID: every process below PID.
descendants() {
	for _c in $(ps -o pid= --ppid "$1"); do
		echo "$_c"
		descendants "$_c"
	done
}

"$DEPLOY" up --yes topo.yml >"$TMP/out" 2>"$TMP/err" &
up=$!
echo "$up" >>"$SSHD_DIR/pids"
checks=$((checks + 1))
wait_for marks/at-127.45.0.1 marks/at-127.45.0.2 marks/at-127.45.0.3 ||
	fail "the hosts did not reach their second step"

# The victim's session: its sshd processes under the listener, by PID.
listener=$(cat "$SSHD_DIR/h2/sshd.pid")
victims=
for p in $(descendants "$listener"); do
	case $(cat "/proc/$p/comm" 2>/dev/null) in
	sshd*) victims="$victims $p" ;;
	esac
done
checks=$((checks + 1))
if [ -z "$victims" ]; then
	fail "no sshd session process under $listener"
else
	# shellcheck disable=SC2086 # one PID a word
	kill -KILL $victims
fi
sleep 1
touch go

# The run ends, bounded.
i=0
while kill -0 "$up" 2>/dev/null && [ $i -lt 1200 ]; do
	sleep 0.1
	i=$((i + 1))
done
checks=$((checks + 1))
if kill -0 "$up" 2>/dev/null; then
	fail "deploy up still runs 120 s after the session was killed"
	kill "$up"
fi
wait "$up"
rc=$?
expect_rc 1 "up with a host's session killed"
checks=$((checks + 1))
grep -q "^victim: failed: lost connection in step 2/3 (slow: wait here), which may be partly done: host 'victim': connection lost while the command ran" "$TMP/out" ||
	fail "the victim's step and lost connection are not named: $(grep victim "$TMP/out")"
checks=$((checks + 1))
grep -q "^web-1: ok" "$TMP/out" || fail "web-1 did not finish: $(cat "$TMP/out")"
checks=$((checks + 1))
grep -q "^web-3: ok" "$TMP/out" || fail "web-3 did not finish"
expect_line "$TMP/out" "3 hosts: 2 ok, 1 failed, 0 skipped; 7 steps changed" "the summary"
checks=$((checks + 1))
[ -e marks/last-127.45.0.1 ] && [ -e marks/last-127.45.0.3 ] ||
	fail "the others did not run their last step"

# The state: the others applied, the victim not.
checks=$((checks + 1))
python3 - .deploy/faults.state.json <<'PY' || fail "the state does not say exactly what is known"
import json, sys
s = json.load(open(sys.argv[1]))
hosts = {h["name"]: h for h in s.get("hosts", [])} if isinstance(s.get("hosts"), list) else s.get("hosts", {})
assert hosts.get("web-1", {}).get("applied_at"), hosts
assert hosts.get("web-3", {}).get("applied_at"), hosts
assert not hosts.get("victim", {}).get("applied_at"), hosts
PY

# A re-run completes it.
run timeout 120 "$DEPLOY" up --yes topo.yml
expect_rc 0 "the re-run"
checks=$((checks + 1))
grep -q "^victim: ok" "$TMP/out" || fail "the victim was not completed: $(cat "$TMP/out")"
checks=$((checks + 1))
[ -e marks/last-127.45.0.2 ] || fail "the victim's last step did not run"
checks=$((checks + 1))
python3 - .deploy/faults.state.json <<'PY' || fail "the re-run was not recorded"
import json, sys
s = json.load(open(sys.argv[1]))
hosts = {h["name"]: h for h in s.get("hosts", [])} if isinstance(s.get("hosts"), list) else s.get("hosts", {})
assert all(hosts.get(n, {}).get("applied_at") for n in ("web-1", "victim", "web-3")), hosts
PY
finish
