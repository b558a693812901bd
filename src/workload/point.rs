//! One measured point — a strategy at a reader count and swap period — and the plan of points
//! a run sweeps.
//!
//! A point builds a fresh table (devices `0..devices` on), a [`ReaderPool`] pinned as placed,
//! and, with a period, a swapper. Each repeat is a warm-up window (not counted) followed by a
//! measured window; the swapper runs throughout. The repeats' raw data go into the point, and
//! so do their spread (median, min, max) and the merged latency histograms.
//!
//! A point fails — and the run stops — when a reader panics, a reader reads a torn-down map,
//! the swapper errs, or the watchdog fires; its error names the strategy and the point.

use super::placement::Placement;
use super::pool::{PoolConfig, PoolError, ReaderPool};
use super::reader::Work;
use super::swapper::SwapperConfig;
use crate::measure::counters::{self, CounterSource};
use crate::measure::floor::{self, FLOOR_WINDOW};
use crate::measure::latency::Latencies;
use crate::percpu_ref::PercpuKind;
use crate::rcu::FlavorKind;
use crate::results::{Point, Repeat, Spread, Status};
use crate::strategy::{self, Strategy, StrategyConfig, UnknownStrategy, Visitor};
use crate::swap::{SwapTable, TableConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Everything one point needs.
#[derive(Clone)]
pub struct PointSpec {
    /// RCU flavour, for the strategies that use RCU.
    pub strategy: StrategyConfig,
    /// Where the readers and the swapper run; the reader count is `placement.readers.len()`.
    pub placement: Placement,
    /// Time between swap cycles; `None`: no swapper.
    pub period: Option<Duration>,
    /// How long a device stays off in a cycle.
    pub off_time: Duration,
    /// Devices, pages, hold (in spin iterations).
    pub work: Work,
    /// The hold asked for, ns, that `work.hold` was calibrated from; recorded in the point.
    pub hold_ns: u64,
    /// Warm-up before each measured window.
    pub warmup: Duration,
    /// Each measured window.
    pub duration: Duration,
    /// Measured windows.
    pub repeats: usize,
    /// Counters to open in each reader.
    pub counters: Vec<String>,
    /// Where counters come from.
    pub counter_source: Arc<dyn CounterSource>,
    /// Watchdog limit for a swapoff/swapon, and for readers to stop.
    pub watchdog: Duration,
    /// Build the table checked (freed maps quarantined), for negative controls.
    pub checked: bool,
}

impl std::fmt::Debug for PointSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointSpec")
            .field("placement", &self.placement)
            .field("period", &self.period)
            .field("work", &self.work)
            .field("repeats", &self.repeats)
            .finish_non_exhaustive()
    }
}

/// How a point ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PointOutcome {
    /// Measured (`status: ok`).
    Done(Point),
    /// Failed (`status: failed`, `error` says why); the run must stop.
    Failed(Point),
    /// Cancelled (Ctrl-C) before it finished; nothing to keep.
    Cancelled,
}

pub use crate::format::{duration as duration_name, period as period_name};

/// Measure strategy `S` at `spec`: its repeats one after another (rounds `0..repeats`).
/// `cancel` aborts between and inside windows; `progress` is called after each repeat. A run
/// interleaves points instead, through [`Gathered`] and [`gather_named`] (see
/// [`super::run`]).
pub fn measure<S: Strategy>(
    spec: &PointSpec,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(),
) -> PointOutcome {
    let mut acc = Gathered::new(S::NAME, spec);
    match gather::<S>(spec, cancel, progress, &mut acc, 0) {
        Gather::Done => PointOutcome::Done(acc.point(spec, None)),
        Gather::Cancelled => PointOutcome::Cancelled,
        Gather::Failed(e) => PointOutcome::Failed(acc.point(spec, Some(e))),
    }
}

/// How [`gather_named`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Gather {
    /// Its repeats were added.
    Done,
    /// It failed; the error names the strategy and the point. The run must stop.
    Failed(String),
    /// Cancelled; nothing was added.
    Cancelled,
}

fn gather<S: Strategy>(
    spec: &PointSpec,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(),
    acc: &mut Gathered,
    first_round: u32,
) -> Gather {
    match run::<S>(spec, cancel, progress, acc, first_round) {
        Ok(()) => Gather::Done,
        Err(PoolError::Cancelled) => Gather::Cancelled,
        Err(e) => Gather::Failed(format!(
            "{e} (strategy {}, {} reader(s), period {})",
            S::NAME,
            spec.placement.readers.len(),
            period_name(spec.period)
        )),
    }
}

