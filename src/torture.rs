//! The torture checker, after rcutorture: readers hammer lookups and check everything they
//! read while a swapper cycles swapoff/swapon as fast as it can.
//!
//! What is checked, and where:
//!
//! - reader, right after `get_swap_device`: the byte read is the map's tag (never [`POISON`]:
//!   the map was not torn down under us);
//! - reader, again after holding the reference for a random delay: still the tag (swapoff did
//!   not free the map while we held it);
//! - reader: the generation seen on a device never goes backwards (a stale map pointer from an
//!   earlier swapon would);
//! - swapoff, before poisoning: no reader announced (via [`SwapMap::holders`]) that it still
//!   holds the map.
//!
//! - the swapper, watched from the calling thread: a swapoff or swapon that has not returned
//!   within [`TortureConfig::stall_limit`] is a *stall* (rcutorture's stall warning): the run
//!   ends at once with a report naming the strategy, the RCU flavour, the cycle, the device's
//!   protection (a percpu ref's count and mode) and every reader record's state (inside a
//!   section, online since which grace period, offline). The stuck swapper is left behind,
//!   never joined: the checker reports, it does not hang.
//!
//! Readers announce a quiescent state after every lookup (`qsbr`) and are offline while they
//! wait to start. Freed maps are poisoned and quarantined (kept allocated) by the checked table,
//! so a broken strategy's late reader reads poison rather than freed memory: the checker can
//! fail without undefined behaviour. `strategy::broken::NoWait` (a swapoff that does not wait)
//! and `StrategyConfig::broken_grace_periods` (grace periods that do not wait) are the negative
//! controls; both exist only with the `internal-test-hooks` feature, which only tests turn on
//! (they free memory under readers on purpose, so a normal build must not offer them to safe
//! code).
//!
//! [`POISON`]: crate::swap::POISON

use crate::strategy::{Strategy, StrategyConfig, StrategyError};
use crate::swap::{SwapEntry, SwapMap, SwapTable, TableConfig};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

/// How long and how hard to torture.
#[derive(Debug, Clone)]
pub struct TortureConfig {
    /// Reader threads.
    pub readers: usize,
    /// Devices (swap types `0..devices`) readers look up and the swapper cycles.
    pub devices: usize,
    /// Pages per device.
    pub pages: usize,
    /// How long the swapper keeps cycling.
    pub duration: Duration,
    /// Upper bound of the random spin a reader holds a reference for, in loop iterations.
    pub max_hold_spins: u32,
    /// Strategy environment (RCU flavour).
    pub strategy: StrategyConfig,
    /// A swapoff or swapon that takes longer is a stall: the run ends with a report.
    pub stall_limit: Duration,
}

impl Default for TortureConfig {
    fn default() -> Self {
        TortureConfig {
            readers: 3,
            devices: 2,
            pages: 64,
            duration: Duration::from_secs(2),
            max_hold_spins: 200,
            strategy: StrategyConfig::default(),
            stall_limit: Duration::from_secs(10),
        }
    }
}

/// What a torture run did and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TortureReport {
    /// swapoff + swapon cycles completed.
    pub cycles: u64,
    /// Successful lookups whose reads were checked.
    pub lookups_checked: u64,
    /// Lookups that found the device off.
    pub lookups_failed: u64,
    /// Violations found by readers and by swapoff.
    pub violations: u64,
    /// The first violation, described.
    pub first_violation: Option<String>,
    /// RCU flavour used, for strategies that have one.
    pub rcu_flavor: Option<String>,
    /// `percpu_ref` counter backend used, for strategies over it.
    pub percpu: Option<String>,
    /// The stall report, when the swapper got stuck (the run ended there).
    pub stall: Option<String>,
}

/// A small xorshift generator: readers need cheap, uncorrelated choices, not quality.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn check(table: &SwapTable<impl Strategy>, map: &SwapMap, offset: usize, when: &str) -> bool {
    let b = map.read(offset);
    if b != map.expected() {
        table.violation(format!(
            "reader read {b:#04x} {when} on generation {} (expected {:#04x})",
            map.generation(),
            map.expected()
        ));
        return false;
    }
    true
}

/// What the swapper is doing, for the watchdog on the calling thread.
#[derive(Default)]
struct Progress {
    /// Cycles completed.
    cycles: AtomicU64,
    /// The operation in progress: (started, device, "swapoff" / "swapon").
    current: Mutex<Option<(Instant, usize, &'static str)>>,
}

impl Progress {
    fn begin(&self, ty: usize, op: &'static str) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), ty, op));
    }

