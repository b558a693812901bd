//! The measured side of the gate: what one valgrind run executes (`swapref icount measure`).
//!
//! One strategy, one op, `iters` iterations inside a function whose name matches
//! [`MEASURED`](super::gate::MEASURED), so that callgrind's `--toggle-collect` counts only them
//! (and their callees). Set-up and warm-up run outside it.

use super::Op;
use crate::rcu::FlavorKind as Flavor;
use crate::strategy::{self, Strategy, StrategyConfig, Visitor};
use crate::swap::{SwapEntry, SwapMap, SwapTable, TableConfig};
use std::hint::black_box;

const PAGES: usize = 64;
const ENTRY: SwapEntry = SwapEntry { ty: 0, offset: 7 };

/// What one worker run did: the checksum of its ops (so that nothing is optimised away) and the
/// most threads the process had around the measured op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Worked {
    /// Sum of the bytes read (lookups) or generations (cycles).
    pub sum: u64,
    /// More than one means the op is not a single-thread path (the call_rcu worker ran).
    pub threads: usize,
}

impl Worked {
    /// Read what [`Display`](std::fmt::Display) printed (the worker's stdout, the gate's
    /// input): `SUM threads=N`.
    pub fn parse(s: &str) -> Option<Worked> {
        let mut w = s.split_whitespace();
        let sum = w.next()?.parse().ok()?;
        let threads = w.next()?.strip_prefix("threads=")?.parse().ok()?;
        Some(Worked { sum, threads })
    }
}

impl std::fmt::Display for Worked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} threads={}", self.sum, self.threads)
    }
}

/// Run `iters` ops of `strategy` in flavour `flavor`, with `extra` trips of the injected
/// regression's loop per op (0 outside the negative control).
pub fn work(
    strategy: &str,
    op: Op,
    flavor: Flavor,
    iters: u64,
    extra: u64,
) -> Result<Worked, String> {
    let w = Worker {
        flavor,
        op,
        iters,
        extra,
    };
    strategy::visit(strategy, flavor, w).map_err(|e| e.to_string())?
}

struct Worker {
    flavor: Flavor,
    op: Op,
    iters: u64,
    extra: u64,
}

/// Threads of this process now (`Threads:` in /proc/self/status); 0 if unreadable.
fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

impl Visitor for Worker {
    type Output = Result<Worked, String>;
    fn visit<S: Strategy>(self) -> Self::Output {
        let cfg = TableConfig {
            strategy: StrategyConfig::with_rcu(Some(self.flavor)),
            checked: false,
        };
        let t = SwapTable::<S>::new(&cfg).map_err(|e| e.to_string())?;
        let generation = t.swapon(ENTRY.ty, PAGES).map_err(|e| e.to_string())?;
        let mut r = t.reader();
        if lookups(&t, &mut r, 1, 0) != u64::from(SwapMap::tag_for(generation)) {
            return Err(format!(
                "{}: a lookup of a device that is on failed",
                S::NAME
            ));
        }
        // Warm-up outside the toggled functions: lazy initialisation (thread-locals,
        // haphazard's global domain, the call_rcu worker) is not part of an op.
        // The most threads seen around the op: more than one means the op is not a
        // single-thread path (the call_rcu worker), and its count would depend on scheduling.
        let mut threads = threads();
        let sum = match self.op {
            Op::Lookup => {
                for _ in 0..10 {
                    black_box(lookups(&t, &mut r, 100, self.extra));
                    threads = threads.max(self::threads());
                }
                swapref_icount_measured_lookups(&t, &mut r, self.iters, self.extra)
            }
            Op::Cycle => {
                if !S::CHURN {
                    return Err(format!("{} refuses swapoff", S::NAME));
                }
                // `r` stays registered and idle, as in the swapoff bench: offline (qsbr), as
                // a thread that waits for a grace period must be.
                S::offline(&mut r, || {
                    for _ in 0..10 {
                        black_box(cycles(&t, 2, self.extra));
                        threads = threads.max(self::threads());
                    }
                    swapref_icount_measured_cycles(&t, self.iters, self.extra)
                })
            }
        };
        Ok(Worked {
            sum,
            threads: threads.max(self::threads()),
        })
    }
}

#[inline(always)]
fn lookups<S: Strategy>(t: &SwapTable<S>, r: &mut S::Reader, n: u64, extra: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        if let Some(dev) = t.get_swap_device(r, black_box(ENTRY)) {
            sum += u64::from(dev.read(ENTRY.offset));
        }
        pad(i, extra);
    }
    sum
}

#[inline(always)]
fn cycles<S: Strategy>(t: &SwapTable<S>, n: u64, extra: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        t.swapoff(ENTRY.ty).expect("device 0 is on");
        sum += t
            .swapon(ENTRY.ty, black_box(PAGES))
            .expect("device 0 is off");
        pad(i, extra);
    }
    sum
}

/// The injected regression: `extra` trips round a loop the optimiser cannot remove (a few
/// instructions each). With `extra = 0` it is one compare per op, in baseline and check alike.
#[inline(always)]
fn pad(i: u64, extra: u64) {
    for j in 0..black_box(extra) {
        black_box(i ^ j);
    }
}

#[inline(never)]
fn swapref_icount_measured_lookups<S: Strategy>(
    t: &SwapTable<S>,
    r: &mut S::Reader,
    n: u64,
    extra: u64,
) -> u64 {
    lookups(t, r, n, extra)
}

#[inline(never)]
fn swapref_icount_measured_cycles<S: Strategy>(t: &SwapTable<S>, n: u64, extra: u64) -> u64 {
    cycles(t, n, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_worker_prints_the_gate_reads() {
        let w = Worked {
            sum: 70_000,
            threads: 1,
        };
        assert_eq!(Worked::parse(&format!("{w}\n")), Some(w));
        assert_eq!(Worked::parse("70000"), None);
        assert_eq!(Worked::parse("x threads=1"), None);
    }

    #[test]
    fn a_lookup_run_reads_the_device_every_time() {
        // Every lookup of the device that is on reads its tag, the same non-zero byte.
        let w = work("atomic", Op::Lookup, Flavor::Fence, 100, 0).unwrap();
        assert!(w.sum > 0 && w.sum % 100 == 0, "{w:?}");
        assert_eq!(
            work("atomic", Op::Lookup, Flavor::Fence, 1, 0).unwrap().sum * 100,
            w.sum
        );
        assert!(work("unprotected", Op::Cycle, Flavor::Fence, 1, 0).is_err());
        assert!(work("nosuch", Op::Lookup, Flavor::Fence, 1, 0).is_err());
    }
}
