#!/usr/bin/env bash
# The A/A and A/B check of `swapref compare`: does a comparison of two runs of one build stay
# silent, and does it still catch a real change?
#
# For i in 1..PAIRS, back to back: run A, run A', run B, where B is the same build with an
# injected extra cost per lookup on one strategy (`run --inject STRATEGY:N`, a test hook: that
# strategy's references are held N spin iterations and the map re-read). Then
#   A/A pair i = compare A A'  -> a false alarm if any point is "regressed" or "improved";
#   A/B pair i = compare A' B  -> detected if the injected strategy is "regressed".
# With each --normalize: floor (the default), unprotected and none. Writes OUT (default
# results/reference/vm-2cpu/aa-compare.md): machine, commit, command, run time, both rates,
# the injected strategy's measured ratio per pair, and the run-to-run spread of every point.
# Nothing is typed in. The default injection (hazard:1) is the smallest there is: one spin
# iteration, with the call of the never-inlined spin and the map's re-read. What it costs
# depends on the machine; the measured ratio is in the output, and is what the detection rate
# is for.
#
# Usage: scripts/aa-compare.sh [--pairs N] [--inject STRATEGY:N] [--out FILE] [--keep DIR]
#                              [-- run options]
#   --keep DIR: leave the runs and comparisons in DIR (default: a temporary directory, removed)
#   --judge DIR: make no runs; judge the runs an earlier --keep DIR left there with this build
#                (its run options and --inject must be the ones they were made with: checked).
#                The output names the runs' commit and the judging commit apart.
#   default run options: --strategies all --readers 1 --period never
#                        --duration 50ms --warmup 10ms --repeats 40
#   (many short windows: where the spread of ns/lookup between windows does not grow as the
#   window shrinks, 40 windows of 50 ms give an interval about 1/sqrt(2) as wide as 20 of
#   100 ms, in the same time)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=10
keep=
judge=
inject=hazard:1
out=results/reference/vm-2cpu/aa-compare.md
opts=(--strategies all --readers 1 --period never --duration 50ms --warmup 10ms --repeats 40)
while [ $# -gt 0 ]; do
    case "$1" in
        --pairs) pairs="${2:?--pairs needs a number}"; shift 2 ;;
        --inject) inject="${2:?--inject needs STRATEGY:N}"; shift 2 ;;
        --out) out="${2:?--out needs a file}"; shift 2 ;;
        --keep) keep="${2:?--keep needs a directory}"; shift 2 ;;
        --judge) judge="${2:?--judge needs a directory}"; shift 2 ;;
        --) shift; opts=("$@"); break ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "aa-compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
cargo build --release --quiet
bin=target/release/swapref
if [ -n "$judge" ]; then
    work=$judge
    [ -f "$work/b-$pairs.json" ] || { echo "aa-compare.sh: $work has no b-$pairs.json" >&2; exit 2; }
elif [ -n "$keep" ]; then
    work=$keep
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
t0=$(date +%s)
for i in $(seq 1 "$pairs"); do
    for side in a a2 b; do
        [ -n "$judge" ] && continue
        extra=()
        [ "$side" = b ] && extra=(--inject "$inject")
        echo "== pair $i/$pairs: run $side" >&2
        "$bin" run "${opts[@]}" "${extra[@]}" --counters none --out "$work/$side-$i.json" \
            --format json >/dev/null 2>"$work/$side-$i.log" ||
            { cat "$work/$side-$i.log" >&2; exit 1; }
    done
    for norm in floor unprotected none; do
        # Exit 1 is a verdict (regression), not a failure of the script.
        "$bin" compare "$work/a-$i.json" "$work/a2-$i.json" --normalize "$norm" --format json \
            >"$work/aa-$norm-$i.json" 2>/dev/null || [ $? -eq 1 ]
        "$bin" compare "$work/a2-$i.json" "$work/b-$i.json" --normalize "$norm" --format json \
            >"$work/ab-$norm-$i.json" 2>/dev/null || [ $? -eq 1 ]
    done
done
elapsed=$(( $(date +%s) - t0 ))
mkdir -p "$(dirname "$out")"
judged_by="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && judged_by="$judged_by, with uncommitted changes"
python3 - "$work" "$pairs" "$inject" "$elapsed" "${opts[*]}" "$judged_by" "${judge:+yes}" >"$out.tmp" <<'EOF'
import json, os, sys, datetime
work, pairs, inject, elapsed, opts, judged_by, judge_only = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
target = inject.split(':')[0]
first, last = json.load(open(f"{work}/a-1.json")), json.load(open(f"{work}/b-{pairs}.json"))
# The runs must be the ones these options describe.
want = {"--duration": "duration_ns", "--warmup": "warmup_ns", "--repeats": "repeats"}
words = opts.split()
for flag, field in want.items():
    if flag in words:
        v = words[words.index(flag) + 1]
        unit = {"ms": 10**6, "us": 10**3, "ns": 1, "s": 10**9}
        num = int(v) if v.isdigit() else int(float(v.rstrip("mnus")) * unit[v.lstrip("0123456789.")])
        if first["config"][field] != num:
            sys.exit(f"aa-compare.sh: {work}: runs have {field} {first['config'][field]}, not {v}")
