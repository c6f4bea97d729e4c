#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every case of the classic AWS SigV4 test suite through
# `deploy-test-tool sigv4` and compare the canonical request, the string to
# sign and the Authorization value with the case's .creq, .sts and .authz,
# byte for byte. Prints a diff for each failure, then "N/N passed"; exits 1
# when any case failed.
#
# usage: aws-sigv4.sh SUITE_DIR DEPLOY_TEST_TOOL
#   e.g. aws-sigv4.sh ../shared/conformance/aws-sigv4/aws-sig-v4-test-suite \
#        build/tests/helper/deploy-test-tool
#
# Two cases of the suite contradict themselves: aws-c-auth added
# Content-Length to the .req and .creq of post-x-www-form-urlencoded and
# post-x-www-form-urlencoded-parameters (and changed the latter's
# "charset=utf8" to "charset=utf-8") but kept AWS's original .sts, .authz
# and signature, so the hash in the .sts is not the SHA-256 of the .creq and
# no signer can match all three files. The script checks that (the .sts's
# last line against sha256sum of the .creq) rather than assuming it; for
# such a case it compares the canonical request with the .creq, and the
# string to sign and Authorization with what signing the original AWS
# request gives (the .req without Content-Length, charset=utf8: the request
# other implementations sign for these cases). The -parameters case's
# .authz was edited too: its SignedHeaders are those of the .creq (with
# content-length) but its signature is the original one, so there the
# Authorization is compared with the original request's signature under
# the .req's SignedHeaders. These cases are counted apart (ok*).
#
# A developer check, not part of the test suite: the suite is not vendored.
# Its signing parameters are the suite's documented constants (AKIDEXAMPLE,
# us-east-1, service "service", 20150830T123600Z). Tokens:
#   get-vanilla-with-session-token  signed X-Amz-Security-Token (--token)
#   post-sts-header-before          the token is already a header of its .req
#   post-sts-header-after           the token is added after signing, so it is
#                                   signed without one
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 SUITE_DIR DEPLOY_TEST_TOOL" >&2
	exit 64
fi
suite=$1
tool=$2

ACCESS_KEY=AKIDEXAMPLE
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
SESSION_TOKEN=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aws-sigv4.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# text FILE: FILE's bytes with CRs dropped and no trailing newline (the
# suite's files are LF, several without a final newline).
text() {
	printf '%s' "$(tr -d '\r' <"$1")"
}

# original_request REQ: the request AWS's own .sts/.authz were made from.
# (GNU sed keeps the body's missing final newline missing.)
original_request() {
	sed -e '/^content-length:/Id' -e 's/charset=utf-8/charset=utf8/' "$1"
}

# sts_hash_matches_creq DIR NAME: the .sts's last line is the SHA-256 of
# the .creq (true of a consistent case).
sts_hash_matches_creq() {
	want=$(text "$1/$2.sts" | tail -n 1)
	got=$(text "$1/$2.creq" | sha256sum | cut -d' ' -f1)
	[ "$want" = "$got" ]
}

# part OUTPUT N: part N (1 canonical request, 2 string to sign,
# 3 Authorization) of the verb's output, without a trailing newline. The
# canonical request has blank lines of its own, so count from the end: the
# last line is the Authorization, the four before the blank line above it
# the string to sign.
part() {
	n=$(wc -l <"$1")
	case $2 in
	1) printf '%s' "$(head -n $((n - 7)) "$1")" ;;
	2) printf '%s' "$(sed -n "$((n - 5)),$((n - 2))p" "$1")" ;;
	3) printf '%s' "$(tail -n 1 "$1")" ;;
	esac
}

# same WHAT EXPECTED_FILE ACTUAL_FILE: byte for byte, with a diff if not.
same() {
	if cmp -s "$2" "$3"; then
		return 0
	fi
	echo "  $1 differs:" >&2
	diff -u "$2" "$3" | sed 's/^/    /' >&2
	return 1
}

passed=0
explained=0
total=0
for req in $(find "$suite" -name '*.req' | sort); do
	dir=$(dirname "$req")
	name=$(basename "$req" .req)
	case=${dir#"$suite"/}
	total=$((total + 1))
	set -- --access-key "$ACCESS_KEY" --secret "$SECRET" \
		--region us-east-1 --service service --date 20150830T123600Z
	if [ "$name" = get-vanilla-with-session-token ]; then
		set -- "$@" --token "$SESSION_TOKEN"
	fi
	{
		text "$dir/$name.creq"
		printf '\n\n'
		text "$dir/$name.sts"
		printf '\n\n'
		text "$dir/$name.authz"
		printf '\n'
	} >"$tmp/expected"
	if ! "$tool" sigv4 --request "$req" "$@" >"$tmp/actual" 2>"$tmp/err"
	then
		echo "FAIL $case: exit status not 0" >&2
		sed 's/^/  /' "$tmp/err" >&2
		continue
	fi
	if cmp -s "$tmp/expected" "$tmp/actual"; then
		passed=$((passed + 1))
		echo "ok   $case"
		continue
	fi
	if sts_hash_matches_creq "$dir" "$name"; then
		echo "FAIL $case" >&2
		diff -u "$tmp/expected" "$tmp/actual" | sed 's/^/  /' >&2
		continue
	fi
	# The suite's .sts is not the hash of its .creq (see above).
	original_request "$req" >"$tmp/original.req"
	text "$dir/$name.creq" >"$tmp/creq"
	text "$dir/$name.sts" >"$tmp/sts"
	text "$dir/$name.authz" >"$tmp/authz"
	part "$tmp/actual" 1 >"$tmp/actual.creq"
	ok=1
	same "canonical request (.req against .creq)" "$tmp/creq" \
		"$tmp/actual.creq" || ok=0
	if ! "$tool" sigv4 --request "$tmp/original.req" "$@" \
		>"$tmp/original" 2>"$tmp/err"; then
		sed 's/^/  /' "$tmp/err" >&2
		ok=0
	else
		part "$tmp/original" 2 >"$tmp/actual.sts"
		part "$tmp/original" 3 >"$tmp/actual.authz"
		same "string to sign (original request against .sts)" \
			"$tmp/sts" "$tmp/actual.sts" || ok=0
		# The -parameters .authz has the edited SignedHeaders (those
		# of its .creq) before the original signature: take those
		# from the .req's signing when they are what it holds.
		signed=$(part "$tmp/actual" 3 | sed 's/.*SignedHeaders=\([^,]*\),.*/\1/')
		if ! cmp -s "$tmp/authz" "$tmp/actual.authz" &&
			grep -qF "SignedHeaders=$signed," "$tmp/authz"; then
			sed "s/SignedHeaders=[^,]*,/SignedHeaders=$signed,/" \
				"$tmp/actual.authz" >"$tmp/actual.authz2"
			mv "$tmp/actual.authz2" "$tmp/actual.authz"
		fi
		same "Authorization (original request against .authz)" \
			"$tmp/authz" "$tmp/actual.authz" || ok=0
	fi
	if [ "$ok" = 1 ]; then
		passed=$((passed + 1))
		explained=$((explained + 1))
		echo "ok*  $case (.sts is not the hash of .creq: .creq matched" \
			"from the .req, .sts and .authz from the original request)"
	else
		echo "FAIL $case" >&2
	fi
done

echo "$((passed - explained))/$total passed byte for byte"
if [ "$explained" -ne 0 ]; then
	echo "$explained/$total passed against the original AWS request (ok*)"
fi
echo "$passed/$total passed"
[ "$total" -gt 0 ] && [ "$passed" -eq "$total" ]
