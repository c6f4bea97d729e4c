#!/bin/sh
# The command line: help, version, usage errors and exit codes.
. "$TESTLIB"

run "$DEPLOY" --version
expect_rc 0 "--version"
checks=$((checks + 1))
grep -qE '^deploy [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/out" || fail "version line: $(cat "$TMP/out")"

run "$DEPLOY" --help
expect_rc 0 "--help"
expect_line "$TMP/out" "usage: deploy <command> [options] [topology.yml]" "--help usage"
expect_line "$TMP/out" "  validate   check a topology and summarize it" "--help lists validate"
expect_line "$TMP/out" "  graph      print the order in which roles are configured" "--help lists graph"

run "$DEPLOY"
expect_rc 64 "no command"
expect_line "$TMP/err" "usage: deploy <command> [options] [topology.yml]" "no command prints usage"

for form in "help validate" "validate --help" "validate -h"; do
	# shellcheck disable=SC2086
	run "$DEPLOY" $form
	expect_rc 0 "$form"
	expect_line "$TMP/out" "usage: deploy validate [--quiet] [topology.yml]" "$form usage"
	expect_line "$TMP/out" "  -q, --quiet              print nothing when the topology is valid" "$form options"
done

run "$DEPLOY" valdiate
expect_rc 64 "unknown command"
expect_line "$TMP/err" "deploy: unknown command 'valdiate' (did you mean 'validate'?)" "command hint"

run "$DEPLOY" help nope
expect_rc 64 "help for unknown command"

run "$DEPLOY" validate --quite x.yml
expect_rc 64 "unknown option"
expect_line "$TMP/err" "deploy: unknown option '--quite' (did you mean '--quiet'?)" "option hint"
expect_line "$TMP/err" "usage: deploy validate [--quiet] [topology.yml]" "option error shows usage"

run "$DEPLOY" graph --format png x.yml
expect_rc 64 "bad choice"
expect_line "$TMP/err" "deploy: --format 'png' is not one of the choices (see --help)" "bad choice message"

run "$DEPLOY" graph --format
expect_rc 64 "missing value"
expect_line "$TMP/err" "deploy: --format needs a value (FORMAT)" "missing value message"

run "$DEPLOY" validate a.yml b.yml
expect_rc 64 "too many arguments"
expect_line "$TMP/err" "deploy: too many arguments ('b.yml')" "too many message"

run "$DEPLOY" --frobnicate
expect_rc 64 "unknown global option"

# The default topology is ./topology.yml.
printf 'version: 1\nname: dflt\nroles: {v: {provider: local}}\n' >topology.yml
run "$DEPLOY" validate
expect_rc 0 "default topology"
expect_line "$TMP/out" "topology.yml: valid topology 'dflt' (version 1)" "default topology summary"

# After "--" every word is the topology's name, even one like an option.
cp topology.yml ./-odd.yml
run "$DEPLOY" validate -- -odd.yml
expect_rc 0 "file after --"
expect_line "$TMP/out" "-odd.yml: valid topology 'dflt' (version 1)" "file after -- is read"

run "$DEPLOY" validate -q topology.yml
expect_rc 0 "--quiet"
checks=$((checks + 1))
[ -s "$TMP/out" ] && fail "--quiet printed: $(cat "$TMP/out")"
finish
