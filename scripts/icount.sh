#!/usr/bin/env bash
# The instruction-count gate: gungraun (`cargo bench --bench icount`) against the baselines
# committed under results/icount/.
#
# Usage: scripts/icount.sh check [--flavours LIST]    the CI gate (exit 1 if it fails)
#        scripts/icount.sh refresh [--flavours LIST]  re-measure and rewrite results/icount/
#   --flavours LIST  RCU flavours (gungraun groups) to run, a comma list of fence, qsbr and
#                    membarrier [default: all three; membarrier is skipped, loudly, where the
#                    kernel lacks it]
#
# check runs, per flavour:
#   1. every bench against its committed baseline with gungraun's regression limit (an
#      instruction count more than 2 % above its baseline fails; gungraun exits 3);
#   2. every bench again, and requires the same instruction count as in 1 within 0.02 %, a
#      hundredth of the limit (determinism), and at least 1000 (fewer means callgrind counted
#      nothing: a stripped bench binary);
#   3. that every bench has a committed baseline and every committed baseline a bench;
# and once, the negative control: a regression injected into atomic's lookup
# (SWAPREF_ICOUNT_INJECT=atomic:lookup:1, a few instructions per op) must fail step 1.
#
# Needs valgrind, and the gungraun-runner binary of exactly the gungraun version in Cargo.lock:
# one on PATH of that version is used, else it is installed (cargo install --locked) into
# target/gungraun-runner/. Each gungraun run has a 15-minute watchdog. refresh runs every bench
# twice and writes nothing that differed. GUNGRAUN_* variables of the caller are ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "icount.sh: $*" >&2; exit 2; }
usage() { sed -n '2,${/^#/!q;s/^# \{0,1\}//;p;}' "$0"; }

mode=""
flavours="fence,qsbr,membarrier"
while [ $# -gt 0 ]; do
    case "$1" in
        check|refresh) [ -z "$mode" ] || die "one mode, not '$mode' and '$1'"; mode=$1; shift ;;
        --flavours) [ $# -ge 2 ] || die "--flavours needs a value"; flavours=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[ -n "$mode" ] || die "say check or refresh (see --help)"
IFS=, read -r -a groups <<< "$flavours"
[ "${#groups[@]}" -gt 0 ] || die "--flavours is empty"
for g in "${groups[@]}"; do
    case "$g" in fence|qsbr|membarrier) ;; *) die "unknown flavour '$g' (fence, qsbr, membarrier)" ;; esac
done
command -v valgrind >/dev/null || die "valgrind not found (the counts need it)"
# gungraun reads GUNGRAUN_* settings from the environment (a looser --callgrind-limits, another
# baseline, valgrind arguments): the gate is what this script says, whatever the shell has.
for v in "${!GUNGRAUN_@}"; do unset "$v"; done

