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

use crate::rcu::{FlavorKind, Mb, Memb, Qsbr};
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

macro_rules! hot_path {
    ($sym:ident, $ty:ty) => {
        #[doc = concat!(
            "The hot path of `", stringify!($ty), "`: lookup of `(ty, offset)`, one read of ",
            "`swap_map[offset]`, release. Returns the byte, or 0 if the lookup failed."
        )]
        #[inline(never)]
        // SAFETY: (no_mangle) the symbol name is unique: every name here starts with
        // `swapref_hot_` and each is written once in the `hot_paths!` invocation.
        #[unsafe(no_mangle)]
        pub fn $sym(
            table: &SwapTable<$ty>,
            reader: &mut <$ty as Strategy>::Reader,
            ty: usize,
            offset: usize,
        ) -> u8 {
            lookup_read_release(table, reader, ty, offset)
        }
    };
}

/// `rcu Type => qsbr_sym, membarrier_sym, fence_sym` for a strategy generic over the RCU
/// flavour (one function per flavour), `plain Type => sym` for the others.
macro_rules! hot_paths {
    ($($kind:ident $ty:ident => $($sym:ident),+;)*) => {
        $(hot_paths!(@fns $kind $ty => $($sym),+);)*

        /// Every hot-path function, by strategy in registry order.
        const GROUPS: &[&[HotPath]] = &[$(&hot_paths!(@rows $kind $ty => $($sym),+)),*];
    };
    (@fns rcu $ty:ident => $q:ident, $m:ident, $f:ident) => {
        hot_path!($q, $ty<Qsbr>);
        hot_path!($m, $ty<Memb>);
        hot_path!($f, $ty<Mb>);
    };
    (@fns plain $ty:ident => $s:ident) => {
        hot_path!($s, $ty);
    };
    (@rows rcu $ty:ident => $q:ident, $m:ident, $f:ident) => {[
        HotPath {
            strategy: <$ty<Qsbr> as Strategy>::NAME,
            flavor: Some(FlavorKind::Qsbr),
            symbol: stringify!($q),
        },
        HotPath {
            strategy: <$ty<Memb> as Strategy>::NAME,
            flavor: Some(FlavorKind::Membarrier),
            symbol: stringify!($m),
        },
        HotPath {
            strategy: <$ty<Mb> as Strategy>::NAME,
            flavor: Some(FlavorKind::Fence),
            symbol: stringify!($f),
        }
    ]};
    (@rows plain $ty:ident => $s:ident) => {[
        HotPath {
            strategy: <$ty as Strategy>::NAME,
            flavor: None,
            symbol: stringify!($s),
        }
    ]};
}

hot_paths! {
    rcu PercpuAcquire => swapref_hot_percpu_acquire_qsbr, swapref_hot_percpu_acquire_membarrier,
        swapref_hot_percpu_acquire_fence;
    rcu PercpuFence => swapref_hot_percpu_fence_qsbr, swapref_hot_percpu_fence_membarrier,
        swapref_hot_percpu_fence_fence;
    plain ArcSwapStrategy => swapref_hot_arc_swap;
    plain Hazard => swapref_hot_hazard;
    rcu RcuValid => swapref_hot_rcu_valid_qsbr, swapref_hot_rcu_valid_membarrier,
        swapref_hot_rcu_valid_fence;
    plain Atomic => swapref_hot_atomic;
    plain RwLockStrategy => swapref_hot_rwlock;
    plain Unprotected => swapref_hot_unprotected;
}

/// Every hot-path function, in registry order (flavours in [`FlavorKind::ALL`] order).
pub fn hot_paths() -> impl Iterator<Item = &'static HotPath> {
    GROUPS.iter().flat_map(|g| g.iter())
}

/// One hot-path function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotPath {
    /// The strategy's name.
    pub strategy: &'static str,
    /// The RCU flavour it was compiled for, for a strategy generic over it.
    pub flavor: Option<FlavorKind>,
    /// The function's symbol.
    pub symbol: &'static str,
}

impl HotPath {
    /// The strategy's name, with `@flavour` for one compiled per RCU flavour
    /// (`percpu-acquire@qsbr`): listing files and `summary.json` are named by it.
    pub fn label(&self) -> String {
        label(self.strategy, self.flavor)
    }
}

/// [`HotPath::label`] from its parts.
pub fn label(strategy: &str, flavor: Option<FlavorKind>) -> String {
    match flavor {
        Some(f) => format!("{strategy}@{}", f.name()),
        None => strategy.to_owned(),
    }
}

/// The symbol of the hot path of `strategy` compiled for `flavor`, if there is one.
pub fn symbol(strategy: &str, flavor: Option<FlavorKind>) -> Option<&'static str> {
    hot_paths()
        .find(|h| h.strategy == strategy && h.flavor == flavor)
        .map(|h| h.symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_strategy_has_a_hot_path_per_flavour_in_registry_order() {
        let mut expected = Vec::new();
        for i in crate::strategy::ALL {
            if i.rcu {
                for f in FlavorKind::ALL {
                    expected.push(label(i.name, Some(f)));
                }
            } else {
                expected.push(i.name.to_owned());
            }
        }
        let labels: Vec<String> = hot_paths().map(HotPath::label).collect();
        assert_eq!(labels, expected);
        assert_eq!(symbol("atomic", None), Some("swapref_hot_atomic"));
        assert_eq!(
            symbol("percpu-acquire", Some(FlavorKind::Qsbr)),
            Some("swapref_hot_percpu_acquire_qsbr")
        );
        assert_eq!(symbol("nope", None), None);
    }
}
