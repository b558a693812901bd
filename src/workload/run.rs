//! A run: every planned point, its repeats interleaved in rounds, into a [`Results`].
//!
//! A shared machine drifts: it has slow phases lasting from milliseconds to minutes. Measured
//! one point after another, a slow phase lands on one strategy and reads as a property of it.
//! So a run measures in *rounds*: each round measures one repeat of every point, in an order
//! shuffled afresh from the run's recorded seed, so drift hits every strategy alike and no
//! strategy always follows the same neighbour (tango-bench's paired benchmarking is the same
//! idea taken to two functions). Each repeat also records the floor measured just before it
//! ([`crate::measure::floor`]), so [`crate::compare`] can judge two runs made at different
//! speeds of the machine.
//!
//! The CLI parses and prints; this module runs: [`run`] measures, rebuilds the results'
//! points after every window, and hands them to an [`Observer`] to save and show progress.

use super::Work;
use super::placement::{self, Placement};
use super::point::{self, Gather, Gathered, Planned, PointSpec};
use crate::measure::counters::CounterSource;
use crate::measure::{env, topology};
use crate::percpu_ref::PercpuKind;
use crate::rcu::FlavorKind;
use crate::results::{Results, RunConfig, SCHEMA, SCHEMA_VERSION, StrategyFacts};
use crate::stats::SplitMix64;
use crate::strategy::{self, StrategyConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

/// What a caller asks a run to measure, as values (the CLI parses them from its flags).
/// [`Request::plan`] resolves it into a [`Plan`] and the [`RunConfig`] the results record.
#[derive(Clone)]
pub struct Request {
    /// Strategies, in run order.
    pub strategies: Vec<strategy::Info>,
    /// Reader counts to sweep; `None`: the usable CPUs minus one for the swapper (at least 1),
    /// all of them when no period has a swapper.
    pub readers: Option<Vec<usize>>,
    /// Swap periods to sweep; `None` = no swapper.
    pub periods: Vec<Option<Duration>>,
    /// Holds to sweep.
    pub holds: Vec<Duration>,
    /// RCU flavours to sweep.
    pub flavors: Vec<FlavorKind>,
    /// How the flavours were asked for, recorded as given (e.g. `auto`).
    pub rcu: String,
    /// `percpu_ref` counter backends to sweep.
    pub percpus: Vec<PercpuKind>,
    /// How the backends were asked for, recorded as given (e.g. `auto`).
    pub percpu: String,
    /// CPUs the readers and the swapper may use.
    pub cpus: Vec<usize>,
    /// Allow more reader threads than CPUs.
    pub oversubscribe: bool,
    /// How long a device stays off between its swapoff and its swapon.
    pub off_time: Duration,
    /// Measured window of each repeat.
    pub duration: Duration,
    /// Warm-up before each window.
    pub warmup: Duration,
    /// How long a swapoff/swapon may take before the point fails as stuck.
    pub watchdog: Duration,
    /// Windows per point (rounds).
    pub repeats: usize,
    /// Swap devices the readers look up and the swapper cycles.
    pub devices: usize,
    /// Pages per device.
    pub pages: usize,
    /// Hardware counters to read per lookup.
    pub counters: Vec<String>,
    /// Where the counters come from.
    pub counter_source: Arc<dyn CounterSource>,
    /// Seed of the rounds' order.
    pub seed: u64,
    /// An injected regression ([`Plan::inject`]).
    pub inject: Option<(String, u64)>,
    /// How the injection was asked for, recorded as given.
    pub inject_text: Option<String>,
}

impl Request {
    /// Place every point on the CPUs, time the hold's spin, and resolve the configuration.
    /// Fails (with a one-line reason) when a point cannot be placed.
    pub fn plan(self) -> Result<(Plan, RunConfig), String> {
        let order = placement::order(&topology::machine_topology(), &self.cpus);
        let churn = self.periods.iter().any(Option::is_some);
        let readers = self.readers.clone().unwrap_or_else(|| {
            vec![if churn {
                order.len().saturating_sub(1).max(1)
            } else {
                order.len().max(1)
            }]
        });
        let mut points = Vec::new();
        for p in point::plan(
            &self.strategies,
            &readers,
            &self.periods,
            &self.holds,
            &self.flavors,
            &self.percpus,
        ) {
            let pl = placement::place(&order, p.readers, p.period.is_some(), self.oversubscribe)
                .map_err(|e| e.to_string())?;
            points.push((p, pl));
        }
        let first = points.first().ok_or("nothing to measure")?.1.clone();
        // The spin's speed where the first reader runs (about a millisecond; recorded even
        // when no point holds).
        let spin_ns_per_iteration = crate::measure::hold::calibrate(first.readers.first().copied());
        let cfg = RunConfig {
            strategies: self.strategies.iter().map(|i| i.name.to_owned()).collect(),
            readers,
            periods_ns: self
                .periods
                .iter()
                .map(|p| p.map(|d| d.as_nanos() as u64))
                .collect(),
            off_time_ns: self.off_time.as_nanos() as u64,
            devices: self.devices,
            pages: self.pages,
            hold: None,
            holds_ns: self.holds.iter().map(|h| h.as_nanos() as u64).collect(),
            spin_ns_per_iteration: Some(spin_ns_per_iteration),
            duration_ns: self.duration.as_nanos() as u64,
            warmup_ns: self.warmup.as_nanos() as u64,
            repeats: self.repeats,
            cpus: order,
            oversubscribe: self.oversubscribe,
            counters: self.counters.clone(),
            rcu: self.rcu,
            percpu: Some(self.percpu),
            seed: Some(self.seed),
            inject: self.inject_text,
            strategy_facts: self
                .strategies
                .iter()
                .map(|i| (i.name.to_owned(), StrategyFacts::of(i)))
                .collect(),
        };
        let spec = PointSpec {
            strategy: StrategyConfig::default(),
            placement: first,
            period: None,
            off_time: self.off_time,
            work: Work {
                devices: self.devices,
                pages: self.pages,
                hold: 0,
            },
            hold_ns: 0,
            warmup: self.warmup,
            duration: self.duration,
            repeats: self.repeats,
            counters: self.counters,
            counter_source: self.counter_source,
            watchdog: self.watchdog,
            checked: false,
        };
        let plan = Plan {
            points,
            spec,
            seed: self.seed,
            spin_ns_per_iteration,
            inject: self.inject,
        };
        Ok((plan, cfg))
    }
}

/// Empty results for a run of `config` starting now on this machine (`label` names it;
/// `allowed` is the process's allowed CPU set captured at start-up): what [`run`] fills.
pub fn begin(config: RunConfig, label: Option<String>, allowed: Vec<usize>) -> Results {
    Results {
        schema: SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        tool: env::tool(),
        started: env::rfc3339(SystemTime::now()),
        complete: false,
        interrupted: None,
        environment: env::environment(label, allowed),
        config,
        points: Vec::new(),
    }
}

/// What a run measures.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The points, in the order results list them.
    pub points: Vec<(Planned, Placement)>,
    /// Everything the points share; `repeats` is the number of rounds.
    pub spec: PointSpec,
    /// Seeds the order of every round ([`round_order`]); recorded in the results.
    pub seed: u64,
    /// ns per iteration of the hold's spin ([`crate::measure::hold::calibrate`]): each
    /// point's hold becomes `hold / spin_ns_per_iteration` iterations
    /// ([`crate::measure::hold::iterations`]).
    pub spin_ns_per_iteration: f64,
    /// Test hook for the A/B check: the named strategy's points hold the reference this many
    /// spin iterations more than their hold asks for (an extra cost per lookup that a
    /// comparison must catch). Recorded in the results' configuration.
    pub inject: Option<(String, u64)>,
}

