#!/bin/sh
# docs/cli.md agrees with the tool: each command's section opens with a
# synopsis that is its usage line (`deploy CMD --help`'s first lines),
# every option in a command's --help is in its usage line, and the
# `$ deploy help` example is what `deploy help` prints.
. "$TESTLIB"

DOC=$SRCDIR/docs/cli.md

# synopsis CMD: the first code block after "## deploy CMD", lines that
# continue the one above (indented) joined, spaces squeezed.
synopsis() {
	awk -v head="## deploy $1" '
	$0 == head { in_sec = 1; next }
	in_sec && /^## / { exit }
	in_sec && /^```/ { if (in_code) exit; in_code = 1; next }
	in_code {
		if ($0 ~ /^[ \t]/ && line != "") { line = line " " $0; next }
		if (line != "") print line
		line = $0
	}
	END { if (line != "") print line }' "$DOC" | tr -s ' \t' '  '
}

# usage CMD: the usage lines of `deploy CMD --help`, without "usage: ".
usage() {
	"$DEPLOY" "$1" --help | awk '
	/^$/ { exit }
	{ sub(/^usage: /, ""); sub(/^ +/, ""); print }' | tr -s ' \t' '  '
}

run "$DEPLOY" help
expect_rc 0 "deploy help"
commands=$(awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' "$TMP/out")
checks=$((checks + 1))
[ "$(echo "$commands" | wc -l)" -ge 10 ] || fail "deploy help lists only: $commands"

for c in $commands; do
	synopsis "$c" >"$c.doc"
	usage "$c" >"$c.usage"
	checks=$((checks + 1))
	[ -s "$c.doc" ] || fail "docs/cli.md has no '## deploy $c' synopsis"
	expect_same "$c.doc" "$c.usage" "docs/cli.md's synopsis of '$c' (-) and its usage (+)"

	# Every option of the table is in the usage line.
	"$DEPLOY" "$c" --help | sed -n 's/^ *\(-[a-z], \)\{0,1\}--\([a-z-]*\).*/\2/p' |
		grep -vx help >"$c.opts"
	while read -r o; do
		checks=$((checks + 1))
		grep -q -- "\[--$o[] ]" "$c.usage" ||
			fail "'deploy $c' usage lacks --$o: $(cat "$c.usage")"
	done <"$c.opts"
done

# The `$ deploy help` example in the help section.
awk '/^\$ deploy help$/ { on = 1; next } on && /^```/ { exit } on' "$DOC" >help.doc
expect_same help.doc "$TMP/out" "docs/cli.md's 'deploy help' example (-) and the output (+)"

# The example of each event in "JSON events" is valid, and every type of
# the schema has one.
awk '/^## JSON events$/ { sec = 1; next } sec && /^## / { exit }
sec && /^```/ { if (on) exit; on = 1; next } on' "$DOC" >events.doc
checks=$((checks + 1))
python3 - "$SRCDIR/docs/events.schema.json" events.doc <<'PY' || fail "docs/cli.md's JSON events examples"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema)
seen = set()
for l in open(sys.argv[2]):
    o = json.loads(l)
    v.validate(o)
    seen.add(o["type"])
missing = set(schema["$defs"]) - seen
assert not missing, "no example of %s" % sorted(missing)
PY

finish
