//! Documentation only: what swapref measures, what it does not, and the one invariant the
//! unsafe code rests on. No code lives here.
//!
//! # Limitations
//!
//! ## x86-64 cannot show the ordering bug
//!
//! The thread's question — does `tryget_live` need ACQUIRE? — has the same machine code for
//! all three variants on x86-64 (TSO): every load is an acquire. A stress test on x86 can
//! therefore never see the relaxed reader fail, and the `percpu-acquire` / `percpu-fence`
//! throughput difference can only show on weakly ordered machines (arm64, POWER). The ordering
//! claims are proven with loom and Miri instead (`tests/loom.rs`, `tests/miri_ordering.rs`),
//! and `results/codegen/` shows the instructions per architecture.
//!
//! ## Two kernel models of RCU, and what `qsbr` asks of readers
//!
//! [`crate::rcu`] has liburcu's three flavours. `qsbr` models the non-preemptible kernel
//! (`CONFIG_PREEMPT_NONE`/`VOLUNTARY`): `rcu_read_lock()` is empty, so percpu_ref's fast path
//! is the mode load, its test and the own-counter update, as in the kernel. The price moves to
//! the readers' threads, as it does in the kernel (a context switch is a quiescent state): a
//! `qsbr` reader must announce quiescent states ([`RcuReader::quiescent_state`], one load and a
//! compare) and go offline around every blocking wait ([`RcuReader::offline`]); a thread whose
//! reader is online and never announces holds every grace period up, and a thread that calls
//! `synchronize` with its own reader online waits for itself. swapref's readers announce where
//! they look at their stop flag (every 1024 lookups, fewer with `--hold`), so a `qsbr` grace
//! period lasts about one such batch of lookups per reader plus the wake-up of the driver: what
//! `swapoff p50` shows for `rcu-valid@qsbr`.
//!
//! Where the kernel and this model part: a kernel task that is preempted has passed a quiescent
//! state (the context switch), a userspace `qsbr` thread that is preempted has not; it stays
//! online and holds every grace period up until the scheduler runs it again. With more reader
//! threads than CPUs (`--oversubscribe`) a `qsbr` grace period therefore lasts scheduler
//! timeslices, milliseconds, and with a 1 ms period most lookups find the device off (try
//! `swapref run --oversubscribe --readers 4 --rcu qsbr,membarrier` on 2 CPUs). That is the model's limit (liburcu-qsbr's too), not a property of percpu_ref; compare
//! oversubscribed runs under `membarrier`, whose sections end before a preemption can matter
//! (a thread preempted inside one still holds the grace period up, as `PREEMPT_RCU` readers do).
//!
//! `membarrier` models `PREEMPT_RCU` (a nesting count per task): a section is a nesting test,
//! a load of the grace-period counter, two plain stores and a test of the wake flag, per
//! section; percpu_ref's `get` and `put` each open one. `fence` is the same with a full fence
//! at each end (urcu-mb). `auto` picks the model of the running kernel from its version string.
//!
//! [`RcuReader::quiescent_state`]: crate::rcu::RcuReader::quiescent_state
//! [`RcuReader::offline`]: crate::rcu::RcuReader::offline
//!
//! ## A reader belongs to one domain
//!
//! Every table has its own RCU domain. A reader of another domain is refused with a panic, in
//! release builds too (one compare of two pointers in cache, out-of-line panic): its sections
//! and counts would land in records this domain's grace periods and sums never look at, and
//! swapoff would free a map under it.
//!
//! ## Per-CPU counters need rseq; without it, per-thread counters
//!
//! The kernel's `this_cpu_inc` updates the current CPU's counter with preemption implicitly
//! harmless (a single instruction). Userspace gets the same from a restartable sequence
//! ([`crate::rseq`]): `--percpu cpu` (the default where it works) counts per CPU, as the
//! kernel does, in glibc's registered rseq area. Where rseq is unavailable — glibc older than
//! 2.35 or told not to register (`GLIBC_TUNABLES=glibc.pthread.rseq=0`), a seccomp filter or a
//! kernel that refuses it, a kernel without `MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ` (before
//! 5.10), Miri, loom, valgrind (which does not implement the `rseq` system call), an
//! architecture other than x86-64 and arm64 — `auto` falls back to counters per registered
//! reader thread and says why. With one reader thread pinned per CPU — how `swapref run` places
//! them — the two are the same layout; they differ in what a reader must do (register, and
//! under `qsbr` announce quiescent states), in what the kill waits for (a grace period, or a
//! membarrier), and in memory (per thread ever registered, or per possible CPU). A thread that
//! exits hands its record, counts included, to the next thread that registers.
//!
//! The section's arm64 code is compiled and listed by the nightly cross build only: nothing in
//! this project runs it.
//!
//! ## The `call_rcu` worker is not pinned
//!
//! percpu_ref's switch to atomic mode is a `call_rcu` callback. In swapoff it runs on the
//! swapper's own thread: the `synchronize_rcu()` that ends the shared grace period runs the
//! callbacks it made due. The domain's callback thread, which the driver does not pin, is
//! started by the first `call_rcu` and is not woken by later ones (it looks at its queue 1 to
//! 16 ms apart, `src/rcu/wait.rs`), so it rarely runs during a run; when it does, it may take a
//! reader's CPU even when the results say the swapper has a CPU of its own. The kernel's
//! `call_rcu` callbacks likewise run wherever RCU schedules them.
//!
//! ## `unprotected` refuses churn
//!
//! It is the floor: the lookup's loads with no protection. It cannot survive a swapoff, so
//! it is only ever measured without one.
//!
//! ## Timing on shared machines
//!
//! Only ratios measured in the same run are meaningful on a shared or virtualised machine.
//! Results carry their spread over repeats; `swapref compare` calls a change only when it is
//! larger than both a threshold and that spread.
//!
//! # Internal: the invariant the unsafe code rests on
//!
//! A device's map is reached through a raw pointer (`MapSlot`, the hazard slot, arc-swap's
//! debt-protected pointer) and dereferenced without a lifetime the compiler can check. Every
//! such dereference is sound for one reason: **a strategy's `unpublish` returns the map only
//! after no reader holds it and none can newly obtain it**. The torture checker tests exactly
//! that, and its negative control shows it would notice if a strategy broke it.
