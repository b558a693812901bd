//! A deliberately broken strategy for the torture checker's negative control: `atomic` with
//! the drain removed. swapoff marks the device dead and takes the map back at once, without
//! waiting for the readers that hold it. Not in the registry; tests use it to prove the
//! checker catches a strategy that frees too early.

use super::atomic::{Atomic, AtomicGuard, DEAD};
use super::{Strategy, StrategyConfig, StrategyError};
use crate::swap::SwapMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, Release};

/// `atomic` whose swapoff does not wait.
pub struct NoWait(Atomic);

impl Strategy for NoWait {
    const NAME: &'static str = "broken-no-wait";
    const SUMMARY: &'static str = "TEST ONLY: atomic count, but swapoff frees without waiting";
    type Reader = ();
    type Guard<'r> = AtomicGuard<'r>;

    fn new(cfg: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(NoWait(Atomic::new(cfg)?))
    }

    fn reader(&self) {}

    fn get<'r>(&'r self, _: &'r mut (), ty: usize) -> Option<AtomicGuard<'r>> {
        Atomic::get_in::<false>(&self.0.info[ty], ty)
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        // SAFETY: our caller's preconditions are Atomic::publish's (same slots, CHURN true).
        unsafe { self.0.publish(ty, map) }
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        let si = &self.0.info[ty];
        // Relaxed, as in Atomic::unpublish: DEAD only bounds new arrivals.
        si.users.fetch_or(DEAD, Relaxed);
        // Release: drops the base reference; it would pair with the drain's Acquire load, which
        // this deliberately broken negative control leaves out (so no Acquire half either).
        si.users.fetch_sub(1, Release);
        // The bug: no wait for the count to drain. Readers still holding the map keep their
        // raw reference; the checked table poisons the map and keeps it allocated.
        // (Their late decrements also corrupt the next generation's count; the checker only
        // needs the early free, and every byte they can reach stays allocated.)
        si.swap_map.take()
    }

    fn device_bytes(&self) -> usize {
        self.0.device_bytes()
    }
}
