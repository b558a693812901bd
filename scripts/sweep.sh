#!/usr/bin/env bash
# A reader/period sweep for many-core servers: results, figures and the write-up in one
# directory.
#
# Usage: scripts/sweep.sh --out DIR [options] [-- extra 'swapref run' options]
#   --out DIR           output directory (created; must not already hold results.json)
#   --readers LIST|auto reader counts (default auto: 1, 2, 4, ... up to the physical cores
#                       minus one for the swapper, and that count itself)
#   --periods LIST      swap periods (default 100us,1ms,10ms)
#   --strategies LIST   (default all)
#   --duration D        measured window per repeat (default 1s)
#   --repeats N         (default 5)
#   --label TEXT        machine label recorded in the results (default: hostname, CPU model)
#   --swapref PATH      the binary (default: build with cargo and use target/release/swapref)
#   --no-report         measure only: no figures, no write-up
#   --dry-run           print the commands, run nothing
# Writes DIR/machine-check.txt (scripts/check-machine.sh), DIR/results.json (swapref run),
# DIR/plots/ and DIR/report.md (swapref report, which draws the figures it links).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

out="" readers=auto periods="100us,1ms,10ms" strategies=all duration=1s repeats=5
label="" swapref="" dry=0 report=1 extra=()
die() { echo "sweep.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="${2:-}"; shift 2 || die "--out needs a directory" ;;
        --readers) readers="${2:-}"; shift 2 || die "--readers needs a list" ;;
        --periods) periods="${2:-}"; shift 2 || die "--periods needs a list" ;;
        --strategies) strategies="${2:-}"; shift 2 || die "--strategies needs a list" ;;
        --duration) duration="${2:-}"; shift 2 || die "--duration needs a value" ;;
        --repeats) repeats="${2:-}"; shift 2 || die "--repeats needs a number" ;;
        --label) label="${2:-}"; shift 2 || die "--label needs text" ;;
        --swapref) swapref="${2:-}"; shift 2 || die "--swapref needs a path" ;;
        --dry-run) dry=1; shift ;;
        --no-report) report=0; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,${/^#/!q;p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[ -n "$out" ] || die "--out DIR is required"
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || die "--repeats must be a positive integer, not '$repeats'"
[[ "$readers" == auto || "$readers" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
    die "--readers must be 'auto' or a comma list of positive integers, not '$readers'"
[ -n "$periods" ] || die "--periods must not be empty"
[ -e "$out/results.json" ] && die "$out/results.json exists; pick a new --out"

if [ "$readers" = auto ]; then
    # Physical cores among the CPUs this process may use: distinct (package, core) pairs.
    cores=$(for c in $(taskset -pc $$ 2>/dev/null | sed 's/.*: //' | tr ',' '\n' |
        awk -F- '{ if (NF == 2) for (i = $1; i <= $2; i++) print i; else print $1 }'); do
        d=/sys/devices/system/cpu/cpu$c/topology
        echo "$(cat "$d/physical_package_id" 2>/dev/null || echo 0):$(cat "$d/core_id" 2>/dev/null || echo "$c")"
    done | sort -u | wc -l)
    [ "$cores" -ge 1 ] || cores=$(nproc)
    max=$((cores > 1 ? cores - 1 : 1))
    list="" n=1
    while [ "$n" -lt "$max" ]; do list="$list$n,"; n=$((n * 2)); done
    readers="$list$max"
fi
if [ -z "$label" ]; then
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
    label="$(uname -n), ${cpu:-unknown CPU}"
fi

run() {
    printf '+'; printf ' %q' "$@"; printf '\n'
    [ "$dry" = 1 ] || "$@"
}
if [ -z "$swapref" ]; then
    run cargo build --release --quiet --manifest-path "$here/../Cargo.toml"
    swapref="$here/../target/release/swapref"
fi
[ "$dry" = 1 ] || mkdir -p "$out"
if [ "$dry" = 1 ]; then
    echo "+ $here/check-machine.sh > $out/machine-check.txt"
else
    "$here/check-machine.sh" | tee "$out/machine-check.txt"
fi
run "$swapref" run --strategies "$strategies" --readers "$readers" --period "$periods" \
    --duration "$duration" --repeats "$repeats" --label "$label" \
    --out "$out/results.json" --format table "${extra[@]}"
[ "$report" = 0 ] || run "$swapref" report "$out/results.json" --out "$out/report.md" --plots "$out/plots"
[ "$dry" = 1 ] || echo "sweep.sh: results, figures and write-up in $out" >&2
