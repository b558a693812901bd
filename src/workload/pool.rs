//! A persistent pool of pinned reader threads over one [`SwapTable`], with an optional
//! background [`Swapper`]. `swapref run` measures through it, and so do the criterion benches.
//!
//! # How a window runs
//!
//! 1. The controller posts a command (a new epoch) under the pool's mutex and wakes the readers,
//!    which are parked on a condition variable between windows (they burn no CPU while idle).
//! 2. Each reader acknowledges, enables its counters, then spins (with a yielding backoff) on
//!    the `go` word. When every reader is ready the controller reads the clock and stores `go`:
//!    all readers start together, and the clock starts only when all of them are ready.
//! 3. Readers run the hot loop ([`reader`](mod@super::reader)): exactly `n` lookups each, or until
//!    the stop flag (looked at every few hundred lookups). A timed window ends when the
//!    controller raises the flag; an exact one when the last reader finishes (each reader reads
//!    the clock once, at its end).
//! 4. Readers disable their counters and hand their tallies back under the mutex.
//!
//! A reader that panics or reads a poisoned byte fails the window with an error naming it. A
//! swapoff or swapon that runs past the watchdog limit, or readers that do not stop, fail it
//! too; the pool is then *wedged* (its threads cannot be cancelled, so they are left behind
//! rather than joined) and refuses further work.

use super::placement;
use super::reader::{self, Tally, Work};
use super::swapper::{StopError, Stuck, Swapper, SwapperConfig, SwapperReport, panic_message};
use crate::measure::counters::{CounterSource, HwCounter, PerfSource, ReaderCounts};
use crate::measure::topology;
use crate::strategy::Strategy;
use crate::swap::SwapTable;
use crossbeam_utils::{Backoff, CachePadded};
use std::fmt;
use std::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The least time readers get to start, get ready or stop before the pool calls them stuck
/// (a tiny `--watchdog` aimed at the swapper must not fail readers that are merely scheduled).
pub const READER_GRACE: Duration = Duration::from_secs(1);

/// How a [`ReaderPool`] is built.
#[derive(Clone)]
pub struct PoolConfig {
    /// One reader per entry, pinned to that CPU.
    pub reader_cpus: Vec<usize>,
    /// A CPU for the swapper, used by [`PoolConfig::swapper`].
    pub swapper_cpu: Option<usize>,
    /// What each lookup does.
    pub work: Work,
    /// Hardware counters each reader opens (names from [`COUNTERS`](crate::results::COUNTERS)).
    pub counters: Vec<String>,
    /// Where counters come from.
    pub counter_source: Arc<dyn CounterSource>,
    /// How long a swapoff/swapon may take before the window fails. Readers get the same
    /// limit, but at least [`READER_GRACE`], to start, to get ready and to stop.
    pub watchdog: Duration,
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("reader_cpus", &self.reader_cpus)
            .field("swapper_cpu", &self.swapper_cpu)
            .field("work", &self.work)
            .field("counters", &self.counters)
            .field("watchdog", &self.watchdog)
            .finish_non_exhaustive()
    }
}

impl PoolConfig {
    /// `readers` readers on this process's allowed CPUs in placement order (physical cores
    /// first, wrapping around when there are more readers than CPUs), the swapper on the next
    /// CPU (or sharing the last), one device of 64 pages, no hold, no counters, a 10 s watchdog.
    pub fn for_readers(readers: usize) -> PoolConfig {
        let order = placement::order(&topology::machine_topology(), &topology::allowed_cpus());
        let p = placement::place(&order, readers.max(1), true, true)
            .expect("at least one allowed CPU and one reader");
        PoolConfig {
            reader_cpus: p.readers,
            swapper_cpu: p.swapper,
            work: Work {
                devices: 1,
                pages: 64,
                hold: 0,
            },
            counters: Vec::new(),
            counter_source: Arc::new(PerfSource),
            watchdog: Duration::from_secs(10),
        }
    }

