#!/usr/bin/env bash
# Where the per-CPU backend's cost goes: examples/rseq_parts.rs (its doc comment says what each
# variant leaves out), built in release and run, into results/reference/<dir>/rseq-parts.txt
# with the command and the machine above its output (which names the commit it was built from).
#
# Usage: scripts/rseq-parts.sh [--dir NAME] [--bin PATH] [ROUNDS]
#   --dir NAME  results/reference/NAME (default vm-2cpu; a plain name, no '/')
#   --bin PATH  a prebuilt examples/rseq_parts binary, for a machine without cargo (default:
#               build it); a relative path is taken from the repository's root
#   ROUNDS      interleaved rounds, at least 1 (default 9)
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "rseq-parts.sh: $*" >&2; exit 2; }
dir=vm-2cpu rounds=9 bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || die "--dir needs a name"; dir=$2; shift 2 ;;
        --bin) [ $# -ge 2 ] || die "--bin needs a path"; bin=$2; shift 2 ;;
        -h|--help) sed -n '2,${/^#/!q;p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *[!0-9]*|''|0*) die "'$1' is neither an option nor a number of rounds of at least 1 (see --help)" ;;
        *) rounds=$1; shift ;;
    esac
done
case "$dir" in ''|*/*|.|..) die "--dir '$dir': expected a plain directory name" ;; esac
if [ -z "$bin" ]; then
    cargo build --release --quiet --example rseq_parts
    bin="${CARGO_TARGET_DIR:-target}/release/examples/rseq_parts"
fi
[ -x "$bin" ] || die "--bin $bin: not an executable file"
out=results/reference/$dir/rseq-parts.txt
mkdir -p "$(dirname "$out")"
trap 'rm -f "$out.tmp"' EXIT
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
{
    echo "# scripts/rseq-parts.sh $rounds: examples/rseq_parts $rounds"
    echo "# machine: ${model:-unknown CPU}, $(nproc) CPU(s), $(uname -m) $(uname -r)"
    "$bin" "$rounds"
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
