//! A userspace RCU whose read side is as cheap as the kernel's: no fence and no locked
//! instruction on x86-64.
//!
//! # Mechanism
//!
//! This is liburcu's *memb* flavour (Desnoyers et al., "User-Level Implementations of
//! Read-Copy Update", IEEE TPDS 2012), restated with a 64-bit grace-period counter so that no
//! phase flip is needed:
//!
//! - Each reader thread registers once and gets a [`RcuReader`]: a cache-padded record whose
//!   `ctr` is `0` outside read-side sections and, inside one, a snapshot of the domain's
//!   grace-period counter `gp` taken when the outermost section began.
//! - [`RcuReader::read_lock`] stores the snapshot and issues the *light* barrier;
//!   dropping the guard issues the light barrier and stores `0`. With membarrier the light
//!   barrier is a compiler barrier only: two plain `mov`s and one load of `gp` per section.
//! - [`Rcu::synchronize`] issues the *heavy* barrier (A), increments `gp` to `target`, waits
//!   until every record reads `0` or a snapshot `>= target`, and issues the heavy barrier
//!   again (B). With membarrier the heavy barrier is
//!   `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which runs a full barrier on every CPU
//!   that runs one of our threads.
//!
//! Why that is a grace period: take a reader section S and the point P at which barrier (A)
//! executed on the reader's CPU. If S's `ctr` store precedes P, the scan (after A) sees it and
//! waits until S ends; S's accesses precede its `ctr = 0` store, which the scan saw before (B),
//! so they precede everything the caller does after `synchronize`. If S's `ctr` store follows
//! P, all of S's accesses follow P and therefore see everything the caller did before
//! `synchronize`. A snapshot `>= target` was read from the increment made after (A) returned,
//! so its section began after P: it needs no wait. Snapshots also keep the writer from
//! starving: a reader that re-enters sections back to back is seen with a new snapshot.
//!
//! # Flavours
//!
//! | [`Flavor`] | reader light barrier | writer heavy barrier | when |
//! | --- | --- | --- | --- |
//! | `Membarrier` | `compiler_fence(SeqCst)` | `membarrier(PRIVATE_EXPEDITED)` | Linux ≥ 4.14 with the command available |
//! | `Fence` | `fence(SeqCst)` after a `Release` ctr store | `fence(SeqCst)` | Miri, seccomp, old kernels, or asked for |
//!
//! A section ends with a `Release` store of 0 to `ctr` in the `Fence` flavour, and with a
//! compiler fence and a relaxed store in the `Membarrier` flavour (no `stlr` on arm64). On x86
//! the two are the same `mov`, so there both flavours use the `Release` store and the exit
//! does not branch on the flavour.
//!
//! The `Fence` flavour is the textbook C++20 argument (SC fences on both sides, Release/Acquire
//! on `ctr`), which Miri checks; the `Membarrier` flavour rests on membarrier's documented
//! semantics, which no Rust model checker can see. Under `cfg(loom)` both sides use
//! read-modify-write operations on `ctr` instead of fences (loom does not model `SeqCst` fences
//! fully); see `tests/loom.rs` for what that model does and does not cover.
//!
//! # Proofs, and what they do not cover
//!
//! - loom (`tests/loom.rs`) runs this module as written except the barriers: under `cfg(loom)`
//!   the reader's `ctr` writes are RMWs (`swap(snapshot, AcqRel)` on entry, `swap(0, Release)`
//!   on exit), `gp` is incremented `AcqRel`, and the scan reads `ctr` with `fetch_add(0,
//!   AcqRel)`. Two RMWs on one location are totally ordered and the later reads from the
//!   earlier, which gives the grace period's "the scan sees the section, or the section sees
//!   everything before the scan" directly. So loom checks `percpu_ref` **given** a correct grace
//!   period, the callback queue, the slot sum, record reuse within one execution; it does not
//!   check the fence or membarrier argument above. `Rcu::call` spawns one loom thread per batch
//!   (no idle timeout) and [`PERCPU_SLOTS`] is 2.
//! - Miri runs the unit tests below with the `Fence` flavour (membarrier is not attempted under
//!   Miri), several seeds: undefined behaviour, data races, and some weak-memory outcomes of the
//!   fence argument. Miri's weak-memory emulation explores only a subset of the behaviours C++20
//!   allows, so a pass is evidence, not proof.
//! - The `Membarrier` flavour is exercised only natively (unit tests, torture), on x86-64, where
//!   TSO hides most reorderings.
//!
//! # Deferred work
//!
//! [`Rcu::call`] is `call_rcu()`: callbacks are batched, one grace period is waited for per
//! batch on a worker thread (started on demand, gone after 50 ms idle), and [`Rcu::barrier`]
//! is `rcu_barrier()`. `percpu_ref` uses it where the kernel uses `call_rcu_hurry()`.
//!
//! # Per-thread counters
//!
//! A reader record also carries the thread's *percpu area*: [`PERCPU_SLOTS`] counters that
//! stand in for the kernel's per-CPU memory. `percpu_ref` allocates one slot index per ref and
//! its fast path increments `area[slot]` of the calling thread with a plain load and store
//! (one writer per area). When a thread unregisters, its record, with its counts, is handed to
//! the next thread that registers: only the sum over all records is meaningful, as in the
//! kernel's `for_each_possible_cpu` sum.

