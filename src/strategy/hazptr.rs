//! `hazptr`: hazard pointers as the kernel series has them (Boqun Feng's hazptr RFC with a
//! refscale mode, 2024; the "simple hazard pointers" for lockdep, 2025; Mathieu Desnoyers'
//! hazptr with per-CPU slots, 2026): the reader publishes the pointer it is about to use in a
//! slot of its own with only a *compiler* barrier, paired with
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` on the reclaim side, which runs the full
//! barrier on every CPU that runs one of our threads. `hazard` is the same protocol with a full
//! fence per read (haphazard 0.1.8, folly's design without the asymmetric fence).
//!
//! get: load the device pointer; store it in the reader's slot; compiler barrier; re-load the
//! pointer; if it changed, retry (a null means off: clear the slot, fail). put: store null in
//! the slot. The device is a map published per swapon (as in `arc-swap` and `hazard`).
//! swapoff: unpublish (swap in null), `membarrier()`, then scan every reader's slot and wait
//! while one still holds the old map; free it.
//!
//! The barrier pair is the RCU flavour's: `membarrier` (and `qsbr`, whose kernel model is the
//! same for hazard pointers: the series' barrier does not depend on preemption) use the
//! compiler barrier + membarrier; `fence` is the fallback where membarrier is unavailable, a
//! `fence(SeqCst)` on both sides. Results name it as they name the RCU flavour.
//!
//! Reader cost: an instance check (the reader's slot must be one this instance scans: two
//! loads and a compare), two loads of the device pointer, a store to the reader's own slot (its
//! own cache line), a compiler barrier, and a store of null: no locked instruction.
//! swapoff cost: one `membarrier()` (an IPI to each CPU running one of our threads), a scan of
//! every registered slot, and a wait for the readers that hold the old map.

use super::{Strategy, StrategyConfig, StrategyError, slots};
use crate::rcu::{Flavor, FlavorKind, Mb, Memb, Qsbr, membarrier};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
use crossbeam_utils::{Backoff, CachePadded};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::atomic::{
    AtomicBool, AtomicPtr,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
    compiler_fence, fence,
};
use std::sync::{Arc, Mutex};

/// The two halves of the asymmetric barrier, per RCU flavour.
pub trait Barrier: Flavor {
    /// Whether this process can use the pair.
    fn usable() -> Result<(), String>;
    /// The reader's half, between its slot store and its re-load of the pointer.
    fn light();
    /// The reclaimer's half, between its unpublish and its scan of the slots.
    fn heavy();
}

impl Barrier for Qsbr {
    fn usable() -> Result<(), String> {
        membarrier::available()
    }
    #[inline(always)]
    fn light() {
        compiler_fence(SeqCst);
    }
    fn heavy() {
        membarrier::heavy_barrier();
    }
}

impl Barrier for Memb {
    fn usable() -> Result<(), String> {
        membarrier::available()
    }
    #[inline(always)]
    fn light() {
        // Stops the compiler only; `heavy`'s membarrier runs the full barrier on this CPU.
        compiler_fence(SeqCst);
    }
    fn heavy() {
        membarrier::heavy_barrier();
    }
}

impl Barrier for Mb {
    fn usable() -> Result<(), String> {
        Ok(())
    }
    #[inline(always)]
    fn light() {
        // Pairs with the fence in `heavy` (store buffering: of the reader's slot store and
        // the reclaimer's unpublish, at least one is seen by the other's later load).
        fence(SeqCst);
    }
    fn heavy() {
        fence(SeqCst);
    }
}

/// One reader's hazard slot, on a cache line of its own.
#[derive(Default)]
struct Slot {
    /// The map the reader holds or is about to validate; null when none.
    hazard: AtomicPtr<SwapMap>,
    /// Owned by a live reader (slots of dropped readers are reused).
    taken: AtomicBool,
}

/// The slots of one strategy instance.
#[derive(Default)]
struct Slots(Mutex<Vec<Arc<CachePadded<Slot>>>>);

/// A reader's handle: its slot, and which strategy instance the slot belongs to.
pub struct HazptrReader {
    slot: Arc<CachePadded<Slot>>,
    /// The instance's slot list, only compared (`Arc::ptr_eq`). Held, not just its address:
    /// an address alone could be reused by a later instance once this one is dropped, and that
    /// instance's scans would pass the check without ever seeing this reader's slot.
    owner: Arc<Slots>,
}

impl Drop for HazptrReader {
    fn drop(&mut self) {
        // Release: pairs with the Acquire swap in `reader()` that reuses the slot; its hazard
        // is already null (a guard borrows the reader, so none is alive).
        self.slot.taken.store(false, Release);
    }
}

/// `swap_info[]` as one hazard-protected map pointer per slot, with `F`'s barrier pair.
pub struct Hazptr<F: Barrier> {
    devices: [CachePadded<AtomicPtr<SwapMap>>; MAX_SWAPFILES],
    /// Shared with the readers: its address identifies the instance to them (the strategy may
    /// move), and is not reused while a reader holds it.
    slots: Arc<Slots>,
    _f: PhantomData<F>,
}

/// A protected map; dropping it clears the reader's slot.
pub struct HazptrGuard<'r> {
    slot: &'r Slot,
    map: &'r SwapMap,
}

impl Deref for HazptrGuard<'_> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        self.map
    }
}

impl Drop for HazptrGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // Release: pairs with the scan's Acquire load in unpublish, so our reads of the map
        // happen-before it is freed.
        self.slot.hazard.store(std::ptr::null_mut(), Release);
    }
}

impl<F: Barrier> Hazptr<F> {
    /// A slot in this instance's list could be protecting the map; refuse a reader of another
    /// instance, whose slot our scan would never see (a use-after-free from safe code).
    #[inline(always)]
    fn check_reader(&self, r: &HazptrReader) {
        if !Arc::ptr_eq(&r.owner, &self.slots) {
            wrong_reader();
        }
    }
}

#[cold]
#[inline(never)]
fn wrong_reader() -> ! {
    panic!("hazptr: a reader of another strategy instance (its slot is not scanned here)")
}

impl<F: Barrier> crate::strategy::sealed::Sealed for Hazptr<F> {}

impl<F: Barrier> Strategy for Hazptr<F> {
    const NAME: &'static str = "hazptr";
    const SUMMARY: &'static str =
        "hazard pointers, compiler barrier + membarrier() (the kernel's hazptr series)";
    const RCU: bool = true;
    const GRACE_PERIODS: bool = false;
    type Reader = HazptrReader;
    type Guard<'r> = HazptrGuard<'r>;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        F::usable().map_err(|e| StrategyError(format!("hazptr on {}: {e}", F::KIND)))?;
        Ok(Hazptr {
            devices: slots(|_| CachePadded::new(AtomicPtr::new(std::ptr::null_mut()))),
            slots: Arc::default(),
            _f: PhantomData,
        })
    }

    fn reader(&self) -> HazptrReader {
        let mut list = self.slots.0.lock().unwrap_or_else(|e| e.into_inner());
        // Acquire on success: pairs with the Release in the previous owner's drop.
        let reused = list.iter().find(|s| {
            s.taken
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
        });
        let slot = match reused {
            Some(s) => s.clone(),
            None => {
                let s = Arc::new(CachePadded::new(Slot {
                    hazard: AtomicPtr::new(std::ptr::null_mut()),
                    taken: AtomicBool::new(true),
                }));
                list.push(s.clone());
                s
            }
        };
        HazptrReader {
            slot,
            owner: self.slots.clone(),
        }
    }

    #[inline]
    fn get<'r>(&'r self, reader: &'r mut HazptrReader, ty: usize) -> Option<HazptrGuard<'r>> {
        self.check_reader(reader);
        let src = &self.devices[ty];
        let slot: &'r Slot = &reader.slot;
        // Relaxed: a first guess, validated below.
        let mut p = src.load(Relaxed);
        loop {
            if p.is_null() {
                return None;
            }
            // Release: a scan that reads this value also sees our earlier accesses (the map we
            // held before, released by a store this one overwrites).
            slot.hazard.store(p, Release);
            // Store B before load A: paired with `heavy` between unpublish (A) and the scan (B).
            F::light();
            // Acquire: pairs with publish's Release store, so the map is initialised for us.
            let now = src.load(Acquire);
            if now == p {
                break;
            }
            if now.is_null() {
                // Relaxed: clearing a hazard we never used.
                slot.hazard.store(std::ptr::null_mut(), Relaxed);
                return None;
            }
            p = now;
        }
        // SAFETY: `p` came from `Arc::into_raw` in publish; it was still published after our
        // slot held it and the light barrier, so unpublish's scan (after its heavy barrier)
        // sees our slot holding it and waits until the guard clears it: valid for `'r`.
        let map = unsafe { &*p };
        Some(HazptrGuard { slot, map })
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        // Release: pairs with get's Acquire re-load.
        let old = self.devices[ty].swap(Arc::into_raw(map).cast_mut(), Release);
        debug_assert!(old.is_null(), "publish into a slot that holds a map");
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        // Relaxed: store A; the heavy barrier orders it before the scan.
        let p = self.devices[ty].swap(std::ptr::null_mut(), Relaxed);
        assert!(!p.is_null(), "unpublish of an empty slot");
        F::heavy();
        let list: Vec<_> = self
            .slots
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for s in &list {
            let backoff = Backoff::new();
            // Acquire: pairs with the guard's (or a later protect's) Release store.
            while s.hazard.load(Acquire) == p {
                backoff.snooze();
            }
        }
        // SAFETY: from `Arc::into_raw` in publish; unpublished, and no slot holds it: a reader
        // that loads it from now on fails its validation (it re-loads null or a new map), so
        // nothing else can use this count.
        unsafe { Arc::from_raw(p) }
    }

    /// The published pointer, plus this device's share of the slots (one cache line each).
    fn device_bytes(&self) -> usize {
        let n = self.slots.0.lock().map_or(0, |l| l.len());
        std::mem::size_of::<CachePadded<AtomicPtr<SwapMap>>>()
            + n * std::mem::size_of::<CachePadded<Slot>>() / MAX_SWAPFILES
    }

    fn flavor(&self) -> Option<FlavorKind> {
        Some(F::KIND)
    }
}

