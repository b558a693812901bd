//! The device both percpu strategies share: `swap_info_struct` since v5.14, reduced to what
//! the lookup touches (`users`, `comp`, `swap_map`). Only the live check differs; the two
//! public strategies pick it with a [`LiveCheck`].
//!
//! Reader: `tryget_live` (RCU section + own-counter increment), the live check's ordering,
//! one map load; put = RCU section + own-counter decrement. No atomic RMW, no shared write.
//! Under `qsbr` the sections are empty and the reader announces quiescent states between
//! lookups ([`Strategy::quiescent`]).
//! swapoff: `percpu_ref_kill(&p->users); synchronize_rcu(); wait_for_completion(&p->comp)`:
//! one grace period (the kill's `call_rcu` for the switch to atomic mode and the explicit
//! `synchronize_rcu` share it), plus the drain of references still held.

use super::{MapSlot, Strategy, StrategyConfig, StrategyError, slots};
use crate::completion::Completion;
use crate::percpu_ref::{Init, PercpuRef};
use crate::rcu::{Domain, Flavor, RECORD_BYTES, Rcu, RcuReader};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
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
    fn tryget_live<F: Flavor>(users: &PercpuRef<F>, r: &RcuReader<F>) -> bool;
}

struct SwapInfo<F: Flavor> {
    users: PercpuRef<F>,
    swap_map: MapSlot,
    comp: Arc<Completion>,
}

/// `swap_info[]` guarded by `si->users`, over RCU flavour `F`.
pub struct Percpu<L: LiveCheck, F: Flavor> {
    rcu: Rcu<F>,
    info: [CachePadded<SwapInfo<F>>; MAX_SWAPFILES],
    _live: PhantomData<L>,
}

/// A reference taken with `tryget_live`; dropping it is `percpu_ref_put(&si->users)`.
pub struct PercpuGuard<'r, F: Flavor> {
    users: &'r PercpuRef<F>,
    reader: &'r RcuReader<F>,
    map: &'r SwapMap,
}

impl<F: Flavor> Deref for PercpuGuard<'_, F> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        self.map
    }
}

impl<F: Flavor> Drop for PercpuGuard<'_, F> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: (1) the guard's reader passed the domain check in the `tryget_live` that made
        // the guard (`PercpuRef::check_reader`), and a guard cannot change its reader.
        unsafe { self.users.put_many_checked(self.reader, 1) };
    }
}

impl<L: LiveCheck, F: Flavor> Strategy for Percpu<L, F> {
    const NAME: &'static str = L::NAME;
    const SUMMARY: &'static str = L::SUMMARY;
    const RCU: bool = true;
    type Reader = RcuReader<F>;
    type Guard<'r> = PercpuGuard<'r, F>;

    fn new(cfg: &StrategyConfig) -> Result<Self, StrategyError> {
        let rcu = cfg.rcu_domain::<F>()?;
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

    #[inline(always)]
    fn get<'r>(&'r self, reader: &'r mut RcuReader<F>, ty: usize) -> Option<PercpuGuard<'r, F>> {
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

    /// `swap_info` with its ref, its completion and the ref's shared data, plus this device's
    /// share of the domain's reader records: `records × RECORD_BYTES / MAX_SWAPFILES` (every
    /// registered thread reserves one record, whose counters the table's 32 refs share).
    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<SwapInfo<F>>>() + std::mem::size_of::<Completion>()
            - std::mem::size_of::<PercpuRef<F>>()
            + self.info[0].users.footprint_bytes()
            + self.rcu.records() * RECORD_BYTES / MAX_SWAPFILES
    }

    fn rcu(&self) -> Option<&dyn Domain> {
        Some(&self.rcu)
    }

    fn describe(&self, ty: usize) -> Option<String> {
        Some(format!("si->users {:?}", self.info[ty].users))
    }
}