#[cfg(not(loom))]
pub mod membarrier;

use crate::completion::Completion;
#[cfg(not(loom))]
use crate::sync::Ordering::SeqCst;
#[cfg(not(loom))]
use crate::sync::fence;
use crate::sync::{
    Arc, AtomicU64, AtomicUsize, Backoff, Condvar, Mutex,
    Ordering::{Acquire, Relaxed, Release},
    lock, thread,
};
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::fmt;

/// Number of per-thread counter slots a domain offers to `percpu_ref`s (its "percpu chunk").
pub const PERCPU_SLOTS: usize = if cfg!(loom) { 2 } else { 256 };

/// How the two halves of the asymmetric fence are implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// Readers: compiler barrier only. Writers: `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`.
    Membarrier,
    /// Readers: `fence(SeqCst)` per section. Writers: `fence(SeqCst)`. The portable fallback.
    Fence,
}

impl Flavor {
    /// The name used on the command line and in results: `membarrier` or `fence`.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Membarrier => "membarrier",
            Flavor::Fence => "fence",
        }
    }

    /// Parse a name written by [`Flavor::name`].
    pub fn from_name(s: &str) -> Option<Flavor> {
        match s {
            "membarrier" => Some(Flavor::Membarrier),
            "fence" => Some(Flavor::Fence),
            _ => None,
        }
    }

    /// The best flavour this process can use, and why membarrier is not it when it is not.
    pub fn detect() -> (Flavor, Option<String>) {
        #[cfg(loom)]
        return (Flavor::Fence, Some("loom model".into()));
        #[cfg(not(loom))]
        match membarrier::available() {
            Ok(()) => (Flavor::Membarrier, None),
            Err(why) => (Flavor::Fence, Some(why)),
        }
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One reader thread's state: RCU nesting snapshot and its percpu area.
/// `#[repr(C)]` keeps `ctr` next to the first counters: one cache line for a typical reader.
#[repr(C)]
pub(crate) struct Record {
    /// 0 outside read-side sections, else the `gp` snapshot of the outermost section.
    ctr: AtomicU64,
    /// This thread's counters for percpu_ref slots; written only by the owning thread.
    area: [AtomicUsize; PERCPU_SLOTS],
}

impl Record {
    fn new() -> Self {
        Record {
            ctr: AtomicU64::new(0),
            area: std::array::from_fn(|_| AtomicUsize::new(0)),
        }
    }
}

impl Record {
    /// This thread's counter for percpu slot `slot`, without the bounds check, for the fast
    /// path (`this_cpu_ptr`). Obtained inside [`RcuReader::section`].
    ///
    /// # Safety
    ///
    /// 1. `slot < PERCPU_SLOTS` (true of every index [`Rcu::alloc_slot`] returns).
    #[inline(always)]
    pub(crate) unsafe fn counter_unchecked(&self, slot: usize) -> &AtomicUsize {
        // SAFETY: precondition 1.
        unsafe { self.area.get_unchecked(slot) }
    }
}

type Callback = Box<dyn FnOnce() + Send>;

struct Registry {
    records: Vec<Arc<CachePadded<Record>>>,
    free_records: Vec<usize>,
    free_slots: Vec<usize>,
    next_slot: usize,
}

#[derive(Default)]
struct Calls {
    queue: Vec<Callback>,
    worker: bool,
}

struct Inner {
    /// Grace-period counter; starts at 1 so that 0 can mean "not in a section".
    gp: CachePadded<AtomicU64>,
    flavor: Flavor,
    registry: Mutex<Registry>,
    /// One grace period at a time: overlapping ones would each need their own full scan anyway.
    gp_lock: Mutex<()>,
    calls: Mutex<Calls>,
    calls_cv: Condvar,
    grace_periods: AtomicU64,
}

/// An RCU domain: its readers, its grace periods and its deferred callbacks.
///
/// Cloning gives another handle to the same domain.
///
/// ```
/// use swapref::rcu::Rcu;
///
/// let rcu = Rcu::new();
/// let reader = rcu.register();
/// {
///     let _section = reader.read_lock();
///     // ... read RCU-protected data ...
/// }
/// rcu.synchronize(); // every section that began before this call has ended
/// ```
#[derive(Clone)]
pub struct Rcu {
    inner: Arc<Inner>,
}

impl fmt::Debug for Rcu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rcu")
            .field("flavor", &self.inner.flavor)
            .field("grace_periods", &self.grace_periods())
            .finish()
    }
}

