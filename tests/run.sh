#!/bin/sh
# Every test of deploy, as CI runs it (README.md's test command):
#   1. install what is needed (tests/deps.sh)
#   2. check formatting with clang-format
#   3. build with -Werror and run the unit and integration tests
#   4. build with AddressSanitizer + UndefinedBehaviorSanitizer, run them again
#   5. build the libFuzzer targets with clang and fuzz for a bounded time
# It ends with one line "N passed, M failed, K skipped" and exits 1 if
# anything failed. Under CI=true (a machine with root, sshd and moto) a
# skipped test counts as failed unless it says why it cannot run in CI
# (see tests/run-lib.sh).
# FUZZ_SECONDS (default 60) bounds the topology fuzzer; the template fuzzer
# gets half of it.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
. tests/run-lib.sh
fuzz_seconds=${FUZZ_SECONDS:-60}

step() {
	printf '\n== %s\n' "$*"
}

# count NAME CMD...: one check that passes or fails as CMD does.
count() {
	name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok: $name"
	else
		failed=$((failed + 1))
		echo "FAILED: $name"
	fi
}

# setup DIR ARGS...: a fresh build directory (reconfigured if it exists).
setup() {
	dir=$1
	shift
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		rm -rf "$dir"
		meson setup "$dir" "$@" >/dev/null
	fi && meson compile -C "$dir"
}

step "dependencies"
sh tests/deps.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

step "formatting (clang-format)"
check_format() {
	files=$(find cli core providers tests -name '*.[ch]' | sort)
	# shellcheck disable=SC2086
	clang-format --dry-run --Werror $files
}
count "clang-format" check_format

step "build (-Werror) and tests"
if setup build; then
	passed=$((passed + 1))
	meson_tests build
else
	failed=$((failed + 1))
	echo "FAILED: build"
fi

step "build with AddressSanitizer + UndefinedBehaviorSanitizer, and tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if setup build-san -Db_sanitize=address,undefined -Db_lundef=false; then
	passed=$((passed + 1))
	meson_tests build-san
else
	failed=$((failed + 1))
	echo "FAILED: sanitizer build"
fi

step "fuzzing (libFuzzer, ${fuzz_seconds}s + $((fuzz_seconds / 2))s)"
fuzz() {
	target=$1
	seconds=$2
	shift 2
	work=$(mktemp -d)
	# New inputs go to the scratch directory; the seeds stay as they are.
	(cd "$work" && "$top/build-fuzz/tests/fuzz/fuzz-$target" \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "$work" "$@" >"$work.log" 2>&1)
	rc=$?
	tail -n 6 "$work.log"
	if [ "$rc" -ne 0 ]; then
		grep -A 30 'ERROR\|==ERROR\|deadly signal' "$work.log" | head -n 60
		# Keep the crashing input where CI shows it.
		ls "$work"/crash-* "$work"/timeout-* "$work"/leak-* 2>/dev/null
	fi
	rm -rf "$work" "$work.log"
	return "$rc"
}
if CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dtests=true; then
	count "fuzz-topology" fuzz topology "$fuzz_seconds" \
		"$top/tests/fuzz/corpus/topology" "$top/examples"
	count "fuzz-template" fuzz template $((fuzz_seconds / 2)) \
		"$top/tests/fuzz/corpus/template"
else
	failed=$((failed + 1))
	echo "FAILED: fuzz build"
fi

echo
summary
[ "$failed" -eq 0 ]
