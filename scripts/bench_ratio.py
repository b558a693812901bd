#!/usr/bin/env python3
"""Each strategy's criterion estimate divided by the floor's (`unprotected`), with an interval.

Reads target/criterion/<group>/<strategy>/<which>/estimates.json as `cargo bench` leaves them
(<which> is `new` for the latest run, or a `--save-baseline` name) and prints, per strategy:
its estimate and 95% confidence interval, and the ratio to the floor with an interval.

Estimate: criterion's `slope` (the linear-regression per-iteration time it prints first) when
present, else `mean`. Ratio interval: interval arithmetic on the two 95% intervals,
[lo_s / hi_floor, hi_s / lo_floor]. Both intervals hold at once with probability >= 90%
(Bonferroni), so this interval covers the true ratio with at least 90%; it is conservative.

Only compare strategies measured in the same `cargo bench` run (same machine, same load).

  scripts/bench_ratio.py                       # get_put, latest run, vs unprotected
  scripts/bench_ratio.py --limit 1.5           # add a column: is the ratio within 1.5x?
  scripts/bench_ratio.py --which main          # a saved baseline instead of the latest run
  scripts/bench_ratio.py --self-test           # check this script on synthetic estimates
"""

import argparse
import json
import os
import sys
import tempfile


# Estimates written further apart than this probably come from different `cargo bench` runs.
SAME_RUN_SECS = 15 * 60


def load(path):
    with open(path) as f:
        est = json.load(f)
    kind = "slope" if est.get("slope") else "mean"
    e = est[kind]
    ci = e["confidence_interval"]
    return kind, e["point_estimate"], ci["lower_bound"], ci["upper_bound"]


def rows(root, group, which, floor):
    gdir = os.path.join(root, group)
    if not os.path.isdir(gdir):
        raise SystemExit(f"bench_ratio: {gdir}: no such group (run `cargo bench -- {group}` first)")
    fpath = os.path.join(gdir, floor, which, "estimates.json")
    if not os.path.exists(fpath):
        raise SystemExit(f"bench_ratio: {fpath}: the floor was not measured in this run")
    _, f, f_lo, f_hi = load(fpath)
    if f_lo <= 0:
        raise SystemExit(f"bench_ratio: {fpath}: floor interval reaches zero")
    out = []
    mtimes = []
    for name in sorted(os.listdir(gdir)):
        p = os.path.join(gdir, name, which, "estimates.json")
        if name == "report" or not os.path.exists(p):
            continue
        mtimes.append(os.path.getmtime(p))
        kind, s, lo, hi = load(p)
        out.append((name, kind, s, lo, hi, s / f, lo / f_hi, hi / f_lo))
    if mtimes and max(mtimes) - min(mtimes) > SAME_RUN_SECS:
        print(f"bench_ratio: warning: the estimates were written {max(mtimes) - min(mtimes):.0f} s "
              "apart; they may come from different runs (rerun the whole group)", file=sys.stderr)
    return out


def provenance(root, group, which):
    """Header lines naming what produced the estimates, from the swapref-run.json that the
    bench binary writes when a `cargo bench` run starts; says so when it cannot vouch for them."""
    path = os.path.join(root, "swapref-run.json")
    if which != "new":
        return [f"# provenance: not recorded for saved baseline '{which}'"]
    if not os.path.exists(path):
        return [f"# provenance: unknown ({path} missing: estimates from an older swapref?)"]
    with open(path) as f:
        run = json.load(f)
    started = os.path.getmtime(path)
    gdir = os.path.join(root, group)
    stale = [n for n in sorted(os.listdir(gdir))
             if os.path.exists(os.path.join(gdir, n, which, "estimates.json"))
             and os.path.getmtime(os.path.join(gdir, n, which, "estimates.json")) < started]
    if stale:
        return [f"# provenance: unknown (estimates of {', '.join(stale)} predate the last "
                f"`cargo bench` start, {run.get('started')}; rerun the group)"]
    tool, env = run.get("tool", {}), run.get("environment", {})
    commit = (tool.get("git_commit") or "unknown commit")[:12]
    if tool.get("git_dirty"):
        commit += "-dirty"
    cpus = len(env.get("allowed_cpus") or [])
    return [
        f"# measured by swapref {tool.get('version')} {commit} ({tool.get('profile')}), "
        f"{tool.get('rustc')}; RCU flavour {run.get('rcu_flavor')}; percpu counters {run.get('percpu', 'thread')}; started {run.get('started')}",
        f"# machine: {env.get('cpu_model')}, {cpus} CPU(s) allowed, {env.get('arch')} "
        f"{env.get('kernel')}",
    ]