impl Default for Rcu {
    fn default() -> Self {
        Self::new()
    }
}

/// Why [`Rcu::with_flavor`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlavorUnavailable(pub String);

impl fmt::Display for FlavorUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "membarrier RCU unavailable: {}", self.0)
    }
}

impl std::error::Error for FlavorUnavailable {}

impl Rcu {
    /// A domain with the best available flavour ([`Flavor::detect`]).
    pub fn new() -> Rcu {
        Self::build(Flavor::detect().0)
    }

    /// A domain with the given flavour; `Membarrier` fails where the kernel does not offer it.
    pub fn with_flavor(flavor: Flavor) -> Result<Rcu, FlavorUnavailable> {
        if flavor == Flavor::Membarrier {
            #[cfg(loom)]
            return Err(FlavorUnavailable("loom model".into()));
            #[cfg(not(loom))]
            membarrier::available().map_err(FlavorUnavailable)?;
        }
        Ok(Self::build(flavor))
    }

    fn build(flavor: Flavor) -> Rcu {
        Rcu {
            inner: Arc::new(Inner {
                gp: CachePadded::new(AtomicU64::new(1)),
                flavor,
                registry: Mutex::new(Registry {
                    records: Vec::new(),
                    free_records: Vec::new(),
                    free_slots: Vec::new(),
                    next_slot: 0,
                }),
                gp_lock: Mutex::new(()),
                calls: Mutex::new(Calls::default()),
                calls_cv: Condvar::new(),
                grace_periods: AtomicU64::new(0),
            }),
        }
    }

    /// The flavour this domain uses.
    pub fn flavor(&self) -> Flavor {
        self.inner.flavor
    }

    /// Whether two handles name the same domain.
    pub fn same_domain(&self, other: &Rcu) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Grace periods completed so far (by `synchronize` and by the callback worker).
    pub fn grace_periods(&self) -> u64 {
        // Relaxed: a statistic that publishes nothing; a caller that needs the exact count reads
        // it after the synchronize or barrier it waited for, which orders the increment.
        self.inner.grace_periods.load(Relaxed)
    }

    /// Reader records ever created: the number of "possible CPUs" a percpu sum walks.
    pub fn records(&self) -> usize {
        lock(&self.inner.registry).records.len()
    }

    /// Register the calling thread as a reader (`rcu_register_thread`). Keep the handle for the
    /// thread's lifetime and reuse it: registering takes a lock.
    pub fn register(&self) -> RcuReader {
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
        RcuReader {
            rcu: self.clone(),
            record,
            index,
            nest: Cell::new(0),
            flavor: self.inner.flavor,
        }
    }

    fn heavy_barrier(&self) {
        #[cfg(loom)]
        {
            // The loom model orders through RMWs on `ctr` and `gp`; a fence adds nothing there.
        }
        #[cfg(not(loom))]
        match self.inner.flavor {
            // A full barrier on every CPU running one of our threads: pairs with the readers'
            // light (compiler) barriers, at (A) and at (B) alike (module docs).
            Flavor::Membarrier => membarrier::heavy_barrier(),
            // At (A): pairs with the fence(SeqCst) in RcuReader::enter (the scan sees the ctr,
            // or the section sees the removal). At (B) the ordering rests on the readers'
            // Release ctr stores, read by the scan's Acquire loads; the fence stays (writer only).
            Flavor::Fence => fence(SeqCst),
        }
    }