    /// A swapper cycling this pool's devices every `period`, with no off-time, on
    /// [`swapper_cpu`](Self::swapper_cpu).
    pub fn swapper(&self, period: Duration) -> SwapperConfig {
        SwapperConfig {
            period,
            off_time: Duration::ZERO,
            devices: self.work.devices,
            pages: self.work.pages,
            cpu: self.swapper_cpu,
        }
    }
}

/// Why a pool could not be built or a window failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// A reader could not be started or pinned.
    Setup(String),
    /// A reader panicked.
    ReaderPanicked {
        /// Reader index.
        reader: usize,
        /// The panic message.
        message: String,
    },
    /// A reader read a byte that is not its map's tag: a torn-down (poisoned) map.
    Violation {
        /// Reader index.
        reader: usize,
        /// How many of its lookups did.
        count: u64,
        /// The first bad byte.
        byte: u8,
    },
    /// A swapoff/swapon did not return within the watchdog limit.
    SwapperStuck(Stuck),
    /// Readers did not stop within the watchdog limit after being asked to.
    ReadersStuck(Duration),
    /// The swapper stopped on an error.
    Swapper(String),
    /// The cancel flag was raised during the window.
    Cancelled,
    /// An earlier watchdog failure left threads behind; the pool takes no more work.
    Wedged,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Setup(e) => f.write_str(e),
            PoolError::ReaderPanicked { reader, message } => {
                write!(f, "reader {reader} panicked: {message}")
            }
            PoolError::Violation {
                reader,
                count,
                byte,
            } => write!(
                f,
                "reader {reader} read {byte:#04x} instead of the map's tag in {count} lookup(s): \
                 the map was torn down under it"
            ),
            PoolError::SwapperStuck(s) => write!(f, "watchdog: {s}"),
            PoolError::ReadersStuck(d) => {
                write!(f, "watchdog: readers did not stop within {d:.1?}")
            }
            PoolError::Swapper(e) => write!(f, "swapper: {e}"),
            PoolError::Cancelled => f.write_str("cancelled"),
            PoolError::Wedged => f.write_str("the pool was wedged by an earlier watchdog failure"),
        }
    }
}

impl std::error::Error for PoolError {}

/// What one window measured.
#[derive(Debug, Clone)]
pub struct Window {
    /// Wall time from the start signal to the stop signal (timed) or to the last reader's end
    /// (exact).
    pub elapsed: Duration,
    /// Per reader, in reader order.
    pub tallies: Vec<Tally>,
    /// Per reader, the counters' readings (empty when no counters or not a counted window).
    pub counters: Vec<ReaderCounts>,
    /// The swapper's cycles and latencies inside the window, when a swapper runs.
    pub swapper: Option<SwapperReport>,
}

impl Window {
    /// Lookups of all readers.
    pub fn lookups(&self) -> u64 {
        self.tallies.iter().map(|t| t.lookups).sum()
    }
    /// Failed lookups of all readers.
    pub fn failed(&self) -> u64 {
        self.tallies.iter().map(|t| t.failed).sum()
    }
}

#[derive(Clone, Copy, Debug)]
enum Cmd {
    Idle,
    Exact(u64),
    Timed { counted: bool },
    Exit,
}

struct Outcome {
    tally: Tally,
    finished: Instant,
    counts: ReaderCounts,
    panic: Option<String>,
}

struct State {
    epoch: u64,
    cmd: Cmd,
    ready: usize,
    done: usize,
    setup: usize,
    setup_errors: Vec<String>,
    outcomes: Vec<Option<Outcome>>,
}

