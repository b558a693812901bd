//! The one place that picks between `std` and `loom` synchronisation primitives.
//!
//! Everything the proofs cover (`rcu`, `percpu_ref`, `completion`) takes its atomics, locks and
//! threads from here, so `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked versions without
//! touching the algorithms. Modules outside the proofs use `std` directly and are not compiled
//! under `cfg(loom)`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread;

/// Load an atomic that no other thread stores to concurrently: its only writer is the calling
/// thread, or every store to it is made under a lock the caller holds. Outside loom this is
/// `load(Relaxed)`, which then returns the latest value in modification order (coherence: every
/// store to it happens-before this load).
///
/// Under loom it is `unsync_load`, for two reasons. Loom checks the claim: a store that does not
/// happen-before the load is reported as a causality violation. And the load stays out of loom's
/// partial-order reduction, which keeps one "last access" per object: a plain `load` here, just
/// before the caller's own store, would replace another thread's earlier load of the same object
/// as that last access, and loom would never run the store before that other thread's load
/// (tokio-rs/loom#392, #166). For `percpu_ref` that hid every execution in which a reader sees
/// the ref made live.
#[inline(always)]
pub(crate) fn load_own(a: &AtomicUsize) -> usize {
    #[cfg(loom)]
    {
        // SAFETY: loom's `unsync_load` is `unsafe` because in real code an unsynchronised load
        // racing a store would be a data race; in loom it only reads the model's latest store and
        // panics (causality violation) if a store is concurrent, so no undefined behaviour is
        // possible. The caller's precondition (no concurrent store) is what makes it exact.
        unsafe { a.unsync_load() }
    }
    #[cfg(not(loom))]
    {
        // Relaxed: every store to `a` happens-before this load (precondition), so coherence alone
        // gives the latest value; there is nothing to synchronise with.
        a.load(Ordering::Relaxed)
    }
}

/// Lock a mutex, ignoring poisoning: every critical section in this crate leaves its data
/// consistent before anything in it can panic, so a poisoned lock carries no broken invariant.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wait on a condition variable, ignoring poisoning (see [`lock`]).
pub(crate) fn wait<'a, T>(cv: &Condvar, g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(g).unwrap_or_else(|e| e.into_inner())
}

/// Whether waits may time out. Loom has no clock: under loom every [`Deadline`] has passed and
/// the RCU's lazy and idle waits (`LAZY`, the worker's idle time) are zero, so it explores
/// their interleavings without the timing, and [`WaitQueue::wait_timeout`] is never reached.
pub(crate) const TIMED_WAITS: bool = !cfg!(loom);