    /// Wait until every read-side section that began before this call has ended
    /// (`synchronize_rcu`). Must not be called from inside a read-side section of this domain:
    /// it would wait for itself.
    pub fn synchronize(&self) {
        let inner = &*self.inner;
        let _one_at_a_time = lock(&inner.gp_lock);
        // (A): see the module docs. Orders the caller's removal before every section we will not
        // wait for, and publishes every ctr store made before it to the scan below.
        self.heavy_barrier();
        // Relaxed outside loom: readers only need *some* value; (A) orders the increment after
        // the removal. Under loom the AcqRel RMW is what carries the removal to a reader that
        // reads the new value.
        #[cfg(not(loom))]
        let target = inner.gp.fetch_add(1, Relaxed) + 1;
        #[cfg(loom)]
        let target = inner.gp.fetch_add(1, crate::sync::Ordering::AcqRel) + 1;
        // Scan a snapshot, not under the registry lock: a reader inside a section may take that
        // lock (register, PercpuRef::new, a release callback that does either), and we would wait
        // for it while it waits for us. A record created after the snapshot belongs to a thread
        // that registered after our barrier (A) (the lock orders it), so its sections see the
        // caller's removal and need no wait. Found by tests/loom.rs,
        // registering_inside_a_section_does_not_deadlock_a_grace_period.
        let records = lock(&inner.registry).records.clone();
        for rec in &records {
            let mut backoff = Backoff::new();
            loop {
                // Acquire: pairs with the Release ctr stores in RcuReader::{enter, exit}, so a
                // section seen finished happens-before what our caller does next (Fence flavour;
                // free on x86, and harmless next to membarrier).
                #[cfg(not(loom))]
                let v = rec.ctr.load(Acquire);
                // Under loom an RMW reads the latest ctr in modification order; it pairs with the
                // reader's AcqRel swap in `enter` (one of the two RMWs reads from the other).
                #[cfg(loom)]
                let v = rec.ctr.fetch_add(0, crate::sync::Ordering::AcqRel);
                if v == 0 || v >= target {
                    break;
                }
                backoff.snooze();
            }
        }
        // (B): orders every section seen ended before what the caller does next.
        self.heavy_barrier();
        // Relaxed: a statistic that publishes nothing (gp_lock, still held, serialises it).
        inner.grace_periods.fetch_add(1, Relaxed);
    }

    /// Run `f` after a grace period, on the domain's callback worker (`call_rcu`).
    pub fn call(&self, f: impl FnOnce() + Send + 'static) {
        let mut calls = lock(&self.inner.calls);
        calls.queue.push(Box::new(f));
        if calls.worker {
            self.inner.calls_cv.notify_one();
            return;
        }
        calls.worker = true;
        drop(calls);
        let rcu = self.clone();
        #[cfg(loom)]
        thread::spawn(move || rcu.callback_worker());
        #[cfg(not(loom))]
        thread::Builder::new()
            .name("swapref-call-rcu".into())
            .spawn(move || rcu.callback_worker())
            .expect("cannot spawn the call_rcu worker thread");
    }

    fn callback_worker(self) {
        loop {
            let batch = {
                let mut calls = lock(&self.inner.calls);
                #[cfg(not(loom))]
                if calls.queue.is_empty() {
                    calls = self
                        .inner
                        .calls_cv
                        .wait_timeout(calls, std::time::Duration::from_millis(50))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                if calls.queue.is_empty() {
                    calls.worker = false;
                    return;
                }
                std::mem::take(&mut calls.queue)
            };
            self.synchronize();
            for f in batch {
                f();
            }
        }
    }

    /// Wait until every callback queued by [`call`](Self::call) before this point has run
    /// (`rcu_barrier`).
    pub fn barrier(&self) {
        let done = Arc::new(Completion::new());
        let d = done.clone();
        self.call(move || d.complete());
        done.wait();
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

/// A registered reader thread of one [`Rcu`] domain (`rcu_register_thread` until drop).
///
/// `Send` (a reader may be handed to the thread that will use it) but not `Sync`: one thread
/// at a time enters sections and updates the percpu area.
pub struct RcuReader {
    rcu: Rcu,
    record: Arc<CachePadded<Record>>,
    index: usize,
    nest: Cell<u32>,
    // Unread under loom, whose read side has a single flavour (see `enter`).
    #[cfg_attr(loom, allow(dead_code))]
    flavor: Flavor,
}

impl fmt::Debug for RcuReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RcuReader")
            .field("index", &self.index)
            .field("nest", &self.nest.get())
            .finish()
    }
}

/// An RCU read-side section; it ends when the guard is dropped (`rcu_read_unlock`).
#[must_use = "the read-side section ends when the guard is dropped"]
pub struct RcuReadGuard<'r> {
    reader: &'r RcuReader,
}

