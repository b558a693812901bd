//! `rwlock`: a reader-writer lock around each device, refscale's `rwlock`.
//!
//! Reader cost: `read()` and its unlock are one atomic RMW each on the lock word, which every
//! reader of the device writes (std's futex-based `RwLock`).
//! swapoff cost: `write()`, which waits for the readers in and keeps new ones out (std's lock
//! prefers writers), then the map is taken.

use super::{Strategy, StrategyConfig, StrategyError, slots};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
use crossbeam_utils::CachePadded;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::{Arc, RwLock, RwLockReadGuard};

/// `swap_info[]` with one `RwLock` per slot.
pub struct RwLockStrategy {
    slots: [CachePadded<RwLock<Option<Arc<SwapMap>>>>; MAX_SWAPFILES],
}

/// A read lock on a device that is on.
pub struct RwLockGuard<'r> {
    _guard: RwLockReadGuard<'r, Option<Arc<SwapMap>>>,
    map: NonNull<SwapMap>,
}

impl Deref for RwLockGuard<'_> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        // SAFETY: the read lock keeps the writer from replacing the Arc `map` points into.
        unsafe { self.map.as_ref() }
    }
}

impl crate::strategy::sealed::Sealed for RwLockStrategy {}

impl Strategy for RwLockStrategy {
    const NAME: &'static str = "rwlock";
    const SUMMARY: &'static str = "a reader-writer lock around each device (refscale's rwlock)";
    type Reader = ();
    type Guard<'r> = RwLockGuard<'r>;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(RwLockStrategy {
            slots: slots(|_| CachePadded::new(RwLock::new(None))),
        })
    }

    fn reader(&self) {}

    #[inline]
    fn get<'r>(&'r self, _: &'r mut (), ty: usize) -> Option<RwLockGuard<'r>> {
        let guard = self.slots[ty].read().unwrap_or_else(|e| e.into_inner());
        let map = NonNull::from(guard.as_deref()?);
        Some(RwLockGuard { _guard: guard, map })
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        *self.slots[ty].write().unwrap_or_else(|e| e.into_inner()) = Some(map);
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        self.slots[ty]
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("the table unpublishes only slots that are on")
    }

    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<RwLock<Option<Arc<SwapMap>>>>>()
    }
}
