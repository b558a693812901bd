//! A one-shot completion, like the kernel's `struct completion` as swap uses it:
//! `complete()` in the percpu_ref release callback, `wait_for_completion()` in swapoff,
//! `reinit_completion()` before the next swapon.
//!
//! Unlike the kernel's counting completion this is a latch: `complete` sets it, every waiter
//! returns until `reinit` clears it. That is all swap needs (one waiter per cycle).

use crate::sync::{Mutex, WaitQueue, lock};

/// A latch that threads can wait on until another thread completes it.
///
/// ```
/// use std::sync::Arc;
/// use swapref::completion::Completion;
///
/// let done = Arc::new(Completion::new());
/// let d = done.clone();
/// let t = std::thread::spawn(move || d.complete());
/// done.wait();
/// assert!(done.is_done());
/// t.join().unwrap();
/// ```
#[derive(Debug, Default)]
pub struct Completion {
    done: Mutex<bool>,
    cv: WaitQueue,
}

impl Completion {
    /// A completion that has not completed (`init_completion`).
    pub fn new() -> Self {
        Completion {
            done: Mutex::new(false),
            cv: WaitQueue::new(),
        }
    }

    /// Mark done and wake every waiter (`complete_all`). The mutex orders everything the caller
    /// did before `complete` before everything a waiter does after `wait` returns.
    pub fn complete(&self) {
        *lock(&self.done) = true;
        self.cv.notify_all();
    }

    /// Block until [`complete`](Self::complete) has been called (`wait_for_completion`).
    pub fn wait(&self) {
        let mut g = lock(&self.done);
        while !*g {
            g = self.cv.wait(g);
        }
    }

    /// Like [`wait`](Self::wait) with a limit; returns whether it completed. Watchdogs use this.
    #[cfg(not(loom))]
    pub fn wait_timeout(&self, limit: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut g = lock(&self.done);
        while !*g {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            g = self.cv.wait_timeout(g, deadline - now);
        }
        true
    }

    /// Whether it has completed, without blocking (`completion_done`).
    pub fn is_done(&self) -> bool {
        *lock(&self.done)
    }

    /// Make it wait again (`reinit_completion`). Only call when no thread is waiting.
    pub fn reinit(&self) {
        *lock(&self.done) = false;
    }
}