impl Drop for RcuReadGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let n = self.reader.nest.get() - 1;
        self.reader.nest.set(n);
        if n == 0 {
            self.reader.exit();
        }
    }
}

impl RcuReader {
    /// Begin a read-side section (`rcu_read_lock`). Sections nest.
    #[inline]
    pub fn read_lock(&self) -> RcuReadGuard<'_> {
        let n = self.nest.get();
        if n == 0 {
            self.enter();
        }
        self.nest.set(n + 1);
        RcuReadGuard { reader: self }
    }

    /// Run `f` inside a read-side section, for this crate's own short sections (percpu_ref's
    /// fast paths). Unlike [`read_lock`](Self::read_lock) it never writes the nesting count:
    /// `f` must not open a section through this reader's `read_lock` (the count would not
    /// show ours), and a section already open around us keeps covering it. percpu_ref's
    /// release callback runs inside, as in the kernel; that is why it must not wait for a
    /// grace period. Keeping the count out of the fast path keeps a store-to-load chain through it out of
    /// every get and put.
    ///
    /// `f` gets this thread's record, already loaded: the compiler barriers of the section would
    /// otherwise force a reload of `self.record` after each of them.
    #[inline(always)]
    pub(crate) fn section<R>(&self, f: impl FnOnce(&Record) -> R) -> R {
        let rec: &Record = &self.record;
        // Loaded once, before the compiler barriers: `exit` (which branches on the flavour
        // off x86) then uses a register, not a reload forced by the barrier in `enter`.
        let flavor = self.flavor;
        let outer = self.nest.get() != 0;
        if !outer {
            self.enter_with(rec, flavor);
        }
        let r = f(rec);
        if !outer {
            self.exit_with(rec, flavor);
        }
        r
    }

    /// The domain this reader belongs to.
    pub fn domain(&self) -> &Rcu {
        &self.rcu
    }

    /// Whether the calling thread is inside a section of this reader.
    pub fn in_section(&self) -> bool {
        self.nest.get() > 0
    }

    #[inline(always)]
    fn enter(&self) {
        self.enter_with(&self.record, self.flavor)
    }

    #[inline(always)]
    #[cfg_attr(loom, allow(unused_variables))] // the loom model has one flavour
    fn enter_with(&self, rec: &Record, flavor: Flavor) {
        let ctr = &rec.ctr;
        #[cfg(loom)]
        {
            // Acquire: pairs with synchronize's AcqRel gp increment. AcqRel swap: pairs with the
            // scan's AcqRel fetch_add(0) (one RMW reads the other). The RMWs stand in for fences.
            let snap = self.rcu.inner.gp.load(Acquire);
            ctr.swap(snap, crate::sync::Ordering::AcqRel);
        }
        #[cfg(not(loom))]
        {
            // Relaxed: any value of gp will do; what orders this section after the ctr store is
            // the barrier below, and a snapshot read from a newer increment proves the section
            // began after the writer's barrier (A) (module docs).
            let snap = self.rcu.inner.gp.load(Relaxed);
            match flavor {
                Flavor::Membarrier => {
                    // Relaxed (plain store, liburcu memb's CMM_STORE_SHARED): the writer's
                    // membarrier at (A) and (B) runs a full barrier on this CPU, which orders this
                    // store and our earlier sections against its scan, as Release + fence would.
                    ctr.store(snap, Relaxed);
                    // Light barrier: stops the compiler only. The writer's membarrier at (A) and
                    // (B) of synchronize executes the matching full barrier on this CPU.
                    std::sync::atomic::compiler_fence(SeqCst);
                }
                Flavor::Fence => {
                    // Release: pairs with the Acquire scan in synchronize: a writer that reads
                    // this value also sees our previous sections' accesses (C++20 release
                    // sequences do not run through plain stores, so the Release of `exit` alone
                    // would not cover a writer that reads a later ctr).
                    ctr.store(snap, Release);
                    // Pairs with fence(SeqCst) at (A) in synchronize: either the writer's scan
                    // sees our ctr, or our section sees the writer's removal.
                    fence(SeqCst);
                }
            }
        }
    }

    #[inline(always)]
    fn exit(&self) {
        self.exit_with(&self.record, self.flavor)
    }

    #[inline(always)]
    #[cfg_attr(loom, allow(unused_variables))] // the loom model has one flavour
    fn exit_with(&self, rec: &Record, flavor: Flavor) {
        // On x86 (TSO) a store-release is the same plain `mov` as the membarrier flavour's
        // compiler fence + relaxed store, so both flavours use it and the exit needs no branch
        // on the flavour (2 instructions per section). Release: pairs with the Acquire scan in
        // synchronize (fence flavour); for the membarrier flavour it is at least as strong as
        // the light barrier it replaces, which the membarrier at (B) pairs with.
        #[cfg(all(not(loom), any(target_arch = "x86_64", target_arch = "x86")))]
        {
            let _ = flavor;
            rec.ctr.store(0, Release);
        }
        #[cfg(all(not(loom), not(any(target_arch = "x86_64", target_arch = "x86"))))]
        match flavor {
            Flavor::Membarrier => {
                // Light barrier, then a plain store (liburcu memb's CMM_STORE_SHARED): the
                // writer's membarrier at (B) of synchronize orders our section before what it
                // does next. No store-release: on arm64 that would be an `stlr` per section.
                std::sync::atomic::compiler_fence(SeqCst);
                rec.ctr.store(0, Relaxed);
            }
            // Release: pairs with the Acquire scan in synchronize, so our section's accesses
            // happen-before what the writer does after the grace period.
            Flavor::Fence => rec.ctr.store(0, Release),
        }
        // Under loom every write of ctr is an RMW, so that loom keeps them in one modification
        // order chain with the scan's RMWs: with a plain store loom lets the scan's
        // `fetch_add(0)` keep reading its own previous write, and a kill never finishes (a
        // livelock of the model, not of the code). Release only: an Acquire would hand the
        // reader the writer's history at section exit, which the real flavours do not.
        #[cfg(loom)]
        rec.ctr.swap(0, Release);
    }

    /// This thread's counter for percpu slot `slot` (`this_cpu_ptr`).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn this_cpu(&self, slot: usize) -> &AtomicUsize {
        &self.record.area[slot]
    }
}

