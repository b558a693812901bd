#!/usr/bin/env bash
# The reference runs that a 2-core box cannot make, for a machine with many CPUs, into
# results/reference/<dir>/. N is the number of CPUs this process may use.
#
#   machine   machine.txt: kernel, CPUs, glibc, and what `swapref run` picks for --rcu auto
#             and --percpu auto, with its reasons (the lists below follow from those probes)
#   backends  scripts/reference-runs.sh backends: percpu-acquire and percpu-fence with
#             per-thread, per-CPU and per-cid counters at 1, 2, 4, ... N-1 readers and 2N
#             (oversubscribed), both kernel models: swapoff drain and bytes/dev
#   get_put   scripts/reference-get-put.sh --only qsbr-cpu, then --only qsbr (one thread)
#   sweep     scripts/reference-runs.sh sweep: every strategy at 1, 2, 4, ... N-1 readers,
#             periods 1ms and never, both kernel models
#   rseq_parts scripts/rseq-parts.sh: the per-CPU section taken apart (seconds)
# Windows are 250 ms, 3 repeats (interleaved): short, for a machine lent for minutes.
# It measures only; draw the write-ups and figures afterwards, on any machine, with
#   scripts/reference-runs.sh --dir NAME --report-only backends sweep
#
# Usage: scripts/reference-many-core.sh --dir NAME [--label TEXT]
#                                        [--swapref BIN --bench BIN [--parts BIN]] [STAGE ...]
#   --dir NAME      results/reference/NAME
#   --label TEXT    machine label recorded in the results (default: CPUs, model, kernel)
#   --swapref BIN   a prebuilt swapref, and with --bench a prebuilt `strategies` bench binary,
#   --bench BIN     for a machine without cargo (default: build both with cargo); relative
#                   paths are taken from the repository's root
#   --parts BIN     a prebuilt examples/rseq_parts for the rseq_parts stage (default: build it)
#   STAGE           machine, backends, get_put, sweep, rseq_parts (default: all, in this
#                   order)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="" label="" bin="" bench="" parts="" stages=()
die() { echo "reference-many-core.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir="${2:-}"; shift 2 || die "--dir needs a name" ;;
        --label) label="${2:-}"; shift 2 || die "--label needs text" ;;
        --swapref) bin="${2:-}"; shift 2 || die "--swapref needs a path" ;;
        --bench) bench="${2:-}"; shift 2 || die "--bench needs a path" ;;
        --parts) parts="${2:-}"; shift 2 || die "--parts needs a path" ;;
        -h|--help) sed -n '2,${/^#/!q;p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        machine|backends|get_put|sweep|rseq_parts) stages+=("$1"); shift ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[ -n "$dir" ] || die "--dir NAME is required"
[ ${#stages[@]} -gt 0 ] || stages=(machine backends get_put sweep rseq_parts)
if [ -z "$bin" ]; then
    cargo build --release --quiet
    bin=target/release/swapref
fi
if [ -z "$bench" ] && [[ " ${stages[*]} " == *" get_put "* ]]; then
    # The artefact line of the `strategies` bench target: its "executable".
    json=$(cargo bench --no-run --bench strategies --message-format=json) ||
        die "cargo bench --no-run --bench strategies failed"
    bench=$(grep '"name":"strategies"' <<<"$json" | grep -o '"executable":"[^"]*"' |
        sed 's/"executable":"\(.*\)"/\1/' | tail -n1)
    [ -n "$bench" ] || die "cargo bench --no-run printed no executable for the strategies bench"
fi
n=$(nproc)
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
[ -n "$label" ] || label="$n-CPU $(uname -m) (${model:-unknown CPU}), Linux $(uname -r)"
readers="" r=1
while [ "$r" -lt $((n - 1)) ]; do readers="$readers$r,"; r=$((r * 2)); done
readers="$readers$((n > 1 ? n - 1 : 1))"

# What `swapref run` can use here: each probe is a 1 ms point.
probe() { "$bin" run --strategies percpu-acquire --readers 1 --duration 1ms --warmup 1ms \
    --repeats 1 --out none "$@"; }
# Each backend this machine has (only swapref's own refusal drops one).
percpu=$(scripts/percpu-backends.sh "$bin" reference-many-core.sh)
rcu=qsbr,membarrier
probe --rcu membarrier >/dev/null 2>&1 || rcu=qsbr,fence
out=results/reference/$dir
mkdir -p "$out"
echo "reference-many-core.sh: $n CPUs; readers $readers; --percpu $percpu; --rcu $rcu" >&2
runs() { scripts/reference-runs.sh --dir "$dir" --label "$label" --swapref "$bin" \
    --rcu "$rcu" --percpu "$percpu" --duration 250ms --repeats 3 --no-report "$@"; }
for s in "${stages[@]}"; do
    echo "== $s" >&2
    case "$s" in
        machine)
            {
                echo "# made by scripts/reference-many-core.sh on $(date -u +%FT%TZ)"
                echo "label: $label"
                echo "uname: $(uname -a)"
                echo "nproc: $n"
                echo "glibc: $(ldd --version 2>&1 | head -n1)"
                echo "lists used: --readers $readers (backends adds $((2 * n))) --percpu $percpu --rcu $rcu"
                echo "# swapref run --percpu auto --rcu auto, one 1 ms point: what it picks, and why"
                probe --percpu auto --rcu auto 2>&1 | grep -E 'auto|config' || true
                echo "# lscpu"
                lscpu 2>&1 || echo "(no lscpu)"
                echo "# scripts/check-machine.sh"
                scripts/check-machine.sh 2>&1 || true
            } >"$out/machine.txt.tmp"
            mv "$out/machine.txt.tmp" "$out/machine.txt"
            ;;
        backends) runs --readers "$readers,$((2 * n))" backends ;;
        get_put)
            for only in qsbr-cpu qsbr; do
                scripts/reference-get-put.sh --out "$out" --only "$only" --bench "$bench" \
                    --swapref "$bin"
            done
            ;;
        sweep) runs --readers "$readers" --periods 1ms,never sweep ;;
        rseq_parts) scripts/rseq-parts.sh --dir "$dir" ${parts:+--bin "$parts"} >/dev/null ;;
    esac
done
echo "reference-many-core.sh: results in $out; now scripts/reference-runs.sh --dir $dir --report-only backends sweep" >&2
