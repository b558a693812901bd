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
#   2. every bench again, and requires the same instruction count as in 1 (determinism) and
#      at least 1000 (fewer means callgrind counted nothing: a stripped bench binary);
#   3. that every bench has a committed baseline and every committed baseline a bench;
# and once, the negative control: a regression injected into atomic's lookup
# (SWAPREF_ICOUNT_INJECT=atomic:lookup:1, a few instructions per op) must fail step 1.
#
# Needs valgrind, and the gungraun-runner binary of exactly the gungraun version in Cargo.lock:
# one on PATH of that version is used, else it is installed (cargo install --locked) into
# target/gungraun-runner/. Each gungraun run has a 15-minute watchdog.
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
for g in "${groups[@]}"; do
    case "$g" in fence|qsbr|membarrier) ;; *) die "unknown flavour '$g' (fence, qsbr, membarrier)" ;; esac
done
command -v valgrind >/dev/null || die "valgrind not found (the counts need it)"

# The runner of the library's version (gungraun refuses any other).
version=$(awk '$0 == "name = \"gungraun\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$version" ] || die "no gungraun in Cargo.lock"
if [ "$(gungraun-runner --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
    root=target/gungraun-runner
    if [ "$("$root/bin/gungraun-runner" --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
        echo "installing gungraun-runner $version into $root"
        cargo install --quiet --locked --root "$root" --version "$version" gungraun-runner
    fi
    PATH=$PWD/$root/bin:$PATH
fi

cargo bench --quiet --bench icount --no-run

if [[ ",$flavours," == *,membarrier,* ]] \
    && ! cargo run --release --quiet -- run --rcu membarrier --strategies rcu-valid --readers 1 \
        --duration 1ms --repeats 1 --out none >/dev/null 2>&1; then
    echo "!!!!! SKIPPED: icount benches of the membarrier RCU flavour (membarrier unavailable here) !!!!!"
    groups=("${groups[@]/membarrier}")
fi

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
committed=results/icount
bench() { # bench GROUP ARGS...: one gungraun run of a group, with a watchdog
    local g=$1; shift
    timeout 900 cargo bench --quiet --bench icount -- --home="$home" "$@" "icount::$g::*"
}

if [ "$mode" = refresh ]; then
    for g in "${groups[@]}"; do
        [ -n "$g" ] || continue
        bench "$g" --save-baseline=committed >/dev/null
        # Keep what gungraun compares (the header and the totals), not the call tree with its
        # paths: a few hundred bytes per bench instead of a hundred kilobytes.
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
for g in "${groups[@]}"; do
    [ -n "$g" ] || continue
    echo "== $g: against $committed"
    rc=0; bench "$g" --baseline=committed || rc=$?
    case $rc in
        0) ;;
        3) echo "icount gate: REGRESSED ($g): an instruction count rose more than 2 % (above)"; failed=1 ;;
        *) echo "icount gate: the $g benches failed to run (exit $rc)"; exit 1 ;;
    esac
    echo "== $g: again, for determinism"
    bench "$g" --save-summary=json >/dev/null
    python3 - "$home/swapref/icount/$g" <<'EOF' || failed=1
import glob, json, sys
bad = 0
for f in sorted(glob.glob(sys.argv[1] + "/*/summary.json")):
    d = json.load(open(f))
    ir = d["profiles"][0]["data"]["total"]["metrics"]["Ir"]["values"]
    # Every bench runs at least 100 ops of a dozen instructions: fewer than 1000 means callgrind
    # found nothing to count (a stripped bench binary), which would pass as an improvement.
    if ir["new"] < 1000:
        print(f"icount gate: NOTHING COUNTED: {d['function_name']} {d['id']}: {ir['new']} instructions (a stripped bench binary?)")
        bad = 1
    elif ir["new"] != ir["old"]:
        print(f"icount gate: NOT DETERMINISTIC: {d['function_name']} {d['id']}: {ir['old']} then {ir['new']} instructions")
        bad = 1
sys.exit(bad)
EOF
    missing=$(find "$home/swapref/icount/$g" -name '*.out' | while read -r f; do
        [ -e "$f.base@committed" ] || basename "$(dirname "$f")"; done)
    stale=$(find "$home/swapref/icount/$g" -name '*.out.base@committed' | while read -r f; do
        [ -e "${f%.base@committed}" ] || basename "$(dirname "$f")"; done)
    if [ -n "$missing" ]; then
        echo "icount gate: no committed baseline for: ${missing//$'\n'/ } (run scripts/icount.sh refresh)"; failed=1
    fi
    if [ -n "$stale" ]; then
        echo "icount gate: a committed baseline without a bench: ${stale//$'\n'/ } (run scripts/icount.sh refresh)"; failed=1
    fi
done

if [[ " ${groups[*]} " == *" fence "* ]]; then
    echo "== negative control: a regression injected into atomic's lookup must fail the gate"
    rc=0
    SWAPREF_ICOUNT_INJECT=atomic:lookup:1 timeout 900 cargo bench --quiet --bench icount -- \
        --home="$home" --baseline=committed 'icount::fence::lookup_fence::atomic' \
        > "$home/negative.txt" 2>&1 || rc=$?
    grep -E "Instructions|exceeds" "$home/negative.txt" || true
    if [ "$rc" -eq 3 ] && grep -q "exceeds limit" "$home/negative.txt"; then
        echo "the injected regression failed the gate, as it must"
    else
        cat "$home/negative.txt"
        echo "icount gate: the injected regression PASSED the gate (exit $rc): the gate is blind"
        failed=1
    fi
fi

if [ "$failed" -ne 0 ]; then
    echo "icount gate: FAILED"
    exit 1
fi
echo "icount gate: passed"
