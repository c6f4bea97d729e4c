#!/bin/sh
# deploy graph: levels as text, and Graphviz DOT that dot(1) accepts.
. "$TESTLIB"

cat >fleet.yml <<'YAML'
version: 1
name: fleet
providers: {local: {}}
roles:
  sentry: {count: 8, after: [validator]}
  validator: {via: bastion, after: [monitoring]}
  bastion: {}
  monitoring: {}
YAML
run "$DEPLOY" graph fleet.yml
expect_rc 0 "graph text"
cat >expected <<'EOF'
fleet: 4 roles, 11 hosts, 3 levels (the roles of a level run at the same time)
level 1
  bastion (local): bastion-0
  monitoring (local): monitoring-0
level 2
  validator (local): validator-0  [after monitoring; via bastion]
level 3
  sentry (local): sentry-0, sentry-1, sentry-2, ..., sentry-7 (8 hosts)  [after validator]
EOF
expect_same expected "$TMP/out" "graph text"

run "$DEPLOY" graph --format dot fleet.yml
expect_rc 0 "graph dot"
expect_line "$TMP/out" 'digraph "fleet" {' "dot header"
expect_line "$TMP/out" '	"bastion" -> "validator" [style=dashed, label="via"];' "via edge"
expect_line "$TMP/out" '	"monitoring" -> "validator";' "after edge"
expect_line "$TMP/out" '	"validator" -> "sentry";' "after edge 2"
expect_line "$TMP/out" '	{ rank=same; "bastion"; "monitoring"; }' "level 1 rank"
# dot(1) is installed by tests/deps.sh; its absence is a failure, not a skip.
cp "$TMP/out" fleet.dot
run dot -Tsvg fleet.dot
expect_rc 0 "dot accepts the output"
expect_line "$TMP/out" "</svg>" "dot made an svg"

# An invalid topology gives no graph, only errors.
printf 'version: 1\nname: c\nproviders: {local: {}}\nroles:\n  a: {after: [b]}\n  b: {after: [a]}\n' >cycle.yml
run "$DEPLOY" graph cycle.yml
expect_rc 1 "graph of a cycle"
expect_line "$TMP/err" "cycle.yml:5:15: error: dependency cycle: a -> b -> a (each role waits for the next through 'after' or 'via'; remove one of these)" "cycle error"
checks=$((checks + 1))
[ -s "$TMP/out" ] && fail "no graph printed for an invalid topology"
finish
