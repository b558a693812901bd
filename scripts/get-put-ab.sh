#!/usr/bin/env bash
# Did a change make criterion `get_put` faster or slower? Two builds, interleaved in one session.
#
# Builds the `strategies` bench at BASE and at NEW (a commit, or `.` for the working tree as it
# is, uncommitted changes included), then runs them in turn, ROUNDS times (base then new, then
# new then base, ...), each run in a criterion directory of its own, and prints each run's ratios to
# `unprotected` (scripts/bench_ratio.py). On a shared machine a bench's absolute time moves
# between runs by more than its interval; a ratio measured within one run, compared across
# interleaved runs, is what this machine can resolve. The last table gives, per strategy, the
# range of its ratio over the rounds on each side.
#
# Usage: scripts/get-put-ab.sh [--rounds N] [--filter REGEX] [--out FILE] [--control LIST]
#                              [--base-env VAR=VALUE]... [--new-env VAR=VALUE]... BASE NEW
#                              [-- criterion options]
#   --rounds N      runs per side (default 3)
#   --base-env, --new-env VAR=VALUE
#                   set VAR for that side's runs only: two settings of one build compared the
#                   same way (`--base-env SWAPREF_PERCPU=cpu --new-env SWAPREF_PERCPU=cid . .`;
#                   the same commit twice is built once)
#   --filter REGEX  criterion filter (default: unprotected, counted-floor, rcu-valid and the
#                   percpu strategies of get_put)
#   --out FILE      also write the output to FILE (temp file, then rename)
#   --control LIST  comma list of strategies the change does not touch (default
#                   counted-floor,rcu-valid; empty for none): where a control's ranges lie
#                   apart, something other than the change moved it (the machine, or the code's
#                   placement in the binary, which moves with unrelated changes), and the last
#                   table says so: a difference of that size elsewhere is then no evidence
#   default criterion options: --warm-up-time 1 --measurement-time 3 --noplot
# SWAPREF_RCU and SWAPREF_PERCPU are passed to both builds (the kernel model and the counters).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/ab-common.sh
. scripts/ab-common.sh
rounds=3
filter='get_put/(unprotected|counted-floor|rcu-valid|percpu-acquire|percpu-fence)$'
out=
controls=counted-floor,rcu-valid
extra=(--warm-up-time 1 --measurement-time 3 --noplot)
revs=()
base_env=() new_env=()
die() { echo "get-put-ab.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds|--filter|--out|--base-env|--new-env|--control) [ $# -ge 2 ] || die "$1 needs a value" ;;
    esac
    case "$1" in
        --base-env|--new-env)
            [[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "$1 needs VAR=VALUE, not '$2'" ;;
    esac
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --filter) filter=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --control) controls=$2; shift 2 ;;
        --base-env) base_env+=("$2"); shift 2 ;;
        --new-env) new_env+=("$2"); shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,${/^#/!q;p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) revs+=("$1"); shift ;;
    esac
done
[[ "$controls" =~ ^[a-z0-9,-]*$ ]] ||
    die "--control takes a comma list of strategy names, not '$controls'"
ab_check "$rounds" ${revs[@]+"${revs[@]}"}
ab_setup get-put-ab
# Each run's estimates go to its own directory (CARGO_TARGET_DIR/criterion); CRITERION_HOME
# would send them all to one place.
unset CRITERION_HOME

# build_one NAME SRC: the `strategies` bench built in SRC, copied to $work/NAME.
build_one() {
    local name=$1 src=$2 exe
    exe=$(cd "$src" && CARGO_TARGET_DIR="$target/$name" cargo bench --no-run --bench strategies \
        --message-format=json 2>"$work/$name.build.log" | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("reason") == "compiler-artifact" and j.get("executable") and j["target"]["name"] == "strategies":
        print(j["executable"])') || true
    if [ -z "$exe" ]; then
        tail -20 "$work/$name.build.log" >&2
        echo "get-put-ab.sh: building $name failed (cargo's last lines above)" >&2
        exit 1
    fi
    cp "$exe" "$work/$name"
}
ab_build_both "${revs[0]}" "${revs[1]}"

report="$work/report.txt"
{
    echo "# scripts/get-put-ab.sh --rounds $rounds --filter '$filter' --control '$controls'${base_env[*]+$(printf ' --base-env %s' "${base_env[@]}")}${new_env[*]+$(printf ' --new-env %s' "${new_env[@]}")} ${revs[*]} -- ${extra[*]}"
    echo "# SWAPREF_RCU=${SWAPREF_RCU:-(unset: auto, the model of the running kernel)} SWAPREF_PERCPU=${SWAPREF_PERCPU:-(unset: auto, per-CPU counters where rseq works, unless a side sets it below)}"
    ab_header "${base_env[*]:+ with ${base_env[*]}}" "${new_env[*]:+ with ${new_env[*]}}"
} >"$report"
for i in $(seq 1 "$rounds"); do
    for side in $(ab_order "$i"); do
        dir="$work/criterion-$side-$i"
        echo "== round $i/$rounds: $side" >&2
        if [ "$side" = base ]; then
            envs=(${base_env[@]+"${base_env[@]}"})
        else
            envs=(${new_env[@]+"${new_env[@]}"})
        fi
        env ${envs[@]+"${envs[@]}"} CARGO_TARGET_DIR="$dir" "$work/$side" --bench "$filter" "${extra[@]}" >/dev/null 2>&1 \
            || { echo "get-put-ab.sh: the $side bench failed in round $i" >&2; exit 1; }
        {
            echo
            echo "## round $i, $side"
            python3 scripts/bench_ratio.py --criterion-dir "$dir/criterion" | grep -v '^#'
        } >>"$report"
    done
done
# Per strategy and side: the range of its ratio to unprotected over the rounds, and the controls.
python3 scripts/ab_ranges.py "$report" "$controls" >"$work/summary.txt"
cat "$work/summary.txt" >>"$report"
cat "$report"
ab_write_out "$report" "$out"
