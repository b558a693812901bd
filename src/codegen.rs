//! One out-of-line, non-generic instance of each strategy's hot path, for reading its machine
//! code.
//!
//! Each `swapref_hot_<strategy>` function is `get_swap_device(entry)` through the
//! [`SwapTable`], one read of `swap_map[offset]`, and `put_swap_device()` (the guard's drop):
//! the same inlined code the driver's reader loop runs per lookup, cut out of the loop.
//! `#[inline(never)]` keeps each a function of its own; `#[unsafe(no_mangle)]` gives it a
//! stable symbol so that `scripts/codegen.sh` can cut it out of `--emit asm` output for every
//! architecture and `tests/hotpath.rs` can trace it instruction by instruction on x86-64.
//!
//! Slow paths that the library keeps out of line on purpose (`percpu_ref`'s atomic-mode
//! `add_not_zero` / `put_atomic`, `std`'s contended `RwLock` paths) stay calls here too: what
//! a listing shows inline is exactly what every lookup executes in the common case.

use crate::strategy::{
    Strategy, arc_swap::ArcSwapStrategy, atomic::Atomic, hazard::Hazard,
    percpu_acquire::PercpuAcquire, percpu_fence::PercpuFence, rcu_valid::RcuValid,
    rwlock::RwLockStrategy, unprotected::Unprotected,
};
use crate::swap::{SwapEntry, SwapTable};

/// Lookup, one read, release: the body every `swapref_hot_*` function instantiates.
/// Returns the byte read, or 0 (never a valid tag) when the lookup failed.
#[inline(always)]
fn lookup_read_release<S: Strategy>(
    table: &SwapTable<S>,
    reader: &mut S::Reader,
    ty: usize,
    offset: usize,
) -> u8 {
    match table.get_swap_device(reader, SwapEntry { ty, offset }) {
        Some(dev) => dev.read(offset),
        None => 0,
    }
}

macro_rules! hot_paths {
    ($($sym:ident: $ty:ty),* $(,)?) => {
        $(
            #[doc = concat!(
                "The hot path of `", stringify!($ty), "`: lookup of `(ty, offset)`, one read of ",
                "`swap_map[offset]`, release. Returns the byte, or 0 if the lookup failed."
            )]
            #[inline(never)]
            // SAFETY: (no_mangle) the symbol name is unique: every name here starts with
            // `swapref_hot_` and the macro is invoked once.
            #[unsafe(no_mangle)]
            pub fn $sym(
                table: &SwapTable<$ty>,
                reader: &mut <$ty as Strategy>::Reader,
                ty: usize,
                offset: usize,
            ) -> u8 {
                lookup_read_release(table, reader, ty, offset)
            }
        )*

        /// `(strategy name, symbol)` of every hot-path function, in registry order.
        pub const HOT_PATHS: &[(&str, &str)] = &[$((<$ty as Strategy>::NAME, stringify!($sym))),*];
    };
}

hot_paths! {
    swapref_hot_percpu_acquire: PercpuAcquire,
    swapref_hot_percpu_fence: PercpuFence,
    swapref_hot_arc_swap: ArcSwapStrategy,
    swapref_hot_hazard: Hazard,
    swapref_hot_rcu_valid: RcuValid,
    swapref_hot_atomic: Atomic,
    swapref_hot_rwlock: RwLockStrategy,
    swapref_hot_unprotected: Unprotected,
}

/// The symbol of `strategy`'s hot-path function, if it has one.
pub fn symbol(strategy: &str) -> Option<&'static str> {
    HOT_PATHS
        .iter()
        .find(|(n, _)| *n == strategy)
        .map(|&(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_strategy_has_a_hot_path_in_registry_order() {
        let names: Vec<&str> = HOT_PATHS.iter().map(|(n, _)| *n).collect();
        let registry: Vec<&str> = crate::strategy::ALL.iter().map(|i| i.name).collect();
        assert_eq!(names, registry);
        assert_eq!(symbol("atomic"), Some("swapref_hot_atomic"));
        assert_eq!(symbol("nope"), None);
    }
}
