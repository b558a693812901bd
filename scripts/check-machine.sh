#!/usr/bin/env bash
# What on this machine would distort swapref's numbers, and how to fix each.
# Changes nothing unless --fix is given; --fix applies only the safe, reversible runtime
# settings (governor, turbo, perf_event_paranoid, irqbalance, THP), as root, after asking.
#
# Usage: scripts/check-machine.sh [--fix [--yes]] [--strict]
#   --fix     offer to apply the fixes marked [fixable]
#   --yes     with --fix: do not ask
#   --strict  exit 1 when any check warns (for scripts that want a clean machine)
# Output: one line per check: OK / WARN / INFO, what was found, and the fix.
# SWAPREF_SYSROOT (default empty) prefixes every /sys and /proc path, for tests.
set -uo pipefail

fix=0 yes=0 strict=0
for a in "$@"; do
    case "$a" in
        --fix) fix=1 ;;
        --yes) yes=1 ;;
        --strict) strict=1 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "check-machine.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
    esac
done
if [ "$yes" = 1 ] && [ "$fix" = 0 ]; then
    echo "check-machine.sh: --yes only makes sense with --fix" >&2; exit 2
fi

root="${SWAPREF_SYSROOT:-}"
warns=0
fixes=()   # shell commands, applied only with --fix

ok()   { printf 'OK    %-22s %s\n' "$1" "$2"; }
info() { printf 'INFO  %-22s %s\n' "$1" "$2"; }
warn() { printf 'WARN  %-22s %s\n' "$1" "$2"; warns=$((warns + 1)); }
read1() { [ -r "$root$1" ] && head -n1 "$root$1" 2>/dev/null; }

# CPU frequency governor
govs=$(cat "$root"/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor 2>/dev/null | sort | uniq -c | awk '{printf "%s%s×%s", s, $2, $1; s=", "}')
if [ -z "$govs" ]; then
    info governor "no cpufreq (VM or fixed clock): nothing to set"
elif [ "$(cat "$root"/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor | sort -u)" = performance ]; then
    ok governor "$govs"
else
    warn governor "$govs — frequency changes under load skew ns/lookup. Fix [fixable]: cpupower frequency-set -g performance"
    fixes+=("for g in /sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor; do echo performance > \"\$g\"; done")
fi

# Turbo / boost
if nt=$(read1 /sys/devices/system/cpu/intel_pstate/no_turbo); then
    if [ "$nt" = 1 ]; then ok turbo "intel_pstate no_turbo=1 (off)"; else
        warn turbo "intel_pstate turbo on — clocks depend on temperature and load. Fix [fixable]: echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo"
        fixes+=("echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo")
    fi
elif b=$(read1 /sys/devices/system/cpu/cpufreq/boost); then
    if [ "$b" = 0 ]; then ok boost "cpufreq boost=0 (off)"; else
        warn boost "cpufreq boost on — clocks depend on temperature and load. Fix [fixable]: echo 0 > /sys/devices/system/cpu/cpufreq/boost"
        fixes+=("echo 0 > /sys/devices/system/cpu/cpufreq/boost")
    fi
else
    info turbo "no turbo/boost control exposed"
fi

# SMT
if smt=$(read1 /sys/devices/system/cpu/smt/control); then
    case "$smt" in
        on) info smt "on — swapref places readers on physical cores first; beyond that, siblings share a core. To rule it out: echo off > /sys/devices/system/cpu/smt/control (or boot with nosmt)" ;;
        *) ok smt "$smt" ;;
    esac
else
    info smt "no SMT control exposed"
fi

# perf_event_paranoid and hardware counters
if p=$(read1 /proc/sys/kernel/perf_event_paranoid); then
    if [ "$p" -le 1 ] 2>/dev/null; then ok perf_event_paranoid "$p"; else
        warn perf_event_paranoid "$p — per-thread hardware counters may be refused (EACCES) unless run as root. Fix [fixable]: sysctl kernel.perf_event_paranoid=1"
        fixes+=("sysctl -q kernel.perf_event_paranoid=1")
    fi
else
    info perf_event_paranoid "not readable"
fi
pmu=""
for d in "$root"/sys/bus/event_source/devices/cpu "$root"/sys/bus/event_source/devices/cpu_core "$root"/sys/bus/event_source/devices/armv8_pmuv3*; do
    [ -e "$d" ] && pmu="$pmu $(basename "$d")"
done
if [ -z "$root" ] && command -v perf >/dev/null; then
    if perf stat -x, -e instructions true 2>&1 | grep -q '^[0-9]'; then
        ok counters "perf stat -e instructions works"
    else
        warn counters "perf cannot count instructions here (no PMU in a VM, or paranoid) — swapref records counters as null with the reason. Fix: run on bare metal, lower perf_event_paranoid, or run as root"
    fi
elif [ -n "$pmu" ]; then
    ok counters "PMU registered:$pmu (perf not installed, so not probed)"
else
    warn counters "no CPU PMU registered (typical in a VM) — cache-miss and cycle counters will be null. Fix: run on bare metal or enable PMU passthrough (KVM: -cpu host,pmu=on)"
fi

# Isolated CPUs / nohz_full
iso=$(read1 /sys/devices/system/cpu/isolated)
nohz=$(read1 /sys/devices/system/cpu/nohz_full)
if [ -n "$iso" ]; then
    ok isolated_cpus "isolated: $iso${nohz:+, nohz_full: $nohz} — pass them to swapref run --cores"
else
    info isolated_cpus "none — other tasks may run on the measured CPUs. Fix (boot): isolcpus=2-N nohz_full=2-N rcu_nocbs=2-N, then swapref run --cores 2-N"
fi

# irqbalance
if [ -z "$root" ] && { pgrep -x irqbalance >/dev/null 2>&1; }; then
    warn irqbalance "running — it moves interrupts onto measured CPUs mid-run. Fix [fixable]: systemctl stop irqbalance (for the run)"
    fixes+=("systemctl stop irqbalance")
else
    ok irqbalance "not running"
fi

# Transparent huge pages
if thp=$(read1 /sys/kernel/mm/transparent_hugepage/enabled); then
    case "$thp" in
        *"[always]"*)
            warn thp "$thp — khugepaged may collapse pages during a run. Fix [fixable]: echo madvise > /sys/kernel/mm/transparent_hugepage/enabled"
            fixes+=("echo madvise > /sys/kernel/mm/transparent_hugepage/enabled") ;;
        *) ok thp "$thp" ;;
    esac
else
    info thp "not readable"
fi

# Virtualisation (informational: it changes what membarrier and counters cost)
if grep -qw hypervisor "$root/proc/cpuinfo" 2>/dev/null; then
    info virtualisation "running under a hypervisor — IPIs (membarrier, swapoff) cost more and counters may be absent; label results accordingly (swapref run --label)"
fi

echo "-- $warns warning(s)"
if [ "$fix" = 1 ] && [ "${#fixes[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "check-machine.sh: --fix needs root" >&2; exit 2
    fi
    echo "Would run:"; printf '  %s\n' "${fixes[@]}"
    if [ "$yes" = 0 ]; then
        read -r -p "Apply? [y/N] " answer || answer=n
        case "$answer" in y|Y|yes) ;; *) echo "nothing changed"; exit 0 ;; esac
    fi
    for c in "${fixes[@]}"; do echo "+ $c"; bash -c "$c" || echo "failed: $c" >&2; done
fi
[ "$strict" = 1 ] && [ "$warns" -gt 0 ] && exit 1
exit 0
