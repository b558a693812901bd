//! The wiring `rcuref` and `file-ref` share: a device object found under RCU and held by a zoned
//! reference count ([`crate::zoned`]), as the kernel finds a `dst_entry` or a `struct file`.
//!
//! - swapon builds `Device { count: one reference, map }` and publishes a pointer to it
//!   (`rcu_assign_pointer`).
//! - get: in an RCU read-side section, load the pointer (`rcu_dereference`) and take a
//!   reference with the count's get; leave the section. The reference keeps the device.
//! - put: the count's put, in a read-side section of its own (`rcuref_put()` disables
//!   preemption for this: its slow path touches the count after the decrement that may have
//!   let another thread release it).
//! - swapoff, in `dst_release()`'s order: unpublish; drop the initial reference; wait until the
//!   count is released (the last holder's put marks it dead); wait a grace period (the kernel's
//!   `call_rcu()` before freeing: readers that found the device before the unpublish may still
//!   add to its count in the dead zone, or be in a put's slow path); free the object.

use super::{Strategy, StrategyConfig, StrategyError, slots};
use crate::rcu::{Domain, Flavor, RECORD_BYTES, Rcu, RcuReader};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
use crate::zoned::Zoned;
use crossbeam_utils::{Backoff, CachePadded};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{
    AtomicPtr,
    Ordering::{Acquire, Relaxed, Release},
};

/// The strategy's identity: each strategy file implements it for its count type.
pub trait ObjectRef: Zoned {
    /// `Strategy::NAME`.
    const NAME: &'static str;
    /// `Strategy::SUMMARY`.
    const SUMMARY: &'static str;
}

/// The device object: the count on a cache line of its own (as `dst_entry.__rcuref`), then
/// the map, which readers only read.
struct Device<Z> {
    count: CachePadded<Z>,
    map: Arc<SwapMap>,
}

/// `swap_info[]` as RCU-published device objects held by the count `Z`, over RCU flavour `F`.
pub struct RcuObject<F: Flavor, Z: ObjectRef> {
    rcu: Rcu<F>,
    info: [CachePadded<AtomicPtr<Device<Z>>>; MAX_SWAPFILES],
    _z: PhantomData<Z>,
}

/// A reference to a device; dropping it puts the count.
pub struct RcuObjectGuard<'r, F: Flavor, Z: ObjectRef> {
    reader: &'r RcuReader<F>,
    count: &'r Z,
    map: &'r SwapMap,
}

impl<F: Flavor, Z: ObjectRef> Deref for RcuObjectGuard<'_, F, Z> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        self.map
    }
}

impl<F: Flavor, Z: ObjectRef> Drop for RcuObjectGuard<'_, F, Z> {
    #[inline]
    fn drop(&mut self) {
        // In a section: see the module docs. A release (put returning true) needs no action
        // here: swapoff waits for the count to be dead. The put cannot unwind and opens no
        // section, as `section_fast` requires.
        let count = self.count;
        self.reader.section_fast(|_| {
            let _released = count.put();
        });
    }
}

impl<F: Flavor, Z: ObjectRef> crate::strategy::sealed::Sealed for RcuObject<F, Z> {}

impl<F: Flavor, Z: ObjectRef> Strategy for RcuObject<F, Z> {
    const NAME: &'static str = Z::NAME;
    const SUMMARY: &'static str = Z::SUMMARY;
    const RCU: bool = true;
    type Reader = RcuReader<F>;
    type Guard<'r> = RcuObjectGuard<'r, F, Z>;

    fn new(cfg: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(RcuObject {
            rcu: cfg.rcu_domain::<F>()?,
            info: slots(|_| CachePadded::new(AtomicPtr::new(std::ptr::null_mut()))),
            _z: PhantomData,
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
    fn get<'r>(
        &'r self,
        reader: &'r mut RcuReader<F>,
        ty: usize,
    ) -> Option<RcuObjectGuard<'r, F, Z>> {
        // A reader of another domain would hold a section our grace periods never see.
        self.rcu.check_reader(reader);
        let reader: &'r RcuReader<F> = reader;
        let dev: &'r Device<Z> = reader.section_fast(|_| {
            // Acquire (rcu_dereference): pairs with publish's Release store, so the device's
            // count and map are initialised for us.
            let p = self.info[ty].load(Acquire);
            // SAFETY: a non-null pointer here came from `Box::into_raw` in `publish`, and
            // `unpublish` frees it only after unpublishing it and a grace period that began
            // after that: we are in a section, so not before we leave it. If the get succeeds
            // we hold a reference, and the count cannot be dead (so the device cannot be freed)
            // until the guard's put: valid for `'r`, the guard's lifetime.
            let dev = unsafe { p.as_ref::<'r>() }?;
            // The get's slow path (dead and saturation zones) is a call that cannot unwind and
            // opens no section, as `section_fast` requires.
            dev.count.get().then_some(dev)
        })?;
        Some(RcuObjectGuard {
            reader,
            count: &dev.count,
            map: &dev.map,
        })
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        let dev = Box::into_raw(Box::new(Device {
            count: CachePadded::new(Z::one()),
            map,
        }));
        // Release (rcu_assign_pointer): pairs with get's Acquire load.
        let old = self.info[ty].swap(dev, Release);
        debug_assert!(old.is_null(), "publish into a slot that holds a device");
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        // Relaxed: the grace period below orders the unpublish before the free for every
        // reader; readers that still find the device meanwhile are what the zones are for.
        let p = self.info[ty].swap(std::ptr::null_mut(), Relaxed);
        assert!(!p.is_null(), "unpublish of an empty slot");
        // SAFETY: from `Box::into_raw` in publish (safety precondition 1: a device is
        // published); only this function frees it, below.
        let dev = unsafe { &*p };
        // dst_release(): drop the initial reference; if a holder remains, its put releases.
        if !dev.count.put() {
            let backoff = Backoff::new();
            while !dev.count.is_dead() {
                backoff.snooze();
            }
        }
        // call_rcu() before the free: see the module docs. Every put ran in a section, so the
        // grace period also orders every holder's reads of the map before what follows.
        self.rcu.synchronize();
        // SAFETY: the pointer is unpublished, the count is dead (no holder, no get can succeed)
        // and the grace period has waited out every reader that could still touch the device:
        // this is the only reference left.
        let dev = unsafe { Box::from_raw(p) };
        dev.map.clone()
    }

    /// The published pointer and the device object (the map excluded), plus this device's
    /// share of the domain's reader records, as for percpu.
    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<AtomicPtr<Device<Z>>>>()
            + std::mem::size_of::<Device<Z>>()
            + self.rcu.records() * RECORD_BYTES / MAX_SWAPFILES
    }

    fn rcu(&self) -> Option<&dyn Domain> {
        Some(&self.rcu)
    }
}

impl<F: Flavor, Z: ObjectRef> Drop for RcuObject<F, Z> {
    fn drop(&mut self) {
        for slot in &mut self.info {
            let p = *slot.get_mut();
            if !p.is_null() {
                // SAFETY: `&mut self`: no reader or guard of this strategy is alive, so the
                // published device is ours to free.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}
