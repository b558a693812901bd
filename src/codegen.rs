//! One out-of-line, non-generic instance of each strategy's hot path, for reading its machine
//! code.
//!
//! Each function is `get_swap_device(entry)` through the [`SwapTable`], one read of
//! `swap_map[offset]`, and `put_swap_device()` (the guard's drop): the same inlined code the
//! driver's reader loop runs per lookup, cut out of the loop. They are generated from the
//! registry ([`for_each_strategy!`](crate::for_each_strategy)): one per strategy and RCU
//! flavour, `codegen::<module>::{qsbr, membarrier, fence}` or `codegen::<module>::hot`, with
//! the symbol `swapref_hot_<module>[_<flavour>]`; a percpu strategy has the per-CPU counter
//! backend's too, `codegen::<module>::{qsbr_cpu, ...}`, symbol
//! `swapref_hot_<module>_<flavour>_cpu`. `#[inline(never)]` keeps each a function of its own;
//! `export_name` gives it a stable symbol so that `scripts/codegen.sh` can cut it out of
//! `--emit asm` output for every architecture; [`HotPath::prepare`] lets `tests/hotpath.rs`
//! trace it instruction by instruction on x86-64.
//!
//! Slow paths are as the library has them. `percpu_ref`'s atomic-mode paths (`add_not_zero`,
//! `put_atomic`) are inlined as cold blocks at the function's end, so that they put no call on
//! a path that rejoins the fast one (which makes the function save, on every lookup, the
//! registers live across it); the release callback, the per-CPU backend's switch-lock cover,
//! the grace-period driver's wake-up, `std`'s contended `RwLock` paths and the panics stay
//! calls. The release callback still costs the x86-64 qsbr function one saved register (the
//! byte read, kept across it), which also aligns the stack for the panics' calls. A listing
//! therefore shows cold blocks beside the common case; `tests/hotpath.rs` counts what one
//! lookup executes.

use crate::percpu_ref::PercpuKind;
use crate::rcu::FlavorKind;
use crate::strategy::{Strategy, StrategyError};
use crate::swap::{SwapEntry, SwapTable, TableConfig};

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

/// The signature of every hot-path function.
pub type HotFn<S> = fn(&SwapTable<S>, &mut <S as Strategy>::Reader, usize, usize) -> u8;

