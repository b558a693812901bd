#!/usr/bin/env bash
# The reference runs of results/reference/<dir>/ and their write-ups and figures, in one
# command. Each run's results.json and what the run printed (table.txt and stderr.txt, or
# run.log for the sweep, with machine-check.txt) are written there, then
# `swapref report` draws the figures into plots/<dir>-<run>/ (emptied first, so no figure of an
# older run stays behind) and writes report.md beside the results. Nothing is typed in.
#
#   default  `swapref run --rcu qsbr,membarrier --percpu thread,cpu,cid`: the command a user
#            runs first, both kernel models and every percpu counter backend (1 reader, the
#            swapper on the other CPU, 1 ms period)
#   sweep    scripts/sweep.sh over readers 1,2 and periods 100us,1ms,10ms,never, both models
#   hold     every strategy at 1 reader, no swapper, holds 0,20ns,100ns,500ns, both models
#   backends the percpu strategies with per-thread, per-CPU and per-concurrency-ID counters at
#            1, 2 and 4 (oversubscribed) readers, 1 ms period, both models: swapoff drain and
#            bytes/dev
#
# Usage: scripts/reference-runs.sh [options] [RUN ...]
#   --dir NAME       results/reference/NAME and plots/NAME-<run> (default vm-2cpu)
#   --label TEXT     machine label recorded in the results (default "2-core x86-64 VM (MODEL),
#                    no hardware counters (no PMU)", MODEL being /proc/cpuinfo's first
#                    "model name": the VM's host CPU changes between sessions)
#   --swapref PATH   use this binary instead of building one (a machine without cargo; a
#                    relative path is taken from the repository's root)
#   --readers LIST   reader counts of sweep and backends (defaults 1,2 and 1,2,4: a 2-core box)
#   --periods LIST   periods of sweep (default 100us,1ms,10ms,never)
#   --rcu LIST       kernel models of every run (default qsbr,membarrier)
#   --percpu LIST    counter backends of default and backends (default thread,cpu,cid, less
#                    those this machine lacks, which it says)
#   --duration D     measured window of sweep and backends (defaults 500ms)
#   --repeats N      repeats of sweep and backends (defaults 5 and 3)
#   --no-report      measure only; draw nothing (then --report-only where the figures go)
#   --report-only    measure nothing: redraw report.md and the figures from the results there
#   RUN              default, sweep, hold, backends (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=vm-2cpu
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
label="2-core x86-64 VM (${model:-CPU model unknown}), no hardware counters (no PMU)"
runs=() bin="" sweep_readers=1,2 backend_readers=1,2,4 periods=100us,1ms,10ms,never
rcu=qsbr,membarrier percpu='' duration=500ms sweep_repeats=5 backend_repeats=3 measure=1 report=1
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir="${2:?--dir needs a name}"; shift 2 ;;
        --label) label="${2:?--label needs text}"; shift 2 ;;
        --swapref) bin="${2:?--swapref needs a path}"; shift 2 ;;
        --readers) sweep_readers="${2:?--readers needs a list}"; backend_readers=$sweep_readers; shift 2 ;;
        --periods) periods="${2:?--periods needs a list}"; shift 2 ;;
        --rcu) rcu="${2:?--rcu needs a list}"; shift 2 ;;
        --percpu) percpu="${2:?--percpu needs a list}"; shift 2 ;;
        --duration) duration="${2:?--duration needs a time}"; shift 2 ;;
        --repeats) sweep_repeats="${2:?--repeats needs a number}"; backend_repeats=$sweep_repeats; shift 2 ;;
        --no-report) report=0; shift ;;
        --report-only) measure=0; shift ;;
        -h|--help) sed -n '2,${/^#/!q;p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        default|sweep|hold|backends) runs+=("$1"); shift ;;
        *) echo "reference-runs.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ ${#runs[@]} -gt 0 ] || runs=(default sweep hold backends)
sweep_report=()
[ "$report" = 1 ] || sweep_report=(--no-report)
if [ -z "$bin" ]; then
    cargo build --release --quiet
    bin=target/release/swapref
fi
if [ -z "$percpu" ] && [ "$measure" = 1 ]; then
    # Each backend this machine has (only swapref's own refusal drops one).
    percpu=$(scripts/percpu-backends.sh "$bin" reference-runs.sh)
fi
if [ "$measure" = 1 ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    echo "reference-runs.sh: warning: the tree has uncommitted changes; the results say so" >&2
fi
for r in "${runs[@]}"; do
    out=results/reference/$dir/$r
    if [ "$measure" = 1 ]; then
        tmp=$(mktemp -d)
        # A run that fails shows what it printed and leaves nothing behind.
        failed() {
            cat "$tmp"/stderr.txt >&2 2>/dev/null || true
            rm -rf "$tmp"
            echo "reference-runs.sh: the $r run failed; results/reference/$dir/$r unchanged" >&2
            exit 1
        }
        echo "== $r" >&2
        case "$r" in
            default)
                "$bin" run --rcu "$rcu" --percpu "$percpu" --label "$label" \
                    --out "$tmp/results.json" >"$tmp/table.txt" 2>"$tmp/stderr.txt" || failed
                ;;
            backends)
                "$bin" run --strategies percpu-acquire,percpu-fence --percpu "$percpu" \
                    --rcu "$rcu" --readers "$backend_readers" --oversubscribe \
                    --duration "$duration" --repeats "$backend_repeats" \
                    --label "$label" --out "$tmp/results.json" >"$tmp/table.txt" 2>"$tmp/stderr.txt" \
                    || failed
                ;;
            sweep)
                scripts/sweep.sh --out "$tmp/sweep" --readers "$sweep_readers" \
                    --periods "$periods" --duration "$duration" --repeats "$sweep_repeats" \
                    --label "$label" --swapref "$bin" "${sweep_report[@]}" \
                    -- --rcu "$rcu" >"$tmp/sweep.log" 2>&1 || { cat "$tmp/sweep.log" >&2; failed; }
                mv "$tmp/sweep/results.json" "$tmp/sweep/machine-check.txt" "$tmp/"
                mv "$tmp/sweep.log" "$tmp/run.log"
                rm -rf "$tmp/sweep"
                ;;
            hold)
                "$bin" run --strategies all --readers 1 --period never --hold 0,20ns,100ns,500ns \
                    --duration 300ms --repeats 5 --rcu "$rcu" --label "$label" \
                    --out "$tmp/results.json" >"$tmp/table.txt" 2>"$tmp/stderr.txt" || failed
                ;;
        esac
        mkdir -p "$out"
        rm -f "$out"/*
        mv "$tmp"/* "$out/"
        rmdir "$tmp"
    fi
    [ "$report" = 1 ] || continue
    [ -f "$out/results.json" ] || { echo "reference-runs.sh: $out/results.json: no results to report" >&2; exit 2; }
    rm -rf "plots/$dir-$r"
    "$bin" report "$out/results.json" --out "$out/report.md" --plots "plots/$dir-$r"
done
