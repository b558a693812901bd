//! `rcu-valid`: the design of eb085574a752 ("mm, swap: fix race between swapoff and some swap
//! operations", 2019), replaced in v5.14 because readers could not sleep inside it.
//!
//! `get_swap_device()` = `rcu_read_lock()` + test `SWP_VALID`; `put_swap_device()` =
//! `rcu_read_unlock()`: the reference *is* the read-side section, held for the whole use.
//! swapon sets up the device, waits a grace period, then sets `SWP_VALID`; swapoff clears it,
//! then waits a grace period. The grace period in swapon is what lets readers test the flag
//! with a plain load: a reader that sees it set began its section after set-up was complete.
//!
//! Reader cost: one RCU section (nothing under `qsbr`; two plain stores, a load and a test of
//! the wake flag under `membarrier`), a domain check, one flag load, one map load.
//! swapoff cost: one grace period (under `membarrier`, two `membarrier()` calls plus a scan of
//! the readers; under `qsbr`, until every online reader has announced a quiescent state).

use super::{MapSlot, Strategy, StrategyConfig, StrategyError, slots};
use crate::rcu::{Domain, Flavor, RECORD_BYTES, Rcu, RcuReadGuard, RcuReader};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
use crossbeam_utils::CachePadded;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

#[derive(Default)]
struct SwapInfo {
    valid: AtomicBool,
    swap_map: MapSlot,
}

/// `swap_info[]` guarded by RCU and `SWP_VALID`, over RCU flavour `F`.
pub struct RcuValid<F: Flavor> {
    rcu: Rcu<F>,
    info: [CachePadded<SwapInfo>; MAX_SWAPFILES],
}

/// A read-side section with a valid device in it.
pub struct RcuValidGuard<'r, F: Flavor> {
    _section: RcuReadGuard<'r, F>,
    map: &'r SwapMap,
}

impl<F: Flavor> Deref for RcuValidGuard<'_, F> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        self.map
    }
}

impl<F: Flavor> crate::strategy::sealed::Sealed for RcuValid<F> {}

impl<F: Flavor> Strategy for RcuValid<F> {
    const NAME: &'static str = "rcu-valid";
    const SUMMARY: &'static str =
        "rcu_read_lock + SWP_VALID flag; grace period in swapon and swapoff (pre-v5.14)";
    const RCU: bool = true;
    type Reader = RcuReader<F>;
    type Guard<'r> = RcuValidGuard<'r, F>;

    fn new(cfg: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(RcuValid {
            rcu: cfg.rcu_domain::<F>()?,
            info: slots(|_| CachePadded::new(SwapInfo::default())),
        })
    }

    fn reader(&self) -> RcuReader<F> {
        self.rcu.register()
    }

    #[inline(always)]
    fn quiescent(reader: &mut RcuReader<F>) {
        reader.quiescent_state();
    }

    fn offline<R>(reader: &mut RcuReader<F>, f: impl FnOnce() -> R) -> R {
        reader.offline(f)
    }

    #[inline]
    fn get<'r>(&'r self, reader: &'r mut RcuReader<F>, ty: usize) -> Option<RcuValidGuard<'r, F>> {
        let si = &self.info[ty];
        // A reader of another domain would hold a section our grace periods never see.
        self.rcu.check_reader(reader);
        let section = reader.read_lock();
        // Relaxed: no barrier needed; swapon's grace period between set-up and this flag
        // orders the set-up before any section that can see the flag set.
        if !si.valid.load(Relaxed) {
            return None;
        }
        // SAFETY: (1) swapoff clears the flag and waits a grace period before taking the map,
        // and our section lasts as long as the guard; (2) see the flag load above.
        let Some(map) = (unsafe { si.swap_map.get() }) else {
            // SWP_VALID implies the map was set, with a correct grace period in swapon.
            super::live_without_map(Self::NAME, ty)
        };
        Some(RcuValidGuard {
            _section: section,
            map,
        })
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        let si = &self.info[ty];
        si.swap_map.set(map);
        // "Guarantee swap_map, cluster_info, etc. fields are valid between
        // get/put_swap_device() if SWP_VALID bit is set."
        self.rcu.synchronize();
        // Relaxed: ordered after the set-up by the grace period just waited for.
        si.valid.store(true, Relaxed);
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        let si = &self.info[ty];
        // Relaxed: the grace period below is what makes every reader see it.
        si.valid.store(false, Relaxed);
        self.rcu.synchronize();
        si.swap_map.take()
    }

    /// `swap_info` plus this device's share of the domain's reader records (`records ×
    /// RECORD_BYTES / MAX_SWAPFILES`, as for percpu).
    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<SwapInfo>>()
            + self.rcu.records() * RECORD_BYTES / MAX_SWAPFILES
    }

    fn rcu(&self) -> Option<&dyn Domain> {
        Some(&self.rcu)
    }
}