/// One hot-path function per registry line and flavour, in a module named after the strategy's
/// (`codegen::percpu_acquire::qsbr`, symbol `swapref_hot_percpu_acquire_qsbr`; a strategy not
/// over the RCU has `codegen::<module>::hot`, symbol `swapref_hot_<module>`), and [`GROUPS`].
macro_rules! hot_paths {
    ($k:tt; $($kind:ident $module:ident $ty:ident),* $(,)?) => {
        $(
            #[doc = concat!("Hot paths of `", stringify!($module), "`.")]
            pub mod $module {
                use super::*;
                hot_paths!(@fns $kind $module $ty);
            }
        )*

        /// Every hot-path function, by strategy in registry order.
        const GROUPS: &[&[HotPath]] = &[$(&hot_paths!(@rows $kind $module $ty)),*];
    };
    (@fns rcu $module:ident $ty:ident) => {
        hot_paths!(@fn $module qsbr "_qsbr", crate::strategy::$module::$ty<crate::rcu::Qsbr>);
        hot_paths!(@fn $module membarrier "_membarrier",
            crate::strategy::$module::$ty<crate::rcu::Memb>);
        hot_paths!(@fn $module fence "_fence", crate::strategy::$module::$ty<crate::rcu::Mb>);
    };
    (@fns percpu $module:ident $ty:ident) => {
        hot_paths!(@fns rcu $module $ty);
        hot_paths!(@fn $module qsbr_cpu "_qsbr_cpu",
            crate::strategy::$module::$ty<crate::rcu::Qsbr, crate::percpu_ref::PerCpu>);
        hot_paths!(@fn $module membarrier_cpu "_membarrier_cpu",
            crate::strategy::$module::$ty<crate::rcu::Memb, crate::percpu_ref::PerCpu>);
        hot_paths!(@fn $module fence_cpu "_fence_cpu",
            crate::strategy::$module::$ty<crate::rcu::Mb, crate::percpu_ref::PerCpu>);
        hot_paths!(@fn $module qsbr_cid "_qsbr_cid",
            crate::strategy::$module::$ty<crate::rcu::Qsbr, crate::percpu_ref::PerCid>);
    };
    (@fns plain $module:ident $ty:ident) => {
        hot_paths!(@fn $module hot "", crate::strategy::$module::$ty);
    };
    (@fn $module:ident $f:ident $suffix:literal, $t:ty) => {
        #[doc = concat!(
            "The hot path of `", stringify!($t), "`: lookup of `(ty, offset)`, one read of ",
            "`swap_map[offset]`, release. Returns the byte, or 0 if the lookup failed."
        )]
        #[inline(never)]
        // SAFETY: (export_name) the symbol is unique: `swapref_hot_` + the module name, unique
        // in the registry, + a flavour suffix written once per flavour above.
        #[unsafe(export_name = concat!("swapref_hot_", stringify!($module), $suffix))]
        pub fn $f(
            table: &SwapTable<$t>,
            reader: &mut <$t as Strategy>::Reader,
            ty: usize,
            offset: usize,
        ) -> u8 {
            lookup_read_release(table, reader, ty, offset)
        }
    };
    (@rows rcu $module:ident $ty:ident) => {[
        hot_paths!(@row $module qsbr, Some(FlavorKind::Qsbr), None, "_qsbr",
            crate::strategy::$module::$ty<crate::rcu::Qsbr>),
        hot_paths!(@row $module membarrier, Some(FlavorKind::Membarrier), None, "_membarrier",
            crate::strategy::$module::$ty<crate::rcu::Memb>),
        hot_paths!(@row $module fence, Some(FlavorKind::Fence), None, "_fence",
            crate::strategy::$module::$ty<crate::rcu::Mb>),
    ]};
    (@rows percpu $module:ident $ty:ident) => {[
        hot_paths!(@row $module qsbr, Some(FlavorKind::Qsbr), Some(PercpuKind::Thread),
            "_qsbr", crate::strategy::$module::$ty<crate::rcu::Qsbr>),
        hot_paths!(@row $module membarrier, Some(FlavorKind::Membarrier),
            Some(PercpuKind::Thread), "_membarrier",
            crate::strategy::$module::$ty<crate::rcu::Memb>),
        hot_paths!(@row $module fence, Some(FlavorKind::Fence), Some(PercpuKind::Thread),
            "_fence", crate::strategy::$module::$ty<crate::rcu::Mb>),
        hot_paths!(@row $module qsbr_cpu, Some(FlavorKind::Qsbr), Some(PercpuKind::Cpu),
            "_qsbr_cpu",
            crate::strategy::$module::$ty<crate::rcu::Qsbr, crate::percpu_ref::PerCpu>),
        hot_paths!(@row $module membarrier_cpu, Some(FlavorKind::Membarrier),
            Some(PercpuKind::Cpu), "_membarrier_cpu",
            crate::strategy::$module::$ty<crate::rcu::Memb, crate::percpu_ref::PerCpu>),
        hot_paths!(@row $module fence_cpu, Some(FlavorKind::Fence), Some(PercpuKind::Cpu),
            "_fence_cpu",
            crate::strategy::$module::$ty<crate::rcu::Mb, crate::percpu_ref::PerCpu>),
        // One flavour is enough to show the other index: the section differs from `qsbr_cpu`'s
        // in the field it reads and in the test of `cpu_id`'s sign before it.
        hot_paths!(@row $module qsbr_cid, Some(FlavorKind::Qsbr), Some(PercpuKind::Cid),
            "_qsbr_cid",
            crate::strategy::$module::$ty<crate::rcu::Qsbr, crate::percpu_ref::PerCid>),
    ]};
    (@rows plain $module:ident $ty:ident) => {[
        hot_paths!(@row $module hot, None, None, "", crate::strategy::$module::$ty),
    ]};
    (@row $module:ident $f:ident, $flavor:expr, $percpu:expr, $suffix:literal, $t:ty) => {
        HotPath {
            strategy: <$t as Strategy>::NAME,
            flavor: $flavor,
            percpu: $percpu,
            symbol: concat!("swapref_hot_", stringify!($module), $suffix),
            entry: || $module::$f as HotFn<$t> as usize,
            prepare: || prepare::<$t>($module::$f),
        }
    };
}

crate::for_each_strategy!(hot_paths);

/// Every hot-path function, in registry order (flavours in [`FlavorKind::ALL`] order).
pub fn hot_paths() -> impl Iterator<Item = &'static HotPath> {
    GROUPS.iter().flat_map(|g| g.iter())
}

