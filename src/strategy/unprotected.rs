//! `unprotected`: no protection at all, the floor every other strategy's overhead is measured
//! against (refscale's `acqrel` plays this role there). A lookup is the same loads as in the
//! other in-place strategies — slot, map pointer, `max`, `swap_map[offset]` — and nothing else;
//! on arm64 the map pointer's load is `ldar`/`ldapr` (it is `Acquire`, below), on x86-64 a
//! plain `mov` like the others'.
//!
//! It refuses swapoff while the table is alive (`CHURN = false`): without protection, freeing
//! under readers would be a use-after-free. Its devices are published before the first reader
//! handle is made (the table refuses a swapon after that) and torn down when the table is
//! dropped. A lookup needs an [`UnprotectedReader`], which only [`Strategy::reader`] makes, under
//! the same lock `publish` takes: so every load of a map pointer happens after every publish,
//! even for a caller that makes its handle through `SwapTable::strategy()` and so bypasses the
//! table's own check. A handle carries no table, so safe code can use one table's handle on
//! another table, still publishing: there the map pointer's `Acquire` load (paired with the
//! `Release` in `MapSlot::set_release`) makes a racing swapon harmless, the map seen whole or
//! not at all. Miri found the data race this closes (`swap::table`'s test
//! `a_reader_of_another_table_sees_a_racing_swapon_whole`).

use super::{MapSlot, Strategy, StrategyConfig, StrategyError, slots};
use crate::swap::map::{MAX_SWAPFILES, SwapMap};
use crossbeam_utils::CachePadded;
use std::sync::{Arc, Mutex};

/// `swap_info[]` with bare map pointers.
pub struct Unprotected {
    info: [CachePadded<MapSlot>; MAX_SWAPFILES],
    /// Whether a reader handle was made; `publish` refuses after that (read and written under
    /// the lock, which orders every publish before every handle's loads).
    sealed: Mutex<bool>,
}

/// A reader handle of [`Unprotected`]: proof that no map will be published any more. Only
/// [`Unprotected::reader`] makes one (the field is private); it carries no data.
#[derive(Debug)]
pub struct UnprotectedReader {
    _sealed: (),
}

impl crate::strategy::sealed::Sealed for Unprotected {}

impl Strategy for Unprotected {
    const NAME: &'static str = "unprotected";
    const SUMMARY: &'static str = "no protection (no churn allowed): the floor for every overhead";
    const CHURN: bool = false;
    type Reader = UnprotectedReader;
    type Guard<'r> = &'r SwapMap;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(Unprotected {
            info: slots(|_| CachePadded::new(MapSlot::default())),
            sealed: Mutex::new(false),
        })
    }

    fn reader(&self) -> UnprotectedReader {
        *self.sealed.lock().unwrap_or_else(|e| e.into_inner()) = true;
        UnprotectedReader { _sealed: () }
    }

    #[inline]
    fn get<'r>(&'r self, _: &'r mut UnprotectedReader, ty: usize) -> Option<&'r SwapMap> {
        // SAFETY: (1) without churn a published map is only taken in the table's Drop, which
        // cannot run while a `&'r` borrow of the strategy exists. The Acquire load orders
        // itself after the `set` of any map it returns, also for a handle of another table,
        // whose `reader()` did not seal this one (a test, `a_reader_of_another_table_...`).
        unsafe { self.info[ty].get_acquire() }
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        let sealed = self.sealed.lock().unwrap_or_else(|e| e.into_inner());
        // `SwapTable::swapon` refuses first (ReadersExist); this catches a handle made through
        // `SwapTable::strategy()`, which the table does not see, before a reader could race.
        assert!(
            !*sealed,
            "unprotected: publish after a reader handle was made (no churn: devices first)"
        );
        self.info[ty].set_release(map);
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        // Only reached from SwapTable's Drop (swapoff refuses: CHURN = false).
        self.info[ty].take()
    }

    fn device_bytes(&self) -> usize {
        std::mem::size_of::<CachePadded<MapSlot>>()
    }
}