    fn end(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The operation that has run longer than `limit`, if one has.
    fn stuck(&self, limit: Duration) -> Option<(Duration, usize, &'static str)> {
        let cur = *self.current.lock().unwrap_or_else(|e| e.into_inner());
        cur.and_then(|(t, ty, op)| (t.elapsed() > limit).then(|| (t.elapsed(), ty, op)))
    }
}

/// The stall report: everything a reader of it needs to tell which reader holds what up.
fn stall_report<S: Strategy>(
    table: &SwapTable<S>,
    progress: &Progress,
    (for_, ty, op): (Duration, usize, &'static str),
) -> String {
    // Relaxed: a statistic for the report; the swapper is stuck, nothing races it meaningfully.
    let cycle = progress.cycles.load(Relaxed);
    let flavor = table
        .strategy()
        .rcu()
        .map(|r| r.flavor().name())
        .unwrap_or("-");
    let mut r = format!(
        "stall: {op} of device {ty} has not returned after {:.1} s (strategy {}, rcu {flavor}, \
         cycle {cycle})",
        for_.as_secs_f64(),
        S::NAME,
    );
    if let Some(d) = table.strategy().describe(ty) {
        r.push_str(&format!("; {d}"));
    }
    if let Some(rcu) = table.strategy().rcu() {
        r.push_str(&format!(
            "; {} grace period(s) done; readers: {}",
            rcu.grace_periods(),
            rcu.describe_readers()
        ));
    }
    r
}

/// Torture strategy `S`.
pub fn run<S: Strategy>(cfg: &TortureConfig) -> Result<TortureReport, StrategyError> {
    assert!(
        S::CHURN,
        "{} cannot be tortured: it refuses swapoff",
        S::NAME
    );
    assert!(cfg.devices >= 1 && cfg.pages >= 1 && cfg.readers >= 1);
    let table = Arc::new(SwapTable::<S>::new(&TableConfig {
        strategy: cfg.strategy.clone(),
        checked: true,
    })?);
    for ty in 0..cfg.devices {
        table.swapon(ty, cfg.pages).expect("fresh slot");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(cfg.readers + 1));
    let readers: Vec<_> = (0..cfg.readers)
        .map(|i| {
            let (table, stop, start, cfg) =
                (table.clone(), stop.clone(), start.clone(), cfg.clone());
            std::thread::spawn(move || {
                let mut reader = table.reader();
                let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1));
                let mut last_gen = vec![0u64; cfg.devices];
                let (mut ok, mut failed) = (0u64, 0u64);
                S::offline(&mut reader, || start.wait());
                // Relaxed: a stop flag that carries no data; the tallies travel through join().
                while !stop.load(Relaxed) {
                    let r = rng.next();
                    let entry = SwapEntry {
                        ty: (r % cfg.devices as u64) as usize,
                        offset: ((r >> 16) % cfg.pages as u64) as usize,
                    };
                    let Some(dev) = table.get_swap_device(&mut reader, entry) else {
                        failed += 1;
                        S::quiescent(&mut reader);
                        continue;
                    };
                    // Relaxed: the checker must add no ordering of its own; the strategy's get
                    // and drain must order this against swapoff's check (that is the test).
                    dev.holders().fetch_add(1, Relaxed);
                    let g = dev.generation();
                    if g < last_gen[entry.ty] {
                        table.violation(format!(
                            "device {} went back from generation {} to {g}",
                            entry.ty, last_gen[entry.ty]
                        ));
                    }
                    last_gen[entry.ty] = g;
                    if check(&table, &dev, entry.offset, "at get") {
                        let spins = (r >> 40) as u32 % (cfg.max_hold_spins + 1);
                        for s in 0..spins {
                            black_box(s);
                        }
                        check(&table, &dev, entry.offset, "after holding");
                    }
                    // Relaxed: as above; the guard's drop (the strategy's put) must order it.
                    dev.holders().fetch_sub(1, Relaxed);
                    drop(dev);
                    ok += 1;
                    // Between two lookups: a quiescent state (qsbr), as often as it can be.
                    S::quiescent(&mut reader);
                }
                (ok, failed)
            })
        })
        .collect();
    start.wait();
    let progress = Arc::new(Progress::default());
    let swapper = {
        let (table, progress, cfg) = (table.clone(), progress.clone(), cfg.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + cfg.duration;
            let mut cycles = 0u64;
            while Instant::now() < deadline {
                let ty = (cycles % cfg.devices as u64) as usize;
                progress.begin(ty, "swapoff");
                table.swapoff(ty).expect("device is on");
                progress.begin(ty, "swapon");
                table.swapon(ty, cfg.pages).expect("device is off");
                progress.end();
                cycles += 1;
                // Relaxed: a statistic for the watchdog's report; the result travels by join().
                progress.cycles.store(cycles, Relaxed);
            }
            cycles
        })
    };
    // The watchdog: the swapper ends by itself, or gets stuck and is reported (and left behind).
    let mut stall = None;
    // The swapper ends by itself (its deadline passed, or it panicked: join() says which).
    while !swapper.is_finished() {
        if let Some(stuck) = progress.stuck(cfg.stall_limit) {
            stall = Some(stall_report(&table, &progress, stuck));
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Relaxed: a stop flag that carries no data; the tallies travel through join() below.
    stop.store(true, Relaxed);
    let mut report = TortureReport {
        rcu_flavor: table.strategy().flavor().map(|f| f.name().to_owned()),
        percpu: table.strategy().percpu().map(|k| k.name().to_owned()),
        ..Default::default()
    };
    if let Some(s) = stall {
        // Neither the stuck swapper nor the readers are joined: a reader may be waiting on the
        // stuck swapoff too (a lock-based strategy). They hold their own handles to the table.
        // Relaxed: statistics for the report.
        report.cycles = progress.cycles.load(Relaxed);
        let (n, first) = table.violations();
        report.violations = n;
        report.first_violation = first;
        report.stall = Some(s);
        return Ok(report);
    }
    report.cycles = match swapper.join() {
        Ok(c) => c,
        Err(p) => {
            table.violation(format!(
                "swapper panicked: {}",
                crate::workload::swapper::panic_message(&*p)
            ));
            // Relaxed: a statistic for the report.
            progress.cycles.load(Relaxed)
        }
    };
    for (i, t) in readers.into_iter().enumerate() {
        match t.join() {
            Ok((ok, failed)) => {
                report.lookups_checked += ok;
                report.lookups_failed += failed;
            }
            // A reader stops with a panic when it finds a live device without its map (the
            // stale-field outcome of a missing ordering, `live_without_map`): a violation.
            Err(p) => table.violation(format!(
                "reader {i} panicked: {}",
                crate::workload::swapper::panic_message(&*p)
            )),
        }
    }
    let (n, first) = table.violations();
    report.violations = n;
    report.first_violation = first;
    Ok(report)
}