impl Plan {
    /// The spec of point `i`.
    pub fn spec_of(&self, i: usize) -> PointSpec {
        let (planned, placement) = &self.points[i];
        let mut spec = PointSpec {
            placement: placement.clone(),
            period: planned.period,
            strategy: StrategyConfig::with_rcu(planned.rcu).with_percpu(planned.percpu),
            repeats: 1,
            hold_ns: planned.hold.as_nanos() as u64,
            ..self.spec.clone()
        };
        spec.work.hold = crate::measure::hold::iterations(planned.hold, self.spin_ns_per_iteration);
        if let Some((name, extra)) = &self.inject
            && name == planned.strategy
        {
            spec.work.hold += *extra;
        }
        spec
    }

    /// Measured windows in the whole run.
    pub fn windows(&self) -> u64 {
        self.points.len() as u64 * self.spec.repeats as u64
    }
}

/// What a run tells its caller as it goes. Every method but `save` has a default that does
/// nothing.
pub trait Observer {
    /// Window `round` of point `planned` starts.
    fn window_started(&mut self, _planned: &Planned, _round: u32) {}
    /// A window finished (measured or failed).
    fn window_done(&mut self) {}
    /// Persist `results` (after every window, and at the end). An error ends the run.
    fn save(&mut self, results: &Results) -> Result<(), String>;
}

/// How a run ended. In every case `results` holds what was measured, saved.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// Every round of every point measured; `results.complete` is true.
    Complete,
    /// A point failed (it is in the results, `status: failed`); the run stopped there.
    Failed(String),
    /// Cancelled: the windows that finished are kept, `interrupted` is `"SIGINT"`.
    Cancelled,
    /// `Observer::save` failed with this message; the run stopped.
    SaveFailed(String),
}

