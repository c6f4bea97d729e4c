#!/bin/sh
# roles.NAME.serial: N hosts of a role are configured at a time. Each host
# records when its playbook started and ended; with serial 2 no more than
# two of the four intervals overlap at any instant, and two do (serial is
# neither ignored nor 1); without serial all three hosts of the other role
# run at once.
. "$TESTLIB"

local_setup t0505 249
mkdir -p pb
cat >pb/timed.yml <<'EOF'
name: timed
steps:
  - name: record start and end
    shell: "date +%s.%N >/root/start; sleep 2; date +%s.%N >/root/end"
EOF
local_topology <<EOF
roles:
  rolling: {count: 4, serial: 2, playbooks: [./pb/timed.yml]}
  parallel: {count: 3, playbooks: [./pb/timed.yml]}
EOF

run "$DEPLOY" up --yes topo.yml
expect_rc 0 "up"
expect_line "$TMP/out" "7 hosts: 7 ok, 0 failed, 0 skipped; 7 steps changed" "up summary"

# read_times ROLE N: ROLE's N hosts' start and end times, "HOST: START END"
# a line, in $TMP/times.ROLE.
read_times() {
	# shellcheck disable=SC2016 # expanded on the host
	"$DEPLOY" run --limit "$1" topo.yml -- 'echo $(cat /root/start) $(cat /root/end)' >"$TMP/times.$1" 2>&1
	checks=$((checks + 1))
	if [ "$(grep -c "^$1-[0-9]*: [0-9.]* [0-9.]*$" "$TMP/times.$1")" -ne "$2" ]; then
		fail "$1: $2 hosts' times expected"
		sed 's/^/  | /' "$TMP/times.$1" >&2
	fi
}

# most_at_once ROLE: how many of ROLE's hosts ran at the same instant at
# most. Events: +1 at a start, -1 at an end; at the same instant an end
# comes first (a host that ends as another starts is no overlap).
most_at_once() {
	grep "^$1-[0-9]*: " "$TMP/times.$1" |
		awk '{print $2, 1; print $3, -1}' |
		LC_ALL=C sort -k1,1g -k2,2n |
		awk '{n += $2; if (n > max) max = n} END {print max + 0}'
}

read_times rolling 4
checks=$((checks + 1))
got=$(most_at_once rolling)
[ "$got" = 2 ] || fail "serial 2: at most 2 hosts at once, and 2 at some point; got $got"
read_times parallel 3
checks=$((checks + 1))
got=$(most_at_once parallel)
[ "$got" = 3 ] || fail "no serial: all 3 hosts at once; got $got"
if [ "$failures" -ne 0 ]; then
	sed 's/^/  times: /' "$TMP/times.rolling" "$TMP/times.parallel" >&2
fi

run "$DEPLOY" down --yes topo.yml
expect_rc 0 "down"
expect_local_gone
finish