struct Control {
    state: Mutex<State>,
    to_readers: Condvar,
    to_ctl: Condvar,
    /// The epoch readers may start; stored (Release) after every reader is ready, loaded
    /// (Acquire) by the spinning readers. Pairs with nothing else: commands travel under the
    /// mutex; this only lines up the start.
    go: CachePadded<AtomicU64>,
    /// Raised to end a timed window. Relaxed everywhere: it carries no data (tallies travel
    /// under the mutex), readers only need to see it eventually.
    stop: CachePadded<AtomicBool>,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Pinned reader threads over a `SwapTable<S>`, reused from window to window.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use swapref::rcu::Qsbr;
/// use swapref::strategy::percpu_fence::PercpuFence;
/// use swapref::swap::{SwapTable, TableConfig};
/// use swapref::workload::{PoolConfig, ReaderPool};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let table = Arc::new(SwapTable::<PercpuFence<Qsbr>>::new(&TableConfig::default())?);
/// let cfg = PoolConfig::for_readers(2);
/// table.swapon(0, cfg.work.pages)?;
/// let mut pool = ReaderPool::new(table, cfg.clone())?;
///
/// // Both readers start together; each does exactly 10 000 lookups.
/// let quiet: Duration = pool.run_exact(10_000);
///
/// // The same under churn: swapoff/swapon of device 0 every millisecond.
/// pool.start_swapper(cfg.swapper(Duration::from_millis(1)))?;
/// let churned = pool.run_exact(10_000);
/// pool.stop_swapper()?;
/// assert!(quiet > Duration::ZERO && churned > Duration::ZERO);
/// # Ok(()) }
/// ```
pub struct ReaderPool<S: Strategy> {
    table: Arc<SwapTable<S>>,
    ctl: Arc<Control>,
    threads: Vec<JoinHandle<()>>,
    swapper: Option<Swapper>,
    cfg: PoolConfig,
    wedged: bool,
}

impl<S: Strategy> fmt::Debug for ReaderPool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderPool")
            .field("strategy", &S::NAME)
            .field("cfg", &self.cfg)
            .field("swapper", &self.swapper.is_some())
            .field("wedged", &self.wedged)
            .finish()
    }
}

impl<S: Strategy> ReaderPool<S> {
    /// Start one reader per `cfg.reader_cpus` entry, pinned there, each with its own
    /// [`Strategy::Reader`] and counters; returns once all are set up.
    pub fn new(table: Arc<SwapTable<S>>, cfg: PoolConfig) -> Result<Self, PoolError> {
        let n = cfg.reader_cpus.len();
        if n == 0 {
            return Err(PoolError::Setup("a pool needs at least one reader".into()));
        }
        if cfg.work.devices == 0
            || cfg.work.devices > crate::swap::MAX_SWAPFILES
            || cfg.work.pages == 0
            || cfg.work.pages > u32::MAX as usize
        {
            return Err(PoolError::Setup(format!(
                "devices must be 1..={} and pages 1..=2^32-1",
                crate::swap::MAX_SWAPFILES
            )));
        }
        let ctl = Arc::new(Control {
            state: Mutex::new(State {
                epoch: 0,
                cmd: Cmd::Idle,
                ready: 0,
                done: 0,
                setup: 0,
                setup_errors: Vec::new(),
                outcomes: (0..n).map(|_| None).collect(),
            }),
            to_readers: Condvar::new(),
            to_ctl: Condvar::new(),
            go: CachePadded::new(AtomicU64::new(0)),
            stop: CachePadded::new(AtomicBool::new(false)),
        });
        let mut pool = ReaderPool {
            table: table.clone(),
            ctl: ctl.clone(),
            threads: Vec::with_capacity(n),
            swapper: None,
            cfg: cfg.clone(),
            wedged: false,
        };
        for (i, &cpu) in cfg.reader_cpus.iter().enumerate() {
            let (table, ctl, cfg) = (table.clone(), ctl.clone(), cfg.clone());
            let t = std::thread::Builder::new()
                .name(format!("reader-{i}"))
                .spawn(move || reader_main(i, cpu, &table, &ctl, &cfg))
                .map_err(|e| PoolError::Setup(format!("could not spawn reader {i}: {e}")))?;
            pool.threads.push(t);
        }
        let deadline = Instant::now() + cfg.watchdog.max(READER_GRACE);
        let mut st = ctl.lock();
        while st.setup < n {
            let now = Instant::now();
            if now >= deadline {
                drop(st);
                pool.wedged = true;
                return Err(PoolError::Setup("readers did not start in time".into()));
            }
            st = ctl
                .to_ctl
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if let Some(e) = st.setup_errors.first() {
            return Err(PoolError::Setup(e.clone()));
        }
        drop(st);
        Ok(pool)
    }

    /// The table the readers look up.
    pub fn table(&self) -> &Arc<SwapTable<S>> {
        &self.table
    }

    /// The configuration the pool was built with.
    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }

