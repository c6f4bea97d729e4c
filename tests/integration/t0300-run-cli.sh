#!/bin/sh
# deploy run without any host to reach: usage errors, --limit's "did you
# mean", and hosts that have no address yet.
. "$TESTLIB"

cat >topology.yml <<'YAML'
version: 1
name: runcli
providers:
  local: {}
roles:
  bastion: {provider: local}
  validator: {provider: local, via: bastion, count: 2}
  db:
    provider: ssh
    via: bastion
    hosts: [{name: db-1, address: 192.0.2.10}]
YAML

run "$DEPLOY" run topology.yml
expect_rc 64 "no command"
expect_line "$TMP/err" "deploy: no command: give it after '--', as in deploy run topology.yml -- uptime" "no command message"

run "$DEPLOY" run topology.yml --limit validatr -- uptime
expect_rc 64 "unknown --limit name"
expect_line "$TMP/err" "deploy: --limit: unknown role or host 'validatr' (did you mean 'validator'?)" "--limit hint"

run "$DEPLOY" run topology.yml --limit 'bastion,,validator' -- uptime
expect_rc 64 "empty --limit entry"
expect_line "$TMP/err" "deploy: --limit: empty name in 'bastion,,validator'" "empty entry message"

run "$DEPLOY" run topology.yml --parallel 0 -- uptime
expect_rc 64 "--parallel 0"
expect_line "$TMP/err" "deploy: --parallel must be from 1 to 10000" "--parallel message"

run "$DEPLOY" run topology.yml --timeout 0 -- uptime
expect_rc 64 "--timeout 0"
expect_line "$TMP/err" "deploy: --timeout must be from 1 to 604800 seconds" "--timeout message"

run "$DEPLOY" run topology.yml --connect-timeout x -- uptime
expect_rc 64 "--connect-timeout x"

# Hosts that 'deploy up' has not made have no address: each fails, and
# nothing is contacted.
run "$DEPLOY" run topology.yml -- uptime
expect_rc 1 "hosts without addresses"
expect_line "$TMP/err" "deploy: host 'bastion-0' has no address yet (provider 'local'): run 'deploy up' first" "no address"
expect_line "$TMP/err" "deploy: host 'validator-1' has no address yet (provider 'local'): run 'deploy up' first" "second host"
expect_line "$TMP/err" "deploy: bastion 'bastion-0' of host 'db-1' has no address yet (provider 'local'): run 'deploy up' first" "bastion without address"
expect_line "$TMP/err" "0 ok, 4 failed, 0 unreachable" "closing line"
checks=$((checks + 1))
[ -s "$TMP/out" ] && fail "stdout not empty: $(cat "$TMP/out")"

run "$DEPLOY" run --limit validator-1 topology.yml -- uptime
expect_rc 1 "one host"
expect_line "$TMP/err" "0 ok, 1 failed, 0 unreachable" "--limit counts one host"

# The open-file limit: the soft limit is raised up to the hard one; past
# that, --parallel is lowered (5 descriptors a host, SSH_FDS_PER_HOST; 64 kept
# aside; one bastion here: (100 - 64) / 5 - 1 = 6).
run sh -c 'ulimit -Sn 100 && exec "$0" "$@"' "$DEPLOY" run --parallel 500 topology.yml -- uptime
expect_no_match "$TMP/err" "open-file limit" "soft limit raised"
run sh -c 'ulimit -n 100 && exec "$0" "$@"' "$DEPLOY" run --parallel 500 topology.yml -- uptime
expect_line "$TMP/err" "deploy: the open-file limit allows 6 hosts at once: --parallel lowered from 500 to 6" "--parallel lowered"
expect_line "$TMP/err" "0 ok, 4 failed, 0 unreachable" "still runs"

run "$DEPLOY" help run
expect_rc 0 "help run"
expect_line "$TMP/out" "usage: deploy run [--limit LIST] [--group] [--parallel N] [--timeout SECONDS] [--connect-timeout SECONDS] [topology.yml] -- COMMAND..." "usage line"
finish
