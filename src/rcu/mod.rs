//! A userspace RCU in the three flavours of liburcu, each standing for a kernel configuration:
//! `qsbr` (a non-preemptible kernel: sections cost nothing), `membarrier` (`PREEMPT_RCU`: two
//! plain stores per section) and `fence` (the same with full fences, the fallback).
//!
//! # Mechanism
//!
//! Desnoyers et al., "User-Level Implementations of Read-Copy Update" (IEEE TPDS 2012), restated
//! with a 64-bit grace-period counter `gp` (starting at 1) so that no phase flip is needed:
//!
//! - Each reader thread registers once and gets an [`RcuReader`]: a record whose grace-period
//!   word `ctr` sits on a cache line of its own, followed by the thread's percpu area.
//! - `membarrier` and `fence` (PREEMPT_RCU-like): `ctr` is `0` outside sections and, inside
//!   one, the value of `gp` read when the outermost section began. [`RcuReader::read_lock`]
//!   stores it and issues the reader's light barrier; leaving stores `0`.
//! - `qsbr`: `ctr` is `0` while the thread is *offline* and otherwise the value of `gp` at the
//!   thread's last *quiescent state*. Sections are empty: a thread that is online is taken to be
//!   inside one, except at the points where it calls [`RcuReader::quiescent_state`] (which
//!   needs `&mut`, so no guard can be alive) or while it is [`offline`](RcuReader::offline).
//! - A grace period issues the heavy barrier (A), advances `gp` to `target`, waits until every
//!   record reads `0` or a value `>= target`, and issues the heavy barrier again (B).
//!
//! Why that is a grace period, for a section S of a `membarrier`/`fence` reader: take the point
//! P at which barrier (A) took effect on the reader's CPU. If S's `ctr` store precedes P, the
//! scan sees it and waits until S ends; S's accesses precede its `ctr = 0` store, which the scan
//! saw before (B). If the store follows P, all of S follows P and sees what the caller did
//! before the grace period. A value `>= target` was read from the increment made after (A), so
//! its section began after P. For `qsbr`, the same with "between two quiescent states" for
//! "section": an announcement of `>= target` was made after the reader read the new `gp`
//! (Acquire, after (A)'s fence), so its later accesses see the removal, and its earlier ones
//! precede the announcement (Release), which the scan read (Acquire).
//!
//! # Shared grace periods
//!
//! Callers do not queue for a lock: a [`synchronize`](Rcu::synchronize) caller takes a snapshot
//! of the grace-period sequence (the kernel's `rcu_seq_snap()`: the end of the first grace
//! period that begins after now), and returns as soon as that grace period has ended
//! (`rcu_seq_done()`). If none is in progress it runs one itself; otherwise it sleeps on a
//! condition variable and is woken when the current one ends. So concurrent callers, and the
//! [`call`](Rcu::call) worker (each callback carries the snapshot taken when it was queued),
//! share grace periods: swapoff's `percpu_ref_kill()` + `synchronize_rcu()` costs one.
//!
//! While it waits for a reader, the grace-period driver spins briefly, then sets the reader's
//! wake flag (on the same cache line as its `ctr`), issues the heavy barrier, looks once more
//! and parks. The reader checks the flag after it leaves a section (`membarrier`, `fence`),
//! announces a quiescent state or goes offline (`qsbr`), and unparks the driver (liburcu's
//! `wake_up_gp()`). Each side orders its store before its load of the other's word (the
//! driver's heavy barrier; the reader's light barrier under membarrier, a full fence
//! otherwise), so one of them sees the other: the wake-up is not lost. The park has a 10 ms
//! limit as a safety net; it is a re-check, not the mechanism.
//!
//! # Flavours
//!
//! See [`flavor`]: the flavour is a type parameter, so a read-side section is compiled for one
//! flavour and never branches on it. [`FlavorKind`] is the same as a value, for the command line
//! and results.
//!
//! # Proofs, and what they do not cover
//!
//! - loom (`tests/loom.rs`) runs this module as written except the barriers: under `cfg(loom)`
//!   every store of a reader's `ctr` is an RMW (`swap(_, AcqRel)`), `gp` is advanced `AcqRel`,
//!   and the scan reads `ctr` with `fetch_add(0, AcqRel)` (the switches are in `crate::sync`).
//!   Two RMWs on one location are totally ordered and the later reads from the earlier, which
//!   gives the grace period's "the scan sees the reader, or the reader sees everything before
//!   the scan" directly. So loom checks `percpu_ref` and the `qsbr` protocol **given** a
//!   correct barrier argument, the grace-period sharing, the callback queue, the slot sum,
//!   record reuse within one execution; it does not check the fence or membarrier argument
//!   above. The driver yields instead of parking, and [`PERCPU_SLOTS`] is 2.
//! - Miri runs the unit tests below with the `qsbr` and `fence` flavours (membarrier is not
//!   attempted under Miri), several seeds: undefined behaviour, data races, and some weak-memory
//!   outcomes of the fence argument. Miri explores a subset of what C++20 allows, so a pass is
//!   evidence, not proof.
//! - The `membarrier` flavour is exercised only natively (unit tests, torture), on x86-64, where
//!   TSO hides most reorderings.
//!
//! # Deferred work
//!
//! [`Rcu::call`] is `call_rcu()` (`percpu_ref` uses it where the kernel uses
//! `call_rcu_hurry()`): each callback carries the grace-period snapshot taken when it was queued
//! and runs once that grace period has ended, on a worker thread (started on demand, looking at
//! its queue every 1 to 16 ms rather than woken by each `call`, gone after 50 ms without one)
//! or, sooner, on the thread whose `synchronize` or `barrier` ran the grace period (so
//! `percpu_ref_kill()` + `synchronize_rcu()` confirms the kill when the one shared grace period
//! ends, without waking the worker). Where no worker can be started, callbacks wait for such a
//! grace period. [`Rcu::barrier`] is `rcu_barrier()`: it runs a grace period and the due
//! callbacks itself, then waits until no callback taken by another thread is still running. A
//! callback that panics is counted ([`Rcu::callback_panics`]) and its runner goes on with the
//! next one.
//!
//! # Per-thread counters
//!
//! A reader record also carries the thread's *percpu area*: [`PERCPU_SLOTS`] counters that
//! stand in for the kernel's per-CPU memory. `percpu_ref` allocates one slot per ref and its
//! fast path increments `area[slot]` of the calling thread with a plain load and store (one
//! writer per area). When a thread unregisters, its record, with its counts, goes back to the
//! domain and is handed to the next thread that registers: only the sum over all records is
//! meaningful, as in the kernel's `for_each_possible_cpu` sum. A record is
//! [`RECORD_BYTES`] bytes; a domain keeps every record it ever created.