    /// Start a background swapper (replacing none: stop the previous one first). Fails for a
    /// strategy that refuses churn.
    pub fn start_swapper(&mut self, cfg: SwapperConfig) -> Result<(), PoolError> {
        if self.wedged {
            return Err(PoolError::Wedged);
        }
        if self.swapper.is_some() {
            return Err(PoolError::Setup("a swapper is already running".into()));
        }
        self.swapper = Some(Swapper::start(self.table.clone(), cfg).map_err(PoolError::Setup)?);
        Ok(())
    }

    /// Stop the swapper, if one runs; every device is on again afterwards.
    pub fn stop_swapper(&mut self) -> Result<(), PoolError> {
        match self.swapper.take() {
            None => Ok(()),
            Some(s) => s.stop_within(self.cfg.watchdog).map_err(|e| match e {
                StopError::Stuck(Some(s)) => {
                    self.wedged = true;
                    PoolError::SwapperStuck(s)
                }
                StopError::Stuck(None) => {
                    self.wedged = true;
                    PoolError::Swapper("did not stop in time".into())
                }
                StopError::Failed(e) => PoolError::Swapper(e),
            }),
        }
    }

    /// All readers start together and each does exactly `per_reader` lookups; returns the
    /// wall time from the start to the last reader's end. Panics if a reader failed (use
    /// [`try_run_exact`](Self::try_run_exact) to handle that).
    pub fn run_exact(&mut self, per_reader: u64) -> Duration {
        match self.try_run_exact(per_reader) {
            Ok(w) => w.elapsed,
            Err(e) => panic!("{}: {e}", S::NAME),
        }
    }

    /// [`run_exact`](Self::run_exact), returning the whole [`Window`] or what failed.
    pub fn try_run_exact(&mut self, per_reader: u64) -> Result<Window, PoolError> {
        self.window(Cmd::Exact(per_reader), None, None)
    }

    /// Readers look up without counting for `d` (caches, branch predictors, the strategy's
    /// own state warm up); returns when every reader has stopped.
    pub fn warm_up(&mut self, d: Duration, cancel: Option<&AtomicBool>) -> Result<(), PoolError> {
        self.window(Cmd::Timed { counted: false }, Some(d), cancel)
            .map(|_| ())
    }

    /// A measured window of length `d`: all readers start together, run until the stop flag,
    /// counters on. Returns early with [`PoolError::Cancelled`] when `cancel` is raised.
    pub fn run_for(
        &mut self,
        d: Duration,
        cancel: Option<&AtomicBool>,
    ) -> Result<Window, PoolError> {
        self.window(Cmd::Timed { counted: true }, Some(d), cancel)
    }

    fn swapper_stuck(&self) -> Option<Stuck> {
        self.swapper
            .as_ref()
            .and_then(|s| s.stuck(self.cfg.watchdog))
    }

