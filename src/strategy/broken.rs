//! A deliberately broken strategy for the torture checker's negative control: `atomic` with
//! the drain removed. swapoff marks the device dead and takes the map back at once, without
//! waiting for the readers that hold it. Not in the registry; tests use it to prove the
//! checker catches a strategy that frees too early.

use super::atomic::{Atomic, AtomicGuard, DEAD, inc_not_zero_live};
use super::{Strategy, StrategyConfig, StrategyError};
use crate::swap::map::SwapMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, Release};

/// `atomic` whose swapoff does not wait.
pub struct NoWait(Atomic);

impl crate::strategy::sealed::Sealed for NoWait {}

impl Strategy for NoWait {
    const NAME: &'static str = "broken-no-wait";
    const SUMMARY: &'static str = "TEST ONLY: atomic count, but swapoff frees without waiting";
    type Reader = ();
    type Guard<'r> = AtomicGuard<'r>;

    fn new(cfg: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(NoWait(Atomic::new(cfg)?))
    }

    fn reader(&self) {}

    /// `atomic`'s lookup, lenient: this strategy takes maps from under live readers on
    /// purpose, so a live count without a map is a failed lookup here (its violations are the
    /// checker's to count), where `atomic` treats it as an ordering bug.
    fn get<'r>(&'r self, _: &'r mut (), ty: usize) -> Option<AtomicGuard<'r>> {
        let si = &self.0.info[ty];
        if !inc_not_zero_live(&si.users) {
            return None;
        }
        // SAFETY: as in `Atomic::get`: (1) holds for readers whose count the (absent) drain
        // would wait for; where it does not, the checked table keeps the map allocated
        // (poisoned), which is what the negative control detects; (2) the Acquire CAS.
        match unsafe { si.swap_map.get() } {
            Some(map) => Some(AtomicGuard {
                users: &si.users,
                map,
            }),
            None => {
                // Release: gives the count back as AtomicGuard::drop does.
                si.users.fetch_sub(1, Release);
                None
            }
        }
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        // SAFETY: our caller's preconditions are Atomic::publish's (the same slots).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// For this strategy a live count without a map is a failed lookup, and the count is
    /// given back.
    #[test]
    fn a_live_count_without_a_map_is_a_failed_lookup_here() {
        let s = NoWait::new(&StrategyConfig::default()).unwrap();
        // Relaxed, here and below: one thread.
        s.0.info[3].users.store(1, Relaxed);
        assert!(s.get(&mut (), 3).is_none());
        assert_eq!(
            s.0.info[3].users.load(Relaxed),
            1,
            "the failed lookup gave its count back"
        );
    }
}
