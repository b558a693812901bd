//! `unprotected`: no protection at all, the floor every other strategy's overhead is measured
//! against (refscale's `acqrel` plays this role there). A lookup is the same loads as in the
//! other in-place strategies — slot, map pointer, `max`, `swap_map[offset]` — and nothing else.
//!
//! It refuses swapoff while the table is alive (`CHURN = false`): without protection, freeing
//! under readers would be a use-after-free. Its devices are published before the first reader
//! handle is made (the table refuses a swapon after that) and torn down when the table is
//! dropped.

use super::{MapSlot, Strategy, StrategyConfig, StrategyError, slots};
use crate::swap::{MAX_SWAPFILES, SwapMap};
use crossbeam_utils::CachePadded;
use std::sync::Arc;

/// `swap_info[]` with bare map pointers.
pub struct Unprotected {
    info: [CachePadded<MapSlot>; MAX_SWAPFILES],
}

impl Strategy for Unprotected {
    const NAME: &'static str = "unprotected";
    const SUMMARY: &'static str = "no protection (no churn allowed): the floor for every overhead";
    const CHURN: bool = false;
    type Reader = ();
    type Guard<'r> = &'r SwapMap;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(Unprotected {
            info: slots(|_| CachePadded::new(MapSlot::default())),
        })
    }

    fn reader(&self) {}

    #[inline]
    fn get<'r>(&'r self, _: &'r mut (), ty: usize) -> Option<&'r SwapMap> {
        // SAFETY: (1) without churn a published map is only taken in the table's Drop, which
        // cannot run while a `&'r` borrow of the strategy exists; (2) every publish happened
        // before this reader handle was made: `SwapTable::swapon` refuses once `reader()` has
        // run, and both take the table lock, which orders the publish before our load.
        unsafe { self.info[ty].get() }
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        self.info[ty].set(map);
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        // Only reached from SwapTable's Drop (swapoff refuses: CHURN = false).
        self.info[ty].take()
    }

    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<MapSlot>>()
    }
}
