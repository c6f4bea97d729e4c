#!/bin/sh
# SIGKILL at random instants of `deploy up` and `deploy down`, over many
# trials: after each, one more run converges, and what exists is exactly
# the topology: every container recorded in the state, nothing twice,
# nothing unrecorded. Then SIGINT: the run stops starting work, saves, and
# exits 130.
. "$TESTLIB"
: "${TEST_TOOL:?}"

local_setup t0502 252
trials=${CRASH_TRIALS:-20}
dir="$local_dir/$name"
cleanup_first() {
	"$TEST_TOOL" local down "$name" "$subnet" a-0 a-1 b-0 c-0 >/dev/null 2>&1
}
local_topology <<EOF
roles:
  a: {count: 2}
  b: {after: [a]}
  c: {after: [b]}
EOF

# census: the containers that run, the host directories, and the hosts the
# state records as created, each as a sorted list.
census() {
	# Containers, not processes: systemd-nspawn's short-lived child has
	# its parent's command line, so a process whose parent is an nspawn
	# of ours is left out.
	ps -eo pid=,ppid=,args= | awk -v d="$dir/" '
		$3 == "systemd-nspawn" && index($0, d) { pid[$1] = $2; line[$1] = $0 }
		END { for (p in pid) if (!(pid[p] in pid)) print line[p] }' |
		sed "s|.*$dir/\([^/]*\)/root.*|\1|" | sort >running
	ls "$dir" 2>/dev/null | sort >dirs
	python3 -c '
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except FileNotFoundError:
    sys.exit(0)
for r in s["resources"]:
    if r["kind"] == "host" and r["status"] == "created":
        print(r["name"])
' ".deploy/$name.state.json" | sort >recorded
}

printf 'a-0\na-1\nb-0\nc-0\n' >all
: >none
random_ms() {
	python3 -c 'import random; print(random.randint(0, int(__import__("sys").argv[1])))' "$1"
}

i=0
while [ "$i" -lt "$trials" ]; do
	i=$((i + 1))
	# Killed during up, at a random instant.
	"$DEPLOY" up --yes topo.yml >/dev/null 2>&1 &
	pid=$!
	sleep "$(python3 -c "print($(random_ms 1500) / 1000)")"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	run "$DEPLOY" up --yes topo.yml
	expect_rc 0 "trial $i: up after a kill"
	census
	expect_same all running "trial $i: each host runs once"
	expect_same all dirs "trial $i: no host directory unrecorded"
	expect_same all recorded "trial $i: the state records every host"
	run "$DEPLOY" plan topo.yml
	expect_rc 0 "trial $i: converged"

	# Killed during down, at a random instant.
	"$DEPLOY" down --yes topo.yml >/dev/null 2>&1 &
	pid=$!
	sleep "$(python3 -c "print($(random_ms 2500) / 1000)")"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	census
	# Whatever is recorded still exists or is being deleted: never a
	# container that the state has forgotten.
	checks=$((checks + 1))
	comm -23 running recorded >unrecorded
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
deleting = {r["name"] for r in s["resources"] if r["status"] == "deleting"}
left = {l.strip() for l in open(sys.argv[2]) if l.strip()}
sys.exit(0 if left <= deleting else 1)
' ".deploy/$name.state.json" unrecorded || fail "trial $i: a running container is not in the state: $(cat unrecorded)"
	run "$DEPLOY" down --yes topo.yml
	expect_rc 0 "trial $i: down after a kill"
	census
	expect_same none running "trial $i: nothing runs after down"
	expect_same none dirs "trial $i: no host directory after down"
	expect_same none recorded "trial $i: the state is empty after down"
done

# SIGINT during up: the work under way finishes, the state is saved, 130.
"$DEPLOY" up --yes topo.yml >out 2>err &
pid=$!
sleep 0.3
kill -INT "$pid"
wait "$pid"
rc=$?
checks=$((checks + 1))
if [ "$rc" -eq 0 ]; then
	: # it finished before the signal came: nothing to check
elif [ "$rc" -ne 130 ]; then
	fail "SIGINT: exit $rc, expected 130 ($(cat err))"
else
	census
	expect_same running recorded "after SIGINT every running host is recorded"
fi
run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up after SIGINT"
census
expect_same all running "after SIGINT and up, each host runs once"
finish
