//! The device below the strategies: a swap entry, a device's `swap_map`, and the limits and
//! poison value the table and the checker share. Strategies publish and take [`SwapMap`]s; they
//! never see the table.

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::Relaxed};

/// How many torn-down maps a checked table keeps allocated (poisoned) before freeing the
/// oldest: bounds a long soak's memory (about 200 MB at the torture's 64 pages) while keeping
/// any late reader of the last million cycles (seconds, even at the fastest strategy's rate) on
/// poisoned rather than freed memory.
pub const QUARANTINE: usize = 1 << 20;

/// Number of swap slots, as in the kernel (`MAX_SWAPFILES` without migration/hwpoison types).
pub const MAX_SWAPFILES: usize = 32;

/// What a freed map's bytes are overwritten with (the slab allocator's `POISON_FREE`). Never a
/// valid [`SwapMap`] byte.
pub const POISON: u8 = 0x6b;

/// A swap entry: which device, which page on it (`swp_entry_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SwapEntry {
    /// Swap type: the index into the table (`swp_type`).
    pub ty: usize,
    /// Page offset on the device (`swp_offset`).
    pub offset: usize,
}

/// A device's resources: its `swap_map` (one byte per page) and, implied by its length, `max`.
///
/// Every byte holds [`SwapMap::expected`], a tag derived from the generation (which swapon
/// built it), until swapoff poisons it. Bytes are atomics (loaded `Relaxed`, i.e. plain loads)
/// so that a broken strategy's reader racing the poisoning is a detected violation rather
/// than undefined behaviour.
pub struct SwapMap {
    generation: u64,
    tag: u8,
    map: Box<[AtomicU8]>,
    holders: AtomicUsize,
}

impl fmt::Debug for SwapMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwapMap")
            .field("generation", &self.generation)
            .field("max", &self.max())
            .finish()
    }
}

impl SwapMap {
    /// A map of `pages` bytes for the given generation, every byte set to its tag.
    pub fn new(generation: u64, pages: usize) -> SwapMap {
        let tag = Self::tag_for(generation);
        SwapMap {
            generation,
            tag,
            map: (0..pages).map(|_| AtomicU8::new(tag)).collect(),
            holders: AtomicUsize::new(0),
        }
    }

    /// The byte value every page of generation `g` holds: 1..=100, never 0 or [`POISON`].
    pub fn tag_for(g: u64) -> u8 {
        1 + (g % 100) as u8
    }

    /// Which swapon built this map.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of pages (`si->max`).
    #[inline]
    pub fn max(&self) -> usize {
        self.map.len()
    }

    /// `swap_map[offset]`. `Relaxed`: a plain load; whatever orders it after the device was
    /// set up is the strategy's acquire point.
    #[inline]
    pub fn read(&self, offset: usize) -> u8 {
        self.map[offset].load(Relaxed)
    }

    /// The value every byte holds while the device is on.
    #[inline]
    pub fn expected(&self) -> u8 {
        self.tag
    }

    /// Overwrite every byte with [`POISON`] (swapoff's teardown, after the drain).
    pub fn poison(&self) {
        for b in self.map.iter() {
            // Relaxed: the strategy's drain must order every reader's loads before this (that is
            // the check); a broken strategy's racing reader reads one value or the other, not UB.
            b.store(POISON, Relaxed);
        }
    }

    /// Readers that announced they hold this map (torture checker only). `Relaxed` counter:
    /// its accesses are ordered by the strategy, which is what the check tests.
    pub fn holders(&self) -> &AtomicUsize {
        &self.holders
    }

    /// Bytes the map occupies (the same for every strategy).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<SwapMap>() + self.map.len()
    }
}
