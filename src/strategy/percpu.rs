//! The device both percpu strategies share: `swap_info_struct` since v5.14, reduced to what
//! the lookup touches (`users`, `comp`, `swap_map`). Only the live check differs; the two
//! public strategies pick it with a [`LiveCheck`].
//!
//! Reader: `tryget_live` (RCU section + own-counter increment), the live check's ordering,
//! one map load; put = RCU section + own-counter decrement. No atomic RMW, no shared write.
//! swapoff: `percpu_ref_kill(&p->users); synchronize_rcu(); wait_for_completion(&p->comp)`:
//! about two grace periods (the kill's switch to atomic mode and the explicit one overlap),
//! plus the drain of references still held.

use super::{MapSlot, Strategy, StrategyConfig, StrategyError, slots};
use crate::completion::Completion;
use crate::percpu_ref::{Init, PercpuRef};
use crate::rcu::{Rcu, RcuReader};
use crate::swap::{MAX_SWAPFILES, SwapMap};
use crossbeam_utils::CachePadded;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

/// How a percpu strategy's reader checks that the device is live.
pub trait LiveCheck: Send + Sync + 'static {
    /// Strategy name.
    const NAME: &'static str;
    /// One-line description.
    const SUMMARY: &'static str;
    /// `tryget_live` with this check's ordering.
    fn tryget_live(users: &PercpuRef, r: &RcuReader) -> bool;
}

struct SwapInfo {
    users: PercpuRef,
    swap_map: MapSlot,
    comp: Arc<Completion>,
}

/// `swap_info[]` guarded by `si->users`.
pub struct Percpu<L: LiveCheck> {
    rcu: Rcu,
    info: [CachePadded<SwapInfo>; MAX_SWAPFILES],
    _live: PhantomData<L>,
}

/// A reference taken with `tryget_live`; dropping it is `percpu_ref_put(&si->users)`.
pub struct PercpuGuard<'r> {
    users: &'r PercpuRef,
    reader: &'r RcuReader,
    map: &'r SwapMap,
}

impl Deref for PercpuGuard<'_> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        self.map
    }
}

impl Drop for PercpuGuard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.users.put(self.reader);
    }
}

impl<L: LiveCheck> Strategy for Percpu<L> {
    const NAME: &'static str = L::NAME;
    const SUMMARY: &'static str = L::SUMMARY;
    type Reader = RcuReader;
    type Guard<'r> = PercpuGuard<'r>;

    fn new(cfg: &StrategyConfig) -> Result<Self, StrategyError> {
        let rcu = cfg.rcu_domain()?;
        let mut info = Vec::with_capacity(MAX_SWAPFILES);
        for _ in 0..MAX_SWAPFILES {
            // alloc_swap_info(): percpu_ref_init(&p->users, swap_users_ref_free,
            // PERCPU_REF_INIT_DEAD); the release callback completes p->comp.
            let comp = Arc::new(Completion::new());
            let c = comp.clone();
            let users = PercpuRef::new(&rcu, move || c.complete(), Init::DEAD)
                .map_err(|e| StrategyError(e.to_string()))?;
            info.push(CachePadded::new(SwapInfo {
                users,
                swap_map: MapSlot::default(),
                comp,
            }));
        }
        let mut it = info.into_iter();
        Ok(Percpu {
            rcu,
            info: slots(|_| it.next().expect("MAX_SWAPFILES entries")),
            _live: PhantomData,
        })
    }

    fn reader(&self) -> RcuReader {
        self.rcu.register()
    }

    #[inline(always)]
    fn get<'r>(&'r self, reader: &'r mut RcuReader, ty: usize) -> Option<PercpuGuard<'r>> {
        let si = &self.info[ty];
        if !L::tryget_live(&si.users, reader) {
            return None;
        }
        // SAFETY: (1) we hold a reference to si->users, and swapoff takes the map only after
        // the release, which waits for our put in PercpuGuard::drop; (2) the live check's
        // Acquire (or fence) pairs with the Release in resurrect, which follows the `set`.
        match unsafe { si.swap_map.get() } {
            Some(map) => Some(PercpuGuard {
                users: &si.users,
                reader,
                map,
            }),
            // Live implies the map was set, with a correct live check.
            None => super::live_without_map(L::NAME, ty),
        }
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        let si = &self.info[ty];
        si.swap_map.set(map); // setup_swap_info()
        si.comp.reinit();
        // "Finished initializing swap device, now it's safe to reference it."
        si.users
            .resurrect()
            .expect("the table publishes only into slots that are off");
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        let si = &self.info[ty];
        si.users
            .kill()
            .expect("the table unpublishes only slots that are on");
        self.rcu.synchronize();
        si.comp.wait();
        si.swap_map.take()
    }

    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<SwapInfo>>() + std::mem::size_of::<Completion>()
            - std::mem::size_of::<crate::percpu_ref::PercpuRef>()
            + self.info[0].users.footprint_bytes()
    }

    fn rcu(&self) -> Option<&Rcu> {
        Some(&self.rcu)
    }
}