    /// One window: arm the readers, let them go, stop them (timed) or let them finish
    /// (exact), collect and judge what they report. Every wait is bounded by the watchdog: a
    /// window that cannot end marks the pool wedged and reports instead of hanging.
    fn window(
        &mut self,
        cmd: Cmd,
        length: Option<Duration>,
        cancel: Option<&AtomicBool>,
    ) -> Result<Window, PoolError> {
        if self.wedged {
            return Err(PoolError::Wedged);
        }
        let watchdog = self.cfg.watchdog.max(READER_GRACE);
        let epoch = self.arm(cmd, watchdog)?;
        let counted = !matches!(cmd, Cmd::Timed { counted: false });
        if counted && let Some(s) = &self.swapper {
            s.begin_window();
        }
        let t0 = Instant::now();
        // Release: pairs with the readers' Acquire load of `go` (see `Control::go`).
        self.ctl.go.store(epoch, Release);
        let (mut failure, t_stop) = match length {
            Some(d) => self.run_until(t0 + d, cancel),
            None => (None, None),
        };
        let outcomes = self.collect(&mut failure, t_stop, watchdog)?;
        let swapper = match (&self.swapper, counted) {
            (Some(s), true) => Some(s.end_window()),
            _ => None,
        };
        self.judge(failure, &outcomes)?;
        let elapsed = match t_stop {
            Some(t) => t - t0,
            None => outcomes
                .iter()
                .map(|o| o.finished.saturating_duration_since(t0))
                .max()
                .unwrap_or_default(),
        };
        Ok(Window {
            elapsed,
            tallies: outcomes.iter().map(|o| o.tally).collect(),
            counters: outcomes.into_iter().map(|o| o.counts).collect(),
            swapper,
        })
    }

