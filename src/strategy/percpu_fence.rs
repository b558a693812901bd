//! `percpu-fence`: swap as merged in v5.14 (63d8620ecf93) and still in 6.x:
//! `get_swap_device_info()` calls `percpu_ref_tryget_live()` and then `smp_rmb()`, "paired
//! with the spin_unlock() after setup_swap_info() in enable_swap_info()".
//!
//! Reader cost: as `percpu-acquire` but the mode word is loaded `Relaxed` and a
//! `fence(Acquire)` follows a successful check: nothing on x86-64 (TSO), `dmb ishld` on arm64.
//! swapoff cost: the same as `percpu-acquire`.

use super::percpu::{LiveCheck, Percpu};
use crate::percpu_ref::{Counters, PerThread, PercpuRef};
use crate::rcu::Flavor;

/// The relaxed live check followed by `smp_rmb()`.
pub struct Fence;

impl LiveCheck for Fence {
    const NAME: &'static str = "percpu-fence";
    const SUMMARY: &'static str =
        "percpu_ref in swap_info, relaxed tryget_live + smp_rmb() (merged in v5.14)";
    #[inline(always)]
    fn tryget_live<F: Flavor, C: Counters<F>>(users: &PercpuRef<F, C>, r: &C::Reader) -> bool {
        users.tryget_live_fence(r)
    }
}

/// The `percpu-fence` strategy, over RCU flavour `F`, counting with backend `C` (per-thread by
/// default; `--percpu` picks).
pub type PercpuFence<F, C = PerThread> = Percpu<Fence, F, C>;
