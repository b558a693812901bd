# shellcheck shell=bash
# What scripts/get-put-ab.sh and scripts/swapoff-ab.sh share, sourced by both: the check of
# BASE, NEW and --rounds, the scratch directory, the two builds (from a commit's tree, or from the
# working tree as it is), the report's header, the order of each round, and the write of --out.
#
# The sourcing script defines, before calling these:
#   die MESSAGE          one line on stderr naming the script, exit 2
#   build_one NAME SRC   build in SRC with CARGO_TARGET_DIR="$target/NAME" and copy the binary
#                        to "$work/NAME"; on failure, say so (naming NAME) and exit 1
# Not a script of its own: running it does nothing.

# ab_check ROUNDS BASE NEW: the arguments, before anything is built.
ab_check() {
    local rounds=$1
    shift
    [ "$#" -eq 2 ] ||
        die "expected BASE and NEW (commits, or . for the working tree), got $# (see --help)"
    case "$rounds" in
        ''|*[!0-9]*|0*) die "--rounds must be a positive integer, not '$rounds'" ;;
    esac
    local r
    for r in "$@"; do
        if [ "$r" != . ] && ! git rev-parse --verify --quiet "$r^{commit}" >/dev/null; then
            die "'$r' is not a commit of this repository"
        fi
    done
}

# ab_setup NAME: $work, a scratch directory removed on exit, and $target, CARGO_TARGET_DIR/NAME
# as an absolute path (the builds run in other directories).
ab_setup() {
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    target="${CARGO_TARGET_DIR:-target}/$1"
    mkdir -p "$target"
    target=$(cd "$target" && pwd)
}

# ab_build NAME REV: REV's tree (or the working tree for `.`) built by build_one into
# $work/NAME, its description in $work/NAME.rev.
ab_build() {
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
    build_one "$name" "$src"
}

# ab_build_both BASE NEW: $work/base and $work/new (one build when they are the same).
ab_build_both() {
    ab_build base "$1"
    if [ "$2" = "$1" ]; then
        cp "$work/base" "$work/new" && cp "$work/base.rev" "$work/new.rev"
    else
        ab_build new "$2"
    fi
}

# ab_header [BASE_NOTE [NEW_NOTE]]: the report's lines naming both sides, the machine and the
# date; a note is appended to its side's line.
ab_header() {
    echo "# base: $(cat "$work/base.rev")${1:-}"
    echo "# new:  $(cat "$work/new.rev")${2:-}"
    echo "# machine: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
}

# ab_order ROUND: the sides in the order round ROUND runs them; it alternates, so that neither
# always runs on a machine just woken.
ab_order() {
    if [ $(($1 % 2)) -eq 1 ]; then echo "base new"; else echo "new base"; fi
}

# ab_write_out REPORT OUT: REPORT copied to OUT (a temp file, then a rename); nothing if OUT is
# empty.
ab_write_out() {
    [ -n "$2" ] || return 0
    mkdir -p "$(dirname "$2")"
    cp "$1" "$2.tmp.$$" && mv "$2.tmp.$$" "$2"
    echo "wrote $2" >&2
}