    /// Hand every reader `cmd` for a new epoch and wait (at most `watchdog`) until all are
    /// ready at the start line. Returns the epoch that `go` must name.
    fn arm(&mut self, cmd: Cmd, watchdog: Duration) -> Result<u64, PoolError> {
        let n = self.threads.len();
        let ctl = self.ctl.clone();
        let mut st = ctl.lock();
        // Relaxed: published to the readers by the mutex they take to read the command.
        ctl.stop.store(false, Relaxed);
        st.epoch += 1;
        st.cmd = cmd;
        st.ready = 0;
        st.done = 0;
        st.outcomes.iter_mut().for_each(|o| *o = None);
        ctl.to_readers.notify_all();
        let deadline = Instant::now() + watchdog;
        while st.ready < n {
            let now = Instant::now();
            if now >= deadline {
                self.wedged = true;
                return Err(PoolError::ReadersStuck(watchdog));
            }
            st = ctl
                .to_ctl
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Ok(st.epoch)
    }

    /// A timed window: sleep until `deadline` unless cancelled, the swapper is stuck or a
    /// reader ended early (it panicked), then raise the stop flag. Returns why it ended early,
    /// if it did, and when the stop was raised.
    fn run_until(
        &self,
        deadline: Instant,
        cancel: Option<&AtomicBool>,
    ) -> (Option<PoolError>, Option<Instant>) {
        let mut failure = None;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            // Relaxed: the Ctrl-C flag carries no data; it is only polled.
            if cancel.is_some_and(|c| c.load(Relaxed)) {
                failure = Some(PoolError::Cancelled);
                break;
            }
            if let Some(s) = self.swapper_stuck() {
                failure = Some(PoolError::SwapperStuck(s));
                break;
            }
            if self.ctl.lock().done > 0 {
                // A timed reader ends before the stop flag only when it panicked.
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
        }
        let t_stop = Instant::now();
        // Relaxed: a stop flag that carries no data (see `Control::stop`).
        self.ctl.stop.store(true, Relaxed);
        (failure, Some(t_stop))
    }

    /// Wait for every reader to finish and take their outcomes: exact windows as long as it
    /// takes while the swapper is healthy, timed ones (and any failing window) at most
    /// `watchdog` after the stop. A stuck swapper found meanwhile becomes the `failure`.
    fn collect(
        &mut self,
        failure: &mut Option<PoolError>,
        t_stop: Option<Instant>,
        watchdog: Duration,
    ) -> Result<Vec<Outcome>, PoolError> {
        let n = self.threads.len();
        let ctl = self.ctl.clone();
        let mut st = ctl.lock();
        let mut stop_deadline = t_stop.map(|t| t + watchdog);
        while st.done < n {
            if failure.is_none()
                && let Some(s) = self.swapper_stuck()
            {
                *failure = Some(PoolError::SwapperStuck(s));
                // Relaxed: as in `run_until`.
                ctl.stop.store(true, Relaxed);
            }
            if failure.is_some() && stop_deadline.is_none() {
                stop_deadline = Some(Instant::now() + watchdog);
            }
            if stop_deadline.is_some_and(|d| Instant::now() >= d) {
                self.wedged = true;
                return Err(failure.take().unwrap_or(PoolError::ReadersStuck(watchdog)));
            }
            st = ctl
                .to_ctl
                .wait_timeout(st, Duration::from_millis(10))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Ok(st
            .outcomes
            .iter_mut()
            .map(|o| o.take().expect("every reader reported"))
            .collect())
    }

    /// The window's error, most telling first: how it ended early (cancel, stuck swapper), a
    /// reader's panic, a reader's violation, the swapper's own error.
    fn judge(&mut self, failure: Option<PoolError>, outcomes: &[Outcome]) -> Result<(), PoolError> {
        if let Some(e) = failure {
            if matches!(e, PoolError::SwapperStuck(_)) {
                self.wedged = true;
            }
            return Err(e);
        }
        for (reader, o) in outcomes.iter().enumerate() {
            if let Some(message) = &o.panic {
                return Err(PoolError::ReaderPanicked {
                    reader,
                    message: message.clone(),
                });
            }
            if o.tally.violations > 0 {
                return Err(PoolError::Violation {
                    reader,
                    count: o.tally.violations,
                    byte: o.tally.first_bad.unwrap_or(0),
                });
            }
        }
        match self.swapper.as_ref().and_then(Swapper::error) {
            Some(e) => Err(PoolError::Swapper(e)),
            None => Ok(()),
        }
    }
}

impl<S: Strategy> Drop for ReaderPool<S> {
    fn drop(&mut self) {
        if let Some(s) = self.swapper.take() {
            if self.wedged {
                // Already known stuck: Swapper's own drop waits briefly, then leaves it.
                drop(s);
            } else if s.stop_within(self.cfg.watchdog).is_err() {
                self.wedged = true;
            }
        }
        {
            let mut st = self.ctl.lock();
            // Relaxed: a stop flag that carries no data (see `Control::stop`).
            self.ctl.stop.store(true, Relaxed);
            st.epoch += 1;
            st.cmd = Cmd::Exit;
            self.ctl.to_readers.notify_all();
        }
        // Release the spin of readers waiting to start, so they see the exit. Release: pairs
        // with their Acquire load of `go`; the Exit command itself travels under the mutex.
        self.ctl.go.store(u64::MAX, Release);
        let threads = std::mem::take(&mut self.threads);
        if !self.wedged {
            for t in threads {
                let _ = t.join();
            }
        }
        // A wedged pool's threads are detached: joining a thread stuck in a strategy would hang.
    }
}

fn reader_main<S: Strategy>(
    i: usize,
    cpu: usize,
    table: &SwapTable<S>,
    ctl: &Control,
    cfg: &PoolConfig,
) {
    let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    let mut counters: Vec<Result<Box<dyn HwCounter>, String>> = cfg
        .counters
        .iter()
        .map(|name| cfg.counter_source.open(name))
        .collect();
    let mut reader = table.reader();
    let mut rng = reader::seed(i);
    let mut seen = {
        let mut st = ctl.lock();
        st.setup += 1;
        if !pinned {
            st.setup_errors
                .push(format!("could not pin reader {i} to CPU {cpu}"));
        }
        ctl.to_ctl.notify_all();
        st.epoch
    };
    loop {
        // Everything up to the start signal waits (for a command, then for the other readers):
        // the reader is offline meanwhile (qsbr), so a grace period does not wait for it.
        let step = S::offline(&mut reader, || {
            let cmd = {
                let mut st = ctl.lock();
                while st.epoch == seen {
                    st = ctl.to_readers.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                seen = st.epoch;
                st.ready += 1;
                ctl.to_ctl.notify_all();
                st.cmd
            };
            let counted = match cmd {
                Cmd::Exit => return None,
                Cmd::Idle => return Some(None),
                Cmd::Exact(_) | Cmd::Timed { counted: true } => true,
                Cmd::Timed { counted: false } => false,
            };
            let mut enable_errors: Vec<Option<String>> = vec![None; counters.len()];
            if counted {
                for (c, err) in counters.iter_mut().zip(&mut enable_errors) {
                    if let Ok(c) = c
                        && let Err(e) = c.reset_and_enable()
                    {
                        *err = Some(crate::measure::counters::reason(&e));
                    }
                }
            }
            let backoff = Backoff::new();
            loop {
                // Acquire: pairs with the controller's Release stores of `go` (see `Control::go`).
                let g = ctl.go.load(Acquire);
                if g == seen {
                    break;
                }
                if g == u64::MAX {
                    return None;
                }
                backoff.snooze();
            }
            Some(Some((cmd, counted, enable_errors)))
        });
        let (cmd, counted, enable_errors) = match step {
            None => return,
            Some(None) => continue,
            Some(Some(s)) => s,
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cmd {
            Cmd::Exact(n) => reader::exact(table, &mut reader, &mut rng, &cfg.work, n),
            _ => reader::until(table, &mut reader, &mut rng, &cfg.work, &ctl.stop),
        }));
        let finished = Instant::now();
        let mut counts = Vec::new();
        if counted {
            for (c, err) in counters.iter_mut().zip(enable_errors) {
                counts.push(match (c, err) {
                    (Err(why), _) => Err(why.clone()),
                    (Ok(_), Some(why)) => Err(why),
                    (Ok(c), None) => c
                        .disable()
                        .and_then(|()| c.read())
                        .map_err(|e| crate::measure::counters::reason(&e)),
                });
            }
        }
        let (tally, panic) = match r {
            Ok(t) => (t, None),
            Err(p) => (Tally::default(), Some(panic_message(&*p))),
        };
        let mut st = ctl.lock();
        st.outcomes[i] = Some(Outcome {
            tally,
            finished,
            counts,
            panic,
        });
        st.done += 1;
        ctl.to_ctl.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::counters::FakeSource;
    use crate::strategy::broken::NoWait;
    use crate::strategy::percpu_acquire::PercpuAcquire;
    use crate::swap::TableConfig;
    use crate::workload::mock::{self, Mock};

    fn cfg(readers: usize, hold: u64) -> PoolConfig {
        let mut c = PoolConfig::for_readers(readers);
        c.work.hold = hold;
        c.watchdog = Duration::from_secs(5);
        c
    }

    fn table<S: Strategy>(checked: bool, pages: usize) -> Arc<SwapTable<S>> {
        let t = SwapTable::<S>::new(&TableConfig {
            checked,
            ..TableConfig::default()
        })
        .unwrap();
        t.swapon(0, pages).unwrap();
        Arc::new(t)
    }

    #[test]
    fn exact_windows_do_exactly_n_lookups_per_reader() {
        let c = cfg(2, 0);
        let mut pool = ReaderPool::new(
            table::<PercpuAcquire<crate::rcu::Qsbr>>(false, 64),
            c.clone(),
        )
        .unwrap();
        let w = pool.try_run_exact(5_000).unwrap();
        assert_eq!(w.tallies.len(), 2);
        assert!(
            w.tallies
                .iter()
                .all(|t| t.lookups == 5_000 && t.failed == 0)
        );
        pool.start_swapper(c.swapper(Duration::ZERO)).unwrap();
        let w = pool.try_run_exact(20_000).unwrap();
        assert!(w.tallies.iter().all(|t| t.lookups == 20_000));
        pool.stop_swapper().unwrap();
        assert!(pool.table().is_on(0));
    }

    #[test]
    fn timed_windows_count_and_read_counters_in_every_reader() {
        let mut c = cfg(2, 0);
        c.counters = vec!["cycles".into(), "llc_read_misses".into()];
        c.counter_source = Arc::new(FakeSource {
            available: [("cycles".to_string(), 7u64)].into_iter().collect(),
            running_ns: 2_000_000,
        });
        let mut pool = ReaderPool::new(
            table::<PercpuAcquire<crate::rcu::Qsbr>>(false, 64),
            c.clone(),
        )
        .unwrap();
        pool.warm_up(Duration::from_millis(5), None).unwrap();
        pool.start_swapper(c.swapper(Duration::from_micros(100)))
            .unwrap();
        let w = pool.run_for(Duration::from_millis(30), None).unwrap();
        pool.stop_swapper().unwrap();
        assert!(w.elapsed >= Duration::from_millis(30));
        assert!(w.tallies.iter().all(|t| t.lookups > 0));
        assert_eq!(w.counters.len(), 2);
        for r in &w.counters {
            assert_eq!(r[0].as_ref().unwrap().count, 7);
            assert!(r[1].as_ref().unwrap_err().starts_with("ENOENT"));
        }
        assert!(w.swapper.is_some());
    }

    #[test]
    fn a_cancel_ends_the_window_cleanly() {
        let mut pool = ReaderPool::new(
            table::<PercpuAcquire<crate::rcu::Qsbr>>(false, 8),
            cfg(1, 0),
        )
        .unwrap();
        let cancel = AtomicBool::new(true);
        let e = pool.run_for(Duration::from_secs(60), Some(&cancel));
        assert_eq!(e.unwrap_err(), PoolError::Cancelled);
        // Still usable.
        assert!(pool.try_run_exact(10).is_ok());
    }

    #[test]
    fn a_panicking_reader_fails_the_window_and_is_named() {
        let mut pool =
            ReaderPool::new(table::<Mock<{ mock::PANICS }>>(false, 8), cfg(1, 0)).unwrap();
        let e = pool.run_for(Duration::from_secs(30), None).unwrap_err();
        assert_eq!(
            e,
            PoolError::ReaderPanicked {
                reader: 0,
                message: "mock reader gave up".into()
            }
        );
    }

    /// Negative control: a strategy whose swapoff frees without waiting must be caught by the
    /// readers' poison check (the table is `checked`, so freed maps stay allocated, poisoned).
    #[test]
    fn a_swapoff_that_does_not_wait_is_caught_as_a_violation() {
        let c = cfg(2, 2_000);
        let mut pool = ReaderPool::new(table::<NoWait>(true, 8), c.clone()).unwrap();
        pool.start_swapper(c.swapper(Duration::ZERO)).unwrap();
        let mut caught = None;
        for _ in 0..100 {
            match pool.run_for(Duration::from_millis(50), None) {
                Ok(_) => continue,
                Err(e) => {
                    caught = Some(e);
                    break;
                }
            }
        }
        match caught {
            Some(PoolError::Violation { byte, count, .. }) => {
                assert_eq!(byte, crate::swap::POISON);
                assert!(count > 0);
            }
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    #[test]
    fn a_stuck_swapoff_is_reported_instead_of_hanging() {
        let mut c = cfg(1, 0);
        c.watchdog = Duration::from_millis(100);
        let mut pool =
            ReaderPool::new(table::<Mock<{ mock::STUCK }>>(false, 8), c.clone()).unwrap();
        pool.start_swapper(c.swapper(Duration::ZERO)).unwrap();
        let t = Instant::now();
        let e = pool.run_for(Duration::from_secs(60), None).unwrap_err();
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the watchdog did not fire"
        );
        match &e {
            PoolError::SwapperStuck(s) => {
                assert_eq!((s.op, s.device), ("swapoff", 0));
                assert!(
                    e.to_string()
                        .contains("swapoff of device 0 has not returned after")
                );
            }
            other => panic!("expected SwapperStuck, got {other:?}"),
        }
        assert_eq!(pool.try_run_exact(1).unwrap_err(), PoolError::Wedged);
        // Relaxed: a flag that carries no data; it lets the stuck mock swapoff return.
        mock::RELEASE.store(true, Relaxed);
    }
}
