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
# shellcheck source=scripts/ab-common.sh
. scripts/ab-common.sh
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
for o in "${opts[@]}"; do
    case "$o" in
        --out|--out=*|--format|--format=*)
            die "run options after -- may not set ${o%%=*}: the script sets it (its own --out goes before --)" ;;
    esac
done
ab_check "$rounds" ${revs[@]+"${revs[@]}"}
ab_setup swapoff-ab

# build_one NAME SRC: the release `swapref` built in SRC, copied to $work/NAME.
build_one() {
    local name=$1 src=$2
    if ! (cd "$src" && CARGO_TARGET_DIR="$target/$name" cargo build --release --bin swapref) \
        >"$work/$name.build.log" 2>&1; then
        tail -20 "$work/$name.build.log" >&2
        echo "swapoff-ab.sh: building $name failed (cargo's last lines above)" >&2
        exit 1
    fi
    cp "$target/$name/release/swapref" "$work/$name"
}
ab_build_both "${revs[0]}" "${revs[1]}"

report="$work/report.txt"
{
    echo "# scripts/swapoff-ab.sh --rounds $rounds ${revs[*]} -- ${opts[*]}"
    ab_header "" ""
} >"$report"
runs=()
for i in $(seq 1 "$rounds"); do
    for side in $(ab_order "$i"); do
        echo "== round $i/$rounds: $side" >&2
        json="$work/run-$i-$side.json"
        "$work/$side" run "${opts[@]}" --out "$json" --format table >/dev/null 2>"$work/run.err" \
            || { cat "$work/run.err" >&2; echo "swapoff-ab.sh: the $side run failed in round $i" >&2; exit 1; }
        runs+=("$i:$side:$json")
    done
done
python3 scripts/swapoff_ab.py "${runs[@]}" >>"$report"
cat "$report"
ab_write_out "$report" "$out"