impl Drop for RcuReader {
    fn drop(&mut self) {
        debug_assert_eq!(self.nest.get(), 0, "RcuReader dropped inside a section");
        lock(&self.rcu.inner.registry).free_records.push(self.index);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64 as StdU64};

    fn flavors() -> Vec<Rcu> {
        let mut v = vec![Rcu::with_flavor(Flavor::Fence).unwrap()];
        if let Ok(r) = Rcu::with_flavor(Flavor::Membarrier) {
            v.push(r);
        }
        v
    }

    #[test]
    fn synchronize_waits_for_a_section_that_began_before_it() {
        for rcu in flavors() {
            let in_section = Arc::new(AtomicBool::new(false));
            let left = Arc::new(AtomicBool::new(false));
            let (r2, in2, left2) = (rcu.clone(), in_section.clone(), left.clone());
            let t = std::thread::spawn(move || {
                let reader = r2.register();
                let g = reader.read_lock();
                // SeqCst (Release would do): tells the main thread the section has begun.
                in2.store(true, SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(if cfg!(miri) {
                    1
                } else {
                    50
                }));
                // SeqCst, but inside the section: only the grace period may order it before the
                // check below.
                left2.store(true, SeqCst);
                drop(g);
            });
            // SeqCst (Acquire would do): pairs with `in2.store`, so synchronize starts while
            // the reader is inside its section.
            while !in_section.load(SeqCst) {
                std::thread::yield_now();
            }
            rcu.synchronize();
            // SeqCst does not wait: had synchronize not waited for the section (the reader
            // sleeps in it), `left` would still read false.
            assert!(
                left.load(SeqCst),
                "{}: grace period ended before the section",
                rcu.flavor()
            );
            t.join().unwrap();
        }
    }

