//! The torture checker over every strategy that allows churn, plus the negative control.
//!
//! Each run lasts `SWAPREF_TORTURE_SECS` seconds (default 2; the whole file stays well under
//! 30 s on 2 cores). For a soak: `SWAPREF_TORTURE_SECS=600 cargo test --release --test torture`.

// Strategies are not built under `--cfg loom` (see src/lib.rs); the loom suite is tests/loom.rs.
#![cfg(not(loom))]

use std::time::Duration;
use swapref::percpu_ref::PercpuKind;
use swapref::rcu::FlavorKind;
use swapref::strategy::{self, Strategy, StrategyConfig, Visitor};
use swapref::torture::{self, TortureConfig, TortureReport};

fn config(rcu: Option<FlavorKind>) -> TortureConfig {
    let secs: f64 = std::env::var("SWAPREF_TORTURE_SECS")
        .ok()
        .map(|s| {
            s.parse()
                .expect("SWAPREF_TORTURE_SECS must be a number of seconds")
        })
        .unwrap_or(2.0);
    TortureConfig {
        duration: Duration::from_secs_f64(secs),
        strategy: StrategyConfig {
            rcu,
            ..StrategyConfig::default()
        },
        ..TortureConfig::default()
    }
}

/// Torture `name` as `cfg` asks: its flavour, and its counter backend if it uses `percpu_ref`
/// (`auto` unless set: per-CPU counters where rseq works).
fn torture(name: &str, cfg: TortureConfig) -> TortureReport {
    strategy::visit(name, cfg.strategy.kinds(), Torture(cfg)).unwrap()
}

struct Torture(TortureConfig);

impl Visitor for Torture {
    type Output = TortureReport;
    fn visit<S: Strategy>(self) -> TortureReport {
        torture::run::<S>(&self.0).expect("strategy set-up")
    }
}

fn torture_clean(name: &str, cfg: TortureConfig) {
    let report = torture(name, cfg);
    eprintln!(
        "torture {name} (rcu {:?}, percpu {:?}): {report:?}",
        report.rcu_flavor, report.percpu
    );
    assert_eq!(report.stall, None, "{name}: the swapper stalled");
    assert_eq!(
        report.violations,
        0,
        "{name}: {}",
        report.first_violation.unwrap_or_default()
    );
    assert!(
        report.cycles > 0,
        "{name}: the swapper never completed a cycle"
    );
    assert!(
        report.lookups_checked > 0,
        "{name}: no lookup succeeded, nothing was checked"
    );
    assert!(
        report.lookups_failed > 0,
        "{name}: no lookup ever raced a swapoff"
    );
}

/// One test per registry line, named by the strategy's module: torture with no violation for a
/// strategy that allows churn; for one that does not, the table must refuse swapoff (never let
/// it run under readers the strategy cannot wait for).
macro_rules! torture_tests {
    ($k:tt; $($kind:ident $module:ident $ty:ident),* $(,)?) => {
        $(
            #[test]
            fn $module() {
                torture_or_refusal(stringify!($module));
            }
        )*
    };
}

swapref::for_each_strategy!(torture_tests);

fn torture_or_refusal(module: &str) {
    let info = strategy::ALL
        .iter()
        .find(|i| i.module == module)
        .expect("a registry line");
    if info.churn {
        torture_clean(info.name, config(None));
    } else {
        let err = strategy::visit(info.name, strategy::auto_flavor().0, RefusesSwapoff).unwrap();
        assert!(
            err.contains(info.name) && err.contains("swapoff"),
            "{}: {err}",
            info.name
        );
    }
}

/// Swap a device on and try to swap it off: a strategy without churn must refuse.
struct RefusesSwapoff;

impl Visitor for RefusesSwapoff {
    type Output = String;
    fn visit<S: Strategy>(self) -> String {
        let t = swapref::swap::SwapTable::<S>::new(&Default::default()).expect("set-up");
        t.swapon(0, 8).expect("swapon");
        match t.swapoff(0) {
            Ok(_) => panic!(
                "{}: swapoff ran although the strategy refuses churn",
                S::NAME
            ),
            Err(e) => e.to_string(),
        }
    }
}

/// The strategies over the RCU, by name, from the registry.
fn rcu_strategies() -> impl Iterator<Item = &'static str> {
    strategy::ALL.iter().filter(|i| i.rcu).map(|i| i.name)
}

/// The RCU-based strategies once more on each flavour that `auto` did not pick.
#[test]
fn rcu_strategies_on_every_other_flavour() {
    let auto = swapref::strategy::auto_flavor().0;
    for f in FlavorKind::ALL {
        if f == auto || f.available().is_err() {
            continue;
        }
        for name in rcu_strategies() {
            torture_clean(name, config(Some(f)));
        }
    }
}

