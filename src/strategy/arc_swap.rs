//! `arc-swap`: RCU-style replacement, as Dennis Zhou suggested in the seed thread: swapon
//! publishes a freshly built device, swapoff unpublishes it and the old one is freed once its
//! last reader is gone. Built on the `arc-swap` crate (`ArcSwapOption`, default hybrid
//! strategy).
//!
//! Reader cost: `load()` takes one of a few per-thread *debt* slots (a store and a `SeqCst`
//! fence on the fast path, i.e. a locked instruction on x86-64) instead of touching the shared
//! count; dropping the guard clears the debt.
//! swapoff cost: `swap(None)` pays every reader's debt on the old value (`pay_all` walks all
//! threads' debt slots), then we wait for the strong count to fall to ours alone.

use super::{Strategy, StrategyConfig, StrategyError, slots};
use crate::swap::{MAX_SWAPFILES, SwapMap};
use arc_swap::{ArcSwapOption, Guard};
use crossbeam_utils::{Backoff, CachePadded};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{Ordering::Acquire, fence};

/// `swap_info[]` as one `ArcSwapOption` per slot.
pub struct ArcSwapStrategy {
    slots: [CachePadded<ArcSwapOption<SwapMap>>; MAX_SWAPFILES],
}

/// An arc-swap guard known to hold a device. It borrows the strategy like every other guard,
/// so it cannot outlive the table (whose drop would otherwise wait for it forever).
pub struct ArcSwapGuard<'r> {
    _guard: Guard<Option<Arc<SwapMap>>>,
    map: NonNull<SwapMap>,
    _table: std::marker::PhantomData<&'r ArcSwapStrategy>,
}

impl Deref for ArcSwapGuard<'_> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        // SAFETY: `map` points into the `Arc` that `_guard` keeps alive (by a debt the writer
        // must pay before it can drop its count, or by a full count).
        unsafe { self.map.as_ref() }
    }
}

impl Strategy for ArcSwapStrategy {
    const NAME: &'static str = "arc-swap";
    const SUMMARY: &'static str =
        "RCU-style replacement with the arc-swap crate: swapon publishes a new device";
    type Reader = ();
    type Guard<'r> = ArcSwapGuard<'r>;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(ArcSwapStrategy {
            slots: slots(|_| CachePadded::new(ArcSwapOption::empty())),
        })
    }

    fn reader(&self) {}

    #[inline]
    fn get<'r>(&'r self, _: &'r mut (), ty: usize) -> Option<ArcSwapGuard<'r>> {
        let guard = self.slots[ty].load();
        let map = NonNull::from(guard.as_deref()?);
        Some(ArcSwapGuard {
            _guard: guard,
            map,
            _table: std::marker::PhantomData,
        })
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        self.slots[ty].store(Some(map));
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        let old = self.slots[ty]
            .swap(None)
            .expect("the table unpublishes only slots that are on");
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
        std::mem::size_of::<CachePadded<ArcSwapOption<SwapMap>>>()
            + 2 * std::mem::size_of::<usize>()
    }
}