pub mod flavor;
#[cfg(not(loom))]
pub mod membarrier;
mod reader;
mod wait;

pub use flavor::{Flavor, FlavorKind, Mb, Memb, Qsbr};
pub use reader::{Offline, RcuReadGuard, RcuReader};

use crate::sync::{
    Arc, AtomicBool, AtomicU64, AtomicUsize, Mutex, Ordering::Relaxed, Parker, WaitQueue, lock,
};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::marker::PhantomData;

/// Number of per-thread counter slots a domain offers to `percpu_ref`s (its "percpu chunk").
pub const PERCPU_SLOTS: usize = if cfg!(loom) { 2 } else { 256 };

/// Bytes one reader record occupies: the cache line of its grace-period word and wake flag,
/// then [`PERCPU_SLOTS`] counters. Every registered thread costs its domain one record.
pub const RECORD_BYTES: usize = std::mem::size_of::<CachePadded<Record>>();

/// What the grace-period driver reads and writes in a reader's record: alone on a cache line,
/// so the driver's polling does not take the line the reader's counters live on.
pub(crate) struct GpWord {
    /// `membarrier`/`fence`: 0 outside sections, else the `gp` snapshot of the outermost
    /// section. `qsbr`: 0 offline, else the `gp` value of the last quiescent state.
    ctr: AtomicU64,
    /// Set by a driver that sleeps until this reader lets it go.
    wake: AtomicBool,
    /// The same as `ctr` for the fast-path sections of `percpu_ref` (`membarrier`, `fence`):
    /// a word of their own, so that they need no nesting test (a `read_lock` section around them
    /// keeps `ctr` set) and form no chain through memory with it. The grace period waits for
    /// both words.
    fast: AtomicU64,
}

/// One reader thread's state: its grace-period word and its percpu area.
#[repr(C)]
pub(crate) struct Record {
    gp: CachePadded<GpWord>,
    /// This thread's counters for percpu_ref slots; written only by the owning thread.
    area: [AtomicUsize; PERCPU_SLOTS],
}

impl Record {
    fn new() -> Self {
        Record {
            gp: CachePadded::new(GpWord {
                ctr: AtomicU64::new(0),
                wake: AtomicBool::new(false),
                fast: AtomicU64::new(0),
            }),
            area: std::array::from_fn(|_| AtomicUsize::new(0)),
        }
    }

