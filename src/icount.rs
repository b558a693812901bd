//! What the instruction-count benchmarks measure (`cargo bench --bench icount`, with gungraun):
//! the CI gate's counts.
//!
//! Wall-clock numbers on a shared CI runner move by a few percent from run to run; the number
//! of instructions a single-threaded path retires under callgrind does not. `benches/icount.rs`
//! counts, per strategy and RCU flavour:
//!
//! - [`Op::Lookup`]: `get_swap_device` + read one `swap_map` byte + put, one reader, no churn;
//! - [`Op::Cycle`]: one swapoff + swapon of one device, with one idle registered reader.
//!
//! Each bench is one [`Case`]: gungraun runs [`Case::new`] (set-up and warm-up) outside the
//! count and [`Case::run`] inside it, in a process of its own under
//! `valgrind --tool=callgrind`.
//!
//! # What callgrind can count
//!
//! Valgrind runs one guest thread at a time, so only single-thread paths give numbers that mean
//! something; contention (the `churn` benches) is not in the gate. Some strategies' swapoff is
//! not a single-thread path either: the percpu strategies' `percpu_ref_kill` queues the switch
//! to atomic mode with `call_rcu`, which starts the worker thread; swapoff's own
//! `synchronize_rcu()` usually runs the callback, but what the calling thread executes then
//! depends on how valgrind interleaves it with the worker (it differed between identical
//! runs). Those cycles are left out of the benches, and a bench fails, naming the reason, when
//! its set-up leaves a second thread running ([`threads`]) or when the library starts a thread
//! while it runs ([`Case::started_a_thread`]).
//!
//! # The gate
//!
//! `scripts/icount.sh check` runs the benches against the baselines committed under
//! `results/icount/` (gungraun's baseline files, cut to their header and totals) with gungraun's
//! regression limit: an instruction count more than 2 % above its baseline fails. It also runs
//! every bench twice and requires identical counts (determinism), and injects a regression
//! ([`INJECT_ENV`]) that must fail the gate (the negative control). `scripts/icount.sh refresh`
//! rewrites the baselines.

use crate::percpu_ref::PercpuKind;
use crate::rcu::FlavorKind as Flavor;
use crate::strategy::{self, Strategy, StrategyConfig, Visitor};
use crate::swap::{SwapEntry, SwapMap, SwapTable, TableConfig};
use std::fmt;
use std::hint::black_box;

/// A counted operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `get_swap_device` + one byte + put.
    Lookup,
    /// One swapoff + swapon.
    Cycle,
}

impl Op {
    /// Both ops, in report order.
    pub const ALL: [Op; 2] = [Op::Lookup, Op::Cycle];

    /// `lookup` or `cycle`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Lookup => "lookup",
            Op::Cycle => "cycle",
        }
    }

    /// Parse [`Op::name`].
    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == s)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const PAGES: usize = 64;
const ENTRY: SwapEntry = SwapEntry { ty: 0, offset: 7 };

/// The environment variable of the negative control: `STRATEGY:OP:N` adds `N` trips of a small
/// loop to every op of that strategy and op ([`Inject`]).
pub const INJECT_ENV: &str = "SWAPREF_ICOUNT_INJECT";

/// The injected regression of the gate's negative control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inject {
    /// The strategy's registry name.
    pub strategy: String,
    /// The op that gets the padding.
    pub op: Op,
    /// Trips per op.
    pub extra: u64,
}

impl std::str::FromStr for Inject {
    type Err = String;
    /// `STRATEGY:OP:N`, e.g. `atomic:lookup:4`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{INJECT_ENV}='{s}': expected STRATEGY:OP:N, e.g. atomic:lookup:4");
        let mut it = s.split(':');
        let (Some(st), Some(op), Some(n), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad());
        };
        Ok(Inject {
            strategy: strategy::info(st)
                .map_err(|e| e.to_string())?
                .name
                .to_string(),
            op: Op::from_name(op).ok_or_else(bad)?,
            extra: n.parse().map_err(|_| bad())?,
        })
    }
}

