#!/usr/bin/env bash
# Regenerate every committed artefact that is derived from the registry, after adding or
# changing a strategy:
#   results/icount/   instruction-count baselines, every RCU flavour (scripts/icount.sh
#                     refresh; membarrier's skipped, loudly, where membarrier is unavailable)
#   results/codegen/  hot-path listings per architecture (scripts/codegen.sh)
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
        -h|--help) sed -n '2,${/^#/!q;s/^# \{0,1\}//;p;}' "$0"; exit 0 ;;
        *) echo "refresh.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "refresh.sh: valgrind not found (the baselines need it)" >&2; exit 2; }

scripts/icount.sh refresh
if [ "$listings" -eq 1 ]; then
    scripts/codegen.sh
fi
echo "refreshed; review with: git status results/ && git diff --stat results/"