    /// The byte offset in a record of the counter of percpu slot `slot`: what a per-thread
    /// `percpu_ref` keeps in its mode word (the kernel's `percpu_count_ptr` keeps the
    /// counter's per-CPU address), so that its fast path finds the counter with one add to
    /// the record's address.
    pub(crate) const fn counter_offset(slot: usize) -> usize {
        std::mem::offset_of!(Record, area) + slot * std::mem::size_of::<AtomicUsize>()
    }

    /// This thread's counter at byte offset `offset`, for the fast path (`this_cpu_ptr`).
    ///
    /// # Safety
    ///
    /// 1. `offset` is [`counter_offset`](Self::counter_offset)`(slot)` for a
    ///    `slot < PERCPU_SLOTS` (true of every index [`Rcu::alloc_slot`] returns).
    #[inline(always)]
    pub(crate) unsafe fn counter_at(&self, offset: usize) -> &AtomicUsize {
        // SAFETY: by 1, `offset` is that of `area[slot]` with `slot` in bounds: the pointer
        // stays inside `self` (whose reference it is derived from), is aligned for the
        // element type, and points to a live `AtomicUsize` for as long as `self` is borrowed.
        unsafe {
            &*std::ptr::from_ref(self)
                .byte_add(offset)
                .cast::<AtomicUsize>()
        }
    }
}

/// What the callback queue holds: a closure, boxed by [`call`](Rcu::call), or an object that
/// carries its own callback, as the kernel's `rcu_head` is embedded in what it frees (queued
/// within the crate by `call_callback`). percpu_ref's kill queues its switch that way: the
/// kernel's `call_rcu_hurry(&ref->data->rcu, percpu_ref_switch_to_atomic_rcu)` allocates
/// nothing, and neither does ours with per-thread counters (the per-CPU kill boxes its
/// membarrier step). Opaque outside the crate: it appears in the sealed
/// [`Counters`](crate::percpu_ref::Counters) trait only.
pub struct Callback(CallbackKind);

enum CallbackKind {
    Boxed(Box<dyn FnOnce() + Send>),
    /// Not under loom: loom's `Arc` does not coerce to a trait object (there it is boxed).
    #[cfg(not(loom))]
    Head(Arc<dyn RcuHead>),
}

/// An object with an embedded callback (the kernel's `rcu_head` and its function): queued by
/// reference count, with no allocation ([`Callback::head`]).
pub(crate) trait RcuHead: Send + Sync + 'static {
    /// The callback, run once per queueing, after its grace period (or, for percpu_ref's
    /// per-CPU backend, its membarrier).
    fn rcu_callback(&self);
}

impl Callback {
    /// A closure, boxed.
    pub(crate) fn boxed(f: impl FnOnce() + Send + 'static) -> Callback {
        Callback(CallbackKind::Boxed(Box::new(f)))
    }

    /// `head`'s callback, by reference count: no allocation (boxed under loom).
    pub(crate) fn head<T: RcuHead>(head: Arc<T>) -> Callback {
        #[cfg(not(loom))]
        return Callback(CallbackKind::Head(head));
        #[cfg(loom)]
        Callback::boxed(move || head.rcu_callback())
    }

    /// Run it (once: it is consumed), then drop what it held.
    pub(crate) fn run(self) {
        match self.0 {
            CallbackKind::Boxed(f) => f(),
            #[cfg(not(loom))]
            CallbackKind::Head(h) => h.rcu_callback(),
        }
    }
}

struct Registry {
    records: Vec<Arc<CachePadded<Record>>>,
    free_records: Vec<usize>,
    free_slots: Vec<usize>,
    next_slot: usize,
}

#[derive(Default)]
struct Calls {
    /// Each callback with the grace-period sequence number that must be reached before it runs.
    /// It keeps its capacity (callbacks are taken out in place), so a steady stream of `call`s
    /// allocates nothing.
    queue: Vec<(u64, Callback)>,
    /// The buffer that due callbacks are moved into to be run outside the lock, handed back
    /// empty with its capacity (see `run_due_callbacks`).
    spare: Vec<Callback>,
    /// Callbacks ever queued: the worker stays while this moves, even if `synchronize` callers
    /// ran them all.
    queued: u64,
    /// Callbacks taken from the queue whose batch has not finished running: `barrier` waits
    /// for none to be left (see there). Waited on with `idle_cv`.
    in_flight: usize,
    worker: bool,
    /// The worker could not be started once (said on stderr, once).
    spawn_failed: bool,
}

