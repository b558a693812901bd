//! `arc-swap`: RCU-style replacement, as Dennis Zhou suggested in the seed thread: swapon
//! publishes a freshly built device, swapoff unpublishes it and the old one is freed once its
//! last reader is gone. Built on the `arc-swap` crate (`ArcSwap`, default hybrid strategy).
//! A slot that is off holds a shared, empty sentinel map rather than `None` (`ArcSwapOption`):
//! the guard is then `arc_swap::Guard<Arc<_>>`, whose `Option` fits two registers, where
//! `ArcSwapOption`'s guard plus the map pointer made a 24-byte value that the table's offset
//! check copied through the stack with a 16-byte load of two 8-byte stores (a store-forwarding
//! stall). The `peers` bench group measures this path against arc-swap used directly
//! (`results/reference/vm-2cpu/peers.txt`).
//!
//! Reader cost: `load()` takes one of a few per-thread *debt* slots (a store and a `SeqCst`
//! fence on the fast path, i.e. a locked instruction on x86-64) instead of touching the shared
//! count; dropping the guard clears the debt.
//! swapoff cost: `swap(None)` pays every reader's debt on the old value (`pay_all` walks all
//! threads' debt slots), then we wait for the strong count to fall to ours alone.

use super::{Strategy, StrategyConfig, StrategyError, slots};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
use arc_swap::{ArcSwap, Guard};
use crossbeam_utils::{Backoff, CachePadded};
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{Ordering::Acquire, fence};

/// `swap_info[]` as one `ArcSwap` per slot; `off` in a slot means the device is off.
pub struct ArcSwapStrategy {
    slots: [CachePadded<ArcSwap<SwapMap>>; MAX_SWAPFILES],
    off: Arc<SwapMap>,
}

/// An arc-swap guard known to hold a device. It borrows the strategy like every other guard,
/// so it cannot outlive the table (whose drop would otherwise wait for it forever).
pub struct ArcSwapGuard<'r> {
    guard: Guard<Arc<SwapMap>>,
    _table: std::marker::PhantomData<&'r ArcSwapStrategy>,
}

impl Deref for ArcSwapGuard<'_> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        &self.guard
    }
}

impl crate::strategy::sealed::Sealed for ArcSwapStrategy {}

impl Strategy for ArcSwapStrategy {
    const NAME: &'static str = "arc-swap";
    const SUMMARY: &'static str =
        "RCU-style replacement with the arc-swap crate: swapon publishes a new device";
    type Reader = ();
    type Guard<'r> = ArcSwapGuard<'r>;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        let off = Arc::new(SwapMap::new(0, 0));
        Ok(ArcSwapStrategy {
            slots: slots(|_| CachePadded::new(ArcSwap::new(off.clone()))),
            off,
        })
    }

    fn reader(&self) {}

    #[inline]
    fn get<'r>(&'r self, _: &'r mut (), ty: usize) -> Option<ArcSwapGuard<'r>> {
        let guard = self.slots[ty].load();
        if Arc::ptr_eq(&guard, &self.off) {
            return None;
        }
        Some(ArcSwapGuard {
            guard,
            _table: std::marker::PhantomData,
        })
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        self.slots[ty].store(map);
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        let old = self.slots[ty].swap(self.off.clone());
        assert!(
            !Arc::ptr_eq(&old, &self.off),
            "the table unpublishes only slots that are on"
        );
        // After swap() every outstanding guard of `old` holds a real count (debts paid), so
        // the strong count is exactly 1 + readers still holding it.
        let backoff = Backoff::new();
        while Arc::strong_count(&old) != 1 {
            backoff.snooze();
        }
        // Acquire: strong_count is a Relaxed load; this pairs with the Release decrement of the
        // last reader's Arc drop, so its reads happen-before the poisoning. A reader that never
        // held a full count (its debt cleared before swap() could pay it) is ordered by
        // arc-swap's SeqCst debt protocol inside swap() (pay_all's SeqCst walk of the debt slots).
        fence(Acquire);
        old
    }

    fn device_bytes(&self) -> usize {
        // The slot plus the Arc header on the device (two counts).
        std::mem::size_of::<CachePadded<ArcSwap<SwapMap>>>()
            + 2 * std::mem::size_of::<usize>()
    }
}