/// A point in time to wait until (see [`TIMED_WAITS`]).
pub(crate) struct Deadline(#[cfg(not(loom))] std::time::Instant);

impl Deadline {
    /// `d` from now.
    #[inline]
    pub(crate) fn after(d: std::time::Duration) -> Deadline {
        #[cfg(not(loom))]
        return Deadline(std::time::Instant::now() + d);
        #[cfg(loom)]
        {
            let _ = d;
            Deadline()
        }
    }

    /// The time left, or `None` once it has passed. Compares before it subtracts: `synchronize`
    /// asks with a deadline that has always passed, and a subtraction there (`sub_timespec`)
    /// raised its instruction count past the gate's threshold.
    #[cfg(not(loom))]
    #[inline]
    pub(crate) fn remaining(&self) -> Option<std::time::Duration> {
        let now = std::time::Instant::now();
        (now < self.0).then(|| self.0 - now)
    }

    /// Under loom every deadline has passed.
    #[cfg(loom)]
    pub(crate) fn remaining(&self) -> Option<std::time::Duration> {
        None
    }
}

/// Threads [`spawn_named`] has started in this process (a statistic: the instruction-count
/// benches fail a bench during which the library started a thread).
#[cfg(not(loom))]
static SPAWNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many threads [`spawn_named`] has started in this process.
#[cfg(not(loom))]
pub(crate) fn spawned() -> usize {
    // Relaxed: a count read by the thread that would have done the spawning.
    SPAWNED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Start a named thread (loom's threads have no names), or say why the system refused.
pub(crate) fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    #[cfg(not(loom))]
    {
        thread::Builder::new().name(name.into()).spawn(f)?;
        // Relaxed: a statistic (see SPAWNED).
        SPAWNED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    #[cfg(loom)]
    {
        let _ = name;
        thread::spawn(f);
        Ok(())
    }
}

/// Run `f`; whether it panicked (the panic is caught). Under loom a panic is not caught: it
/// fails the model, which is what a model wants to hear.
///
/// The payload is dropped here, inside a catch of its own: a payload whose own drop panics
/// would otherwise unwind out of this function, past the bookkeeping its caller does next (the
/// callback runner's count of callbacks in flight, which `barrier` waits on). That panic's
/// payload is dropped the same way; after a few such rounds (a chain no real payload makes)
/// what is left is leaked rather than dropped, so this always returns.
pub(crate) fn run_catching(f: impl FnOnce()) -> bool {
    let Err(mut payload) = catch(f) else {
        return false;
    };
    for _ in 0..4 {
        match catch(move || drop(payload)) {
            Ok(()) => return true,
            Err(again) => payload = again,
        }
    }
    std::mem::forget(payload);
    true
}

/// Run `f`, catching a panic as its payload, for a caller that must finish some bookkeeping
/// before it lets the panic go on (`std::panic::resume_unwind`). Not caught under loom (see
/// [`run_catching`]).
pub(crate) fn catch(f: impl FnOnce()) -> Result<(), Box<dyn std::any::Any + Send>> {
    #[cfg(not(loom))]
    return std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    #[cfg(loom)]
    {
        f();
        Ok(())
    }
}

/// A condition variable that knows whether anyone waits on it, so a notify with no waiter
/// costs no system call: `std`'s futex condition variable always calls `futex(FUTEX_WAKE)`,
/// about a microsecond on the 2-CPU VM, and swapoff's path notifies three of them (the
/// grace-period sequence, the ref's switch, the completion) where usually nobody waits.
///
/// Used with one mutex, which every waiter holds around `wait` and every notifier holds while
/// it changes what the waiters test (it may notify after releasing it). The count is changed
/// only under that mutex, so `Relaxed` suffices: a waiter that counted itself before the
/// notifier's critical section is seen by the notifier (the mutex orders the count before the
/// notifier's later load); one that comes after that critical section sees the new state and
/// does not wait.
#[derive(Debug, Default)]
pub(crate) struct WaitQueue {
    cv: Condvar,
    waiters: AtomicUsize,
}

impl WaitQueue {
    pub(crate) fn new() -> WaitQueue {
        WaitQueue {
            cv: Condvar::new(),
            waiters: AtomicUsize::new(0),
        }
    }

    /// [`wait`] on this queue, counted.
    pub(crate) fn wait<'a, T>(&self, g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        // Relaxed: changed only under the caller's mutex (type docs).
        self.waiters.fetch_add(1, Ordering::Relaxed);
        let g = wait(&self.cv, g);
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        g
    }

    /// `Condvar::wait_timeout` on this queue, counted, ignoring poisoning. Not reached under
    /// loom ([`TIMED_WAITS`]).
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        g: MutexGuard<'a, T>,
        limit: std::time::Duration,
    ) -> MutexGuard<'a, T> {
        #[cfg(loom)]
        {
            let _ = (g, limit);
            unreachable!("no timed waits under loom (TIMED_WAITS)");
        }
        #[cfg(not(loom))]
        {
            // Relaxed: as in `wait`.
            self.waiters.fetch_add(1, Ordering::Relaxed);
            let g = self
                .cv
                .wait_timeout(g, limit)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            self.waiters.fetch_sub(1, Ordering::Relaxed);
            g
        }
    }

    /// Wake every waiter, if there is one.
    pub(crate) fn notify_all(&self) {
        // Relaxed: see the type docs.
        if self.waiters.load(Ordering::Relaxed) != 0 {
            self.cv.notify_all();
        }
    }
}

// ---- the RCU's loom switches ------------------------------------------------------------------
//
// Under loom the userspace RCU orders through read-modify-write operations on the readers'
// grace-period words instead of fences or membarrier (loom models `SeqCst` fences only in
// part): two RMWs on one location are totally ordered and the later reads from the earlier,
// which gives "the scan sees the reader's store, or the reader sees everything before the scan"
// directly. These helpers are that switch, so `rcu` itself has no `cfg(loom)` in its algorithm.
// See `src/rcu/mod.rs` ("Proofs") for what the loom model therefore does and does not cover.

/// A reader's store to its own grace-period word (`ctr`) that publishes what came before it:
/// section exit, quiescent state, offline. Outside loom `store(v, order)`; under loom
/// `swap(v, Release)`, one RMW chain with the scan's [`rcu_ctr_scan`] (Release only: an Acquire
/// would hand the reader the driver's history, which the real flavours do not).
#[inline(always)]
pub(crate) fn rcu_ctr_store(ctr: &AtomicU64, v: u64, order: Ordering) {
    #[cfg(loom)]
    {
        let _ = order;
        ctr.swap(v, Ordering::Release);
    }
    #[cfg(not(loom))]
    ctr.store(v, order);
}

