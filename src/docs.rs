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
//! ## The userspace RCU is not the kernel's
//!
//! In a kernel built without `CONFIG_PREEMPT`, `rcu_read_lock()` is free: a read-side
//! section costs nothing at all. Userspace has no such thing; the membarrier flavour of
//! [`crate::rcu`] costs a nesting test, two loads for the grace-period counter and two plain
//! stores per section (liburcu's memb flavour costs the same), plus a branch on the flavour at
//! entry (on x86 both flavours end a section with the same store); percpu_ref's `get` and
//! `put` each open one: 16 of the 56 instructions the x86-64 percpu lookup executes (`results/codegen/`, README "The percpu
//! hot path, in numbers"). Restartable sequences (`rseq` critical sections aborted by
//! `MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ`) would remove them; swapref does not implement
//! them.
//!
//! ## Per-thread, not per-CPU, counters
//!
//! The kernel's `this_cpu_inc` updates the current CPU's counter with preemption implicitly
//! harmless (a single instruction). Userspace cannot do that without `rseq`, so percpu_ref's
//! counters are per registered reader thread. With one reader thread pinned per CPU — how
//! `swapref run` places them — the two are the same layout. A thread that exits hands its
//! record, counts included, to the next thread that registers.
//!
//! ## The `call_rcu` worker is not pinned
//!
//! percpu_ref's switch to atomic mode runs on the RCU domain's callback thread, which the
//! driver does not pin: during a percpu swapoff it may run on a reader's CPU even when the
//! results say the swapper has a CPU of its own. The kernel's `call_rcu` callbacks likewise
//! run wherever RCU schedules them.
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
