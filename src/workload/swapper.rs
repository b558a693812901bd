//! The swapper: swapoff then swapon, one device after another, every `period`.
//!
//! A cycle of device `ty` is `swapoff(ty)`, `off_time` with the device off, `swapon(ty)`;
//! cycles start `period` apart (the next one starts at once when a cycle overruns), and the
//! devices take turns. swapoff is timed over its drain (`SwapTable::swapoff_timed`): from the
//! strategy's unpublish until no reader can hold the map, the writer-side cost of the design.
//! The teardown after it (poisoning and freeing the map) is the same for every strategy and
//! is left out. swapon is timed whole (building the map and publishing it).
//!
//! The swapper runs for the whole life of a point (warm-up included, so the measured window
//! sees steady churn); the pool opens a recording window around each measured window and takes
//! the cycles and latencies that started inside it. While a swapoff or swapon is in progress
//! the swapper publishes since when, so a watchdog can name a call that does not return.

use crate::measure::latency::Latencies;
use crate::strategy::Strategy;
use crate::swap::SwapTable;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the swapper cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwapperConfig {
    /// Time between the starts of two cycles; zero means back to back.
    pub period: Duration,
    /// How long a device stays off within a cycle.
    pub off_time: Duration,
    /// Devices cycled, in turn: swap types `0..devices`.
    pub devices: usize,
    /// Pages of the map each swapon builds.
    pub pages: usize,
    /// CPU to pin the swapper to; `None` leaves it to the scheduler.
    pub cpu: Option<usize>,
}

/// What the swapper did inside one recording window.
#[derive(Debug, Clone, Default)]
pub struct SwapperReport {
    /// Cycles (swapoff + swapon) that started inside the window.
    pub cycles: u64,
    /// swapoff drain latency (`SwapTable::swapoff_timed`), ns.
    pub swapoff: Latencies,
    /// swapon latency, ns.
    pub swapon: Latencies,
}

/// A swapoff or swapon that has been running longer than the watchdog allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// `swapoff` or `swapon`.
    pub op: &'static str,
    /// Its device.
    pub device: usize,
    /// How long it had been running when noticed.
    pub after: Duration,
    /// The watchdog limit it exceeded.
    pub limit: Duration,
}

impl std::fmt::Display for Stuck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of device {} has not returned after {:.1?}, over the {:.1?} limit",
            self.op, self.device, self.after, self.limit
        )
    }
}

struct Shared {
    stop: AtomicBool,
    recording: AtomicBool,
    /// ns since `origin` + 1 when a call started; 0 while idle.
    busy_since: AtomicU64,
    /// device * 2 + (0 = swapoff, 1 = swapon) of the call in progress.
    busy_op: AtomicU64,
    finished: AtomicBool,
    report: Mutex<SwapperReport>,
    error: Mutex<Option<String>>,
    origin: Instant,
}

/// A running swapper thread.
pub struct Swapper {
    shared: Arc<Shared>,
    off_time: Duration,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Swapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Swapper").finish_non_exhaustive()
    }
}

/// Sleep until `t` unless `stop` is raised first (slices of at most 10 ms).
fn sleep_until(t: Instant, stop: &AtomicBool) {
    loop {
        let now = Instant::now();
        // Relaxed: a stop flag that carries no data; only polled.
        if now >= t || stop.load(Relaxed) {
            return;
        }
        std::thread::sleep((t - now).min(Duration::from_millis(10)));
    }
}