/// Oversubscribed: two unpinned readers per CPU, so readers are preempted inside sections (and,
/// under qsbr, between quiescent states): what a grace period must wait for, and what the
/// driver's park and the readers' wake-ups must handle. Every flavour, half the time each.
#[test]
fn rcu_strategies_oversubscribed_on_every_flavour() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    for f in FlavorKind::ALL {
        if f.available().is_err() {
            continue;
        }
        for name in rcu_strategies() {
            let mut cfg = config(Some(f));
            cfg.readers = 2 * cpus;
            cfg.duration /= 2;
            torture_clean(name, cfg);
        }
    }
}

/// The percpu_ref strategies with each backend `auto` did not pick (per-thread counters, and
/// per concurrency ID, where rseq works), pinned and oversubscribed, on the flavour `auto`
/// picked; the other flavours above cover the backend `auto` picked.
#[test]
fn percpu_strategies_with_the_other_counter_backends() {
    let auto = swapref::strategy::auto_percpu().0;
    let others: Vec<PercpuKind> = PercpuKind::ALL
        .into_iter()
        .filter(|&k| k != auto)
        .filter(|&k| match k.available() {
            Ok(()) => true,
            Err(e) => {
                eprintln!("!!!!! SKIPPED: torture with --percpu {k} (unavailable: {e}) !!!!!");
                false
            }
        })
        .collect();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (other, name) in others.iter().flat_map(|&k| {
        strategy::ALL
            .iter()
            .filter(|i| i.percpu)
            .map(move |i| (k, i.name))
    }) {
        let mut cfg = config(None);
        cfg.strategy.percpu = Some(other);
        torture_clean(name, cfg);
        let mut cfg = config(None);
        cfg.strategy.percpu = Some(other);
        cfg.readers = 2 * cpus;
        cfg.duration /= 2;
        torture_clean(name, cfg);
    }
}

/// Negative control: a swapoff that frees without waiting must be caught, by the readers
/// (poison) and by swapoff (holders), without undefined behaviour (the checked table
/// quarantines the map).
#[test]
fn a_swapoff_that_does_not_wait_is_caught() {
    let report = torture::run::<strategy::broken::NoWait>(&config(None)).unwrap();
    assert_eq!(report.stall, None);
    eprintln!("torture broken-no-wait: {report:?}");
    assert!(
        report.violations > 0,
        "the checker missed a swapoff that frees early"
    );
    assert!(report.cycles > 0 && report.lookups_checked > 0);
}

/// Second negative control: grace periods that return without waiting. rcu-valid then frees
/// maps under readers: violations, every time. percpu's switch to atomic mode then sums counters
/// that may still be moving: a reader between its mode load and its counter store is missed, the
/// count goes wrong, the release never comes and swapoff hangs, which the watchdog reports as a
/// stall within the limit, never as a hang of the test. That window is a few instructions wide,
/// so one 2 s run may miss it: the percpu runs (two strategies × two flavours) must catch it at
/// least once.
///
/// The subjects are named: the strategies whose maps a broken grace period frees under
/// readers. `rcuref` and `file-ref` need their grace period only for the device object around
/// the count (a reader in the few instructions between its pointer load and its add), which
/// the checker's map quarantine does not cover, so broken grace periods there would be
/// undetected undefined behaviour, not a test; `hazptr` runs no grace period.
#[test]
fn a_grace_period_that_does_not_wait_is_caught() {
    let mut percpu_caught = 0;
    let mut percpu_runs = 0;
    for f in [FlavorKind::Qsbr, swapref::strategy::auto_flavor().0] {
        for name in ["percpu-acquire", "percpu-fence", "rcu-valid"] {
            let mut cfg = config(Some(f));
            cfg.strategy.broken_grace_periods = true;
            // Per-thread counters: their switch to atomic mode is what waits for a grace
            // period (the per-CPU switch waits for none; its proof is tests/rseq_stress.rs).
            cfg.strategy.percpu = Some(PercpuKind::Thread);
            cfg.stall_limit = Duration::from_secs(2);
            let report = torture(name, cfg);
            eprintln!("torture {name} (rcu {f}, broken grace periods): {report:?}");
            let caught = report.violations > 0 || report.stall.is_some();
            if let Some(s) = &report.stall {
                assert!(
                    s.contains(name) && s.contains(f.name()) && s.contains("record"),
                    "the stall report names the strategy, the flavour and the readers: {s}"
                );
            }
            if name.starts_with("percpu") {
                percpu_runs += 1;
                percpu_caught += usize::from(caught);
            } else {
                assert!(
                    caught,
                    "{name} on {f}: a grace period that does not wait went unnoticed"
                );
            }
        }
    }
    assert!(
        percpu_caught > 0,
        "percpu: none of {percpu_runs} runs with grace periods that do not wait was caught"
    );
}