struct Inner<F> {
    /// Grace-period counter; starts at 1 so that 0 can mean "not in a section" / "offline".
    /// Read by every reader: its own cache line.
    gp: CachePadded<AtomicU64>,
    /// The grace-period sequence (`rcu_seq`): even when idle, odd while one is in progress;
    /// `+1` when one starts, `+1` when it ends. Waiters sleep on `seq_cv`.
    seq: Mutex<u64>,
    seq_cv: WaitQueue,
    /// The thread running the grace period, for readers to wake.
    driver: Parker,
    registry: Mutex<Registry>,
    calls: Mutex<Calls>,
    /// Where an idle worker sleeps between its looks at the queue (timed waits only: nothing
    /// wakes it early, see `Rcu::call`).
    calls_cv: WaitQueue,
    /// Where `barrier` waits for `Calls::in_flight` to reach zero; with the `calls` mutex.
    idle_cv: WaitQueue,
    grace_periods: AtomicU64,
    callback_panics: AtomicU64,
    /// Test hook: grace periods return without waiting (negative controls only).
    broken: AtomicBool,
    /// Test hook: `call` acts as if the system refused the worker thread.
    refuse_worker: AtomicBool,
    /// How long the driver parks before it looks again unwoken, in ns (a safety net; tests set
    /// it to an hour to show that the wake-up alone ends a park).
    park_limit_ns: AtomicU64,
    /// The per-CPU counters of `percpu_ref`s with the per-CPU backend, made on first use: the
    /// same slots as the records' areas, one chunk per possible CPU.
    #[cfg(not(loom))]
    cpu_area: std::sync::OnceLock<Result<Arc<crate::rseq::CpuArea>, String>>,
    /// The same for the backend indexed by concurrency ID: one chunk per CPU the process may
    /// run on, counted once per process ([`crate::rseq::cid_available`]).
    #[cfg(not(loom))]
    cid_area: std::sync::OnceLock<Result<Arc<crate::rseq::CpuArea>, String>>,
    _flavor: PhantomData<F>,
}

/// An RCU domain of flavour `F`: its readers, its grace periods and its deferred callbacks.
///
/// Cloning gives another handle to the same domain.
///
/// ```
/// use swapref::rcu::{Memb, Mb, Qsbr, Rcu};
///
/// // PREEMPT_RCU-like: a section is a guard.
/// let rcu = Rcu::<Mb>::new();
/// let reader = rcu.register();
/// {
///     let _section = reader.read_lock();
///     // ... read RCU-protected data ...
/// }
/// rcu.synchronize(); // every section that began before this call has ended
///
/// // The non-preemptible kernel: sections are free, the thread announces quiescent states.
/// let rcu = Rcu::<Qsbr>::new();
/// let mut reader = rcu.register(); // online
/// {
///     let _section = reader.read_lock(); // costs nothing
/// }
/// reader.quiescent_state(); // no reference held from before this point
/// reader.offline(|| rcu.synchronize()); // a thread waiting for a grace period is offline
/// ```
pub struct Rcu<F: Flavor> {
    inner: Arc<Inner<F>>,
}

impl<F: Flavor> Clone for Rcu<F> {
    fn clone(&self) -> Self {
        Rcu {
            inner: self.inner.clone(),
        }
    }
}

impl<F: Flavor> fmt::Debug for Rcu<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rcu")
            .field("flavor", &F::KIND)
            .field("grace_periods", &self.grace_periods())
            .finish()
    }
}

/// Why a flavour cannot be used in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlavorUnavailable(pub FlavorKind, pub String);

impl fmt::Display for FlavorUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} RCU unavailable: {}", self.0, self.1)
    }
}

impl std::error::Error for FlavorUnavailable {}

/// What every domain says about itself, whatever its flavour: for results, reports and stall
/// diagnostics, which hold domains of different flavours behind `&dyn Domain`.
pub trait Domain: Send + Sync {
    /// The flavour.
    fn flavor(&self) -> FlavorKind;
    /// Grace periods completed so far.
    fn grace_periods(&self) -> u64;
    /// Reader records ever created.
    fn records(&self) -> usize;
    /// Callbacks that panicked.
    fn callback_panics(&self) -> u64;
    /// Every record's state, for a stall report: `gp 41; record 0: in a section since gp 40
    /// (holds up a grace period); record 1: offline; record 2: free`.
    fn describe_readers(&self) -> String;
}

