#!/bin/sh
# The man pages the build makes (docs/man/): one per command `deploy help`
# lists, deploy(1) and deploy-topology(5); each renders with man -l without
# a groff warning; each command's page has the synopsis and description
# `deploy help CMD` prints, and its options.
. "$TESTLIB"

mandir=$(cd "$(dirname "$DEPLOY")/../docs/man" 2>/dev/null && pwd)
if [ -z "$mandir" ] || [ ! -e "$mandir/deploy.1" ]; then
	echo "skipped: no man pages in the build (scdoc missing: -Dman=disabled)"
	exit 77
fi

# render PAGE WIDTH: the page as man shows it, ASCII; groff's warnings to
# $TMP/warn.
render() {
	LC_ALL=C MANWIDTH=$2 man --warnings -l "$1" 2>"$TMP/warn"
}

# section FILE NAME: the lines of section NAME, spaces squeezed, one line.
section() {
	awk -v s="$2" '/^[A-Z]/ { on = $0 == s; next } on' "$1" |
		tr -s ' \n' '  ' | sed 's/^ //; s/ $//'
}

run "$DEPLOY" help
commands=$(awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' "$TMP/out")
checks=$((checks + 1))
[ "$(echo "$commands" | wc -l)" -ge 10 ] || fail "deploy help lists only: $commands"

for page in deploy.1 deploy-topology.5 $(for c in $commands; do echo "deploy-$c.1"; done); do
	checks=$((checks + 1))
	if [ ! -s "$mandir/$page" ]; then
		fail "no man page $page"
		continue
	fi
	for width in 80 1000; do
		render "$mandir/$page" "$width" >page.txt
		checks=$((checks + 1))
		if [ -s "$TMP/warn" ]; then
			fail "$page at $width columns: groff warns"
			sed 's/^/  | /' "$TMP/warn" >&2
		fi
	done
	checks=$((checks + 1))
	grep -q '^NAME$' page.txt || fail "$page has no NAME"
done

for c in $commands; do
	render "$mandir/deploy-$c.1" 1000 >page.txt
	# The synopsis: the usage lines of deploy help CMD.
	"$DEPLOY" help "$c" | awk '/^$/ { exit } { sub(/^usage: /, ""); sub(/^ +/, ""); print }' |
		tr -s ' \n' '  ' | sed 's/ $//' >want
	section page.txt SYNOPSIS >got
	expect_same want got "deploy-$c(1)'s synopsis (+) and deploy help $c (-)"
	# The description: its paragraphs, word for word.
	"$DEPLOY" help "$c" | awk 'NR > 1 && /^options:$/ { exit } p { print } /^$/ { p = 1 }' |
		tr -s ' \n' '  ' | sed 's/^ //; s/ $//' >want
	section page.txt DESCRIPTION >got
	expect_same want got "deploy-$c(1)'s description (+) and deploy help $c (-)"
	# Every option.
	for o in $("$DEPLOY" __complete options "$c"); do
		checks=$((checks + 1))
		grep -q -- " $o\b" page.txt || fail "deploy-$c(1) lacks $o"
	done
done

# deploy(1) names every command's page.
render "$mandir/deploy.1" 1000 >page.txt
for c in $commands; do
	checks=$((checks + 1))
	grep -q "see deploy-$c(1)" page.txt || fail "deploy(1) does not name deploy-$c(1)"
done

# deploy-topology(5) is docs/topology.md: its sections are there.
render "$mandir/deploy-topology.5" 80 >page.txt
for s in "TOP-LEVEL KEYS" SSH PROVIDERS SECRETS ROLES; do
	checks=$((checks + 1))
	grep -qx "$s" page.txt || fail "deploy-topology(5) has no section $s"
done

finish