    #[test]
    fn nested_sections_hold_the_grace_period_until_the_outermost_ends() {
        let rcu = Rcu::with_flavor(Flavor::Fence).unwrap();
        let reader = rcu.register();
        let outer = reader.read_lock();
        let inner = reader.read_lock();
        drop(inner);
        assert!(reader.in_section());
        drop(outer);
        assert!(!reader.in_section());
        rcu.synchronize();
        assert_eq!(rcu.grace_periods(), 1);
    }

    #[test]
    fn callbacks_run_after_a_grace_period_and_barrier_waits_for_them() {
        for rcu in flavors() {
            let ran = Arc::new(StdU64::new(0));
            for _ in 0..3 {
                let r = ran.clone();
                rcu.call(move || {
                    r.fetch_add(1, SeqCst);
                });
            }
            rcu.barrier();
            // SeqCst, here and in the callbacks, is more than needed: the completion that
            // barrier() waits for orders every callback before this load.
            assert_eq!(ran.load(SeqCst), 3);
            assert!(rcu.grace_periods() >= 1);
        }
    }

    #[test]
    fn records_are_reused_and_keep_their_counts() {
        let rcu = Rcu::with_flavor(Flavor::Fence).unwrap();
        let slot = rcu.alloc_slot().unwrap();
        let a = rcu.register();
        // Relaxed, here and below: one thread; the registry lock orders the handover to `b`.
        a.this_cpu(slot).store(5, Relaxed);
        drop(a);
        let b = rcu.register();
        assert_eq!(
            rcu.records(),
            1,
            "the freed record is handed to the next thread"
        );
        assert_eq!(b.this_cpu(slot).load(Relaxed), 5);
        assert_eq!(rcu.sum_slot(slot), 5);
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let rcu = Rcu::with_flavor(Flavor::Fence).unwrap();
        let slots: Vec<_> = (0..PERCPU_SLOTS)
            .map(|_| rcu.alloc_slot().unwrap())
            .collect();
        assert_eq!(rcu.alloc_slot(), None);
        rcu.free_slot(slots[3]);
        assert_eq!(rcu.alloc_slot(), Some(slots[3]));
    }

    /// A writer-side removal is seen by every section that begins after synchronize returns,
    /// and no section that began before it is still running: checked with a value that the
    /// writer "frees" (sets to a poison) only after the grace period.
    #[test]
    fn removal_then_grace_period_then_free_is_never_observed_by_a_reader() {
        const POISON: u64 = u64::MAX;
        let rounds = if cfg!(miri) { 20 } else { 2000 };
        for rcu in flavors() {
            let slots: Arc<[StdU64; 2]> = Arc::new([StdU64::new(1), StdU64::new(POISON)]);
            let current = Arc::new(AtomicUsize::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let (rcu, slots, current, stop) =
                        (rcu.clone(), slots.clone(), current.clone(), stop.clone());
                    std::thread::spawn(move || {
                        let reader = rcu.register();
                        let mut bad = 0u64;
                        // Relaxed: a stop flag that carries no data; `bad` travels through join().
                        while !stop.load(Relaxed) {
                            let _g = reader.read_lock();
                            // Acquire: pairs with the writer's Release store of `current`.
                            let i = current.load(Acquire);
                            // Relaxed: what orders it before the poisoning is the grace period
                            // under test.
                            if slots[i].load(Relaxed) == POISON {
                                bad += 1;
                            }
                        }
                        bad
                    })
                })
                .collect();
            for round in 0..rounds {
                let old = round % 2;
                let new = 1 - old;
                // Relaxed, then Release: the Release store of `current` publishes slots[new]
                // to the readers' Acquire load.
                slots[new].store(round as u64 + 2, Relaxed);
                current.store(new, Release);
                rcu.synchronize();
                // Relaxed: the grace period just waited for must order it after every reader
                // of `old` (the property under test).
                slots[old].store(POISON, Relaxed);
            }
            // Relaxed: a stop flag that carries no data; results travel through join().
            stop.store(true, Relaxed);
            let bad: u64 = readers.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(bad, 0, "{}: a reader saw a freed slot", rcu.flavor());
        }
    }
}
