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