/// [`measure`] with the strategy named at run time.
pub fn measure_named(
    name: &str,
    spec: &PointSpec,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(),
) -> Result<PointOutcome, UnknownStrategy> {
    struct V<'a> {
        spec: &'a PointSpec,
        cancel: &'a AtomicBool,
        progress: &'a mut dyn FnMut(),
    }
    impl Visitor for V<'_> {
        type Output = PointOutcome;
        fn visit<S: Strategy>(self) -> PointOutcome {
            measure::<S>(self.spec, self.cancel, self.progress)
        }
    }
    strategy::visit(
        name,
        spec.strategy.kinds(),
        V {
            spec,
            cancel,
            progress,
        },
    )
}

/// Measure `spec.repeats` more repeats of the strategy named `name` into `acc`, numbered
/// from round `first_round`: a fresh table, pool and swapper each call, so a run can measure
/// one repeat of every point per round.
pub fn gather_named(
    name: &str,
    spec: &PointSpec,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(),
    acc: &mut Gathered,
    first_round: u32,
) -> Result<Gather, UnknownStrategy> {
    struct V<'a> {
        spec: &'a PointSpec,
        cancel: &'a AtomicBool,
        progress: &'a mut dyn FnMut(),
        acc: &'a mut Gathered,
        first_round: u32,
    }
    impl Visitor for V<'_> {
        type Output = Gather;
        fn visit<S: Strategy>(self) -> Gather {
            gather::<S>(
                self.spec,
                self.cancel,
                self.progress,
                self.acc,
                self.first_round,
            )
        }
    }
    strategy::visit(
        name,
        spec.strategy.kinds(),
        V {
            spec,
            cancel,
            progress,
            acc,
            first_round,
        },
    )
}

/// What the repeats of one point gathered so far; [`Gathered::point`] makes the results
/// point of them.
#[derive(Debug, Clone)]
pub struct Gathered {
    strategy: String,
    repeats: Vec<Repeat>,
    swapoff: Latencies,
    swapon: Latencies,
    /// Per counter, per repeat: the per-lookup value or why not, and the running fraction.
    counters: Vec<Vec<(Result<f64, String>, f64)>>,
    device_bytes: usize,
    rcu_flavor: Option<String>,
    percpu: Option<String>,
}

impl Gathered {
    /// Nothing gathered yet for strategy `strategy` at `spec` (its counters).
    pub fn new(strategy: &str, spec: &PointSpec) -> Gathered {
        Gathered {
            strategy: strategy.to_owned(),
            repeats: Vec::new(),
            swapoff: Latencies::default(),
            swapon: Latencies::default(),
            counters: vec![Vec::new(); spec.counters.len()],
            device_bytes: 0,
            rcu_flavor: None,
            percpu: None,
        }
    }

    /// Repeats gathered so far.
    pub fn repeats(&self) -> usize {
        self.repeats.len()
    }

