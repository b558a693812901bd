//! Grace periods: shared between concurrent waiters (`rcu_seq_snap()` / `rcu_seq_done()`), run
//! by whichever waiter finds none in progress, waiting for each reader with a short spin and
//! then a park that the reader ends. And `call_rcu()` / `rcu_barrier()` on top.

use super::{Callback, Flavor, GpWord, Rcu};
use crate::completion::Completion;
use crate::sync::{
    Arc, Deadline,
    Ordering::{Relaxed, Release},
    Parker, TIMED_WAITS, lock, rcu_ctr_scan, rcu_gp_advance, run_catching, spawn_named, spin,
};
use std::time::Duration;

/// How many times the driver re-reads a reader's `ctr` before it sleeps on it: a few
/// microseconds, about what a `qsbr` reader of the driver takes between two quiescent states.
const SPINS: u32 = 256;

/// The longest a driver sleeps before it looks again without being woken: a safety net (every
/// wake-up is lossless, see the module docs), not the mechanism.
pub(super) const PARK_LIMIT: Duration = Duration::from_millis(10);

/// How long the callback worker lets a `synchronize` caller start the grace period its callbacks
/// need before it starts one itself (the kernel's call_rcu grace periods start lazily too), and
/// how often an idle worker looks at the queue: `call` does not wake it. Zero under loom.
const LAZY: Duration = Duration::from_millis(if TIMED_WAITS { 1 } else { 0 });

/// The longest an idle worker sleeps between two looks at the queue: each look that finds it
/// empty doubles the sleep from [`LAZY`] up to this, so a worker whose callbacks `synchronize`
/// callers run (swapoff's kill) wakes rarely. A callback queued with no `synchronize` to follow
/// waits at most this long, plus a grace period, for the worker to notice it.
const MAX_TICK: Duration = Duration::from_millis(16);

/// How long the worker stays while no callback is queued at all before it exits. Zero under
/// loom: the worker leaves as soon as the queue is empty.
const WORKER_IDLE: Duration = Duration::from_millis(if TIMED_WAITS { 50 } else { 0 });

/// `rcu_seq_snap()` with one state bit: the sequence value at which a grace period that begins
/// after now will have ended.
fn seq_snap(s: u64) -> u64 {
    (s + 3) & !1
}

impl<F: Flavor> Rcu<F> {
    /// Wait until every read-side section that began before this call has ended
    /// (`synchronize_rcu`), sharing the grace period with concurrent callers and with queued
    /// callbacks. Must not be called from inside a section of this domain, nor, under `qsbr`,
    /// by a thread whose own reader is online: it would wait for itself (use
    /// [`RcuReader::offline`](super::RcuReader::offline)).
    ///
    /// A caller that runs the grace period also runs, on its own thread before it returns, the
    /// queued callbacks that grace period made due ([`call`](Self::call)'s, percpu_ref's switch
    /// to atomic mode and the release that may follow): so it must not hold a lock that one of
    /// them takes. (The kernel runs them from softirq or its `rcuo` threads instead; here that
    /// saves swapoff a thread wake-up.)
    pub fn synchronize(&self) {
        let target = self.snap();
        if self.wait_for_gp(target) {
            // We ran the grace period: run the callbacks it made due here and now, rather than
            // wake the worker for them (percpu_ref's kill then confirms as soon as swapoff's own
            // grace period ends). So a caller must not hold a lock a callback takes (above).
            self.run_due_callbacks();
        }
    }

    /// The sequence number whose grace period this caller needs.
    fn snap(&self) -> u64 {
        seq_snap(*lock(&self.inner.seq))
    }

    /// Return once the grace-period sequence has reached `target`, running grace periods when
    /// none is in progress and sleeping until the current one ends otherwise. Returns whether
    /// this caller ran one.
    fn wait_for_gp(&self, target: u64) -> bool {
        self.wait_for_gp_after(target, Duration::ZERO)
    }

    /// [`wait_for_gp`](Self::wait_for_gp), but let another caller start the grace period for up
    /// to `lazy` before running it ourselves (the callback worker's way: a `synchronize` that
    /// follows a `call` at once then runs the one grace period both need, instead of finding
    /// the worker's already in progress and needing the next). Under loom, not lazy.
    fn wait_for_gp_after(&self, target: u64, lazy: Duration) -> bool {
        let inner = &*self.inner;
        let mut ran = false;
        let deadline = Deadline::after(lazy);
        let mut seq = lock(&inner.seq);
        loop {
            if *seq >= target {
                // The lock orders the driver's barrier (B) before our return.
                return ran;
            }
            if *seq & 1 == 0
                && let Some(left) = deadline.remaining()
            {
                seq = inner.seq_cv.wait_timeout(seq, left);
                continue;
            }
            if *seq & 1 == 0 {
                // None in progress: we run it. The lock orders every caller's removal that took
                // a snapshot before this point before our barrier (A).
                *seq += 1;
                drop(seq);
                self.one_grace_period();
                ran = true;
                seq = lock(&inner.seq);
                *seq += 1;
                inner.seq_cv.notify_all();
            } else {
                seq = inner.seq_cv.wait(seq);
            }
        }
    }