impl Swapper {
    /// Start cycling `table`'s devices `0..cfg.devices`, which must all be on. Refuses a
    /// strategy that cannot swapoff under readers.
    pub fn start<S: Strategy>(
        table: Arc<SwapTable<S>>,
        cfg: SwapperConfig,
    ) -> Result<Swapper, String> {
        if !S::CHURN {
            return Err(format!(
                "strategy {} refuses churn: it cannot swapoff under readers",
                S::NAME
            ));
        }
        if cfg.devices == 0 || cfg.pages == 0 {
            return Err("the swapper needs at least one device of one page".into());
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            recording: AtomicBool::new(false),
            busy_since: AtomicU64::new(0),
            busy_op: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            report: Mutex::new(SwapperReport::default()),
            error: Mutex::new(None),
            origin: Instant::now(),
        });
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("swapper-{}", S::NAME))
            .spawn(move || {
                if let Some(cpu) = cfg.cpu
                    && !core_affinity::set_for_current(core_affinity::CoreId { id: cpu })
                {
                    *sh.error.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(format!("could not pin the swapper to CPU {cpu}"));
                } else {
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        cycle(&table, &cfg, &sh)
                    }));
                    let err = match r {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e),
                        Err(p) => Some(format!("swapper panicked: {}", panic_message(&p))),
                    };
                    if err.is_some() {
                        *sh.error.lock().unwrap_or_else(|e| e.into_inner()) = err;
                    }
                }
                // Relaxed: `stop_within` only polls it; the error travels through the mutex.
                sh.finished.store(true, Relaxed);
            })
            .map_err(|e| format!("could not spawn the swapper: {e}"))?;
        Ok(Swapper {
            shared,
            off_time: cfg.off_time,
            thread: Some(thread),
        })
    }

    /// Start recording: clear the counts and latencies, then count cycles that start from now.
    pub fn begin_window(&self) {
        *self.shared.report.lock().unwrap_or_else(|e| e.into_inner()) = SwapperReport::default();
        // Relaxed: a cycle that starts a little before or after the flag flips is counted
        // either way; the counts themselves are read under the mutex.
        self.shared.recording.store(true, Relaxed);
    }

    /// Stop recording and take what was recorded since [`begin_window`](Self::begin_window).
    pub fn end_window(&self) -> SwapperReport {
        // Relaxed: as in begin_window; the report itself is taken under the mutex.
        self.shared.recording.store(false, Relaxed);
        std::mem::take(&mut *self.shared.report.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The swapoff or swapon in progress, if it has run longer than `limit`.
    pub fn stuck(&self, limit: Duration) -> Option<Stuck> {
        // Relaxed: a diagnostic poll. The two loads are no snapshot: a new start time may come
        // with the old op (or the reverse), at worst a mislabelled report; harmless here.
        let since = self.shared.busy_since.load(Relaxed);
        if since == 0 {
            return None;
        }
        let op = self.shared.busy_op.load(Relaxed);
        let after = self
            .shared
            .origin
            .elapsed()
            .saturating_sub(Duration::from_nanos(since - 1));
        (after > limit).then_some(Stuck {
            op: if op & 1 == 0 { "swapoff" } else { "swapon" },
            device: (op / 2) as usize,
            after,
            limit,
        })
    }

    /// An error the swapper stopped on (a failed swapon, a panic), if any.
    pub fn error(&self) -> Option<String> {
        self.shared
            .error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stop, waiting for the cycle in progress to finish: at most a swapoff and a swapon of
    /// `limit` each plus the off-time (and at least a second). On success every device is on
    /// again. On timeout the thread is left behind (it cannot be cancelled) and the call that
    /// is stuck is returned.
    pub fn stop_within(mut self, limit: Duration) -> Result<(), StopError> {
        // Relaxed: a stop flag that carries no data; results travel through join() and mutexes.
        self.shared.stop.store(true, Relaxed);
        let deadline = Instant::now() + (limit * 2 + self.off_time).max(Duration::from_secs(1));
        // Relaxed: only a poll; join() below orders the thread's work (and error) before us.
        while !self.shared.finished.load(Relaxed) {
            if Instant::now() >= deadline {
                let stuck = self.stuck(Duration::ZERO);
                self.thread.take(); // detach
                return Err(StopError::Stuck(stuck));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        match self.error() {
            Some(e) => Err(StopError::Failed(e)),
            None => Ok(()),
        }
    }
}

/// Why [`Swapper::stop_within`] did not end cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopError {
    /// The swapper did not finish in time; the call it was in, if it was in one.
    Stuck(Option<Stuck>),
    /// It had stopped on an error.
    Failed(String),
}

impl std::fmt::Display for StopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopError::Stuck(Some(s)) => s.fmt(f),
            StopError::Stuck(None) => f.write_str("the swapper did not stop in time"),
            StopError::Failed(e) => f.write_str(e),
        }
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        // Relaxed: a stop flag that carries no data.
        self.shared.stop.store(true, Relaxed);
        // Join only a thread that has finished or will finish promptly; a stuck one is left.
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + Duration::from_secs(1);
            // Relaxed (both loads): polls that decide whether to join; join() does the ordering.
            while !self.shared.finished.load(Relaxed) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if self.shared.finished.load(Relaxed) {
                let _ = t.join();
            }
        }
    }
}

pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

fn cycle<S: Strategy>(
    table: &SwapTable<S>,
    cfg: &SwapperConfig,
    sh: &Shared,
) -> Result<(), String> {
    let mark = |op: u64| {
        // Relaxed: the watchdog only needs an approximate start time; +1 keeps 0 = idle.
        sh.busy_op.store(op, Relaxed);
        sh.busy_since
            .store(sh.origin.elapsed().as_nanos() as u64 + 1, Relaxed);
    };
    let mut next = Instant::now();
    let mut ty = 0usize;
    loop {
        sleep_until(next, &sh.stop);
        // Relaxed: a stop flag that carries no data.
        if sh.stop.load(Relaxed) {
            return Ok(());
        }
        // Relaxed: a cycle near a window edge may count on either side (begin_window); the
        // counts go through the mutex.
        let recording = sh.recording.load(Relaxed);
        mark(ty as u64 * 2);
        let off_ns = table
            .swapoff_timed(ty)
            .map_err(|e| format!("swapoff of device {ty}: {e}"))?
            .as_nanos() as u64;
        // Relaxed: the idle mark for the watchdog's poll; it carries no data.
        sh.busy_since.store(0, Relaxed);
        if !cfg.off_time.is_zero() {
            // The device must come back even when stopping: sleep the off-time in full.
            std::thread::sleep(cfg.off_time);
        }
        mark(ty as u64 * 2 + 1);
        let t = Instant::now();
        table
            .swapon(ty, cfg.pages)
            .map_err(|e| format!("swapon of device {ty}: {e}"))?;
        let on_ns = t.elapsed().as_nanos() as u64;
        // Relaxed: as above.
        sh.busy_since.store(0, Relaxed);
        if recording {
            let mut r = sh.report.lock().unwrap_or_else(|e| e.into_inner());
            r.cycles += 1;
            r.swapoff.record(off_ns);
            r.swapon.record(on_ns);
        }
        ty = (ty + 1) % cfg.devices;
        next += cfg.period;
        let now = Instant::now();
        if next < now {
            next = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::atomic::Atomic;
    use crate::strategy::unprotected::Unprotected;
    use crate::swap::TableConfig;

    #[test]
    fn it_cycles_records_only_inside_windows_and_leaves_devices_on() {
        let table = Arc::new(SwapTable::<Atomic>::new(&TableConfig::default()).unwrap());
        table.swapon(0, 16).unwrap();
        table.swapon(1, 16).unwrap();
        let s = Swapper::start(
            table.clone(),
            SwapperConfig {
                period: Duration::from_micros(200),
                off_time: Duration::ZERO,
                devices: 2,
                pages: 16,
                cpu: None,
            },
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.begin_window();
        while s.shared.report.lock().unwrap().cycles < 5 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let r = s.end_window();
        assert!(r.cycles >= 5);
        assert_eq!(r.swapoff.count(), r.cycles);
        assert_eq!(r.swapon.count(), r.cycles);
        assert_eq!(s.stuck(Duration::from_secs(3600)), None);
        s.stop_within(Duration::from_secs(10)).unwrap();
        assert!(table.is_on(0) && table.is_on(1));
    }

    #[test]
    fn unprotected_is_refused() {
        let table = Arc::new(SwapTable::<Unprotected>::new(&TableConfig::default()).unwrap());
        table.swapon(0, 1).unwrap();
        let cfg = SwapperConfig {
            period: Duration::from_millis(1),
            off_time: Duration::ZERO,
            devices: 1,
            pages: 1,
            cpu: None,
        };
        let e = Swapper::start(table, cfg).unwrap_err();
        assert!(e.contains("refuses churn"), "{e}");
    }
}