    /// The results point: the repeats so far, their spread, merged latencies, counters;
    /// failed with `error` if given.
    pub fn point(&self, spec: &PointSpec, error: Option<String>) -> Point {
        let readers = spec.placement.readers.len();
        let total = |r: &Repeat| r.lookups_per_reader.iter().sum::<u64>();
        let measured: Vec<&Repeat> = self.repeats.iter().filter(|r| total(r) > 0).collect();
        let ns: Vec<f64> = measured
            .iter()
            .map(|r| r.window_ns as f64 * readers as f64 / total(r) as f64)
            .collect();
        let mops: Vec<f64> = measured
            .iter()
            .map(|r| total(r) as f64 * 1e3 / r.window_ns.max(1) as f64)
            .collect();
        let zero = Spread {
            median: 0.0,
            min: 0.0,
            max: 0.0,
        };
        let lookups: u64 = self.repeats.iter().map(total).sum();
        let failed: u64 = self.repeats.iter().map(|r| r.failed_lookups).sum();
        let error = error.or_else(|| {
            (measured.is_empty() && spec.repeats > 0)
                .then(|| format!("no lookups completed (strategy {})", self.strategy))
        });
        let mut values = BTreeMap::new();
        let mut notes = BTreeMap::new();
        for (name, per_repeat) in spec.counters.iter().zip(&self.counters) {
            let mut ok = Vec::new();
            let mut why = None;
            let mut frac = 1.0f64;
            for (v, f) in per_repeat {
                match v {
                    Ok(x) => {
                        ok.push(*x);
                        frac = frac.min(*f);
                    }
                    Err(e) => {
                        why.get_or_insert_with(|| e.clone());
                    }
                }
            }
            let value = match (why, Spread::of(&ok)) {
                (Some(why), _) => {
                    notes.insert(name.clone(), why);
                    None
                }
                (None, None) => {
                    notes.insert(name.clone(), "no measured window".into());
                    None
                }
                (None, Some(s)) => {
                    if frac < 0.999 {
                        notes.insert(
                            name.clone(),
                            format!(
                                "multiplexed: scaled, ran at least {:.0}% of each window",
                                frac * 100.0
                            ),
                        );
                    }
                    Some(s.median)
                }
            };
            values.insert(name.clone(), value);
        }
        Point {
            strategy: self.strategy.clone(),
            readers,
            period_ns: spec.period.map(|p| p.as_nanos() as u64),
            hold_ns: spec.hold_ns,
            hold_iterations: spec.work.hold,
            status: if error.is_some() {
                Status::Failed
            } else {
                Status::Ok
            },
            error,
            reader_cpus: spec.placement.readers.clone(),
            swapper_cpu: spec.period.and(spec.placement.swapper),
            swapper_shares_cpu: spec.period.is_some() && spec.placement.swapper_shares(),
            rcu_flavor: self.rcu_flavor.clone(),
            percpu: self.percpu.clone(),
            ns_per_op: Spread::of(&ns).unwrap_or(zero),
            mops: Spread::of(&mops).map_or(0.0, |s| s.median),
            failed_lookup_rate: if lookups == 0 {
                0.0
            } else {
                failed as f64 / lookups as f64
            },
            swapoff_latency_ns: self.swapoff.percentiles(),
            swapon_latency_ns: self.swapon.percentiles(),
            device_bytes: self.device_bytes,
            counters: values,
            counter_notes: notes,
            repeats: self.repeats.clone(),
        }
    }
}

fn run<S: Strategy>(
    spec: &PointSpec,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(),
    acc: &mut Gathered,
    first_round: u32,
) -> Result<(), PoolError> {
    let setup = |e: String| PoolError::Setup(e);
    if spec.period.is_some() && !S::CHURN {
        return Err(setup(format!(
            "strategy {} refuses churn: measure it with period never",
            S::NAME
        )));
    }
    let table = SwapTable::<S>::new(&TableConfig {
        strategy: spec.strategy.clone(),
        checked: spec.checked,
    })
    .map_err(|e| setup(e.to_string()))?;
    for ty in 0..spec.work.devices {
        table
            .swapon(ty, spec.work.pages)
            .map_err(|e| setup(e.to_string()))?;
    }
    let table = Arc::new(table);
    acc.rcu_flavor = table.strategy().flavor().map(|f| f.name().to_owned());
    acc.percpu = table.strategy().percpu().map(|k| k.name().to_owned());
    let mut pool = ReaderPool::new(
        table.clone(),
        PoolConfig {
            reader_cpus: spec.placement.readers.clone(),
            swapper_cpu: spec.placement.swapper,
            work: spec.work,
            counters: spec.counters.clone(),
            counter_source: spec.counter_source.clone(),
            watchdog: spec.watchdog,
        },
    )?;
    // After the readers registered: per-thread slots count.
    acc.device_bytes = table.device_bytes();
    if let Some(period) = spec.period {
        pool.start_swapper(SwapperConfig {
            period,
            off_time: spec.off_time,
            devices: spec.work.devices,
            pages: spec.work.pages,
            cpu: spec.placement.swapper,
        })?;
    }
    for k in 0..spec.repeats {
        // The readers are parked between windows: the floor loop has their first CPU.
        let floor = floor::measure(spec.placement.readers.first().copied(), FLOOR_WINDOW);
        if !spec.warmup.is_zero() {
            pool.warm_up(spec.warmup, Some(cancel))?;
        }
        let w = pool.run_for(spec.duration, Some(cancel))?;
        let sw = w.swapper.clone().unwrap_or_default();
        acc.swapoff.merge(&sw.swapoff);
        acc.swapon.merge(&sw.swapon);
        let per_op = counters::per_lookup(&spec.counters, &w.counters, w.lookups());
        for (slot, v) in acc.counters.iter_mut().zip(per_op) {
            slot.push(v);
        }
        acc.repeats.push(Repeat {
            window_ns: w.elapsed.as_nanos() as u64,
            lookups_per_reader: w.tallies.iter().map(|t| t.lookups).collect(),
            failed_lookups: w.failed(),
            swap_cycles: sw.cycles,
            round: Some(first_round + k as u32),
            floor_ns: Some(floor),
            swapoff_latency_ns: sw.swapoff.percentiles(),
            swapon_latency_ns: sw.swapon.percentiles(),
            swapoff_buckets: sw.swapoff.buckets(),
            swapon_buckets: sw.swapon.buckets(),
        });
        progress();
    }
    pool.stop_swapper()?;
    Ok(())
}