def verdict(lo, hi, limit):
    if hi <= limit:
        return "yes"
    if lo > limit:
        return "no"
    return "unclear"


def render(table, floor, limit):
    head = f"{'strategy':<16} {'estimate':>8} {'ns (95% CI)':>19}  {'ratio to ' + floor:>16} {'(>=90% CI)':>17}"
    if limit is not None:
        head += f"  within {limit}x"
    lines = [head]
    for name, kind, s, lo, hi, r, rlo, rhi in table:
        line = f"{name:<16} {kind:>8} {s:8.3f} [{lo:.3f}, {hi:.3f}]  {r:16.3f} [{rlo:.3f}, {rhi:.3f}]"
        if limit is not None:
            line += f"  {verdict(rlo, rhi, limit)}"
        lines.append(line)
    return "\n".join(lines)


def self_test():
    def est(p, lo, hi):
        ci = {"confidence_level": 0.95, "lower_bound": lo, "upper_bound": hi}
        return {"slope": {"confidence_interval": ci, "point_estimate": p, "standard_error": 0.1},
                "mean": {"confidence_interval": ci, "point_estimate": p + 1, "standard_error": 0.1}}
    with tempfile.TemporaryDirectory() as root:
        for name, e in [("unprotected", est(2.0, 1.9, 2.1)), ("fast", est(2.4, 2.3, 2.5)),
                        ("slow", est(6.0, 5.8, 6.2)), ("edge", est(3.0, 2.9, 3.3))]:
            d = os.path.join(root, "get_put", name, "new")
            os.makedirs(d)
            with open(os.path.join(d, "estimates.json"), "w") as f:
                json.dump(e, f)
        t = {r[0]: r for r in rows(root, "get_put", "new", "unprotected")}
        assert set(t) == {"unprotected", "fast", "slow", "edge"}, t
        assert t["fast"][1] == "slope" and abs(t["fast"][5] - 1.2) < 1e-12
        assert abs(t["fast"][6] - 2.3 / 2.1) < 1e-12 and abs(t["fast"][7] - 2.5 / 1.9) < 1e-12
        assert verdict(t["fast"][6], t["fast"][7], 1.5) == "yes"
        assert verdict(t["slow"][6], t["slow"][7], 1.5) == "no"
        assert verdict(t["edge"][6], t["edge"][7], 1.5) == "unclear"
        lines = render(list(t.values()), "unprotected", 1.5).splitlines()
        slow = [l for l in lines if l.startswith("slow ")]
        assert len(slow) == 1 and slow[0].endswith("  no"), lines
        # Provenance: missing, then recorded after the estimates (stale), then before them.
        assert "missing" in provenance(root, "get_put", "new")[0]
        run = {"started": "2026-01-01T00:00:00Z", "rcu_flavor": "fence",
               "tool": {"version": "0.1.0", "git_commit": "a" * 40, "git_dirty": True,
                        "rustc": "rustc 1.0", "profile": "release"},
               "environment": {"cpu_model": "Fake CPU", "allowed_cpus": [0, 1],
                               "arch": "x86_64", "kernel": "6.0"}}
        pfile = os.path.join(root, "swapref-run.json")
        with open(pfile, "w") as f:
            json.dump(run, f)
        assert "predate" in provenance(root, "get_put", "new")[0]
        os.utime(pfile, (0, 0))
        head = provenance(root, "get_put", "new")
        assert head[0].startswith("# measured by swapref 0.1.0 aaaaaaaaaaaa-dirty (release)"), head
        assert "Fake CPU, 2 CPU(s) allowed" in head[1], head
    print("bench_ratio self-test: ok (ratios, intervals, verdicts, provenance)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--criterion-dir", default=os.path.join("target", "criterion"))
    ap.add_argument("--group", default="get_put")
    ap.add_argument("--which", default="new", help="`new` (latest run) or a saved baseline name")
    ap.add_argument("--floor", default="unprotected")
    ap.add_argument("--limit", type=float, help="add a column: is the ratio within this?")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    table = rows(a.criterion_dir, a.group, a.which, a.floor)
    for line in provenance(a.criterion_dir, a.group, a.which):
        print(line)
    print(f"# {a.group} ({a.which}), ns per iteration; ratio to {a.floor}")
    print(render(table, a.floor, a.limit))


if __name__ == "__main__":
    sys.exit(main())
