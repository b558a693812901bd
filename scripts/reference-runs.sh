#!/usr/bin/env bash
# The reference runs of results/reference/<dir>/ and their write-ups and figures, in one
# command. Each run's results.json and what the run printed (table.txt and stderr.txt, or
# run.log for the sweep, with machine-check.txt) are written there, then
# `swapref report` draws the figures into plots/<dir>-<run>/ (emptied first, so no figure of an
# older run stays behind) and writes report.md beside the results. Nothing is typed in.
#
#   default  `swapref run --rcu qsbr,membarrier --percpu thread,cpu`: the command a user runs
#            first, both kernel models and both percpu counter backends (1 reader, the swapper
#            on the other CPU, 1 ms period)
#   sweep    scripts/sweep.sh over readers 1,2 and periods 100us,1ms,10ms,never, both models
#   hold     every strategy at 1 reader, no swapper, holds 0,20ns,100ns,500ns, both models
#   backends the percpu strategies with per-thread and per-CPU counters at 1, 2 and 4
#            (oversubscribed) readers, 1 ms period, both models: swapoff drain and bytes/dev
#
# Usage: scripts/reference-runs.sh [--dir NAME] [--label TEXT] [RUN ...]
#   --dir NAME    results/reference/NAME and plots/NAME-<run> (default vm-2cpu)
#   --label TEXT  machine label recorded in the results
#                 (default "2-core x86-64 VM (AMD EPYC), no hardware counters (no PMU)")
#   RUN           default, sweep, hold, backends (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=vm-2cpu
label="2-core x86-64 VM (AMD EPYC), no hardware counters (no PMU)"
runs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir="${2:?--dir needs a name}"; shift 2 ;;
        --label) label="${2:?--label needs text}"; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        default|sweep|hold|backends) runs+=("$1"); shift ;;
        *) echo "reference-runs.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ ${#runs[@]} -gt 0 ] || runs=(default sweep hold backends)
cargo build --release --quiet
bin=target/release/swapref
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "reference-runs.sh: warning: the tree has uncommitted changes; the results say so" >&2
fi
for r in "${runs[@]}"; do
    out=results/reference/$dir/$r
    tmp=$(mktemp -d)
    echo "== $r" >&2
    case "$r" in
        default)
            "$bin" run --rcu qsbr,membarrier --percpu thread,cpu --label "$label" \
                --out "$tmp/results.json" >"$tmp/table.txt" 2>"$tmp/stderr.txt"
            ;;
        backends)
            "$bin" run --strategies percpu-acquire,percpu-fence --percpu thread,cpu \
                --rcu qsbr,membarrier --readers 1,2,4 --oversubscribe --repeats 3 \
                --label "$label" --out "$tmp/results.json" >"$tmp/table.txt" 2>"$tmp/stderr.txt"
            ;;
        sweep)
            scripts/sweep.sh --out "$tmp/sweep" --readers 1,2 --periods 100us,1ms,10ms,never \
                --duration 500ms --repeats 5 --label "$label" --swapref "$bin" \
                -- --rcu qsbr,membarrier >"$tmp/sweep.log" 2>&1 ||
                { cat "$tmp/sweep.log" >&2; exit 1; }
            mv "$tmp/sweep/results.json" "$tmp/sweep/machine-check.txt" "$tmp/"
            mv "$tmp/sweep.log" "$tmp/run.log"
            rm -rf "$tmp/sweep"
            ;;
        hold)
            "$bin" run --strategies all --readers 1 --period never --hold 0,20ns,100ns,500ns \
                --duration 300ms --repeats 5 --rcu qsbr,membarrier --label "$label" \
                --out "$tmp/results.json" >"$tmp/table.txt" 2>"$tmp/stderr.txt"
            ;;
    esac
    mkdir -p "$out"
    rm -f "$out"/*
    mv "$tmp"/* "$out/"
    rmdir "$tmp"
    rm -rf "plots/$dir-$r"
    "$bin" report "$out/results.json" --out "$out/report.md" --plots "plots/$dir-$r"
done