impl<F: Flavor> Rcu<F> {
    /// A domain of flavour `F`; panics where the flavour is unavailable (see [`try_new`]).
    ///
    /// [`try_new`]: Self::try_new
    pub fn new() -> Rcu<F> {
        Self::try_new().unwrap_or_else(|e| panic!("{e}"))
    }

    /// A domain of flavour `F`, or why this process cannot use it (membarrier on old kernels,
    /// under seccomp or Miri).
    pub fn try_new() -> Result<Rcu<F>, FlavorUnavailable> {
        F::available().map_err(|why| FlavorUnavailable(F::KIND, why))?;
        Ok(Rcu {
            inner: Arc::new(Inner {
                gp: CachePadded::new(AtomicU64::new(1)),
                seq: Mutex::new(0),
                seq_cv: WaitQueue::new(),
                driver: Parker::default(),
                registry: Mutex::new(Registry {
                    records: Vec::new(),
                    free_records: Vec::new(),
                    free_slots: Vec::new(),
                    next_slot: 0,
                }),
                calls: Mutex::new(Calls::default()),
                calls_cv: WaitQueue::new(),
                idle_cv: WaitQueue::new(),
                grace_periods: AtomicU64::new(0),
                callback_panics: AtomicU64::new(0),
                broken: AtomicBool::new(false),
                refuse_worker: AtomicBool::new(false),
                park_limit_ns: AtomicU64::new(wait::PARK_LIMIT.as_nanos() as u64),
                #[cfg(not(loom))]
                cpu_area: std::sync::OnceLock::new(),
                #[cfg(not(loom))]
                cid_area: std::sync::OnceLock::new(),
                _flavor: PhantomData,
            }),
        })
    }

    /// The flavour this domain uses.
    pub fn flavor(&self) -> FlavorKind {
        F::KIND
    }

    /// Whether two handles name the same domain: one compare of the two handles' pointers,
    /// which is the readers' domain check on the hot path.
    #[inline(always)]
    pub fn same_domain(&self, other: &Rcu<F>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Refuse a reader of another domain: its sections and counts would land in that domain's
    /// records, which this domain's grace periods and sums never look at. One compare of two
    /// pointers already in cache on the hot path; the panic is out of line.
    #[inline(always)]
    pub fn check_reader(&self, r: &RcuReader<F>) {
        if !self.same_domain(r.domain()) {
            wrong_domain();
        }
    }

    /// Grace periods completed so far (by `synchronize` and by the callback worker).
    pub fn grace_periods(&self) -> u64 {
        // Relaxed: a statistic that publishes nothing; a caller that needs the exact count reads
        // it after the synchronize or barrier it waited for, which orders the increment.
        self.inner.grace_periods.load(Relaxed)
    }

    /// Queued callbacks that panicked ([`call`](Self::call)'s, and percpu_ref's switch when its
    /// `confirm` panics), on whichever thread ran them (which went on with the next).
    pub fn callback_panics(&self) -> u64 {
        // Relaxed: a statistic, read after the barrier() that waited for the callbacks.
        self.inner.callback_panics.load(Relaxed)
    }

    /// Reader records ever created: the number of "possible CPUs" a percpu sum walks.
    pub fn records(&self) -> usize {
        lock(&self.inner.registry).records.len()
    }

    /// The domain's per-CPU counter area (made on first use), or why rseq is unavailable.
    #[cfg(not(loom))]
    pub fn cpu_area(&self) -> Result<Arc<crate::rseq::CpuArea>, String> {
        self.inner
            .cpu_area
            .get_or_init(|| {
                crate::rseq::available().map(|r| Arc::new(crate::rseq::CpuArea::new(r)))
            })
            .clone()
    }

    /// The domain's counter area indexed by concurrency ID (made on first use), or why this
    /// process cannot have one.
    #[cfg(not(loom))]
    pub fn cid_area(&self) -> Result<Arc<crate::rseq::CpuArea>, String> {
        self.inner
            .cid_area
            .get_or_init(|| {
                crate::rseq::cid_available()
                    .map(|(r, n)| Arc::new(crate::rseq::CpuArea::with_chunks(r, n)))
            })
            .clone()
    }

    /// Register the calling thread as a reader (`rcu_register_thread`); under `qsbr` it starts
    /// online. Keep the handle for the thread's lifetime and reuse it: registering takes a lock.
    pub fn register(&self) -> RcuReader<F> {
        let mut reg = lock(&self.inner.registry);
        let index = match reg.free_records.pop() {
            Some(i) => i,
            None => {
                reg.records.push(Arc::new(CachePadded::new(Record::new())));
                reg.records.len() - 1
            }
        };
        let record = reg.records[index].clone();
        drop(reg);
        RcuReader::new(self.clone(), record, index)
    }

    /// Test hook for negative controls: from now on this domain's grace periods return without
    /// waiting for readers (`internal-test-hooks` only: readers then use freed memory).
    #[cfg(feature = "internal-test-hooks")]
    pub fn break_grace_periods_for_tests(&self) {
        // Relaxed: the grace period's own lock and the tests' thread start-up order it.
        self.inner.broken.store(true, Relaxed);
    }

    /// Test hook: from now on `call` acts as if the system refused to start the callback
    /// worker (unit tests of that path).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn refuse_worker_for_tests(&self) {
        // Relaxed: read by `call` on the same thread in the tests.
        self.inner.refuse_worker.store(true, Relaxed);
    }

