#!/usr/bin/env python3
"""The tables of scripts/swapoff-ab.sh: per run, each point's swapoff drain p50 and its ratio to
`rcu-valid`'s in the same run and flavour; then, per point, the range of both over the rounds
on each side, whether the two ranges lie apart, and a loud line when `rcu-valid`'s own p50
(the control) has ranges apart: the machine moved between the runs by at least that much.

A point's p50 is the median over the run's windows of each window's swapoff p50 (ns in the
results file, printed in µs). Each round's table says how many of the point's windows had a
swapoff cycle (`windows`); a point with none, or whose status is not ok, is listed there with
why and left out of the ranges.

Usage: scripts/swapoff_ab.py ROUND:SIDE:RESULTS.json...
  SIDE is base or new; RESULTS.json a `swapref run --out` file.
"""
import json
import statistics
import sys

CONTROL = "rcu-valid"


def die(msg):
    """Bad input: one line on stderr, exit 2."""
    print(f"swapoff_ab.py: {msg}", file=sys.stderr)
    sys.exit(2)


def name(p):
    n = p["strategy"]
    if p.get("rcu_flavor"):
        n += "@" + p["rcu_flavor"]
    if p.get("percpu") not in (None, "thread"):
        n += "/" + p["percpu"]
    return n


def p50s(path):
    """{point name: (flavour, median of the windows' swapoff p50 in ns or None, windows with a
    cycle, windows, status)} of one run."""
    out, seen = {}, set()
    try:
        with open(path) as f:
            doc = json.load(f)
        points = doc["points"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        die(f"{path}: not a swapref results file ({e})")
    for p in points:
        v = [r["swapoff_latency_ns"]["p50"] for r in p.get("repeats", [])
             if r.get("swapoff_latency_ns") and r["swapoff_latency_ns"].get("count")]
        n = name(p)
        if n in seen:
            die(f"two points named {n} in {path}: sweep only the strategies, flavours and "
                "counters (one reader count, period and hold)")
        seen.add(n)
        ok = p.get("status") == "ok" and v
        windows = len(p.get("repeats", []))
        out[n] = (p.get("rcu_flavor"), statistics.median(v) if ok else None, len(v), windows,
                  p.get("status"))
    return out


def apart(a, b):
    return bool(a and b) and (max(a) < min(b) or max(b) < min(a))


def main(args):
    if not args:
        die("usage: swapoff_ab.py ROUND:SIDE:RESULTS.json...")
    p50, ratio = {}, {}
    for a in args:
        try:
            rnd, side, path = a.split(":", 2)
        except ValueError:
            die(f"'{a}' is not ROUND:SIDE:RESULTS.json")
        if side not in ("base", "new"):
            die(f"side must be base or new, not '{side}'")
        run = p50s(path)
        print()
        print(f"## round {rnd}, {side}")
        print(f"{'point':<28}{'swapoff p50 us':>16}{'ratio to ' + CONTROL:>22}{'windows':>10}")
        for n, (flavor, v, k, m, status) in sorted(run.items()):
            p50.setdefault(n, {})
            if v is None:
                why = f"status {status}" if status != "ok" else "no swapoff cycle"
                print(f"{n:<28}{'-':>16}{'-':>22}{f'{k}/{m}':>10}  left out: {why}")
                continue
            ctl = run.get(f"{CONTROL}@{flavor}") if flavor else None
            r = v / ctl[1] if ctl and ctl[1] else None
            p50[n].setdefault(side, []).append(v / 1000)
            if r is not None and not n.startswith(CONTROL + "@"):
                ratio.setdefault(n, {}).setdefault(side, []).append(r)
            print(f"{n:<28}{v / 1000:>16.2f}{'-' if r is None else f'{r:.2f}':>22}{f'{k}/{m}':>10}")

    cell = lambda v, f: f"{min(v):{f}}-{max(v):{f}}" if v else "-"
    print()
    print("## swapoff p50 (us) and its ratio to rcu-valid's, range over the rounds")
    print(f"{'point':<28}{'base p50':>14}{'new p50':>14}  {'':<8}{'base ratio':>12}{'new ratio':>12}")
    moved = []
    for n in sorted(p50):
        b, nw = p50[n].get("base", []), p50[n].get("new", [])
        v1 = "apart" if apart(b, nw) else "overlap" if b and nw else "-"
        rb, rn = ratio.get(n, {}).get("base", []), ratio.get(n, {}).get("new", [])
        v2 = "apart" if apart(rb, rn) else "overlap" if rb and rn else "-"
        if n.startswith(CONTROL + "@"):
            v1 += " (control)"
            if apart(b, nw):
                moved.append(n)
            print(f"{n:<28}{cell(b, '.2f'):>14}{cell(nw, '.2f'):>14}  {v1}")
        else:
            print(f"{n:<28}{cell(b, '.2f'):>14}{cell(nw, '.2f'):>14}  {v1:<8}"
                  f"{cell(rb, '.2f'):>12}{cell(rn, '.2f'):>12}  {v2}")
    if moved:
        print(f"# CONTROL MOVED: {', '.join(moved)}: ranges apart on the control, so the machine "
              "moved between the runs; ranges apart by no more than that are no evidence of the "
              "change")


if __name__ == "__main__":
    main(sys.argv[1:])
