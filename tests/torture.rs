//! The torture checker over every strategy that allows churn, plus the negative control.
//!
//! Each run lasts `SWAPREF_TORTURE_SECS` seconds (default 2; the whole file stays well under
//! 30 s on 2 cores). For a soak: `SWAPREF_TORTURE_SECS=600 cargo test --release --test torture`.

// Strategies are not built under `--cfg loom` (see src/lib.rs); the loom suite is tests/loom.rs.
#![cfg(not(loom))]

use std::time::Duration;
use swapref::rcu::Flavor;
use swapref::strategy::{self, Strategy, StrategyConfig, Visitor};
use swapref::torture::{self, TortureConfig, TortureReport};

fn config(rcu: Option<Flavor>) -> TortureConfig {
    let secs: f64 = std::env::var("SWAPREF_TORTURE_SECS")
        .ok()
        .map(|s| {
            s.parse()
                .expect("SWAPREF_TORTURE_SECS must be a number of seconds")
        })
        .unwrap_or(2.0);
    TortureConfig {
        duration: Duration::from_secs_f64(secs),
        strategy: StrategyConfig { rcu },
        ..TortureConfig::default()
    }
}

struct Torture(TortureConfig);

impl Visitor for Torture {
    type Output = TortureReport;
    fn visit<S: Strategy>(self) -> TortureReport {
        torture::run::<S>(&self.0).expect("strategy set-up")
    }
}

fn torture_clean(name: &str, rcu: Option<Flavor>) {
    let report = strategy::visit(name, Torture(config(rcu))).unwrap();
    eprintln!("torture {name} (rcu {:?}): {report:?}", report.rcu_flavor);
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

/// One torture test per strategy, and `TORTURED`, the names they cover (so the guard below
/// checks the tests themselves, not a second list).
macro_rules! torture_tests {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                torture_clean($name, None);
            }
        )*
        const TORTURED: &[&str] = &[$($name),*];
    };
}

torture_tests! {
    percpu_acquire => "percpu-acquire",
    percpu_fence => "percpu-fence",
    arc_swap => "arc-swap",
    hazard => "hazard",
    rcu_valid => "rcu-valid",
    atomic => "atomic",
    rwlock => "rwlock",
}

/// The RCU-based strategies once more on the portable fence flavour (membarrier is the default
/// wherever the kernel offers it, as here).
#[test]
fn rcu_strategies_on_the_fence_flavour() {
    for name in ["percpu-acquire", "percpu-fence", "rcu-valid"] {
        torture_clean(name, Some(Flavor::Fence));
    }
}

/// Every registered strategy that allows churn has a torture test above.
#[test]
fn every_churning_strategy_is_tortured() {
    for info in strategy::ALL {
        assert_eq!(
            info.churn,
            TORTURED.contains(&info.name),
            "{}: add it to the torture tests",
            info.name
        );
    }
}

/// Negative control: a swapoff that frees without waiting must be caught, by the readers
/// (poison) and by swapoff (holders), without undefined behaviour (the checked table
/// quarantines the map).
#[test]
fn a_swapoff_that_does_not_wait_is_caught() {
    let report = torture::run::<strategy::broken::NoWait>(&config(None)).unwrap();
    eprintln!("torture broken-no-wait: {report:?}");
    assert!(
        report.violations > 0,
        "the checker missed a swapoff that frees early"
    );
    assert!(report.cycles > 0 && report.lookups_checked > 0);
}