/// One (strategy, op, flavour), ready to run.
pub struct Case {
    ops: Box<dyn Ops>,
    iters: u64,
    extra: u64,
    /// Threads the library had started when the set-up ended.
    spawned: usize,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("iters", &self.iters)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

impl Case {
    /// Set up `strategy` (a registry name or module name) for `iters` of `op`, its RCU strategies
    /// on `flavor` and its `percpu_ref` on per-thread counters (valgrind does not support rseq,
    /// and the count must not depend on whether the host does), and warm it up: lazy
    /// initialisation (thread-locals, haphazard's global domain) is not part of an op.
    /// `inject` pads each op if it names this strategy and op.
    pub fn new(
        strategy: &str,
        op: Op,
        flavor: Flavor,
        iters: u64,
        inject: Option<&Inject>,
    ) -> Result<Case, String> {
        let name = strategy::ALL
            .iter()
            .find(|i| i.name == strategy || i.module == strategy)
            .ok_or_else(|| strategy::UnknownStrategy(strategy.to_string()).to_string())?
            .name;
        let extra = inject
            .filter(|i| i.strategy == name && i.op == op)
            .map_or(0, |i| i.extra);
        let ops = strategy::visit(name, flavor, Build { flavor, op, extra })
            .map_err(|e| e.to_string())??;
        Ok(Case {
            ops,
            iters,
            extra,
            spawned: crate::sync::spawned(),
        })
    }

    /// [`Case::new`] with the injection named by [`INJECT_ENV`], if it is set.
    pub fn from_env(strategy: &str, op: Op, flavor: Flavor, iters: u64) -> Result<Case, String> {
        let inject = match std::env::var(INJECT_ENV) {
            Ok(s) => Some(s.parse::<Inject>()?),
            Err(_) => None,
        };
        Case::new(strategy, op, flavor, iters, inject.as_ref())
    }

    /// The measured part: `iters` ops. Returns the checksum of what they read (the bytes of
    /// the lookups, the generations of the cycles), so that nothing is optimised away.
    #[inline(never)]
    pub fn run(&mut self) -> u64 {
        self.ops.run(self.iters, self.extra)
    }