/// A point to measure: which strategy, how many readers, which period, which hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// Strategy name.
    pub strategy: &'static str,
    /// Reader count.
    pub readers: usize,
    /// Swap period; `None`: no churn.
    pub period: Option<Duration>,
    /// How long each lookup holds its reference.
    pub hold: Duration,
    /// RCU flavour, for a strategy that uses the RCU.
    pub rcu: Option<FlavorKind>,
    /// Counter backend, for a strategy over `percpu_ref`.
    pub percpu: Option<PercpuKind>,
}

/// How a series label names a counter backend: nothing for per-thread counters (the labels of
/// files from before the backends), `/cpu` for per-CPU ones, `/cid` for those indexed by
/// concurrency ID.
pub fn percpu_suffix(k: PercpuKind) -> String {
    match k {
        PercpuKind::Thread => String::new(),
        k => format!("/{}", k.name()),
    }
}

/// The points of a sweep, in the order results list them: reader counts outermost, then
/// periods, then holds, then the strategies. A run measures them in shuffled rounds ([`super::run`]).
///
/// A strategy that refuses churn (`unprotected`) is measured once per reader count, with
/// period never, whatever periods are asked for: it must never swapoff under readers. A
/// strategy over the RCU is measured once per flavour in `flavors` (next to each other), the
/// others once; a strategy over `percpu_ref` once per backend in `percpus` within each flavour.
pub fn plan(
    strategies: &[strategy::Info],
    readers: &[usize],
    periods: &[Option<Duration>],
    holds: &[Duration],
    flavors: &[FlavorKind],
    percpus: &[PercpuKind],
) -> Vec<Planned> {
    let mut out: Vec<Planned> = Vec::new();
    for &r in readers {
        for (&period, &hold) in periods
            .iter()
            .flat_map(|p| holds.iter().map(move |h| (p, h)))
        {
            for s in strategies {
                let period = if s.churn { period } else { None };
                let rcus: Vec<Option<FlavorKind>> = if s.rcu {
                    flavors.iter().copied().map(Some).collect()
                } else {
                    vec![None]
                };
                let backends: Vec<Option<PercpuKind>> = if s.percpu {
                    percpus.iter().copied().map(Some).collect()
                } else {
                    vec![None]
                };
                for rcu in rcus {
                    for &percpu in &backends {
                        let p = Planned {
                            strategy: s.name,
                            readers: r,
                            period,
                            hold,
                            rcu,
                            percpu,
                        };
                        if !out.contains(&p) {
                            out.push(p);
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::measure::counters::FakeSource;
    use crate::workload::placement;
    use std::sync::atomic::Ordering::Relaxed;

    /// A short point of `readers` readers (oversubscribed if need be), 3 repeats.
    pub(crate) fn spec(readers: usize, period: Option<Duration>) -> PointSpec {
        let order = placement::order(
            &crate::measure::topology::machine_topology(),
            &crate::measure::topology::allowed_cpus(),
        );
        PointSpec {
            strategy: StrategyConfig::default(),
            placement: placement::place(&order, readers, period.is_some(), true).unwrap(),
            period,
            off_time: Duration::ZERO,
            work: Work {
                devices: 2,
                pages: 64,
                hold: 0,
            },
            hold_ns: 0,
            warmup: Duration::from_millis(2),
            duration: Duration::from_millis(20),
            repeats: 3,
            counters: crate::results::COUNTERS
                .iter()
                .map(|c| c.to_string())
                .collect(),
            counter_source: Arc::new(FakeSource::all()),
            watchdog: Duration::from_secs(10),
            checked: false,
        }
    }

    #[test]
    fn a_point_has_its_repeats_spread_latencies_and_counters() {
        let s = spec(1, Some(Duration::from_micros(200)));
        let mut ticks = 0;
        let out = measure_named("rcu-valid", &s, &AtomicBool::new(false), &mut || ticks += 1);
        let PointOutcome::Done(p) = out.unwrap() else {
            panic!("not measured")
        };
        assert_eq!(ticks, 3);
        assert_eq!(p.status, Status::Ok);
        assert_eq!(p.repeats.len(), 3);
        assert_eq!((p.strategy.as_str(), p.readers), ("rcu-valid", 1));
        assert!(p.ns_per_op.min <= p.ns_per_op.median && p.ns_per_op.median <= p.ns_per_op.max);
        assert!(p.ns_per_op.min > 0.0 && p.mops > 0.0);
        // ns/op and Mops/s are two views of the same repeats: 1 reader, so their product is
        // 1000 for every repeat, and the medians pair up.
        assert!((p.ns_per_op.median * p.mops - 1e3).abs() < 1e-6 * 1e3);
        let cycles: u64 = p.repeats.iter().map(|r| r.swap_cycles).sum();
        assert!(cycles > 0);
        assert_eq!(p.swapoff_latency_ns.unwrap().count, cycles);
        assert_eq!(p.swapon_latency_ns.unwrap().count, cycles);
        assert!(p.failed_lookup_rate >= 0.0 && p.failed_lookup_rate < 1.0);
        assert_eq!(
            p.rcu_flavor.as_deref(),
            Some(crate::strategy::auto_flavor().0.name())
        );
        assert!(p.device_bytes > 0);
        // Fake counters: instructions (5th) read 5000 per reader per window, running half the
        // time: 10 000 scaled, divided by the window's lookups; median over repeats.
        let per_repeat: Vec<f64> = p
            .repeats
            .iter()
            .map(|r| 10_000.0 / r.lookups_per_reader.iter().sum::<u64>() as f64)
            .collect();
        let want = Spread::of(&per_repeat).unwrap().median;
        assert_eq!(p.counters["instructions"], Some(want));
        assert!(p.counter_notes["instructions"].starts_with("multiplexed"));
    }

    #[test]
    fn unavailable_counters_are_null_with_a_reason_and_the_point_goes_on() {
        let mut s = spec(1, None);
        s.repeats = 1;
        s.counter_source = Arc::new(FakeSource::none());
        let out = measure_named("atomic", &s, &AtomicBool::new(false), &mut || {}).unwrap();
        let PointOutcome::Done(p) = out else {
            panic!("not measured")
        };
        assert_eq!(p.counters.len(), crate::results::COUNTERS.len());
        for (name, v) in &p.counters {
            assert_eq!(*v, None, "{name}");
            assert!(p.counter_notes[name].starts_with("ENOENT"), "{name}");
        }
        assert_eq!(p.swapper_cpu, None);
        assert_eq!(p.swapoff_latency_ns, None);
        assert_eq!(p.period_ns, None);
    }

    #[test]
    fn a_violation_fails_the_point_and_names_it() {
        let mut s = spec(2, Some(Duration::ZERO));
        s.checked = true;
        s.work.hold = 2_000;
        s.work.devices = 1;
        s.repeats = 50;
        s.warmup = Duration::ZERO;
        let out =
            measure::<crate::strategy::broken::NoWait>(&s, &AtomicBool::new(false), &mut || {});
        let PointOutcome::Failed(p) = out else {
            panic!("the broken strategy was not caught: {out:?}")
        };
        assert_eq!(p.status, Status::Failed);
        let e = p.error.unwrap();
        assert!(
            e.contains("torn down") && e.contains("broken-no-wait"),
            "{e}"
        );
        assert!(e.contains("period 0)"), "{e}");
    }

    #[test]
    fn cancel_discards_the_point() {
        let s = spec(1, None);
        let c = AtomicBool::new(false);
        c.store(true, Relaxed);
        let out = measure_named("atomic", &s, &c, &mut || {}).unwrap();
        assert_eq!(out, PointOutcome::Cancelled);
    }

    /// A qsbr point through the pool and the swapper: readers announce quiescent states and go
    /// offline between windows, so every grace period ends and the point completes.
    #[test]
    fn a_qsbr_point_with_churn_completes() {
        let mut s = spec(1, Some(Duration::from_micros(200)));
        s.strategy.rcu = Some(FlavorKind::Qsbr);
        for name in ["percpu-acquire", "rcu-valid"] {
            let out = measure_named(name, &s, &AtomicBool::new(false), &mut || {}).unwrap();
            let PointOutcome::Done(p) = out else {
                panic!("{name} on qsbr: not measured: {out:?}")
            };
            assert_eq!(p.rcu_flavor.as_deref(), Some("qsbr"));
            assert!(p.repeats.iter().map(|r| r.swap_cycles).sum::<u64>() > 0);
        }
    }

    #[test]
    fn rcu_strategies_are_planned_once_per_flavour_the_others_once() {
        let infos: Vec<_> = ["rcu-valid", "atomic"]
            .iter()
            .map(|n| strategy::info(n).unwrap())
            .collect();
        let ms = Some(Duration::from_millis(1));
        let p = plan(
            &infos,
            &[1],
            &[ms],
            &[Duration::ZERO],
            &[FlavorKind::Qsbr, FlavorKind::Membarrier],
            &[PercpuKind::Cpu],
        );
        let got: Vec<_> = p.iter().map(|p| (p.strategy, p.rcu)).collect();
        assert_eq!(
            got,
            vec![
                ("rcu-valid", Some(FlavorKind::Qsbr)),
                ("rcu-valid", Some(FlavorKind::Membarrier)),
                ("atomic", None),
            ]
        );
    }

    #[test]
    fn percpu_strategies_are_planned_once_per_backend_within_each_flavour() {
        let infos: Vec<_> = ["percpu-acquire", "rcu-valid"]
            .iter()
            .map(|n| strategy::info(n).unwrap())
            .collect();
        let p = plan(
            &infos,
            &[1],
            &[None],
            &[Duration::ZERO],
            &[FlavorKind::Qsbr, FlavorKind::Fence],
            &[PercpuKind::Thread, PercpuKind::Cpu],
        );
        let got: Vec<_> = p.iter().map(|p| (p.strategy, p.rcu, p.percpu)).collect();
        use FlavorKind::{Fence, Qsbr};
        use PercpuKind::{Cpu, Thread};
        assert_eq!(
            got,
            vec![
                ("percpu-acquire", Some(Qsbr), Some(Thread)),
                ("percpu-acquire", Some(Qsbr), Some(Cpu)),
                ("percpu-acquire", Some(Fence), Some(Thread)),
                ("percpu-acquire", Some(Fence), Some(Cpu)),
                ("rcu-valid", Some(Qsbr), None),
                ("rcu-valid", Some(Fence), None),
            ]
        );
    }

    #[test]
    fn unprotected_is_planned_without_churn_once() {
        let infos: Vec<_> = ["atomic", "unprotected"]
            .iter()
            .map(|n| strategy::info(n).unwrap())
            .collect();
        let ms = Some(Duration::from_millis(1));
        let p = plan(
            &infos,
            &[1, 2],
            &[ms, None],
            &[Duration::ZERO],
            &[FlavorKind::Fence],
            &[PercpuKind::Thread],
        );
        let names: Vec<_> = p
            .iter()
            .map(|p| (p.strategy, p.readers, p.period))
            .collect();
        assert_eq!(
            names,
            vec![
                ("atomic", 1, ms),
                ("unprotected", 1, None),
                ("atomic", 1, None),
                ("atomic", 2, ms),
                ("unprotected", 2, None),
                ("atomic", 2, None),
            ]
        );
    }

    /// Every hold is a point of its own, at every period; `unprotected` once per hold.
    #[test]
    fn holds_sweep_inside_periods() {
        let infos: Vec<_> = ["atomic", "unprotected"]
            .iter()
            .map(|n| strategy::info(n).unwrap())
            .collect();
        let ms = Some(Duration::from_millis(1));
        let h = Duration::from_nanos(100);
        let p = plan(
            &infos,
            &[1],
            &[ms, None],
            &[Duration::ZERO, h],
            &[FlavorKind::Fence],
            &[PercpuKind::Thread],
        );
        let got: Vec<_> = p.iter().map(|p| (p.strategy, p.period, p.hold)).collect();
        assert_eq!(
            got,
            vec![
                ("atomic", ms, Duration::ZERO),
                ("unprotected", None, Duration::ZERO),
                ("atomic", ms, h),
                ("unprotected", None, h),
                ("atomic", None, Duration::ZERO),
                ("atomic", None, h),
            ]
        );
    }

    #[test]
    fn durations_are_named_in_whole_units() {
        assert_eq!(duration_name(Duration::from_millis(1)), "1ms");
        assert_eq!(duration_name(Duration::from_millis(1500)), "1500ms");
        assert_eq!(duration_name(Duration::from_secs(2)), "2s");
        assert_eq!(duration_name(Duration::from_nanos(1500)), "1500ns");
        assert_eq!(period_name(None), "never");
        assert_eq!(duration_name(Duration::ZERO), "0");
    }
}
