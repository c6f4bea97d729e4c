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
# FUZZ_SECONDS (default 25) bounds each of the twelve fuzz targets, run two
# at a time (tests/fuzz/run.sh): the fuzz stage takes about 6 * FUZZ_SECONDS
# plus its build.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
. tests/run-lib.sh
fuzz_seconds=${FUZZ_SECONDS:-25}

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

step "fuzzing (libFuzzer, 12 targets, ${fuzz_seconds}s each, two at a time)"
if CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dtests=true; then
	log=$(mktemp)
	sh tests/fuzz/run.sh build-fuzz "$fuzz_seconds" | tee "$log"
	passed=$((passed + $(grep -c '^ok: fuzz-' "$log")))
	failed=$((failed + $(grep -c '^FAILED: fuzz-' "$log")))
	rm -f "$log"
else
	failed=$((failed + 1))
	echo "FAILED: fuzz build"
fi

echo
summary
[ "$failed" -eq 0 ]