    /// One grace period: barrier (A), advance `gp`, wait for every record, barrier (B).
    fn one_grace_period(&self) {
        let inner = &*self.inner;
        // Relaxed: set once by a test before the threads it tortures start.
        if inner.broken.load(Relaxed) {
            return;
        }
        // (A): see the module docs. Orders the callers' removals before every section we will
        // not wait for, and publishes every ctr store made before it to the scan below.
        F::heavy_barrier();
        let target = rcu_gp_advance(&inner.gp);
        // Scan a snapshot, not under the registry lock: a reader inside a section may take that
        // lock (register, PercpuRef::new, a release callback that does either), and we would wait
        // for it while it waits for us. A record created after the snapshot belongs to a thread
        // that registered after our barrier (A) (the lock orders it), so its sections see the
        // removal and need no wait.
        let records = lock(&inner.registry).records.clone();
        for rec in &records {
            self.wait_for_reader(&rec.gp, target);
        }
        // (B): orders every section seen ended before what the callers do next.
        F::heavy_barrier();
        // Relaxed: a statistic that publishes nothing (the sequence lock orders it for callers).
        inner.grace_periods.fetch_add(1, Relaxed);
    }

    /// Wait until the reader of `w` no longer holds up the grace period ending at `target`
    /// (neither its `ctr` nor its fast-path word): spin, then sleep until it wakes us.
    fn wait_for_reader(&self, w: &GpWord, target: u64) {
        let held = |v: u64| v != 0 && v < target;
        let holds = |w: &GpWord| held(rcu_ctr_scan(&w.ctr)) || held(rcu_ctr_scan(&w.fast));
        let mut spins = 0;
        while holds(w) {
            if spins < SPINS || !Parker::CAN_PARK {
                spins += 1;
                spin();
                continue;
            }
            self.inner.driver.enlist();
            // Release: publishes the enlistment to the reader's Acquire swap of the flag.
            w.wake.store(true, Release);
            // Pairs with the reader's barrier between its ctr store and its load of the flag:
            // either it sees the flag (and wakes us) or we see its store now.
            F::heavy_barrier();
            if holds(w) {
                // Relaxed: a setting, see `set_park_limit_for_tests`.
                let limit = Duration::from_nanos(self.inner.park_limit_ns.load(Relaxed));
                Parker::park(limit);
            }
            // Relaxed: only we set it; a reader that took it already cleared it.
            w.wake.store(false, Relaxed);
        }
    }

    /// Run `f` after a grace period, on the domain's callback worker (`call_rcu`). The grace
    /// period is the first that begins after this call; concurrent `synchronize` callers share
    /// it.
    ///
    /// Lazy: a running worker is not woken; it looks at the queue 1 to 16 ms apart
    /// (`LAZY` doubling to `MAX_TICK`), and a `synchronize` that ends the grace period runs
    /// the callback sooner. Waking it would cost the caller a futex wake-up and, on a busy
    /// machine, the CPU it runs on: percpu_ref's kill (swapoff's first step) took 2-30 µs that
    /// way on the 2-CPU VM, before its `synchronize_rcu()` had begun.
    ///
    /// If the worker cannot be started (the process is out of threads), `call` still returns:
    /// the callback waits for the next grace period that a [`synchronize`](Self::synchronize)
    /// or [`barrier`](Self::barrier) caller runs, or for a later `call` that starts the worker;
    /// stderr says so, once per domain. Until then a waiter that runs no grace period itself
    /// (`PercpuRef::switch_to_atomic_sync`, a wait for a kill's release) waits for one.
    pub fn call(&self, f: impl FnOnce() + Send + 'static) {
        self.queue(Callback::boxed(f))
    }

    /// [`call`](Self::call) of a callback as it is (with an embedded head: no allocation).
    pub(crate) fn call_callback(&self, f: Callback) {
        self.queue(f)
    }

    /// `call`: queue `f` behind the next grace period, and start the worker if none runs.
    fn queue(&self, f: Callback) {
        let target = self.snap();
        let mut calls = lock(&self.inner.calls);
        calls.queue.push((target, f));
        calls.queued += 1;
        if calls.worker {
            return;
        }
        calls.worker = true;
        drop(calls);
        let rcu = self.clone();
        // Relaxed: a test hook, set before the calls it is for (see `refuse_worker`).
        let spawned = if self.inner.refuse_worker.load(Relaxed) {
            Err(std::io::Error::other("refused by a test hook"))
        } else {
            spawn_named("swapref-call-rcu", move || rcu.callback_worker())
        };
        if let Err(e) = spawned {
            // Not a panic: `call` runs under percpu_ref's switch lock, midway through a kill,
            // and a panic there would lose the kill's put. The callback stays queued.
            let first = {
                let mut calls = lock(&self.inner.calls);
                calls.worker = false;
                !std::mem::replace(&mut calls.spawn_failed, true)
            };
            if first {
                eprintln!(
                    "swapref: cannot start the call_rcu worker ({e}); callbacks now wait for \
                     a grace period that synchronize() or barrier() runs"
                );
            }
        }
    }