    /// Test hook: how long a grace-period driver parks before it looks again without being
    /// woken (default 10 ms). Tests set an hour, so that only a reader's wake-up can end a park.
    #[cfg(feature = "internal-test-hooks")]
    pub fn set_park_limit_for_tests(&self, limit: std::time::Duration) {
        // Relaxed: read by the driver before each park; any recent value will do.
        self.inner
            .park_limit_ns
            .store(limit.as_nanos() as u64, Relaxed);
    }

    /// Take a free percpu slot index, or `None` when all [`PERCPU_SLOTS`] are in use.
    pub(crate) fn alloc_slot(&self) -> Option<usize> {
        let mut reg = lock(&self.inner.registry);
        if let Some(s) = reg.free_slots.pop() {
            return Some(s);
        }
        if reg.next_slot == PERCPU_SLOTS {
            return None;
        }
        reg.next_slot += 1;
        Some(reg.next_slot - 1)
    }

    /// Give a slot index back. Its counters keep their values; the next owner takes them as its
    /// base (see `percpu_ref`).
    pub(crate) fn free_slot(&self, slot: usize) {
        lock(&self.inner.registry).free_slots.push(slot);
    }

    /// Wrapping sum of `slot` over every reader record ever created (`for_each_possible_cpu`).
    /// Exact only when no thread can be updating the slot, e.g. after a grace period that
    /// followed the switch to atomic mode.
    pub(crate) fn sum_slot(&self, slot: usize) -> usize {
        let reg = lock(&self.inner.registry);
        reg.records.iter().fold(0usize, |sum, rec| {
            // Relaxed: the grace period before this sum already ordered every update of the
            // slot before us (see `synchronize`); the registry lock orders handovers.
            sum.wrapping_add(rec.area[slot].load(Relaxed))
        })
    }
}

impl<F: Flavor> Default for Rcu<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Flavor> Domain for Rcu<F> {
    fn flavor(&self) -> FlavorKind {
        F::KIND
    }
    fn grace_periods(&self) -> u64 {
        Rcu::grace_periods(self)
    }
    fn records(&self) -> usize {
        Rcu::records(self)
    }
    fn callback_panics(&self) -> u64 {
        Rcu::callback_panics(self)
    }
    fn describe_readers(&self) -> String {
        // Relaxed, here and for each ctr: a snapshot for a human; nothing is read through it.
        let gp = self.inner.gp.load(Relaxed);
        let reg = lock(&self.inner.registry);
        let mut out = format!("gp {gp}");
        for (i, rec) in reg.records.iter().enumerate() {
            let ctr = rec.gp.ctr.load(Relaxed);
            let fast = rec.gp.fast.load(Relaxed);
            let state = if fast != 0 {
                format!("in a percpu_ref fast path since gp {fast}")
            } else if reg.free_records.contains(&i) {
                "free".to_owned()
            } else if ctr == 0 {
                if F::QSBR {
                    "offline".to_owned()
                } else {
                    "outside sections".to_owned()
                }
            } else if F::QSBR {
                format!("online, last quiescent state at gp {ctr}")
            } else {
                format!("in a section since gp {ctr}")
            };
            out.push_str(&format!("; record {i}: {state}"));
        }
        out
    }
}

#[cold]
#[inline(never)]
fn wrong_domain() -> ! {
    panic!(
        "RCU reader registered with another domain: its sections and counts would be invisible \
         to this domain's grace periods (refused)"
    )
}

#[cfg(all(test, not(loom)))]
mod tests;
