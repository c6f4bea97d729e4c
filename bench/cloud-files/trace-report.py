#!/usr/bin/env python3
"""Where a step's time went, from moto-trace.py's lines: the calls of each
action (how many, moto's wall time answering them, its CPU time), the
phases (start to the first RunInstances, the RunInstances, after the last
one) and the time moto had no request in hand (deploy's own work, its
start, and the waits between polls).

usage: trace-report.py TRACE_FILE T0 T1
"""
import sys

path, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
calls = []
with open(path) as f:
    for line in f:
        a, b, cpu, action = line.split()
        a, b = float(a), float(b)
        if t0 <= a <= t1:
            calls.append((a, b, float(cpu), action))
calls.sort()
by = {}
for a, b, cpu, action in calls:
    n, w, c = by.get(action, (0, 0.0, 0.0))
    by[action] = (n + 1, w + (b - a), c + cpu)
print("      %-34s %5s %9s %9s" % ("call", "n", "moto wall", "moto CPU"))
for action in sorted(by, key=lambda k: -by[k][1]):
    n, w, c = by[action]
    print("      %-34s %5d %8.3fs %8.3fs" % (action, n, w, c))
tw = sum(b - a for a, b, _, _ in calls)
tc = sum(c for _, _, c, _ in calls)
print("      %-34s %5d %8.3fs %8.3fs" % ("all", len(calls), tw, tc))

# Time with at least one request in hand at moto, and without.
busy, end = 0.0, None
for a, b, _, _ in calls:
    if end is None or a > end:
        busy += b - a
        end = b
    elif b > end:
        busy += b - end
        end = b
print("      moto busy %.3f s of the step's %.3f s (idle: %.3f s)"
      % (busy, t1 - t0, t1 - t0 - busy))
runs = [c for c in calls if c[3].startswith("RunInstances")]
if runs:
    first = runs[0][0]
    last = max(b for _, b, _, _ in runs)
    before = [c for c in calls if c[0] < first]
    after = [c for c in calls if c[0] > last]
    print("      phases: to the first RunInstances %.3f s (%d calls, the "
          "first after %.3f s), RunInstances %.3f s (%d calls), after %.3f s "
          "(%d calls)" % (first - t0, len(before),
                          (calls[0][0] - t0) if calls else 0.0, last - first,
                          len(runs), t1 - last, len(after)))