    /// Whether the library started a thread since the set-up ended (its `call_rcu` worker, or
    /// any other thread it starts through `sync::spawn_named`), for instance during
    /// [`run`](Self::run): then valgrind interleaved that thread with the measured one, and
    /// the count depends on its scheduling. One load and a compare, so that a bench can check
    /// it inside its count at a constant cost.
    #[inline(always)]
    pub fn started_a_thread(&self) -> bool {
        crate::sync::spawned() != self.spawned
    }
}

/// Threads of this process now (`Threads:` in /proc/self/status; 0 if unreadable). The
/// benches require one after set-up: valgrind serialises threads, so another thread's share of
/// an op would depend on its scheduling.
pub fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

trait Ops {
    fn run(&mut self, n: u64, extra: u64) -> u64;
}

struct Lookups<S: Strategy> {
    // Dropped before the table (fields drop in declaration order): the table's drop waits for
    // a grace period, which an online qsbr reader of this thread would block forever.
    r: S::Reader,
    t: SwapTable<S>,
}

impl<S: Strategy> Ops for Lookups<S> {
    fn run(&mut self, n: u64, extra: u64) -> u64 {
        lookups(&self.t, &mut self.r, n, extra)
    }
}

struct Cycles<S: Strategy> {
    // Dropped before the table (fields drop in declaration order): the table's drop waits for
    // a grace period, which an online qsbr reader of this thread would block forever.
    r: S::Reader,
    t: SwapTable<S>,
}

impl<S: Strategy> Ops for Cycles<S> {
    fn run(&mut self, n: u64, extra: u64) -> u64 {
        // `r` stays registered and idle, as in the swapoff bench: offline (qsbr), as a thread
        // that waits for a grace period must be.
        let t = &self.t;
        S::offline(&mut self.r, || cycles(t, n, extra))
    }
}

struct Build {
    flavor: Flavor,
    op: Op,
    extra: u64,
}

impl Visitor for Build {
    type Output = Result<Box<dyn Ops>, String>;
    fn visit<S: Strategy>(self) -> Self::Output {
        let cfg = TableConfig {
            strategy: StrategyConfig::with_rcu(Some(self.flavor))
                .with_percpu(Some(PercpuKind::Thread)),
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
        Ok(match self.op {
            Op::Lookup => {
                black_box(lookups(&t, &mut r, 1000, self.extra));
                Box::new(Lookups { r, t })
            }
            Op::Cycle => {
                if !S::CHURN {
                    return Err(format!("{} refuses swapoff", S::NAME));
                }
                let mut c = Cycles { r, t };
                black_box(c.run(10, self.extra));
                Box::new(c)
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Every bench's case, built, run and dropped as gungraun does (set-up, run, drop after
    /// the run returned), under a watchdog: a case that deadlocks (a table dropped while its
    /// qsbr reader is still online) fails here instead of hanging the benches.
    #[test]
    fn every_case_runs_and_drops_and_reads_the_device_every_time() {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut done = Vec::new();
            for flavor in Flavor::ALL {
                if flavor.available().is_err() {
                    continue;
                }
                for info in strategy::ALL {
                    let mut one = Case::new(info.module, Op::Lookup, flavor, 1, None).unwrap();
                    let one = one.run();
                    let mut c = Case::new(info.module, Op::Lookup, flavor, 100, None).unwrap();
                    assert_eq!(c.run(), 100 * one, "{} {flavor:?}", info.name);
                    assert!(one > 0, "{} read a zero tag", info.name);
                    drop(c);
                    let cycle = Case::new(info.name, Op::Cycle, flavor, 3, None);
                    if info.churn {
                        // A cycle sums the generations swapon returned: three, each non-zero.
                        assert!(cycle.unwrap().run() >= 3, "{} {flavor:?}", info.name);
                    } else {
                        assert!(cycle.unwrap_err().contains("refuses swapoff"));
                    }
                    done.push((info.name, flavor));
                }
            }
            tx.send(done).unwrap();
        });
        let done = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("a case hung (or panicked: see above) within 120 s");
        assert!(done.len() >= 2 * strategy::ALL.len(), "{done:?}");
    }

    #[test]
    fn a_thread_the_library_starts_during_the_run_is_seen() {
        // percpu's swapoff queues the switch to atomic mode on the call_rcu worker, which the
        // warm-up started and which leaves after WORKER_IDLE (50 ms) without work: the run
        // starts it again. A worker descheduled past the pause on a loaded machine has not left
        // yet, so the pause grows over a few tries rather than being a threshold. (Only this
        // direction is asserted: other tests may start threads meanwhile.)
        let seen = (1..=6).any(|try_| {
            let mut c = Case::new("percpu-acquire", Op::Cycle, Flavor::Fence, 3, None).unwrap();
            std::thread::sleep(Duration::from_millis(200 * try_));
            c.run();
            c.started_a_thread()
        });
        assert!(
            seen,
            "six runs after the worker's idle time, and no thread started in any"
        );
    }

    #[test]
    fn the_injected_regression_pads_only_its_strategy_and_op() {
        let inject: Inject = "atomic:lookup:4".parse().unwrap();
        assert_eq!(inject.op, Op::Lookup);
        assert_eq!(inject.extra, 4);
        let c = Case::new("atomic", Op::Lookup, Flavor::Fence, 1, Some(&inject)).unwrap();
        assert_eq!(c.extra, 4);
        let c = Case::new("rwlock", Op::Lookup, Flavor::Fence, 1, Some(&inject)).unwrap();
        assert_eq!(c.extra, 0);
        let c = Case::new("atomic", Op::Cycle, Flavor::Fence, 1, Some(&inject)).unwrap();
        assert_eq!(c.extra, 0);
        for bad in [
            "atomic:lookup",
            "atomic:swap:1",
            "nosuch:lookup:1",
            "atomic:lookup:x",
        ] {
            assert!(bad.parse::<Inject>().is_err(), "{bad}");
        }
        assert!(Case::new("nosuch", Op::Lookup, Flavor::Fence, 1, None).is_err());
    }
}
