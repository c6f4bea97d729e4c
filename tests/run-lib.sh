# Counting for tests/run.sh (and tests/integration/t0007-run-counts.sh,
# which checks it): meson's results added up, skips included.
#
# A test skips by exiting 77 and saying why ("skipped: needs root"). On a
# developer's machine that is fine. Under CI=true the machine has all a
# test needs (root, sshd, moto), so a skip is a failure, unless the test
# printed a line "cannot run in CI: REASON" saying why it never can.

passed=0
failed=0
skipped=0

# ci_skips DIR: the skipped tests of DIR's last meson run that do not say
# why they cannot run in CI, one "NAME: REASON" line each.
ci_skips() {
	python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys

for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    t = json.loads(line)
    if t.get("result") != "SKIP":
        continue
    text = (t.get("stdout") or "") + (t.get("stderr") or "")
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    if any(l.startswith("cannot run in CI: ") for l in lines):
        continue
    print("%s: %s" % (t["name"], lines[-1] if lines else "no reason given"))
PY
}

# meson_tests DIR [ARGS...]: run meson's tests in DIR and add its counts.
meson_tests() {
	dir=$1
	shift
	log=$(mktemp)
	meson test -C "$dir" --print-errorlogs "$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	bad=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	sk=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$ok" ]; then
		echo "FAILED: meson test in $dir ran no test (exit $rc)"
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + ok))
	skipped=$((skipped + ${sk:-0}))
	failed=$((failed + ${bad:-0} + ${to:-0}))
	if [ "$rc" -ne 0 ] && [ "${bad:-0}" -eq 0 ] && [ "${to:-0}" -eq 0 ]; then
		echo "FAILED: meson test in $dir exited $rc"
		failed=$((failed + 1))
	fi
	if [ "${CI:-}" = true ] && [ "${sk:-0}" -ne 0 ]; then
		ci=$(ci_skips "$dir") || ci="(cannot read $dir/meson-logs/testlog.json)"
		if [ -n "$ci" ]; then
			echo "$ci" | sed 's/^/FAILED: skipped under CI=true: /'
			failed=$((failed + $(echo "$ci" | wc -l)))
		fi
	fi
}

# summary: the closing line.
summary() {
	echo "$passed passed, $failed failed, $skipped skipped"
}
