//! The table above the strategies: `swap_info[]` as [`SwapTable<S>`] over one [`Strategy`],
//! with swapon/swapoff and the bookkeeping and evidence the torture checker needs.

use super::map::*;
use crate::strategy::{Strategy, StrategyConfig};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
/// Errors of [`SwapTable::swapon`] and [`SwapTable::swapoff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapError {
    /// The type is not below [`MAX_SWAPFILES`].
    BadType(usize),
    /// swapon of a slot that is on (or being switched): the kernel's `-EBUSY`.
    Active(usize),
    /// swapoff of a slot that is off (or being switched): the kernel's `-EINVAL`.
    Inactive(usize),
    /// swapon with zero pages.
    NoPages,
    /// The strategy cannot swapoff safely while readers run (`unprotected`).
    NoChurn(&'static str),
    /// swapon of a strategy that refuses churn after its first reader handle was made.
    ReadersExist(&'static str),
}

impl fmt::Display for SwapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwapError::BadType(t) => write!(f, "swap type {t} out of range (max {MAX_SWAPFILES})"),
            SwapError::Active(t) => write!(f, "swap type {t} is already on"),
            SwapError::Inactive(t) => write!(f, "swap type {t} is not on"),
            SwapError::NoPages => write!(f, "swapon needs at least one page"),
            SwapError::NoChurn(s) => write!(f, "strategy {s} cannot swapoff under readers"),
            SwapError::ReadersExist(s) => {
                write!(f, "strategy {s} cannot swapon once it has readers")
            }
        }
    }
}

impl std::error::Error for SwapError {}

/// How a table is built.
#[derive(Debug, Clone, Default)]
pub struct TableConfig {
    /// What the strategy needs (RCU flavour).
    pub strategy: StrategyConfig,
    /// Torture mode: check holders at swapoff, quarantine freed maps, count violations.
    pub checked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Off,
    On,
    /// A swapon or swapoff of this slot is in progress.
    Busy,
}

/// `swap_info[]` with one [`Strategy`] guarding every slot.
pub struct SwapTable<S: Strategy> {
    strategy: S,
    /// The kernel's `swap_lock` over which slots are on.
    slots: Mutex<[Slot; MAX_SWAPFILES]>,
    /// Whether a reader handle was ever made (read and written under `slots`): a strategy that
    /// refuses churn must see all its swapons before its first reader.
    readers_made: std::sync::atomic::AtomicBool,
    generations: AtomicU64,
    checked: bool,
    quarantine: Mutex<std::collections::VecDeque<Arc<SwapMap>>>,
    violations: AtomicU64,
    first_violation: Mutex<Option<String>>,
}

impl<S: Strategy> fmt::Debug for SwapTable<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwapTable")
            .field("strategy", &S::NAME)
            .field(
                "slots",
                &*self.slots.lock().unwrap_or_else(|e| e.into_inner()),
            )
            .finish()
    }
}

impl<S: Strategy> SwapTable<S> {
    /// An empty table (every slot off).
    pub fn new(cfg: &TableConfig) -> Result<Self, crate::strategy::StrategyError> {
        Ok(SwapTable {
            strategy: S::new(&cfg.strategy)?,
            slots: Mutex::new([Slot::Off; MAX_SWAPFILES]),
            readers_made: std::sync::atomic::AtomicBool::new(false),
            generations: AtomicU64::new(0),
            checked: cfg.checked,
            quarantine: Mutex::new(std::collections::VecDeque::new()),
            violations: AtomicU64::new(0),
            first_violation: Mutex::new(None),
        })
    }

    /// The strategy guarding the slots.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// A per-thread reader handle; create one per reader thread and reuse it.
    ///
    /// For a strategy that refuses churn (`unprotected`), every swapon must come before the
    /// first reader: this takes the table lock, so each swapon that completed is ordered before
    /// the reader's loads, and later swapons are refused ([`SwapError::ReadersExist`]).
    pub fn reader(&self) -> S::Reader {
        if !S::CHURN {
            let _slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            // Relaxed: read and written only under the `slots` lock.
            self.readers_made.store(true, Relaxed);
        }
        self.strategy.reader()
    }

