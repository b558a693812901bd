//! The reader's hot loop: `get_swap_device()`, read `swap_map[offset]`, hold, put.
//!
//! What a lookup costs the harness, and nothing more:
//! - the entry comes from a xorshift generator in registers (no memory traffic, no division:
//!   the type and offset are taken by multiply-shift);
//! - the byte read is compared with the map's tag, so the read cannot be optimised away and a
//!   torn-down map (poisoned with [`POISON`](crate::swap::POISON)) is seen; the branch is never
//!   taken for a correct strategy; with `hold`, the byte is read and checked again after the
//!   spin, while the reference is still held;
//! - counts live in locals (registers) and are written to the reader's own cache-padded slot
//!   once per window;
//! - timed windows check one shared, read-mostly stop flag every [`stop_check_every`] lookups:
//!   no clock read and no shared write per lookup. At the same point the reader announces a
//!   quiescent state ([`Strategy::quiescent`], `qsbr` only: one load and a compare, a store
//!   once per grace period), so a `qsbr` grace period lasts about one such batch of lookups.
//!
//! The loops are generic over the strategy and `#[inline(never)]`, so each strategy gets its
//! own copy (visible by name in `perf report`) with `get` and the guard's drop inlined.

use crate::strategy::Strategy;
use crate::swap::{SwapEntry, SwapTable};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// What one reader did in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Lookups attempted (successful + failed).
    pub lookups: u64,
    /// Lookups that found the device off.
    pub failed: u64,
    /// Lookups that read something other than the map's tag (a violated invariant).
    pub violations: u64,
    /// The first bad byte read, when there was one.
    pub first_bad: Option<u8>,
}

/// The work of one lookup: which entries, how long to hold.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    /// Devices looked up: swap types `0..devices`.
    pub devices: usize,
    /// Pages per device: offsets `0..pages`.
    pub pages: usize,
    /// Iterations of [`crate::measure::hold::spin`] while holding the reference (refscale's
    /// readdelay), calibrated from `--hold`'s time.
    pub hold: u64,
}

/// How many lookups a timed reader does between two looks at the stop flag: about 1024
/// lookups' worth of a fast strategy, fewer when each lookup holds longer, so the overrun past
/// the window's end stays around a few microseconds.
pub fn stop_check_every(hold: u64) -> u64 {
    (1024 / (1 + hold / 8)).max(1)
}

/// Seed of reader `i`'s entry generator (never zero).
pub(crate) fn seed(i: usize) -> u64 {
    0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9))
}

#[inline(always)]
fn one<S: Strategy>(
    table: &SwapTable<S>,
    reader: &mut S::Reader,
    rng: &mut u64,
    w: &Work,
    t: &mut Tally,
) {
    let mut x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    let entry = SwapEntry {
        ty: (((x & 0xffff_ffff) * w.devices as u64) >> 32) as usize,
        offset: (((x >> 32) * w.pages as u64) >> 32) as usize,
    };
    t.lookups += 1;
    match table.get_swap_device(reader, entry) {
        None => t.failed += 1,
        Some(dev) => {
            let b = dev.read(entry.offset);
            if b != dev.expected() {
                t.violations += 1;
                t.first_bad.get_or_insert(b);
            }
            if w.hold > 0 {
                crate::measure::hold::spin(w.hold);
                // Use the device again after holding it, as the kernel does after
                // get_swap_device(): a swapoff that did not wait for us shows here.
                let b = dev.read(entry.offset);
                if b != dev.expected() {
                    t.violations += 1;
                    t.first_bad.get_or_insert(b);
                }
            }
        }
    }
}

/// Exactly `n` lookups, announcing a quiescent state every [`stop_check_every`] of them.
#[inline(never)]
pub fn exact<S: Strategy>(
    table: &SwapTable<S>,
    reader: &mut S::Reader,
    rng: &mut u64,
    w: &Work,
    n: u64,
) -> Tally {
    let k = stop_check_every(w.hold);
    let mut t = Tally::default();
    // The generator's state in a local, written back once: through `rng` it would be stored
    // and reloaded every lookup (see `until`).
    let mut x = *rng;
    let mut left = n;
    while left > 0 {
        let batch = left.min(k);
        for _ in 0..batch {
            one(table, reader, &mut x, w, &mut t);
        }
        left -= batch;
        S::quiescent(reader);
    }
    *rng = x;
    t
}

/// Lookups until `stop` is seen, looking at it every [`stop_check_every`] lookups.
#[inline(never)]
pub fn until<S: Strategy>(
    table: &SwapTable<S>,
    reader: &mut S::Reader,
    rng: &mut u64,
    w: &Work,
    stop: &AtomicBool,
) -> Tally {
    let k = stop_check_every(w.hold);
    let mut t = Tally::default();
    // The generator's state in a local, written back once: through `rng` (the caller's
    // stack) LLVM stored and reloaded it every lookup, a store-to-load chain on the
    // generator's critical path that the module's header says is not there.
    let mut x = *rng;
    // Relaxed: the flag carries no data; the window's results travel through the pool's mutex.
    while !stop.load(Relaxed) {
        for _ in 0..k {
            one(table, reader, &mut x, w, &mut t);
        }
        // Where the flag is looked at, a quiescent state (qsbr): no guard is alive here.
        S::quiescent(reader);
    }
    *rng = x;
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rcu::Mb;
    use crate::strategy::percpu_fence::PercpuFence;
    use crate::swap::TableConfig;

    #[test]
    fn lookups_cover_every_device_and_count_failures() {
        let table = SwapTable::<PercpuFence<Mb>>::new(&TableConfig::default()).unwrap();
        table.swapon(0, 8).unwrap();
        // Device 1 stays off: about half the lookups must fail.
        let w = Work {
            devices: 2,
            pages: 8,
            hold: 0,
        };
        let mut r = table.reader();
        let mut rng = seed(0);
        let t = exact(&table, &mut r, &mut rng, &w, 10_000);
        assert_eq!(t.lookups, 10_000);
        assert!((4_000..6_000).contains(&t.failed), "{t:?}");
        assert_eq!(t.violations, 0);
    }

    #[test]
    fn a_stopped_flag_ends_the_loop_after_one_batch() {
        let table = SwapTable::<PercpuFence<Mb>>::new(&TableConfig::default()).unwrap();
        table.swapon(0, 8).unwrap();
        let w = Work {
            devices: 1,
            pages: 8,
            hold: 0,
        };
        let stop = AtomicBool::new(true);
        let t = until(&table, &mut table.reader(), &mut seed(1), &w, &stop);
        assert_eq!(t.lookups, 0);
        assert_eq!(stop_check_every(0), 1024);
        assert_eq!(stop_check_every(1_000_000), 1);
    }
}
