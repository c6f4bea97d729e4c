#!/bin/sh
# SIGTERM while a step holds dpkg's lock on a host (local nspawn hosts).
# Host first-0's first step takes /var/lib/dpkg/lock-frontend as apt and
# dpkg do (fcntl) and holds it until the test says so; an apt step and a
# last step follow; role `later` comes after it.
#  1. SIGTERM during the step: deploy waits (--grace), the host's script
#     runs to its end, later-0 is not started ("not started: interrupted"),
#     the exit is 130 and the state records first-0 as applied.
#  2. SIGTERM, then a second one during the grace: deploy exits at once
#     (130, "stopping now") while the step still holds the lock.
#  3. The next up, with dpkg left interrupted (a journal entry in
#     /var/lib/dpkg/updates/, as a killed dpkg leaves it): the apt step
#     runs `dpkg --configure -a` first, every host ends ok, and apt works
#     on the host again (apt-get check refuses while dpkg is interrupted).
# No timing is asserted: the test releases the lock itself.
. "$TESTLIB"

local_setup t0508 236
up_pid=
# deploy up waits out its grace on SIGTERM: at exit it is killed outright.
cleanup_first() {
	if [ -n "$up_pid" ]; then
		kill -KILL "$up_pid" 2>/dev/null
		wait "$up_pid" 2>/dev/null
	fi
}
mkdir -p pb
cat >pb/hold.yml <<'PB'
name: hold
steps:
  - name: hold dpkg's lock until released
    shell: |
      set -e
      rm -f /root/step1-done
      perl -e 'use Fcntl;
        open(my $f, ">>", "/var/lib/dpkg/lock-frontend") or die "open: $!";
        my $l = pack("ssx4qqix4", F_WRLCK, 0, 0, 0, 0);
        fcntl($f, F_SETLKW, $l) or die "lock: $!";
        open(my $m, ">", "/root/held") or die; close($m);
        for (1 .. 600) { last if -e "/root/release"; sleep 1 }'
      touch /root/step1-done
  - name: packages
    apt: {packages: [perl-base]}
  - name: last step
    shell: "touch /root/last-done"
PB
cat >pb/later.yml <<'PB'
name: later
steps:
  - name: mark
    shell: "touch /root/later-done"
PB
local_topology <<EOF
roles:
  first: {playbooks: [./pb/hold.yml]}
  later: {after: [first], playbooks: [./pb/later.yml]}
EOF

# root HOST: the host's root directory as this machine sees it (its
# overlay mount).
root() {
	mount | awk -v n="/$name/" -v h="$1" '$5 == "overlay" && index($3, n) && index($3, h) {print $3; exit}'
}

# wait_held: until first-0's step holds the lock (10 minutes at most:
# the hosts are made first); sets $R, its root.
wait_held() {
	i=0
	R=
	while [ $i -lt 6000 ]; do
		R=$(root first-0)
		[ -n "$R" ] && [ -e "$R/root/held" ] && return 0
		kill -0 "$up_pid" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_interrupted: until deploy says it took the first signal.
wait_interrupted() {
	i=0
	while ! grep -q "deploy: interrupted" "$TMP/err" && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# start_up: deploy up in the background, its output in $TMP/out, $TMP/err.
start_up() {
	"$DEPLOY" up --yes --grace 600 topo.yml >"$TMP/out" 2>"$TMP/err" &
	up_pid=$!
}
end_up() {
	wait "$up_pid"
	rc=$?
	up_pid=
}

# state_of HOST FIELD: the state's hosts.HOST.FIELD ("-" when none).
state_of() {
	python3 -c 'import json,sys; h = json.load(open(sys.argv[1]))["hosts"].get(sys.argv[2], {}); print(h.get(sys.argv[3]) or "-")' \
		".deploy/$name.state.json" "$1" "$2"
}

# --- 1. one SIGTERM: the step finishes -------------------------------
start_up
if ! wait_held; then
	fail "first-0's step never held the lock"
	sed 's/^/  | /' "$TMP/out" "$TMP/err" >&2
	finish
fi
kill -TERM "$up_pid"
wait_interrupted
checks=$((checks + 1))
kill -0 "$up_pid" 2>/dev/null || fail "deploy did not wait for the step under way"
[ -e "$R/root/step1-done" ] && fail "the step finished before it was released"
touch "$R/root/release"
end_up
expect_rc 130 "up interrupted once"
expect_line "$TMP/err" "deploy: interrupted: the hosts under way finished and are recorded, the others were not started" \
	"up interrupted once: the message"
checks=$((checks + 1))
[ -e "$R/root/step1-done" ] || fail "the step under way did not finish"
[ -e "$R/root/last-done" ] || fail "first-0's script did not run to its end"
grep -q "not started: interrupted" "$TMP/out" "$TMP/err" ||
	fail "later-0 is not said to be not started"
[ "$(state_of first-0 last_status)" = ok ] || fail "first-0 not recorded ok: $(state_of first-0 last_status)"
[ "$(state_of first-0 applied_at)" != - ] || fail "first-0 has no applied_at"
[ "$(state_of later-0 applied_at)" = - ] || fail "later-0 recorded as applied"
LR=$(root later-0)
{ [ -n "$LR" ] && [ ! -e "$LR/root/later-done" ]; } || fail "later-0 was configured"
if [ "$failures" -ne 0 ]; then
	sed 's/^/  out: /' "$TMP/out" >&2
	sed 's/^/  err: /' "$TMP/err" >&2
fi

# --- 2. a second SIGTERM during the grace: out at once ---------------
rm -f "$R/root/held" "$R/root/release" "$R/root/step1-done" "$R/root/last-done"
start_up
if ! wait_held; then
	fail "first-0's step never held the lock (second run)"
	sed 's/^/  | /' "$TMP/out" "$TMP/err" >&2
	finish
fi
kill -TERM "$up_pid"
wait_interrupted
kill -TERM "$up_pid"
end_up
expect_rc 130 "up interrupted twice"
expect_line "$TMP/err" "deploy: stopping now" "a second signal stops at once"
checks=$((checks + 1))
[ -e "$R/root/step1-done" ] && fail "the step finished: deploy waited for it"
# Let the step on the host end (its connection is gone).
touch "$R/root/release"

# --- 3. the next run: dpkg interrupted is repaired -------------------
: >"$R/var/lib/dpkg/updates/0000"
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "the next up"
expect_line "$TMP/out" "2 hosts: 2 ok, 0 failed, 0 skipped; 4 steps changed" \
	"the next up: every host ok"
checks=$((checks + 1))
[ -z "$(ls -A "$R/var/lib/dpkg/updates")" ] ||
	fail "dpkg's journal left: $(ls -A "$R/var/lib/dpkg/updates")"
run "$DEPLOY" run --limit first topo.yml -- apt-get check
expect_rc 0 "apt-get check on first-0"
[ -e "$(root later-0)/root/later-done" ] || fail "later-0 not configured by the next up"

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
mount >mounts
expect_no_match mounts "/$name/" "no mount left"
ps -eo args >procs
expect_no_match procs "/$name/" "no container left"
finish