/// A reader's store to its own `ctr` that begins something the grace period must either see or
/// be seen by (store buffering against the scan): section entry, coming online. Outside loom
/// `store(v, order)`, the flavour's barrier after it doing the rest; under loom
/// `swap(v, AcqRel)`: if the scan's RMW came first, the reader acquires what preceded the scan.
#[inline(always)]
pub(crate) fn rcu_ctr_begin(ctr: &AtomicU64, v: u64, order: Ordering) {
    #[cfg(loom)]
    {
        let _ = order;
        ctr.swap(v, Ordering::AcqRel);
    }
    #[cfg(not(loom))]
    ctr.store(v, order);
}

/// The grace-period driver's read of a reader's `ctr`. Outside loom `load(Acquire)`: pairs with
/// the reader's Release stores of `ctr`, so a section seen ended happens-before what the driver's
/// caller does next. Under loom `fetch_add(0, AcqRel)`, which reads the latest value in
/// modification order and pairs with the reader's RMWs.
#[inline(always)]
pub(crate) fn rcu_ctr_scan(ctr: &AtomicU64) -> u64 {
    #[cfg(loom)]
    return ctr.fetch_add(0, Ordering::AcqRel);
    #[cfg(not(loom))]
    ctr.load(Ordering::Acquire)
}

/// Advance the grace-period counter, returning the new value (the grace period's target).
/// Outside loom `Relaxed`: the heavy barrier before it orders it after the caller's removal.
/// Under loom `AcqRel`: the RMW is what carries the removal to a reader that reads the new value.
#[inline(always)]
pub(crate) fn rcu_gp_advance(gp: &AtomicU64) -> u64 {
    #[cfg(loom)]
    return gp.fetch_add(1, Ordering::AcqRel) + 1;
    #[cfg(not(loom))]
    // Relaxed: see above.
    return gp.fetch_add(1, Ordering::Relaxed) + 1;
}

/// A reader's snapshot of the grace-period counter at section entry (and when it comes online).
/// Outside loom `Relaxed`: any value will do, the flavour's barrier orders the section. Under
/// loom `Acquire`: with no barriers in the model, reading the advanced value must carry the
/// removal made before the advance (it pairs with [`rcu_gp_advance`]'s AcqRel).
#[inline(always)]
pub(crate) fn rcu_gp_snapshot(gp: &AtomicU64) -> u64 {
    #[cfg(loom)]
    return gp.load(Ordering::Acquire);
    #[cfg(not(loom))]
    return gp.load(Ordering::Relaxed);
}

/// A full fence outside loom; nothing under loom, whose RCU orders through the RMWs above.
#[inline(always)]
pub(crate) fn rcu_full_fence() {
    #[cfg(not(loom))]
    fence(Ordering::SeqCst);
}

/// One step of a wait loop that expects the other side within microseconds: a spin hint, or
/// under loom a yield (which tells the model checker this thread cannot progress on its own).
#[inline(always)]
pub(crate) fn spin() {
    #[cfg(loom)]
    thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

/// The grace-period driver as a thread a reader can wake (`wake_up_gp()` of liburcu). The driver
/// [`enlist`](Parker::enlist)s itself before it sleeps; a reader that finds its wake flag set
/// [`unpark`](Parker::unpark)s whoever is enlisted. Under loom there is no parking: the driver
/// yields instead (see [`Parker::CAN_PARK`]), so this holds nothing.
#[derive(Default)]
pub(crate) struct Parker {
    #[cfg(not(loom))]
    driver: std::sync::Mutex<Option<std::thread::Thread>>,
}

impl Parker {
    /// Whether the driver parks (outside loom) or yields (loom).
    pub(crate) const CAN_PARK: bool = !cfg!(loom);

    /// The calling thread is the one to wake.
    pub(crate) fn enlist(&self) {
        #[cfg(not(loom))]
        {
            *self.driver.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::thread::current());
        }
    }

    /// Wake the enlisted thread (a spurious wake-up if it is no longer waiting: harmless, it
    /// looks again).
    pub(crate) fn unpark(&self) {
        #[cfg(not(loom))]
        if let Some(t) = &*self.driver.lock().unwrap_or_else(|e| e.into_inner()) {
            t.unpark();
        }
    }

    /// Sleep until [`unpark`](Self::unpark), at most `limit` (a safety net: every wake-up is
    /// also a re-check). Under loom, a yield.
    pub(crate) fn park(limit: std::time::Duration) {
        #[cfg(loom)]
        {
            let _ = limit;
            thread::yield_now();
        }
        #[cfg(not(loom))]
        std::thread::park_timeout(limit);
    }
}
