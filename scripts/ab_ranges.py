#!/usr/bin/env python3
"""The last table of scripts/get-put-ab.sh: per strategy, the range of its ratio to
`unprotected` over the rounds on each side, whether the two ranges lie apart, and a loud line
when a control (a strategy the change does not touch) has ranges apart: then the machine, or
the code's placement in the binary, moved between the builds by at least that much.

Usage: scripts/ab_ranges.py REPORT CONTROLS
  REPORT    the rounds as get-put-ab.sh writes them ("## round N, base|new", then
            bench_ratio.py's rows)
  CONTROLS  comma list of control strategies (may be empty)
"""
import re
import sys

if len(sys.argv) != 3:
    sys.exit("ab_ranges.py: usage: ab_ranges.py REPORT CONTROLS")
controls = [c for c in sys.argv[2].split(",") if c]
ratios = {}
side = None
for line in open(sys.argv[1]):
    m = re.match(r"## round \d+, (\w+)", line)
    if m:
        side = m.group(1)
        continue
    f = line.split()
    if side and len(f) >= 6 and f[1] in ("slope", "mean"):
        try:
            ratios.setdefault(f[0], {}).setdefault(side, []).append(float(f[5]))
        except ValueError:
            pass


def apart(a, b):
    return bool(a and b) and (max(a) < min(b) or max(b) < min(a))


print()
print("## ratio to unprotected, range over the rounds")
print(f"{'strategy':<18}{'base':>16}{'new':>16}  ranges")
moved = []
for s, by in sorted(ratios.items()):
    b, n = by.get("base", []), by.get("new", [])
    cell = lambda v: f"{min(v):.3f}-{max(v):.3f}" if v else "-"
    verdict = "-" if s == "unprotected" or not (b and n) else ("apart" if apart(b, n) else "overlap")
    if s in controls:
        verdict += " (control)"
        if apart(b, n):
            moved.append(s)
    print(f"{s:<18}{cell(b):>16}{cell(n):>16}  {verdict}")
for s in controls:
    if s not in ratios:
        print(f"# control {s}: not measured (not in --filter?)")
if moved:
    print(f"# CONTROL MOVED: {', '.join(moved)}: the change does not touch "
          f"{'them' if len(moved) > 1 else 'it'}, yet the ranges lie apart: the machine or the "
          "code's placement in the binary moved between the builds, so ranges apart by no more "
          "than that are no evidence of the change")
