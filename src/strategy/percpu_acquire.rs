//! `percpu-acquire`: the v5.14 swap design with `percpu_ref_tryget_live()` made an ACQUIRE
//! operation, as Huang Ying's RFC "percpu_ref: Make percpu_ref_tryget*() ACQUIRE operations"
//! proposed in the seed thread.
//!
//! Reader cost: an RCU read-side section (two plain stores, one load of the grace-period
//! counter), an `Acquire` load of the mode word (a plain `mov` on x86-64, `ldar`/`ldapr` on
//! arm64), a plain increment of the thread's own counter; the put mirrors it without the
//! acquire. swapoff cost: see `percpu.rs` (the shared device): kill, a grace period,
//! the wait for the last put.

use super::percpu::{LiveCheck, Percpu};
use crate::percpu_ref::PercpuRef;
use crate::rcu::RcuReader;

/// The ACQUIRE live check.
pub struct Acquire;

impl LiveCheck for Acquire {
    const NAME: &'static str = "percpu-acquire";
    const SUMMARY: &'static str =
        "percpu_ref in swap_info, tryget_live as an ACQUIRE load (RFC in the seed thread)";
    #[inline]
    fn tryget_live(users: &PercpuRef, r: &RcuReader) -> bool {
        users.tryget_live_acquire(r)
    }
}

/// The `percpu-acquire` strategy.
pub type PercpuAcquire = Percpu<Acquire>;
