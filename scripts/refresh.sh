#!/usr/bin/env bash
# Regenerate every committed artefact that is derived from the registry, after adding or
# changing a strategy:
#   results/ci-baseline.json             instruction counts, fence RCU flavour (icount refresh)
#   results/ci-baseline-qsbr.json        the same, qsbr flavour
#   results/ci-baseline-membarrier.json  the same, membarrier flavour (skipped, loudly, where
#                                        membarrier is unavailable)
#   results/codegen/                     hot-path listings per architecture (scripts/codegen.sh)
#
# Usage: scripts/refresh.sh [--no-listings]
#   --no-listings  only the baselines (the listings need the nightly toolchain and ~7 minutes)
# Needs: valgrind for the baselines; see scripts/codegen.sh for the listings.
set -euo pipefail
cd "$(dirname "$0")/.."

listings=1
while [ $# -gt 0 ]; do
    case "$1" in
        --no-listings) listings=0; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "refresh.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "refresh.sh: valgrind not found (the baselines need it)" >&2; exit 2; }

cargo build --release --quiet --bin swapref
# A copy: a build started meanwhile (another terminal, an editor) must not replace the binary
# under valgrind.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp target/release/swapref "$tmp/swapref"
swapref=$tmp/swapref
"$swapref" icount refresh
"$swapref" icount refresh --rcu qsbr --baseline results/ci-baseline-qsbr.json
rc=0
"$swapref" icount refresh --rcu membarrier --baseline results/ci-baseline-membarrier.json || rc=$?
if [ "$rc" -eq 2 ]; then
    echo "!!!!! SKIPPED: results/ci-baseline-membarrier.json NOT refreshed (membarrier unavailable here) !!!!!"
elif [ "$rc" -ne 0 ]; then
    exit "$rc"
fi
if [ "$listings" -eq 1 ]; then
    scripts/codegen.sh
fi
echo "refreshed; review with: git status results/ && git diff --stat results/"
