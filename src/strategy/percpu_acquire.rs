//! `percpu-acquire`: the v5.14 swap design with `percpu_ref_tryget_live()` made an ACQUIRE
//! operation, as Huang Ying's RFC "percpu_ref: Make percpu_ref_tryget*() ACQUIRE operations"
//! proposed in the seed thread.
//!
//! Reader cost: the RCU read-side section of the flavour (nothing under `qsbr`; two plain
//! stores, a load of the grace-period counter and a test of the wake flag under `membarrier`),
//! an `Acquire` load of the mode word (a plain `mov` on x86-64, `ldar`/`ldapr` on arm64), a
//! plain increment of the thread's own counter; the put mirrors it without the acquire.
//! swapoff cost: see `percpu.rs` (the shared device): kill, one shared grace period, the wait
//! for the last put.

use super::percpu::{LiveCheck, Percpu};
use crate::percpu_ref::{Counters, PerThread, PercpuRef};
use crate::rcu::Flavor;

/// The ACQUIRE live check.
pub struct Acquire;

impl LiveCheck for Acquire {
    const NAME: &'static str = "percpu-acquire";
    const SUMMARY: &'static str =
        "percpu_ref in swap_info, tryget_live as an ACQUIRE load (RFC in the seed thread)";
    #[inline(always)]
    fn tryget_live<F: Flavor, C: Counters<F>>(users: &PercpuRef<F, C>, r: &C::Reader) -> bool {
        users.tryget_live_acquire(r)
    }
}

/// The `percpu-acquire` strategy, over RCU flavour `F`, counting with backend `C` (per-thread by
/// default; `--percpu` picks).
pub type PercpuAcquire<F, C = PerThread> = Percpu<Acquire, F, C>;
