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

use super::{Kinds, MapSlot, Strategy, StrategyConfig, StrategyError, Visitor, slots};
use crate::completion::Completion;
use crate::percpu_ref::{Counters, Init, PerCid, PerCpu, PerThread, PercpuKind, PercpuRef};
use crate::rcu::{Domain, Flavor, Rcu};
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
    fn tryget_live<F: Flavor, C: Counters<F>>(users: &PercpuRef<F, C>, r: &C::Reader) -> bool;
}

struct SwapInfo<F: Flavor, C: Counters<F>> {
    users: PercpuRef<F, C>,
    swap_map: MapSlot,
    comp: Arc<Completion>,
}

/// `swap_info[]` guarded by `si->users`, over RCU flavour `F`, counting with backend `C`.
pub struct Percpu<L: LiveCheck, F: Flavor, C: Counters<F> = PerThread> {
    rcu: Rcu<F>,
    info: [CachePadded<SwapInfo<F, C>>; MAX_SWAPFILES],
    _live: PhantomData<L>,
}

/// A reference taken with `tryget_live`; dropping it is `percpu_ref_put(&si->users)`.
pub struct PercpuGuard<'r, F: Flavor, C: Counters<F>> {
    users: &'r PercpuRef<F, C>,
    reader: &'r C::Reader,
    map: &'r SwapMap,
}

impl<F: Flavor, C: Counters<F>> Deref for PercpuGuard<'_, F, C> {
    type Target = SwapMap;
    #[inline]
    fn deref(&self) -> &SwapMap {
        self.map
    }
}

impl<F: Flavor, C: Counters<F>> Drop for PercpuGuard<'_, F, C> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: (1) the guard's reader passed the domain check in the `tryget_live` that made
        // the guard (`PercpuRef::check_reader`), and a guard cannot change its reader.
        unsafe { self.users.put_many_checked(self.reader, 1) };
    }
}

impl<L: LiveCheck, F: Flavor, C: Counters<F>> crate::strategy::sealed::Sealed for Percpu<L, F, C> {}

impl<L: LiveCheck, F: Flavor, C: Counters<F>> Strategy for Percpu<L, F, C> {
    const NAME: &'static str = L::NAME;
    const SUMMARY: &'static str = L::SUMMARY;
    const RCU: bool = true;
    const PERCPU: bool = true;
    type Reader = C::Reader;
    type Guard<'r> = PercpuGuard<'r, F, C>;

    /// The backend `kinds.percpu` names: per-thread, per-CPU or per-concurrency-ID counters.
    fn visit_as<V: Visitor>(v: V, kinds: Kinds) -> V::Output {
        match kinds.percpu {
            PercpuKind::Thread => v.visit::<Percpu<L, F, PerThread>>(),
            PercpuKind::Cpu => v.visit::<Percpu<L, F, PerCpu>>(),
            PercpuKind::Cid => v.visit::<Percpu<L, F, PerCid>>(),
        }
    }

    fn new(cfg: &StrategyConfig) -> Result<Self, StrategyError> {
        let rcu = cfg.rcu_domain::<F>()?;
        let mut info = Vec::with_capacity(MAX_SWAPFILES);
        for _ in 0..MAX_SWAPFILES {
            // alloc_swap_info(): percpu_ref_init(&p->users, swap_users_ref_free,
            // PERCPU_REF_INIT_DEAD); the release callback completes p->comp.
            let comp = Arc::new(Completion::new());
            let c = comp.clone();
            let users = PercpuRef::with_counters(&rcu, move || c.complete(), Init::DEAD)
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

    fn reader(&self) -> C::Reader {
        C::reader(&self.rcu)
    }

    #[inline(always)]
    fn quiescent(reader: &mut C::Reader) {
        C::quiescent(reader);
    }

    fn offline<R>(reader: &mut C::Reader, f: impl FnOnce() -> R) -> R {
        C::offline(reader, f)
    }

    #[inline(always)]
    fn get<'r>(&'r self, reader: &'r mut C::Reader, ty: usize) -> Option<PercpuGuard<'r, F, C>> {
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
    /// share of what the counter backend reserves (`reserved / MAX_SWAPFILES`: the table's 32
    /// refs share it): per-thread, `records × RECORD_BYTES` (every registered thread reserves
    /// one record); per-CPU, `possible CPUs × PERCPU_SLOTS × 8` (one chunk per CPU; by
    /// concurrency ID, per CPU the process may run on), which does not depend on the readers.
    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<SwapInfo<F, C>>>() + std::mem::size_of::<Completion>()
            - std::mem::size_of::<PercpuRef<F, C>>()
            + self.info[0].users.footprint_bytes()
            + self.info[0].users.reserved_bytes() / MAX_SWAPFILES
    }

    fn percpu(&self) -> Option<PercpuKind> {
        Some(C::KIND)
    }

    fn rcu(&self) -> Option<&dyn Domain> {
        Some(&self.rcu)
    }

    fn describe(&self, ty: usize) -> Option<String> {
        Some(format!("si->users {:?}", self.info[ty].users))
    }
}
