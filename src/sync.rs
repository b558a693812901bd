//! The one place that picks between `std` and `loom` synchronisation primitives.
//!
//! Everything the proofs cover (`rcu`, `percpu_ref`, `completion`) takes its atomics, locks and
//! threads from here, so `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked versions without
//! touching the algorithms. Modules outside the proofs use `std` directly and are not compiled
//! under `cfg(loom)`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
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

/// Back off inside a wait loop: spin briefly, then yield, then sleep. Under loom this is a plain
/// `yield_now`, which tells the model checker the thread cannot progress on its own.
pub(crate) struct Backoff {
    #[cfg(not(loom))]
    step: u32,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff {
            #[cfg(not(loom))]
            step: 0,
        }
    }

    pub(crate) fn snooze(&mut self) {
        #[cfg(loom)]
        thread::yield_now();
        #[cfg(not(loom))]
        {
            if self.step < 64 {
                std::hint::spin_loop();
            } else if self.step < 256 {
                thread::yield_now();
            } else {
                // A reader that is preempted inside its section (oversubscribed CPUs) can take a
                // scheduler tick to come back: sleeping lets it run on this CPU meanwhile.
                thread::sleep(std::time::Duration::from_micros(20));
            }
            self.step = self.step.saturating_add(1);
        }
    }
}