/// One hot-path function.
#[derive(Debug, Clone, Copy)]
pub struct HotPath {
    /// The strategy's name.
    pub strategy: &'static str,
    /// The RCU flavour it was compiled for, for a strategy generic over it.
    pub flavor: Option<FlavorKind>,
    /// The `percpu_ref` counter backend it was compiled for, for a strategy generic over it.
    /// A [`PercpuKind::Cpu`] or [`PercpuKind::Cid`] path runs restartable sequences
    /// ([`PercpuKind::is_rseq`]): single-stepping it aborts its
    /// sections, so `tests/hotpath.rs` does not trace it; `tests/rseq_listing.rs` checks its
    /// sections in the binary instead.
    pub percpu: Option<PercpuKind>,
    /// The function's symbol.
    pub symbol: &'static str,
    /// The function's address.
    pub entry: fn() -> usize,
    /// A table of the strategy with device 0 on and a reader: the returned closure calls the
    /// function once on `(0, 5)` and returns the byte read (0 if the lookup failed). For
    /// tracing one lookup (`tests/hotpath.rs`). Fails where the flavour is unavailable.
    pub prepare: fn() -> Result<OneLookup, StrategyError>,
}

/// One call of a hot-path function on a prepared table (see [`HotPath::prepare`]).
pub type OneLookup = Box<dyn FnMut() -> u8>;

/// [`HotPath::prepare`] for strategy `S` and its function `f`.
fn prepare<S: Strategy>(f: HotFn<S>) -> Result<OneLookup, StrategyError> {
    /// Fields drop in order: the reader goes before the table, whose drop swaps the device
    /// off and (under `qsbr`) waits for every registered reader to be quiescent or gone.
    struct Prepared<S: Strategy> {
        reader: S::Reader,
        table: SwapTable<S>,
    }
    let table = SwapTable::<S>::new(&TableConfig::default())?;
    table
        .swapon(0, 64)
        .map_err(|e| StrategyError(format!("swapon: {e}")))?;
    let mut p = Prepared::<S> {
        reader: table.reader(),
        table,
    };
    Ok(Box::new(move || {
        let p = &mut p;
        f(
            std::hint::black_box(&p.table),
            &mut p.reader,
            std::hint::black_box(0),
            std::hint::black_box(5),
        )
    }))
}

impl HotPath {
    /// The strategy's name, with `@flavour` for one compiled per RCU flavour
    /// (`percpu-acquire@qsbr`) and `/cpu` or `/cid` for the rseq counter backends
    /// (`percpu-acquire@qsbr/cpu`), as results label their series: `summary.json` names
    /// functions by it.
    pub fn label(&self) -> String {
        let l = label(self.strategy, self.flavor);
        l + &self
            .percpu
            .map(crate::workload::point::percpu_suffix)
            .unwrap_or_default()
    }

    /// The listing's file name without `.s`: the label, `/` written as `+`
    /// (`percpu-acquire@qsbr+cpu`).
    pub fn file_stem(&self) -> String {
        self.label().replace('/', "+")
    }
}

/// [`HotPath::label`] from its parts, for per-thread counters.
pub fn label(strategy: &str, flavor: Option<FlavorKind>) -> String {
    match flavor {
        Some(f) => format!("{strategy}@{}", f.name()),
        None => strategy.to_owned(),
    }
}

/// The symbol of the hot path of `strategy` compiled for `flavor` (per-thread counters, for a
/// percpu strategy), if there is one.
pub fn symbol(strategy: &str, flavor: Option<FlavorKind>) -> Option<&'static str> {
    hot_paths()
        .find(|h| {
            h.strategy == strategy
                && h.flavor == flavor
                && !h.percpu.is_some_and(PercpuKind::is_rseq)
        })
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
                if i.percpu {
                    for f in FlavorKind::ALL {
                        expected.push(format!("{}/cpu", label(i.name, Some(f))));
                    }
                    expected.push(format!("{}/cid", label(i.name, Some(FlavorKind::Qsbr))));
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
        let cpu = hot_paths()
            .find(|h| h.label() == "percpu-acquire@qsbr/cpu")
            .expect("the per-CPU backend has hot paths");
        assert_eq!(cpu.symbol, "swapref_hot_percpu_acquire_qsbr_cpu");
        assert_eq!(cpu.file_stem(), "percpu-acquire@qsbr+cpu");
        let cid = hot_paths()
            .find(|h| h.label() == "percpu-fence@qsbr/cid")
            .expect("the backend by concurrency ID has hot paths");
        assert_eq!(cid.symbol, "swapref_hot_percpu_fence_qsbr_cid");
        assert_eq!(cid.file_stem(), "percpu-fence@qsbr+cid");
    }
}