if last["config"].get("inject") != inject:
    sys.exit(f"aa-compare.sh: {work}: runs injected {last['config'].get('inject')}, not {inject}")
# How long the runs took, from the files: the first run's start to the last run's file.
t_start = datetime.datetime.fromisoformat(first["started"].replace("Z", "+00:00")).timestamp()
runs_s = int(os.path.getmtime(f"{work}/b-{pairs}.json") - t_start)
run = json.load(open(f"{work}/a-1.json"))
env, tool = run["environment"], run["tool"]
print("# `swapref compare`: A/A false alarms and A/B detection\n")
dirty = ", with uncommitted changes" if tool.get("git_dirty") else ""
how = f"`scripts/aa-compare.sh --judge` (runs kept by an earlier `--keep`)" if judge_only else "`scripts/aa-compare.sh`"
print(f"Generated by {how} (do not edit). Runs made by commit `{tool['git_commit']}` "
      f"({tool['profile']}{dirty}); judged by commit `{judged_by}`; machine {env.get('hostname')} ({env.get('cpu_model')}, "
      f"{len(env['allowed_cpus'])} CPUs allowed, kernel {env.get('kernel')}), "
      f"started {run['started']}.\n")
print(f"Each run: `swapref run {opts}`. Per pair, back to back: A, A', and B = A with "
      f"`--inject {inject}` (a test hook: {target}'s references held longer). "
      f"A/A = `compare A A'`, A/B = `compare A' B`. {pairs} pairs, {3 * pairs} runs in "
      f"{runs_s} s (the first run's start to the last run's file).\n")
print("| judgement | A/A pairs with any verdict (false alarms) | A/B pairs with "
      f"`{target}` regressed (detected) | {target} ratio in A/B, median (min–max) | "
      "A/A: \\|ratio − 1\\| of ns/lookup over every point, median / 95th pct / max |")
print("| --- | ---: | ---: | ---: | ---: |")
detail = {}
labels = {
    "floor": "ns/lookup ÷ each repeat's floor (`--normalize floor`, the default)",
    "unprotected": "ns/lookup ÷ same round's unprotected (`--normalize unprotected`)",
    "none": "ns/lookup as measured (`--normalize none`)",
}
for norm in labels:
    alarms, detected, ratios, rows, spread = 0, 0, [], [], []
    for i in range(1, pairs + 1):
        aa = json.load(open(f"{work}/aa-{norm}-{i}.json"))
        ab = json.load(open(f"{work}/ab-{norm}-{i}.json"))
        called = [f"{r['strategy']} {r['verdict']}" for r in aa["rows"]
                  if r["verdict"] in ("regressed", "improved", "failed")]
        alarms += bool(called)
        spread += [abs(r["metrics"][0]["ratio"] - 1) for r in aa["rows"]
                   if r["metrics"][0]["ratio"] is not None and r["metrics"][0]["verdict"] != "n/a"]
        hit = [r for r in ab["rows"] if r["strategy"].split('@')[0] == target]
        ns = hit[0]["metrics"][0] if hit else None
        ok = bool(hit) and hit[0]["verdict"] == "regressed"
        detected += ok
        if ns and ns["ratio"] is not None:
            ratios.append(ns["ratio"])
        others = [f"{r['strategy']} {r['verdict']}" for r in ab["rows"]
                  if r["strategy"].split('@')[0] != target and r["verdict"] in ("regressed", "improved")]
        iv = ns["interval"] if ns else None
        rows.append((i, ", ".join(called) or "silent",
                     f"{ns['ratio']:.3f} [{iv[0]:.3f}, {iv[1]:.3f}] {hit[0]['verdict']}" if iv else "n/a",
                     ", ".join(others) or "-"))
    rs = sorted(ratios)
    med = rs[len(rs) // 2] if len(rs) % 2 else (rs[len(rs) // 2 - 1] + rs[len(rs) // 2]) / 2
    sp = sorted(spread)
    pct = lambda q: 100 * sp[min(len(sp) - 1, int(q * len(sp)))]
    print(f"| {labels[norm]} | {alarms} of {pairs} | {detected} of {pairs} | {med:.3f} ({rs[0]:.3f}–{rs[-1]:.3f}) | "
          f"{pct(0.5):.1f} % / {pct(0.95):.1f} % / {100 * sp[-1]:.1f} % ({len(sp)} points) |")
    detail[norm] = rows
for norm, rows in detail.items():
    print(f"\n## Per pair, `--normalize {norm}`\n")
    print(f"| pair | A/A verdicts | A/B: {target} ratio [99% interval] verdict | A/B: other points called |")
    print("| ---: | --- | --- | --- |")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |")
EOF
mv "$out.tmp" "$out"
echo "wrote $out ($elapsed s)" >&2
