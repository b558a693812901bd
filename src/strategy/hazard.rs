//! `hazard`: hazard pointers with the `haphazard` crate (a port of folly's hazptr). Each reader
//! thread owns one `HazardPointer`, reused for every lookup; the device is a freshly built
//! object per swapon, as in `arc-swap`.
//!
//! Reader cost: `protect` stores the pointer in the thread's hazard slot, issues a full
//! `SeqCst` fence (haphazard 0.1.8 has no membarrier-based light barrier), and re-reads the
//! slot to validate; release stores null.
//! swapoff cost: swap the pointer out, retire it, and call `eager_reclaim()` until it has been
//! reclaimed (each pass scans every hazard pointer of the domain) instead of waiting for
//! haphazard's 1000-object / 2 s threshold.

use super::{Strategy, StrategyConfig, StrategyError, slots};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
use crossbeam_utils::{Backoff, CachePadded};
use haphazard::{Domain, Global, HazardPointer};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{Ordering::Acquire, fence};

/// The device as haphazard holds it: an `Arc<SwapMap>` whose count the domain owns until it
/// reclaims the retired pointer.
pub struct ArcMap(Arc<SwapMap>);

impl Deref for ArcMap {
    type Target = SwapMap;
    fn deref(&self) -> &SwapMap {
        &self.0
    }
}

// SAFETY: haphazard's `Pointer` contract: (1) `Arc::into_raw` returns a pointer valid as `&T`
// (and uniquely aliased only in the sense haphazard needs: it never writes through it);
// (2) it stays valid until `from_raw` takes the count back; (3) `from_raw` is called once per
// `into_raw`, by the domain's reclamation, so the same count is never returned twice.
unsafe impl haphazard::raw::Pointer<SwapMap> for ArcMap {
    fn into_raw(self) -> *mut SwapMap {
        Arc::into_raw(self.0).cast_mut()
    }

    unsafe fn from_raw(ptr: *mut SwapMap) -> Self {
        // SAFETY: the caller passes a pointer from `into_raw` exactly once (trait contract).
        ArcMap(unsafe { Arc::from_raw(ptr) })
    }
}

type Slot = haphazard::AtomicPtr<SwapMap, Global, ArcMap>;

/// `swap_info[]` as one hazard-protected pointer per slot, in haphazard's global domain.
pub struct Hazard {
    slots: [CachePadded<Slot>; MAX_SWAPFILES],
}

/// A protected device; dropping it clears the hazard pointer.
pub struct HazardGuard<'r> {
    hp: &'r mut HazardPointer<'static>,
    map: NonNull<SwapMap>,
}

impl Deref for HazardGuard<'_> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        // SAFETY: `hp` protects `map` until `reset_protection` in drop, and we hold `hp`
        // exclusively until then, so no other protect can replace it.
        unsafe { self.map.as_ref() }
    }
}

impl Drop for HazardGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.hp.reset_protection();
    }
}

impl crate::strategy::sealed::Sealed for Hazard {}

impl Strategy for Hazard {
    const NAME: &'static str = "hazard";
    const SUMMARY: &'static str =
        "hazard pointers (haphazard): one per reader thread; swapoff retires, reclaims eagerly";
    type Reader = HazardPointer<'static>;
    type Guard<'r> = HazardGuard<'r>;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(Hazard {
            // SAFETY: (AtomicPtr::new) null is allowed; every later pointer comes from
            // `store`/`swap` with an `ArcMap` and is dropped only through the domain.
            slots: slots(|_| CachePadded::new(unsafe { Slot::new(std::ptr::null_mut()) })),
        })
    }

    fn reader(&self) -> HazardPointer<'static> {
        HazardPointer::new()
    }

    #[inline]
    fn get<'r>(&'r self, hp: &'r mut HazardPointer<'static>, ty: usize) -> Option<HazardGuard<'r>> {
        // SAFETY: (protect_ptr has no unsafe precondition; `as_std` does:) we only read.
        let (map, _) = hp.protect_ptr(unsafe { self.slots[ty].as_std() })?;
        Some(HazardGuard { hp, map })
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        self.slots[ty].store(ArcMap(map));
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        // SAFETY: (swap_ptr) null satisfies AtomicPtr::new's requirements.
        let old = unsafe { self.slots[ty].swap_ptr(std::ptr::null_mut()) }
            .expect("the table unpublishes only slots that are on");
        let ptr = old.into_inner().as_ptr().cast_const();
        // Keep our own count so the map outlives its reclamation.
        // SAFETY: `ptr` came from `Arc::into_raw` and the domain's count is still alive (it
        // is released only by the reclamation we have not started yet).
        let keep = unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        };
        // SAFETY: (retire_ptr) 1. the slot no longer holds `ptr` and no load can return it
        // again; 2. it was not retired before (we just swapped it out, once); 3. it stays valid
        // as `&T` until the domain drops the ArcMap, which is when reclamation runs.
        unsafe { Domain::global().retire_ptr::<SwapMap, ArcMap>(ptr.cast_mut()) };
        let backoff = Backoff::new();
        loop {
            Domain::global().eager_reclaim();
            if Arc::strong_count(&keep) == 1 {
                break;
            }
            backoff.snooze();
        }
        // Acquire: pairs with the Release decrement of the domain's ArcMap drop, which the
        // domain runs only after seeing no hazard pointer protect the map.
        fence(Acquire);
        keep
    }

    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<Slot>>() + 2 * std::mem::size_of::<usize>()
    }
}
