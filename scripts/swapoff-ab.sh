#!/usr/bin/env bash
# Did a change make swapoff faster or slower? Two builds of `swapref`, interleaved in one session.
#
# Builds `swapref` at BASE and at NEW (a commit, or `.` for the working tree as it is,
# uncommitted changes included), then runs `swapref run` with each in turn, ROUNDS times (base
# then new, then new then base, ...), and prints, per run, each point's swapoff drain p50 (the
# median over the run's windows of each window's p50, in µs) and its ratio to `rcu-valid`'s in
# the same run and flavour: the issue's "percpu swapoff ≤ 1.5× rcu-valid's". The last table
# gives each point's range over the rounds on each side, and whether the two lie apart.
# `rcu-valid` is the control for a change to percpu_ref alone: where its own p50 ranges lie
# apart, the machine moved between the runs by at least that much.
#
# Usage: scripts/swapoff-ab.sh [--rounds N] [--out FILE] BASE NEW [-- run options]
#   --rounds N   runs per side (default 4)
#   --out FILE   also write the output to FILE (temp file, then rename)
#   default run options: --rcu qsbr --percpu thread --readers 1 --period 1ms
#                        --strategies percpu-acquire,percpu-fence,rcu-valid --counters none
#   (1 reader and 1 ms as the issue's default run; 5 windows of 500 ms). Options that sweep
#   --readers, --period or --hold are refused by the summary (one point per name).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=4
out=
opts=(--rcu qsbr --percpu thread --readers 1 --period 1ms
      --strategies 'percpu-acquire,percpu-fence,rcu-valid' --counters none)
revs=()
die() { echo "swapoff-ab.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds|--out) [ $# -ge 2 ] || die "$1 needs a value" ;;
    esac
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --) shift; opts=("$@"); break ;;
        -h|--help) sed -n '2,${/^#/!q;p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) revs+=("$1"); shift ;;
    esac
done
[ "${#revs[@]}" -eq 2 ] ||
    die "expected BASE and NEW (commits, or . for the working tree), got ${#revs[@]} (see --help)"
case "$rounds" in
    ''|*[!0-9]*|0*) die "--rounds must be a positive integer, not '$rounds'" ;;
esac
for r in "${revs[@]}"; do
    if [ "$r" != . ] && ! git rev-parse --verify --quiet "$r^{commit}" >/dev/null; then
        die "'$r' is not a commit of this repository"
    fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target="${CARGO_TARGET_DIR:-target}/swapoff-ab"
mkdir -p "$target"
target=$(cd "$target" && pwd)  # absolute: the builds run in other directories

# build NAME REV: REV's release `swapref`, copied to $work/NAME; its description to $work/NAME.rev
build() {
    local name=$1 rev=$2 src
    if [ "$rev" = . ]; then
        src=$PWD
        echo "$(git rev-parse --short HEAD)$([ -z "$(git status --porcelain)" ] || echo '+uncommitted') (working tree)" >"$work/$name.rev"
    else
        src="$work/src-$name"
        mkdir -p "$src"
        git archive "$rev" | tar -x -C "$src"
        echo "$(git rev-parse --short "$rev") ($(git log -1 --format=%s "$rev" | cut -c1-60))" >"$work/$name.rev"
    fi
    echo "== building $name: $(cat "$work/$name.rev")" >&2
    if ! (cd "$src" && CARGO_TARGET_DIR="$target/$name" cargo build --release --bin swapref) \
        >"$work/$name.build.log" 2>&1; then
        tail -20 "$work/$name.build.log" >&2
        echo "swapoff-ab.sh: building $name ($rev) failed (cargo's last lines above)" >&2
        exit 1
    fi
    cp "$target/$name/release/swapref" "$work/$name"
}
build base "${revs[0]}"
if [ "${revs[1]}" = "${revs[0]}" ]; then
    cp "$work/base" "$work/new" && cp "$work/base.rev" "$work/new.rev"
else
    build new "${revs[1]}"
fi

report="$work/report.txt"
{
    echo "# scripts/swapoff-ab.sh --rounds $rounds ${revs[*]} -- ${opts[*]}"
    echo "# base: $(cat "$work/base.rev")"
    echo "# new:  $(cat "$work/new.rev")"
    echo "# machine: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
} >"$report"
runs=()
for i in $(seq 1 "$rounds"); do
    # Alternate which side goes first, so that neither always runs on a machine just woken.
    if [ $((i % 2)) -eq 1 ]; then order="base new"; else order="new base"; fi
    for side in $order; do
        echo "== round $i/$rounds: $side" >&2
        json="$work/run-$i-$side.json"
        "$work/$side" run "${opts[@]}" --out "$json" --format table >/dev/null 2>"$work/run.err" \
            || { cat "$work/run.err" >&2; echo "swapoff-ab.sh: the $side run failed in round $i" >&2; exit 1; }
        runs+=("$i:$side:$json")
    done
done
python3 scripts/swapoff_ab.py "${runs[@]}" >>"$report"
cat "$report"
if [ -n "$out" ]; then
    mkdir -p "$(dirname "$out")"
    cp "$report" "$out.tmp.$$" && mv "$out.tmp.$$" "$out"
    echo "wrote $out" >&2
fi