    /// Take the queued callbacks whose grace period has ended and run them (each exactly once:
    /// the worker and every grace-period driver take them under the same lock).
    ///
    /// Allocates nothing in the steady state: the due callbacks move, in queue order, into the
    /// `spare` buffer (the queue keeps its capacity), which is handed back empty afterwards.
    /// The kernel's callback lists are linked through the `rcu_head`s and allocate nothing
    /// either. On swapoff's path each allocation and free is a cache line or two that the
    /// swapper finds cold after sleeping through its period.
    fn run_due_callbacks(&self) {
        let done = *lock(&self.inner.seq);
        let mut due = {
            let mut calls = lock(&self.inner.calls);
            // Nothing due: the common case for a grace-period driver, and the only one for
            // strategies that queue no callback (`rcu-valid`); one test and no more.
            if !calls.queue.iter().any(|(t, _)| *t <= done) {
                return;
            }
            // Empty, with the capacity of the largest batch so far (none if another runner has it).
            let mut due = std::mem::take(&mut calls.spare);
            due.extend(
                calls
                    .queue
                    .extract_if(.., |(t, _)| *t <= done)
                    .map(|(_, f)| f),
            );
            calls.in_flight += due.len();
            due
        };
        let n = due.len();
        for f in due.drain(..) {
            if run_catching(|| f.run()) {
                // Relaxed: a statistic (see `callback_panics`).
                self.inner.callback_panics.fetch_add(1, Relaxed);
            }
        }
        let mut calls = lock(&self.inner.calls);
        calls.in_flight -= n;
        if calls.in_flight == 0 {
            self.inner.idle_cv.notify_all();
        }
        if calls.spare.capacity() < due.capacity() {
            calls.spare = due;
        }
    }

    fn callback_worker(self) {
        loop {
            let target = {
                let mut calls = lock(&self.inner.calls);
                // A `call` does not wake us: look after LAZY, then ever less often (to MAX_TICK)
                // while the queue stays empty; leave after WORKER_IDLE without any `call`.
                let (mut tick, mut idle, mut seen) = (LAZY, Duration::ZERO, calls.queued);
                while calls.queue.is_empty() && idle < WORKER_IDLE {
                    calls = self.inner.calls_cv.wait_timeout(calls, tick);
                    if calls.queued == seen {
                        idle += tick;
                    } else {
                        (seen, idle) = (calls.queued, Duration::ZERO);
                    }
                    tick = (tick * 2).min(MAX_TICK);
                }
                // Under the lock: a `call` that finds `worker` still set has queued before this
                // look, so its callback is not stranded.
                if calls.queue.is_empty() {
                    calls.worker = false;
                    return;
                }
                // The grace period the most recent snapshot names covers every queued callback.
                calls.queue.iter().map(|(t, _)| *t).max().unwrap_or(0)
            };
            // A driver that ends this grace period may run the callbacks first; whatever it left
            // is run here.
            self.wait_for_gp_after(target, LAZY);
            self.run_due_callbacks();
        }
    }

    /// Wait until every callback queued by [`call`](Self::call) before this point has run
    /// (`rcu_barrier`). Under `qsbr`, call it offline (it waits for a grace period). Not from a
    /// callback (it would wait for its own batch), nor holding a lock a callback takes (it runs
    /// due callbacks, as [`synchronize`](Self::synchronize) does).
    ///
    /// The barrier runs the grace period and the due callbacks itself, so it needs no worker.
    /// Its own callback runs after every callback queued before it has been taken
    /// from the queue (its grace period is the latest, and batches keep queue order); one taken
    /// in another runner's batch may still be running then, so `barrier` also waits until no
    /// batch is in flight. The kernel gets the same from invoking each CPU's callbacks in order
    /// on one thread. Under a steady stream of callbacks run concurrently, that wait can last
    /// until the stream pauses; callbacks must not block, so it does not last forever.
    pub fn barrier(&self) {
        let done = Arc::new(Completion::new());
        let d = done.clone();
        self.queue(Callback::boxed(move || d.complete()));
        // Our callback's grace period (run here, or shared with another caller's), then the due
        // callbacks, ours among them unless another runner took it: no need for the worker
        // (which may not run, see `call`).
        self.wait_for_gp(self.snap());
        self.run_due_callbacks();
        done.wait();
        let mut calls = lock(&self.inner.calls);
        while calls.in_flight > 0 {
            calls = self.inner.idle_cv.wait(calls);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::seq_snap;

    /// rcu_seq_snap: from idle, the next grace period; from one in progress, the one after it.
    #[test]
    fn a_snapshot_names_the_first_grace_period_that_begins_after_it() {
        assert_eq!(seq_snap(0), 2, "idle: the next one (1 -> 2)");
        assert_eq!(
            seq_snap(1),
            4,
            "in progress since 0: the one after it (3 -> 4)"
        );
        assert_eq!(seq_snap(2), 4);
        assert_eq!(seq_snap(7), 10);
    }
}