# The runner of the library's version (gungraun refuses any other).
version=$(awk '$0 == "name = \"gungraun\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$version" ] || die "no gungraun in Cargo.lock"
if [ "$(gungraun-runner --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
    root=target/gungraun-runner
    if [ "$("$root/bin/gungraun-runner" --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
        echo "installing gungraun-runner $version into $root"
        timeout -k 30 1800 cargo install --quiet --locked --root "$root" --version "$version" gungraun-runner
    fi
    PATH=$PWD/$root/bin:$PATH
fi

cargo bench --quiet --bench icount --no-run

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
committed=results/icount

if [[ ",$flavours," == *,membarrier,* ]]; then
    # Whether this kernel has membarrier, as swapref records it; the probe itself must work.
    timeout -k 10 300 cargo run --release --quiet -- run --strategies atomic --readers 1 \
        --duration 1ms --repeats 1 --out "$home/probe.json" > /dev/null 2> "$home/probe.err" \
        || { cat "$home/probe.err" >&2; die "the membarrier probe (swapref run) failed"; }
    if ! python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["environment"]["membarrier"]["available"] else 1)' "$home/probe.json"; then
        echo "!!!!! SKIPPED: icount benches of the membarrier RCU flavour (membarrier unavailable here) !!!!!"
        mapfile -t groups < <(printf '%s\n' "${groups[@]}" | grep -vx membarrier)
    fi
fi

bench() { # bench GROUP ARGS...: one gungraun run of a group, with a watchdog
    local g=$1; shift
    timeout -k 30 900 cargo bench --quiet --bench icount -- --home="$home" "$@" "icount::$g::*"
}

# same GROUP LABEL: every bench's last two runs (gungraun's --save-summary=json) counted the
# same instructions, within a hundredth of the 2 % limit (a stray instruction over a hundred
# cycles is reported but passes), and at least 1000 of them.
same() {
    python3 - "$home/swapref/icount/$1" "$2" <<'EOF'
import glob, json, sys
bad = 0
for f in sorted(glob.glob(sys.argv[1] + "/*/summary.json")):
    d = json.load(open(f))
    ir = d["profiles"][0]["data"]["total"]["metrics"]["Ir"]["values"]
    name = f"{d['function_name']} {d['id']}"
    # Every bench runs at least 100 ops of a dozen instructions: fewer than 1000 means callgrind
    # found nothing to count (a stripped bench binary), which would pass as an improvement.
    if ir["new"] < 1000:
        print(f"icount gate: NOTHING COUNTED: {name}: {ir['new']} instructions (a stripped bench binary?)")
        bad = 1
    elif ir["old"] is None:
        print(f"icount gate: {name}: no previous run to compare with")
        bad = 1
    elif abs(ir["new"] - ir["old"]) > 0.0002 * ir["old"]:
        print(f"icount gate: NOT DETERMINISTIC ({sys.argv[2]}): {name}: {ir['old']} then {ir['new']} instructions")
        bad = 1
    elif ir["new"] != ir["old"]:
        print(f"icount gate: {name}: {ir['old']} then {ir['new']} instructions (within 0.02 %, passes)")
sys.exit(bad)
EOF
}

# again GROUP LABEL ARGS...: run the group again and compare with the run before.
again() {
    local g=$1 label=$2 rc=0; shift 2
    bench "$g" --save-summary=json "$@" > "$home/again.txt" 2>&1 || rc=$?
    # 3: gungraun's limit tripped against the run before; same() says by how much.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
        cat "$home/again.txt"
        echo "icount gate: the $g benches failed to run the second time (exit $rc)"
        exit 1
    fi
    same "$g" "$label"
}

if [ "$mode" = refresh ]; then
    for g in "${groups[@]}"; do
        bench "$g" --save-baseline=committed >/dev/null
        # Twice: counts that differ between the two runs are not written.
        again "$g" refresh --save-baseline=committed
        # Keep what gungraun compares (the header and the totals), not the call tree with its
        # paths: a few hundred bytes per bench.
        rm -rf "${committed:?}/swapref/icount/$g"
        find "$home/swapref/icount/$g" -name '*.out.base@committed' | while read -r f; do
            dest=$committed/${f#"$home"/}
            mkdir -p "$(dirname "$dest")"
            grep -E '^(# callgrind format|version:|creator:|pid:|cmd:|part:|thread:|positions:|events:|summary:|totals:)' "$f" \
                | sed 's|^cmd: .*|cmd: benches/icount.rs|; s|^pid: .*|pid: 1|' > "$dest"
        done
    done
    echo "refreshed; review with: git status $committed && git diff --stat $committed"
    exit 0
fi

cp -r "$committed/." "$home/"
failed=0
made_by=$(grep -rh '^creator: callgrind-' "$committed" | sort -u | sed 's/^creator: callgrind-//' | tr '\n' ' ')
valgrind_now=$(valgrind --version | sed 's/^valgrind-//')
if [ "${made_by% }" != "$valgrind_now" ]; then
    echo "icount gate: WARNING: the baselines were counted by valgrind ${made_by% }, this is $valgrind_now: counts may move without a code change (refresh if they do)"
fi
for g in "${groups[@]}"; do
    echo "== $g: against $committed"
    rc=0; bench "$g" --baseline=committed || rc=$?
    case $rc in
        0) ;;
        3) echo "icount gate: REGRESSED ($g): an instruction count rose more than 2 % (above)"; failed=1 ;;
        *) echo "icount gate: the $g benches failed to run (exit $rc)"; exit 1 ;;
    esac
    echo "== $g: again, for determinism"
    again "$g" check || failed=1
    # Per bench directory, not per file: callgrind writes one file per thread that ever
    # existed in the bench's process (`*.t1.p1.out`, `*.t2.p1.out`; gungraun sums them), so
    # the file names of a bench can differ between runs while its count does not.
    missing="" stale=""
    for d in "$home/swapref/icount/$g"/*/; do
        new=$(find "$d" -maxdepth 1 -name '*.out' | head -1)
        base=$(find "$d" -maxdepth 1 -name '*.out.base@committed' | head -1)
        if [ -n "$new" ] && [ -z "$base" ]; then missing+=" $(basename "$d")"; fi
        if [ -z "$new" ] && [ -n "$base" ]; then stale+=" $(basename "$d")"; fi
    done
    if [ -n "$missing" ]; then
        echo "icount gate: no committed baseline for:$missing (run scripts/icount.sh refresh)"; failed=1
    fi
    if [ -n "$stale" ]; then
        echo "icount gate: a committed baseline without a bench:$stale (run scripts/icount.sh refresh)"; failed=1
    fi
done

if [[ " ${groups[*]} " == *" fence "* ]]; then
    echo "== negative control: a regression injected into atomic's lookup must fail the gate"
    rc=0
    SWAPREF_ICOUNT_INJECT=atomic:lookup:1 timeout -k 30 900 cargo bench --quiet --bench icount -- \
        --home="$home" --baseline=committed 'icount::fence::lookup_fence::atomic' \
        > "$home/negative.txt" 2>&1 || rc=$?
    grep -E "Instructions|exceeds" "$home/negative.txt" || true
    if [ "$rc" -eq 3 ] && grep -q "exceeds limit of +2.0" "$home/negative.txt"; then
        echo "the injected regression failed the gate, as it must"
    else
        cat "$home/negative.txt"
        echo "icount gate: the injected regression PASSED the gate (exit $rc): the gate is blind"
        failed=1
    fi
else
    echo "icount gate: the negative control did not run (it injects into the fence flavour, which was not asked for)"
fi

if [ "$failed" -ne 0 ]; then
    echo "icount gate: FAILED"
    exit 1
fi
echo "icount gate: passed"