    /// `get_swap_device()`: a reference to the device `entry` names, or `None` if its type is
    /// out of range, the device is off, or the offset is beyond `max`. Drop the guard to put it.
    #[inline(always)]
    pub fn get_swap_device<'r>(
        &'r self,
        reader: &'r mut S::Reader,
        entry: SwapEntry,
    ) -> Option<S::Guard<'r>> {
        if entry.ty >= MAX_SWAPFILES {
            return None;
        }
        let dev = self.strategy.get(reader, entry.ty)?;
        if entry.offset >= dev.max() {
            return None;
        }
        Some(dev)
    }

    fn claim(&self, ty: usize, from: Slot, err: SwapError) -> Result<(), SwapError> {
        if ty >= MAX_SWAPFILES {
            return Err(SwapError::BadType(ty));
        }
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots[ty] != from {
            return Err(err);
        }
        slots[ty] = Slot::Busy;
        Ok(())
    }

    fn settle(&self, ty: usize, to: Slot) {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())[ty] = to;
    }

    /// Whether slot `ty` is on.
    pub fn is_on(&self, ty: usize) -> bool {
        ty < MAX_SWAPFILES && self.slots.lock().unwrap_or_else(|e| e.into_inner())[ty] == Slot::On
    }

    /// swapon: build a map of `pages` pages and publish it in slot `ty`. Returns its generation.
    pub fn swapon(&self, ty: usize, pages: usize) -> Result<u64, SwapError> {
        if pages == 0 {
            return Err(SwapError::NoPages);
        }
        // Relaxed: only a unique id (the RMW sees to that); the strategy publishes the map.
        let generation = self.generations.fetch_add(1, Relaxed) + 1;
        let map = Arc::new(SwapMap::new(generation, pages));
        if !S::CHURN {
            // Publish under the lock that `reader()` takes: see there.
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            if ty >= MAX_SWAPFILES {
                return Err(SwapError::BadType(ty));
            }
            if slots[ty] != Slot::Off {
                return Err(SwapError::Active(ty));
            }
            // Relaxed: under the `slots` lock.
            if self.readers_made.load(Relaxed) {
                return Err(SwapError::ReadersExist(S::NAME));
            }
            // SAFETY: 1. the slot is Off; 2. we hold the table lock, which every other
            // publish/unpublish of this table takes first. (No reader handle of this table
            // exists, but a handle made elsewhere may: the strategy's own ordering covers it.)
            unsafe { self.strategy.publish(ty, map) };
            slots[ty] = Slot::On;
            return Ok(generation);
        }
        self.claim(ty, Slot::Off, SwapError::Active(ty))?;
        // SAFETY: 1. `claim` saw the slot Off and marked it Busy, so 2. no other swapon or
        // swapoff of it can start until `settle`.
        unsafe { self.strategy.publish(ty, map) };
        self.settle(ty, Slot::On);
        Ok(generation)
    }

    /// swapoff: unpublish slot `ty`, wait until no reader holds it, then poison and free (or,
    /// when checked, quarantine) its map.
    pub fn swapoff(&self, ty: usize) -> Result<(), SwapError> {
        self.swapoff_timed(ty).map(|_| ())
    }

    /// [`swapoff`](Self::swapoff), returning how long the drain took: from the start of the
    /// strategy's unpublish until no reader could hold the map. The teardown that follows
    /// (poisoning and freeing the map, the same for every strategy) is not included.
    pub fn swapoff_timed(&self, ty: usize) -> Result<std::time::Duration, SwapError> {
        if !S::CHURN {
            return Err(SwapError::NoChurn(S::NAME));
        }
        self.claim(ty, Slot::On, SwapError::Inactive(ty))?;
        let t = std::time::Instant::now();
        // SAFETY: 1. `claim` saw the slot On and marked it Busy, so 2. no other swapon or
        // swapoff of it runs until `settle`; 3. this strategy allows churn (checked above).
        let map = unsafe { self.strategy.unpublish(ty) };
        let drain = t.elapsed();
        self.teardown(map);
        self.settle(ty, Slot::Off);
        Ok(drain)
    }

    fn teardown(&self, map: Arc<SwapMap>) {
        if self.checked {
            // Relaxed: the strategy's drain must order every holder's decrement before this;
            // that is what the check tests.
            let h = map.holders().load(Relaxed);
            if h != 0 {
                self.violation(format!(
                    "swapoff freed generation {} while {h} reader(s) held it",
                    map.generation()
                ));
            }
        }
        map.poison();
        if self.checked {
            let mut q = self.quarantine.lock().unwrap_or_else(|e| e.into_inner());
            if q.len() == QUARANTINE {
                // Free the oldest: a late reader of a broken strategy would have to hold a map
                // across QUARANTINE swap cycles to reach freed memory (the torture readers hold
                // for at most a few hundred spins).
                q.pop_front();
            }
            q.push_back(map);
        }
    }

    /// Record a violated invariant (torture checker).
    pub fn violation(&self, what: String) {
        // Relaxed: a counter; the RMW picks exactly one first caller, whose text goes through
        // the mutex.
        if self.violations.fetch_add(1, Relaxed) == 0 {
            *self
                .first_violation
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(what);
        }
    }

    /// Violations recorded so far, and the first one's description.
    pub fn violations(&self) -> (u64, Option<String>) {
        (
            // Relaxed: a count; torture::run reads it after joining the readers, which orders it.
            self.violations.load(Relaxed),
            self.first_violation
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }

    /// Bytes per device the strategy allocates for its protection (percpu slots included),
    /// excluding the map itself.
    pub fn device_bytes(&self) -> usize {
        self.strategy.device_bytes()
    }
}

impl<S: Strategy> Drop for SwapTable<S> {
    fn drop(&mut self) {
        // A strategy that refuses swapoff under readers has guards that borrow the table
        // (`Strategy`'s sealed contract), so unpublishing here cannot race one of its readers.
        let slots = *self.slots.get_mut().unwrap_or_else(|e| e.into_inner());
        for (ty, s) in slots.iter().enumerate() {
            if *s == Slot::On {
                // SAFETY: 1. the slot is On; 2. `&mut self`: nothing else can touch the table;
                // 3. a strategy without churn has guards that borrow the table (the trait's
                // sealed contract), so none exists now.
                let map = unsafe { self.strategy.unpublish(ty) };
                self.teardown(map);
            }
        }
    }
}

