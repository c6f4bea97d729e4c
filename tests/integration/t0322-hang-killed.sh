#!/bin/sh
# A host that answers SSH but whose command hangs forever: the command is
# bounded by --timeout, reported as timed out, and its processes on the
# host (the step's shell, its children, one in the background) are killed
# (libssh2 cannot signal a channel's process: deploy finds them by the
# DEPLOY_JOB tag in their environment). The same for `deploy run`, and for
# a user that runs as root through sudo.
. "$TESTLIB"
. "$SSHDLIB"

sshd_setup 43
sshd_start h 127.43.0.1
sshd_user dp0322
sshd_sudoers dp0322 "dp0322 ALL=(ALL) NOPASSWD: ALL"

# Processes this test made on the "host" (this machine), by a sleep time
# nothing else uses; killed by PID at exit if deploy left any.
hung() {
	ps -eo pid=,args= | awk -v d="$1" '$2 == "sleep" && $3 == d {print $1}'
}
leftovers() {
	for d in 1000.0322 1000.0323 1000.0324; do
		for p in $(hung "$d"); do
			kill "$p" 2>/dev/null
		done
	done
}
trap 'leftovers; sshd_cleanup' EXIT

# gone DURATION what: no such sleep is left (after 30 s at most: they
# were killed before deploy returned, this only lets them finish exiting).
gone() {
	checks=$((checks + 1))
	i=0
	while [ -n "$(hung "$1")" ]; do
		i=$((i + 1))
		if [ "$i" -gt 300 ]; then
			fail "$2: left running on the host: $(hung "$1" | tr '\n' ' ')"
			return
		fi
		sleep 0.1
	done
}

cat >hang.yml <<'YAML'
name: hang
steps:
  - name: hangs
    shell: "sleep 1000.0322 & sleep 1000.0322; echo never"
YAML
cat >topo.yml <<YAML
version: 1
name: hang
ssh: {key: $SSHD_KEY, known_hosts: $TMP/known_hosts}
providers: {ssh: {}}
roles:
  web: {hosts: [{name: web-1, address: 127.43.0.1, port: $SSHD_PORT}], playbooks: [./hang.yml]}
  op: {hosts: [{name: op-1, address: 127.43.0.1, port: $SSHD_PORT, user: dp0322}]}
YAML

start=$(date +%s)
run "$DEPLOY" up --yes --timeout 3 topo.yml
end=$(date +%s)
expect_rc 1 "up with a hanging step"
expect_line "$TMP/out" "web-1: failed: host 'web-1': command timed out after 3 s" "the timeout is reported"
checks=$((checks + 1))
[ $((end - start)) -lt 60 ] || fail "up took $((end - start)) s"
gone 1000.0322 "up's step"
checks=$((checks + 1))
grep -q "^== the timed-out command's processes on the host were killed" .deploy/logs/web-1.log ||
	fail "the log says they were killed"

run "$DEPLOY" run --timeout 2 --limit web-1 topo.yml -- 'sleep 1000.0323 & sleep 1000.0323'
expect_rc 1 "run with a hanging command"
expect_line "$TMP/err" "deploy: host 'web-1': command timed out after 2 s" "run reports the timeout"
gone 1000.0323 "run's command"

run "$DEPLOY" run --timeout 2 --limit op-1 topo.yml -- 'sleep 1000.0324'
expect_rc 1 "run through sudo"
gone 1000.0324 "a command run through sudo"

finish
