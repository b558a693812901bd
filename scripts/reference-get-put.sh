#!/usr/bin/env bash
# criterion get_put under each kernel model, and each strategy's ratio to unprotected:
#   results/reference/<dir>/get_put-qsbr.txt        SWAPREF_RCU=qsbr (non-preemptible kernel),
#                                                   per-thread counters (SWAPREF_PERCPU=thread)
#   results/reference/<dir>/get_put-membarrier.txt  SWAPREF_RCU=membarrier (PREEMPT_RCU), the same
#   results/reference/<dir>/get_put-qsbr-cpu.txt    SWAPREF_RCU=qsbr, per-CPU counters (rseq;
#                                                   skipped, loudly, where rseq is unavailable)
#   results/reference/<dir>/peers.txt               the peers group: swapref's arc-swap and
#                                                   hazard paths beside the crates used directly
# Each file is scripts/bench_ratio.py's output for one `cargo bench` run: the run's provenance
# (commit, toolchain, machine, flavour), then per strategy the estimate, its 95 % interval and
# the ratio to unprotected with a >= 90 % interval; then the same against get_put/counted-floor
# (unprotected plus a plain increment and decrement of a thread-owned counter: what any per-CPU
# refcount must add); the per-CPU file adds the same against get_put/rseq-floor (unprotected
# inside the backend's two restartable sequences, with no ref: what percpu_ref on rseq must
# add). Ratios are only meaningful within one file.
#
# Usage: scripts/reference-get-put.sh [--out DIR] [--only NAME] [--bench PATH --swapref PATH]
#                                     [-- extra criterion options]
#   --out DIR      where the files go (default results/reference/vm-2cpu)
#   --only NAME    remake one file: qsbr, membarrier, qsbr-cpu or peers
#   --bench PATH   a prebuilt `strategies` bench binary (`cargo bench --no-run` prints it) to run
#                  instead of `cargo bench`, with --swapref PATH for the rseq probe: a machine
#                  without cargo. Its estimates go to target/criterion as cargo bench's do.
#                  Relative paths are taken from the repository's root.
#   default criterion options: --warm-up-time 1 --measurement-time 3 --noplot (no HTML figures:
#   plotters takes seconds per benchmark)
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/reference/vm-2cpu
extra=(--warm-up-time 1 --measurement-time 3 --noplot)
only='' bench='' swapref=''
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="${2:?--out needs a directory}"; shift 2 ;;
        --only) only="${2:?--only needs a name}"; shift 2 ;;
        --bench) bench="${2:?--bench needs a path}"; shift 2 ;;
        --swapref) swapref="${2:?--swapref needs a path}"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,${/^#/!q;p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "reference-get-put.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ -n "$bench" ] && [ -z "$swapref" ]; then
    echo "reference-get-put.sh: --bench needs --swapref too (for the rseq probe)" >&2; exit 2
fi
# The bench, by cargo or by its prebuilt binary (which writes where cargo bench would).
bench() {
    if [ -n "$bench" ]; then
        CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" "$bench" --bench "$@"
    else
        cargo bench --quiet --bench strategies -- "$@"
    fi
}
probe() {
    if [ -n "$swapref" ]; then "$swapref" "$@"; else cargo run --release --quiet -- "$@"; fi
}
mkdir -p "$out"
case "$only" in
    ''|qsbr|membarrier|qsbr-cpu|peers) ;;
    *) echo "reference-get-put.sh: --only $only: expected qsbr, membarrier, qsbr-cpu or peers" >&2; exit 2 ;;
esac
# name flavour counters limit: the targets (qsbr <= 1.3x, membarrier <= 1.6x, per-CPU counters
# <= 1.3x) as the --limit column
for spec in "qsbr qsbr thread 1.3" "membarrier membarrier thread 1.6" "qsbr-cpu qsbr cpu 1.3"; do
    read -r name flavour counters limit <<<"$spec"
    [ -n "$only" ] && [ "$only" != "$name" ] && continue
    if [ "$counters" = cpu ] && ! probe run --percpu cpu --strategies unprotected --duration 1ms --warmup 1ms --repeats 1 --out "$(mktemp -d)/probe.json" >/dev/null 2>&1; then
        echo "!!!!! SKIPPED: $out/get_put-$name.txt NOT remade (per-CPU counters unavailable here) !!!!!" >&2
        continue
    fi
    echo "== get_put with SWAPREF_RCU=$flavour SWAPREF_PERCPU=$counters" >&2
    SWAPREF_RCU="$flavour" SWAPREF_PERCPU="$counters" bench get_put "${extra[@]}" >&2
    {
        echo "# ${bench:+$bench (prebuilt) = }cargo bench --bench strategies -- get_put ${extra[*]} (SWAPREF_RCU=$flavour SWAPREF_PERCPU=$counters)"
        echo "# then: scripts/bench_ratio.py --limit $limit"
        python3 scripts/bench_ratio.py --limit "$limit"
        echo
        echo "# then: scripts/bench_ratio.py --floor counted-floor"
        python3 scripts/bench_ratio.py --floor counted-floor | grep -v '^# measured\|^# machine'
        if [ "$counters" = cpu ]; then
            echo
            echo "# then: scripts/bench_ratio.py --floor rseq-floor"
            python3 scripts/bench_ratio.py --floor rseq-floor | grep -v '^# measured\|^# machine'
        fi
    } >"$out/get_put-$name.txt.tmp"
    mv "$out/get_put-$name.txt.tmp" "$out/get_put-$name.txt"
done
if [ -n "$only" ] && [ "$only" != peers ]; then
    echo "wrote $out/get_put-$only.txt" >&2
    exit 0
fi
echo "== peers" >&2
bench peers "${extra[@]}" >&2
{
    echo "# ${bench:+$bench (prebuilt) = }cargo bench --bench strategies -- peers ${extra[*]}"
    echo "# then: scripts/bench_ratio.py --group peers --floor arc-swap-bytes --limit 1.15"
    python3 scripts/bench_ratio.py --group peers --floor arc-swap-bytes --limit 1.15
    echo
    echo "# then: scripts/bench_ratio.py --group peers --floor haphazard-bytes"
    python3 scripts/bench_ratio.py --group peers --floor haphazard-bytes | grep -v '^# measured\|^# machine'
} >"$out/peers.txt.tmp"
mv "$out/peers.txt.tmp" "$out/peers.txt"
echo "wrote the get_put files and $out/peers.txt in $out" >&2
