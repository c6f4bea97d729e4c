#!/bin/sh
# Every topology in examples/ validates, and its summary names its roles.
. "$TESTLIB"

count=0
for f in "$SRCDIR"/examples/*.yml; do
	[ -e "$f" ] || continue
	count=$((count + 1))
	run "$DEPLOY" validate "$f"
	expect_rc 0 "validate $(basename "$f")"
	name=$(sed -n 's/^name: *//p' "$f")
	checks=$((checks + 1))
	case "$(head -n 1 "$TMP/out")" in
	"$f: valid topology '$name' (version 1"*) ;;
	*) fail "summary of $(basename "$f"): $(head -n 1 "$TMP/out")" ;;
	esac
	# only warnings may be printed, never an error
	expect_no_match "$TMP/err" ": error: " "no error for $(basename "$f")"
	run "$DEPLOY" graph "$f"
	expect_rc 0 "graph $(basename "$f")"
done
checks=$((checks + 1))
[ "$count" -ge 5 ] || fail "expected at least 5 examples, found $count"

# The examples the README and the issues name are there.
for name in local bare-metal icon-aws near-gcp multi-cloud; do
	checks=$((checks + 1))
	[ -f "$SRCDIR/examples/$name.yml" ] || fail "examples/$name.yml missing"
done
finish
