#!/usr/bin/env bash
# The percpu counter backends a swapref binary can use on this machine, printed as the comma
# list that `--percpu` takes: thread, then cpu and cid where they work. Each is probed with a
# 1 ms point of `swapref run`. Only swapref's own refusal (exit 2 and "is not available here")
# drops a backend, said loudly on stderr; any other failure of a probe exits 1 with what the
# probe printed, so that a broken build is never read as a missing backend.
#
# Usage: scripts/percpu-backends.sh SWAPREF [NAME]
#   SWAPREF  the swapref binary to probe
#   NAME     the script the messages name (default percpu-backends.sh)
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then
    echo "percpu-backends.sh: usage: scripts/percpu-backends.sh SWAPREF [NAME]" >&2
    exit 2
fi
bin=$1 who=${2:-percpu-backends.sh}
percpu=thread
for k in cpu cid; do
    rc=0
    why=$("$bin" run --strategies percpu-acquire --percpu "$k" --readers 1 --duration 1ms \
        --warmup 1ms --repeats 1 --out none 2>&1 >/dev/null) || rc=$?
    if [ "$rc" = 0 ]; then
        percpu="$percpu,$k"
    elif [ "$rc" = 2 ] && [[ "$why" == *"is not available here"* ]]; then
        echo "!!!!! $who: measured without --percpu $k: $why !!!!!" >&2
    else
        echo "$why" >&2
        echo "$who: the probe of --percpu $k failed (exit $rc)" >&2
        exit 1
    fi
done
echo "$percpu"
