//! `atomic`: one shared atomic reference count per device, refscale's `refcnt`
//! (`atomic_inc` / `atomic_dec`), made safe for lookup with inc-not-zero / dec-and-test.
//!
//! The count holds one base reference while the device is on. A `DEAD` bit in the same word
//! is swapoff's kill: once set, inc-not-zero fails, so the drain is bounded even when readers
//! overlap without pause (plain inc-not-zero would let them keep the count above zero forever).
//!
//! Reader cost: a compare-and-swap loop and a `fetch_sub` on a cache line every reader writes:
//! two locked instructions uncontended, a cache-line transfer per operation once two CPUs
//! share it.
//! swapoff cost: one `fetch_or`, one `fetch_sub`, then a wait for the count to drain.

use super::{MapSlot, Strategy, StrategyConfig, StrategyError, slots};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
use crossbeam_utils::{Backoff, CachePadded};
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};

/// Set by swapoff: no new references.
pub(crate) const DEAD: usize = 1 << (usize::BITS - 1);

pub(crate) struct SwapInfo {
    pub(crate) users: AtomicUsize,
    pub(crate) swap_map: MapSlot,
}

impl Default for SwapInfo {
    fn default() -> Self {
        SwapInfo {
            users: AtomicUsize::new(DEAD),
            swap_map: MapSlot::default(),
        }
    }
}

/// `swap_info[]` guarded by one atomic count per device.
pub struct Atomic {
    pub(crate) info: [CachePadded<SwapInfo>; MAX_SWAPFILES],
}

/// A counted reference; dropping it decrements the count.
pub struct AtomicGuard<'r> {
    pub(crate) users: &'r AtomicUsize,
    pub(crate) map: &'r SwapMap,
}

impl Deref for AtomicGuard<'_> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        self.map
    }
}

impl Drop for AtomicGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // Release: pairs with swapoff's Acquire load that sees the count drained, so our reads
        // of the map happen-before it is poisoned.
        self.users.fetch_sub(1, Release);
    }
}

/// `atomic_inc_not_zero`, also failing once `DEAD` is set.
#[inline]
pub(crate) fn inc_not_zero_live(users: &AtomicUsize) -> bool {
    // Relaxed: only a first guess for the CAS below, whose success ordering does the work.
    let mut c = users.load(Relaxed);
    loop {
        if c == 0 || c & DEAD != 0 {
            return false;
        }
        // Acquire on success: pairs with the Release store of the base reference in publish,
        // so the map set before it is visible to us. Relaxed on failure: we only retry with the
        // value read, or give up without touching the map.
        match users.compare_exchange_weak(c, c + 1, Acquire, Relaxed) {
            Ok(_) => return true,
            Err(now) => c = now,
        }
    }
}

impl crate::strategy::sealed::Sealed for Atomic {}

impl Strategy for Atomic {
    const NAME: &'static str = "atomic";
    const SUMMARY: &'static str =
        "one shared atomic count per device: inc-not-zero / dec (refscale's refcnt)";
    type Reader = ();
    type Guard<'r> = AtomicGuard<'r>;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(Atomic {
            info: slots(|_| CachePadded::new(SwapInfo::default())),
        })
    }

    fn reader(&self) {}

    #[inline]
    fn get<'r>(&'r self, _: &'r mut (), ty: usize) -> Option<AtomicGuard<'r>> {
        let si = &self.info[ty];
        if !inc_not_zero_live(&si.users) {
            return None;
        }
        // SAFETY: (1) our count keeps swapoff from taking the map until the guard drops;
        // (2) the Acquire CAS pairs with the Release in publish, after the map was set.
        match unsafe { si.swap_map.get() } {
            Some(map) => Some(AtomicGuard {
                users: &si.users,
                map,
            }),
            None => super::live_without_map(Self::NAME, ty),
        }
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        let si = &self.info[ty];
        si.swap_map.set(map);
        // Release: publishes the map to the Acquire CAS of inc_not_zero_live. 1 = base ref.
        si.users.store(1, Release);
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        let si = &self.info[ty];
        // Relaxed: readers that miss DEAD still see a count >= 1 and take a reference we wait
        // for below; the bit only bounds how long new ones can arrive.
        si.users.fetch_or(DEAD, Relaxed);
        // AcqRel: drop the base reference; joins the chain of RMWs our Acquire load reads.
        si.users.fetch_sub(1, AcqRel);
        let backoff = Backoff::new();
        // Acquire: pairs with the readers' Release decrements.
        while si.users.load(Acquire) != DEAD {
            backoff.snooze();
        }
        si.swap_map.take()
    }

    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<SwapInfo>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a missing ACQUIRE looks like to a reader: the device is live but its map is not
    /// there. It must stop the reader, not pass as a failed lookup.
    #[test]
    #[should_panic(expected = "live but its swap_map is not set")]
    fn a_live_device_without_its_map_stops_the_reader() {
        let s = Atomic::new(&StrategyConfig::default()).unwrap();
        s.info[3].users.store(1, Relaxed); // live, but no publish: no map (Relaxed: one thread)
        let _ = s.get(&mut (), 3);
    }
}
