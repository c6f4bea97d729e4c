#!/bin/sh
# deploy run --limit and --group: which hosts, the exact output, the
# closing line and the exit code, failures and standard error.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 32
for i in 1 2 3 4; do
	sshd_start "web$i" "127.32.0.$i"
done
sshd_start db "127.32.1.1"
sshd_topology topology.yml web:web-1@127.32.0.1 web:web-2@127.32.0.2 \
	web:web-3@127.32.0.3 web:web-4@127.32.0.4 db:db-1@127.32.1.1

# The server address tells the hosts apart.
addr='$(echo $SSH_CONNECTION | cut -d" " -f3)'

run "$DEPLOY" run --limit db,web-2 topology.yml -- "echo at $addr"
expect_rc 0 "--limit role and host"
printf 'web-2: at 127.32.0.2\ndb-1: at 127.32.1.1\n' >expected
sort "$TMP/out" >got
sort expected >want
expect_same want got "--limit output"
expect_line "$TMP/err" "2 ok, 0 failed, 0 unreachable" "--limit closing line"

run "$DEPLOY" run --limit web topology.yml -- 'echo one; echo two'
expect_rc 0 "--limit role"
checks=$((checks + 1))
[ "$(grep -c '^web-[1-4]: one$' "$TMP/out")" -eq 4 ] || fail "four 'one' lines"
checks=$((checks + 1))
[ "$(wc -l <"$TMP/out")" -eq 8 ] || fail "eight lines"
# Each host's lines stay in their order.
checks=$((checks + 1))
[ "$(grep '^web-3:' "$TMP/out" | tr '\n' '|')" = "web-3: one|web-3: two|" ] ||
	fail "web-3's lines out of order"

# --group: identical outputs once, under the hosts that printed them in
# pdsh's hostlist form; db-1 differs. The order is the topology's.
run "$DEPLOY" run --group topology.yml -- \
	"case $addr in 127.32.0.*) echo web; echo 'same here' ;; *) echo other ;; esac"
expect_rc 0 "--group"
cat >expected <<'OUT'
----------------
web-[1-4]
----------------
web
same here
----------------
db-1
----------------
other
OUT
expect_same expected "$TMP/out" "--group output"
expect_line "$TMP/err" "5 ok, 0 failed, 0 unreachable" "--group closing line"

# Ranges are compressed, gaps kept: web-1, web-2 and web-4 print the same.
run "$DEPLOY" run -g topology.yml -- \
	"case $addr in 127.32.0.3) echo three ;; 127.32.1.1) ;; *) echo rest ;; esac"
cat >expected <<'OUT'
----------------
web-[1-2,4]
----------------
rest
----------------
web-3
----------------
three
OUT
expect_same expected "$TMP/out" "--group ranges"

# A failing host: its stderr lines go to stderr with its name, the reason
# follows, the count says so and the exit code is 1.
run "$DEPLOY" run --limit web topology.yml -- \
	"case $addr in 127.32.0.2) echo broken >&2; exit 3 ;; *) echo fine ;; esac"
expect_rc 1 "one host fails"
expect_line "$TMP/err" "web-2: broken" "stderr line"
expect_line "$TMP/err" "deploy: host 'web-2': command exited with code 3" "failure reason"
expect_line "$TMP/err" "3 ok, 1 failed, 0 unreachable" "closing line with a failure"
expect_no_match "$TMP/out" "web-2" "nothing of web-2 on stdout"

# A signal ends the command: said so.
run "$DEPLOY" run --limit web-1 topology.yml -- 'kill -TERM $$'
expect_rc 1 "killed by a signal"
expect_line "$TMP/err" "deploy: host 'web-1': command killed by signal TERM" "signal reason"

# Words after -- are one command line, as ssh joins them.
run "$DEPLOY" run --limit db-1 topology.yml -- echo a '&&' echo b
expect_rc 0 "joined words"
printf 'db-1: a\ndb-1: b\n' >expected
expect_same expected "$TMP/out" "joined words output"

# Output without a final newline still makes a line.
run "$DEPLOY" run --limit db-1 topology.yml -- printf tail
expect_line "$TMP/out" "db-1: tail" "last line without newline"
finish