/// The order in which round `round` measures `n` points: a Fisher–Yates shuffle driven by
/// splitmix64 of `seed` and `round`. The same seed gives the same orders.
pub fn round_order(seed: u64, round: u32, n: usize) -> Vec<usize> {
    let mut rng =
        SplitMix64::new(seed ^ (u64::from(round) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    order
}

/// Measure `plan` into `results` (whose `points` it replaces), saving through `obs` after
/// every window. `cancel` is polled between windows and inside them.
pub fn run(plan: &Plan, results: &mut Results, cancel: &AtomicBool, obs: &mut dyn Observer) -> End {
    let specs: Vec<PointSpec> = (0..plan.points.len()).map(|i| plan.spec_of(i)).collect();
    let mut gathered: Vec<Gathered> = plan
        .points
        .iter()
        .zip(&specs)
        .map(|((p, _), s)| Gathered::new(p.strategy, s))
        .collect();
    let mut failed: Option<(usize, String)> = None;
    let mut end = End::Complete;
    'rounds: for round in 0..plan.spec.repeats as u32 {
        for i in round_order(plan.seed, round, plan.points.len()) {
            // Relaxed: the cancel flag carries no data; it is only polled.
            if cancel.load(Relaxed) {
                end = End::Cancelled;
                break 'rounds;
            }
            let planned = &plan.points[i].0;
            obs.window_started(planned, round);
            let outcome = point::gather_named(
                planned.strategy,
                &specs[i],
                cancel,
                &mut || {},
                &mut gathered[i],
                round,
            )
            .expect("planned strategies are registered");
            obs.window_done();
            match outcome {
                Gather::Done => {}
                Gather::Cancelled => {
                    end = End::Cancelled;
                    break 'rounds;
                }
                Gather::Failed(e) => {
                    failed = Some((i, e.clone()));
                    end = End::Failed(e);
                }
            }
            results.points = points(&gathered, &specs, failed.as_ref());
            if let Err(e) = obs.save(results) {
                return End::SaveFailed(e);
            }
            if failed.is_some() {
                break 'rounds;
            }
        }
    }
    results.points = points(&gathered, &specs, failed.as_ref());
    results.interrupted = match &end {
        End::Failed(e) => Some(e.clone()),
        End::Cancelled => Some("SIGINT".into()),
        _ => None,
    };
    results.complete = end == End::Complete;
    if let Err(e) = obs.save(results) {
        return End::SaveFailed(e);
    }
    end
}

/// The results points in plan order: those with a repeat, and the failed one.
fn points(
    gathered: &[Gathered],
    specs: &[PointSpec],
    failed: Option<&(usize, String)>,
) -> Vec<crate::results::Point> {
    gathered
        .iter()
        .zip(specs)
        .enumerate()
        .filter_map(|(i, (g, s))| {
            let error = failed.filter(|f| f.0 == i).map(|f| f.1.clone());
            (g.repeats() > 0 || error.is_some()).then(|| g.point(s, error))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixtures;
    use crate::workload::point::tests::spec;
    use std::time::Duration;

    /// Records the windows in the order they ran; cancels after `cancel_after` windows.
    struct Log<'a> {
        windows: Vec<(&'static str, u32)>,
        saves: usize,
        cancel: &'a AtomicBool,
        cancel_after: Option<usize>,
    }

    impl Observer for Log<'_> {
        fn window_started(&mut self, p: &Planned, round: u32) {
            self.windows.push((p.strategy, round));
        }
        fn window_done(&mut self) {
            if Some(self.windows.len()) == self.cancel_after {
                // Relaxed: as the run polls it.
                self.cancel.store(true, Relaxed);
            }
        }
        fn save(&mut self, _: &Results) -> Result<(), String> {
            self.saves += 1;
            Ok(())
        }
    }

    fn plan(strategies: &[&'static str], inject: Option<(String, u64)>) -> Plan {
        let period = Some(Duration::from_millis(1));
        let spec = spec(1, period);
        let points = strategies
            .iter()
            .map(|&s| {
                let planned = Planned {
                    strategy: s,
                    readers: 1,
                    period,
                    hold: Duration::ZERO,
                    rcu: None,
                    percpu: None,
                };
                (planned, spec.placement.clone())
            })
            .collect();
        Plan {
            points,
            spec,
            seed: 5,
            spin_ns_per_iteration: 0.5,
            inject,
        }
    }

    #[test]
    fn a_run_measures_in_rounds_every_point_once_per_round() {
        let plan = plan(&["atomic", "rwlock", "hazard"], None);
        let cancel = AtomicBool::new(false);
        let mut log = Log {
            windows: vec![],
            saves: 0,
            cancel: &cancel,
            cancel_after: None,
        };
        let mut results = fixtures::results(vec![]);
        assert_eq!(run(&plan, &mut results, &cancel, &mut log), End::Complete);
        assert!(results.complete && results.interrupted.is_none());
        assert_eq!(log.windows.len(), 9);
        assert_eq!(log.saves, 10, "a save after every window and at the end");
        // Round k's three windows come before round k+1's.
        for (n, w) in log.windows.iter().enumerate() {
            assert_eq!(w.1, n as u32 / 3, "{:?}", log.windows);
        }
        // ... each round in the order its seed gives.
        let names = ["atomic", "rwlock", "hazard"];
        for round in 0..3u32 {
            let want: Vec<&str> = round_order(5, round, 3).iter().map(|&i| names[i]).collect();
            let got: Vec<&str> = log.windows[3 * round as usize..][..3]
                .iter()
                .map(|w| w.0)
                .collect();
            assert_eq!(got, want, "round {round}");
        }
        let listed: Vec<&str> = results.points.iter().map(|p| p.strategy.as_str()).collect();
        assert_eq!(listed, names, "results in plan order");
        for p in &results.points {
            let rounds: Vec<Option<u32>> = p.repeats.iter().map(|r| r.round).collect();
            assert_eq!(rounds, [Some(0), Some(1), Some(2)]);
            for r in &p.repeats {
                assert!(r.floor_ns.is_some_and(|f| f > 0.0));
                assert!(r.swap_cycles > 0 && r.swapoff_buckets.is_some());
                let b = r.swapoff_buckets.as_ref().unwrap();
                let in_buckets: u64 = b.iter().map(|x| x[1]).sum();
                assert_eq!(Some(in_buckets), r.swapoff_latency_ns.map(|l| l.count));
            }
        }
    }

    #[test]
    fn a_cancelled_run_keeps_the_windows_that_finished() {
        let plan = plan(&["atomic", "rwlock"], None);
        let cancel = AtomicBool::new(false);
        let mut log = Log {
            windows: vec![],
            saves: 0,
            cancel: &cancel,
            cancel_after: Some(3),
        };
        let mut results = fixtures::results(vec![]);
        assert_eq!(run(&plan, &mut results, &cancel, &mut log), End::Cancelled);
        assert!(!results.complete);
        assert_eq!(results.interrupted.as_deref(), Some("SIGINT"));
        let kept: usize = results.points.iter().map(|p| p.repeats.len()).sum();
        assert_eq!(kept, 3);
    }

    #[test]
    fn an_injected_hold_lands_on_its_strategy_only() {
        let plan = plan(&["atomic", "rwlock"], Some(("rwlock".into(), 50)));
        assert_eq!(plan.spec_of(0).work.hold, 0);
        assert_eq!(plan.spec_of(1).work.hold, 50);
        assert_eq!(plan.spec_of(1).repeats, 1);
        assert_eq!(plan.windows(), 6);
    }

    #[test]
    fn a_hold_is_calibrated_into_iterations_and_an_injection_adds_to_it() {
        let mut plan = plan(&["atomic", "rwlock"], Some(("rwlock".into(), 50)));
        for (p, _) in &mut plan.points {
            p.hold = Duration::from_nanos(100);
        }
        // 100 ns at 0.5 ns per iteration.
        let (a, r) = (plan.spec_of(0), plan.spec_of(1));
        assert_eq!((a.hold_ns, a.work.hold), (100, 200));
        assert_eq!((r.hold_ns, r.work.hold), (100, 250));
        let mut results = fixtures::results(vec![]);
        let cancel = AtomicBool::new(false);
        let mut log = Log {
            windows: vec![],
            saves: 0,
            cancel: &cancel,
            cancel_after: Some(2),
        };
        run(&plan, &mut results, &cancel, &mut log);
        for p in &results.points {
            assert_eq!(p.hold_ns, 100);
            assert_eq!(
                p.hold_iterations,
                if p.strategy == "rwlock" { 250 } else { 200 }
            );
        }
    }

    #[test]
    fn round_orders_are_permutations_that_differ_and_repeat_with_the_seed() {
        let a: Vec<Vec<usize>> = (0..8).map(|r| round_order(42, r, 10)).collect();
        for o in &a {
            let mut s = o.clone();
            s.sort_unstable();
            assert_eq!(s, (0..10).collect::<Vec<_>>());
        }
        assert!(
            a.windows(2).any(|w| w[0] != w[1]),
            "every round in one order"
        );
        assert_eq!(round_order(42, 3, 10), a[3]);
        assert_ne!(round_order(43, 3, 10), a[3]);
        // Each point is sometimes first: no strategy always measured at the same place.
        let firsts: std::collections::BTreeSet<usize> =
            (0..200).map(|r| round_order(7, r, 4)[0]).collect();
        assert_eq!(firsts.len(), 4);
        assert_eq!(round_order(1, 0, 0), Vec::<usize>::new());
        assert_eq!(round_order(1, 0, 1), vec![0]);
    }
}