#[cfg(test)]
// The reader handle of these strategies is `()`; the tests use it the generic way on purpose.
#[allow(clippy::let_unit_value)]
mod tests {
    use super::*;
    use crate::strategy::{atomic::Atomic, unprotected::Unprotected};

    fn entry(ty: usize, offset: usize) -> SwapEntry {
        SwapEntry { ty, offset }
    }

    #[test]
    fn swapon_lookup_swapoff_and_the_errors_of_each() {
        let t = SwapTable::<Atomic>::new(&TableConfig::default()).unwrap();
        let mut r = t.reader();
        assert!(t.get_swap_device(&mut r, entry(0, 0)).is_none(), "off");
        assert_eq!(
            t.swapon(MAX_SWAPFILES, 8),
            Err(SwapError::BadType(MAX_SWAPFILES))
        );
        assert_eq!(t.swapon(0, 0), Err(SwapError::NoPages));
        let g = t.swapon(0, 8).unwrap();
        assert_eq!(t.swapon(0, 8), Err(SwapError::Active(0)));
        {
            let d = t.get_swap_device(&mut r, entry(0, 7)).expect("on");
            assert_eq!(d.generation(), g);
            assert_eq!(d.read(7), SwapMap::tag_for(g));
        }
        assert!(
            t.get_swap_device(&mut r, entry(0, 8)).is_none(),
            "offset >= max"
        );
        assert!(t.get_swap_device(&mut r, entry(MAX_SWAPFILES, 0)).is_none());
        t.swapoff(0).unwrap();
        assert_eq!(t.swapoff(0), Err(SwapError::Inactive(0)));
        assert_eq!(t.swapoff(40), Err(SwapError::BadType(40)));
        assert!(t.get_swap_device(&mut r, entry(0, 0)).is_none());
        assert!(t.swapon(0, 8).unwrap() > g, "generations grow");
    }

    #[test]
    fn a_strategy_without_churn_refuses_swapoff_and_late_swapon() {
        let t = SwapTable::<Unprotected>::new(&TableConfig::default()).unwrap();
        t.swapon(0, 4).unwrap();
        let mut r = t.reader();
        assert!(t.get_swap_device(&mut r, entry(0, 3)).is_some());
        assert_eq!(t.swapoff(0), Err(SwapError::NoChurn("unprotected")));
        assert_eq!(t.swapon(1, 4), Err(SwapError::ReadersExist("unprotected")));
        assert!(t.is_on(0) && !t.is_on(1));
    }

    /// A handle made through `strategy()` bypasses the table's check; the strategy itself still
    /// refuses the publish, so no lookup can race with it (a data race from safe code otherwise).
    #[test]
    #[should_panic(expected = "publish after a reader handle was made")]
    fn a_handle_made_behind_the_tables_back_still_stops_later_publishes() {
        let t = SwapTable::<Unprotected>::new(&TableConfig::default()).unwrap();
        let _r = t.strategy().reader();
        let _ = t.swapon(0, 4);
    }

    /// Safe code can hand one table's reader handle to another table, whose swapon may then race
    /// with the lookup (`unprotected` seals only the table that made the handle). The lookup
    /// must see the new map whole or not at all: under Miri, a map pointer loaded `Relaxed` makes
    /// the reads of the map's fields a data race with its construction (undefined behaviour).
    #[test]
    fn a_reader_of_another_table_sees_a_racing_swapon_whole() {
        let a = SwapTable::<Unprotected>::new(&TableConfig::default()).unwrap();
        let b = SwapTable::<Unprotected>::new(&TableConfig::default()).unwrap();
        let mut r = a.reader();
        std::thread::scope(|s| {
            let on = s.spawn(|| b.swapon(0, 4).unwrap());
            let (generation, byte) = loop {
                if let Some(d) = b.get_swap_device(&mut r, entry(0, 3)) {
                    break (d.generation(), d.read(3));
                }
                std::thread::yield_now();
            };
            assert_eq!(generation, on.join().unwrap());
            assert_eq!(byte, SwapMap::tag_for(generation));
        });
    }

    #[test]
    fn a_checked_swapoff_poisons_and_keeps_the_map() {
        let t = SwapTable::<Atomic>::new(&TableConfig {
            checked: true,
            ..TableConfig::default()
        })
        .unwrap();
        t.swapon(0, 4).unwrap();
        let mut r = t.reader();
        let map: *const SwapMap = {
            let d = t.get_swap_device(&mut r, entry(0, 0)).unwrap();
            &*d
        }; // the guard is dropped here, before the swapoff

        t.swapoff(0).unwrap();
        // SAFETY: the checked table quarantines (keeps allocated) every map it tears down.
        let old = unsafe { &*map };
        assert_eq!(old.read(0), POISON);
        assert_eq!(t.violations().0, 0);
    }
}
