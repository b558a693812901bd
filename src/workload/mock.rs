//! Test-only strategies that misbehave on purpose: one whose readers panic, one whose swapoff
//! never returns on its own. Both guard maps with a plain mutex, so they are correct otherwise.

use crate::strategy::{Strategy, StrategyConfig, StrategyError};
use crate::swap::SwapMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Set to let [`Mock<STUCK>`]'s swapoff return.
pub static RELEASE: AtomicBool = AtomicBool::new(false);

/// Readers panic after this many lookups in total.
pub const PANIC_AFTER: u64 = 100_000;

/// `get` panics once [`PANIC_AFTER`] lookups were made.
pub const PANICS: u8 = 1;
/// `unpublish` waits until [`RELEASE`] is set.
pub const STUCK: u8 = 2;

/// A mutex per slot; misbehaves as `MODE` says.
pub struct Mock<const MODE: u8> {
    slots: [Mutex<Option<Arc<SwapMap>>>; crate::swap::MAX_SWAPFILES],
    gets: AtomicU64,
}

impl<const MODE: u8> crate::strategy::sealed::Sealed for Mock<MODE> {}

impl<const MODE: u8> Strategy for Mock<MODE> {
    const NAME: &'static str = "mock";
    const SUMMARY: &'static str = "TEST ONLY";
    type Reader = ();
    type Guard<'r> = Arc<SwapMap>;

    fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
        Ok(Mock {
            slots: std::array::from_fn(|_| Mutex::new(None)),
            gets: AtomicU64::new(0),
        })
    }

    fn reader(&self) {}

    fn get<'r>(&'r self, _: &'r mut (), ty: usize) -> Option<Arc<SwapMap>> {
        if MODE == PANICS && self.gets.fetch_add(1, Relaxed) >= PANIC_AFTER {
            panic!("mock reader gave up");
        }
        self.slots[ty].lock().unwrap().clone()
    }

    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>) {
        *self.slots[ty].lock().unwrap() = Some(map);
    }

    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap> {
        let map = self.slots[ty].lock().unwrap().take().unwrap();
        while MODE == STUCK && !RELEASE.load(Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        map
    }

    fn device_bytes(&self) -> usize {
        std::mem::size_of::<Mutex<Option<Arc<SwapMap>>>>()
    }
}
