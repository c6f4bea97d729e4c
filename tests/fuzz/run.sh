#!/bin/sh
# Run every libFuzzer target for a bounded time, two at a time (CI has two
# cores): tests/fuzz/run.sh BUILD_DIR [SECONDS]
# Each target starts from its seed corpus in tests/fuzz/corpus/TARGET (and
# the examples or built-in playbooks where they fit); new inputs go to a
# scratch directory, the seeds stay as they are. A crash, leak, timeout or
# failed check is printed with the input that caused it (base64, so that CI
# shows it and it can become a regression seed).
# Prints one line per target: "ok: fuzz-T N exec/s" or "FAILED: fuzz-T";
# exits with the number of targets that failed.
# The whole stage takes about 6 * SECONDS (default 25): 12 targets, 2 at once.
set -u
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
build=$1
seconds=${2:-25}
targets="topology template ec2 state known-hosts playbook markers keyfile
aws-profile digitalocean gcp proxy"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

extra() {
	case $1 in
	topology) echo "$top/examples" ;;
	playbook) echo "$top/playbooks" ;;
	esac
}

one() {
	t=$1
	mkdir -p "$scratch/$t"
	# shellcheck disable=SC2046 # extra() gives zero or one directory
	(cd "$scratch/$t" && "$top/$build/tests/fuzz/fuzz-$t" \
		-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "$scratch/$t" "$top/tests/fuzz/corpus/$t" \
		$(extra "$t") >"$scratch/$t.log" 2>&1)
	echo $? >"$scratch/$t.rc"
}

report() {
	t=$1
	rc=$(cat "$scratch/$t.rc")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$scratch/$t.log")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		"$scratch/$t.log")
	if [ "$rc" -eq 0 ]; then
		echo "ok: fuzz-$t ${rate:-?} exec/s, ${runs:-?} runs"
		return 0
	fi
	echo "FAILED: fuzz-$t (exit $rc)"
	grep -A 30 'ERROR\|==ERROR\|deadly signal\|runtime error' \
		"$scratch/$t.log" | head -n 60
	for f in "$scratch/$t"/crash-* "$scratch/$t"/timeout-* \
		"$scratch/$t"/leak-* "$scratch/$t"/oom-*; do
		[ -f "$f" ] || continue
		echo "input $(basename "$f") (base64):"
		base64 "$f" | head -n 40
	done
	return 1
}

# shellcheck disable=SC2086 # split the list into words
set -- $targets
bad=0
while [ $# -gt 0 ]; do
	one "$1" &
	a=$!
	b=
	if [ $# -gt 1 ]; then
		one "$2" &
		b=$!
	fi
	wait "$a"
	[ -n "$b" ] && wait "$b"
	report "$1" || bad=$((bad + 1))
	shift
	if [ -n "$b" ]; then
		report "$1" || bad=$((bad + 1))
		shift
	fi
done
exit "$bad"