impl<F: Barrier> Drop for Hazptr<F> {
    fn drop(&mut self) {
        for d in &mut self.devices {
            let p = *d.get_mut();
            if !p.is_null() {
                // SAFETY: `&mut self`: no guard is alive; the count is the one publish leaked.
                drop(unsafe { Arc::from_raw(p) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader of one instance used on another: its slot is not in the other's list, so
    /// swapoff there would never see its hazard. It must be refused, in release builds too.
    #[test]
    #[should_panic(expected = "another strategy instance")]
    fn a_reader_of_another_instance_is_refused() {
        let a = Hazptr::<Mb>::new(&StrategyConfig::default()).unwrap();
        let b = Hazptr::<Mb>::new(&StrategyConfig::default()).unwrap();
        // SAFETY: slot 0 of `b` is empty and nothing else publishes or unpublishes it.
        unsafe { b.publish(0, Arc::new(SwapMap::new(1, 8))) };
        let mut r = a.reader();
        let _ = b.get(&mut r, 0);
    }

    /// A reader that outlives its instance is refused by every later one, also one whose slot
    /// list lies where the dropped instance's was (the allocator hands freed blocks out again
    /// at once). Before the reader held its instance's list, it compared a bare address, which
    /// the next instance usually took over: the check passed, and that instance's swapoff would
    /// have freed the map under this reader's guard.
    #[test]
    fn a_reader_of_a_dropped_instance_is_refused_by_later_ones() {
        let a = Hazptr::<Mb>::new(&StrategyConfig::default()).unwrap();
        let mut r = a.reader();
        drop(a);
        for i in 0..16 {
            let b = Hazptr::<Mb>::new(&StrategyConfig::default()).unwrap();
            // SAFETY: slot 0 of `b` is empty and nothing else publishes or unpublishes it.
            unsafe { b.publish(0, Arc::new(SwapMap::new(1, 8))) };
            let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = b.get(&mut r, 0);
            }));
            let why = got.expect_err(&format!("instance {i} took a reader of a dropped instance"));
            let why = why.downcast_ref::<&str>().copied().unwrap_or_default();
            assert!(why.contains("another strategy instance"), "instance {i}: {why}");
        }
    }

    /// Slots of dropped readers are reused; a scan still covers every live one.
    #[test]
    fn slots_of_dropped_readers_are_reused() {
        let h = Hazptr::<Mb>::new(&StrategyConfig::default()).unwrap();
        for _ in 0..10 {
            let r1 = h.reader();
            let r2 = h.reader();
            drop((r1, r2));
        }
        assert_eq!(h.slots.0.lock().unwrap().len(), 2);
    }
}
