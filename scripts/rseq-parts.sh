#!/usr/bin/env bash
# Where the per-CPU backend's cost goes: examples/rseq_parts.rs (its doc comment says what each
# variant leaves out), built in release and run, into results/reference/<dir>/rseq-parts.txt
# with the command, the commit and the machine above its table.
#
# Usage: scripts/rseq-parts.sh [--dir NAME] [ROUNDS]
#   --dir NAME  results/reference/NAME (default vm-2cpu)
#   ROUNDS      interleaved rounds (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=vm-2cpu rounds=9
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir="${2:?--dir needs a name}"; shift 2 ;;
        -h|--help) sed -n '2,${/^#/!q;p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *[!0-9]*|'') echo "rseq-parts.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        *) rounds=$1; shift ;;
    esac
done
out=results/reference/$dir/rseq-parts.txt
mkdir -p "$(dirname "$out")"
cargo build --release --quiet --example rseq_parts
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- examples/rseq_parts.rs 2>/dev/null || commit="$commit (with uncommitted changes)"
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
{
    echo "# scripts/rseq-parts.sh $rounds: target/release/examples/rseq_parts $rounds"
    echo "# commit $commit; $(rustc --version)"
    echo "# machine: ${model:-unknown CPU}, $(nproc) CPU(s), $(uname -m) $(uname -r)"
    target/release/examples/rseq_parts "$rounds"
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
