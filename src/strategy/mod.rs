//! The lookup strategies: one trait, one file each, one registry line.
//!
//! A [`Strategy`] guards the 32 slots of a [`SwapTable`](crate::swap::SwapTable). It is the
//! ops table of refscale's `struct ref_scale_ops`: the table, the torture checker, the driver,
//! the benches and the reports call only these methods and never name a strategy.
//! `swapref list` prints every registered strategy with its summary; each module's own
//! documentation says which kernel code it models and what its costs consist of.
//!
//! # Adding a strategy
//!
//! Write `src/strategy/<module>.rs` with a type implementing [`Strategy`] (start with a few
//! lines saying which kernel code it models and what its reader and swapoff cost consist of:
//! the write-up quotes them), then add one line to [`for_each_strategy!`](crate::for_each_strategy)
//! (`rcu <module> <Type>` if the type is generic over the RCU flavour, `percpu <module> <Type>`
//! if it is also generic over the `percpu_ref` counter backend, `plain <module> <Type>`
//! otherwise) and run `scripts/refresh.sh`, which regenerates the instruction-count baselines
//! and the hot-path listings. The line declares the module and generates [`ALL`], [`visit`],
//! the hot-path functions of [`codegen`](crate::codegen), the instruction-count benches of
//! `benches/icount.rs` and, in `tests/torture.rs` and `tests/hotpath.rs`, the per-strategy
//! tests.

#[cfg(feature = "internal-test-hooks")]
pub mod broken;
mod percpu;
pub mod rcu_object;

use crate::percpu_ref::PercpuKind;
use crate::rcu::{Domain, FlavorKind};
use crate::swap::map::SwapMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{
    AtomicPtr,
    Ordering::{Acquire, Relaxed, Release},
};

/// What a strategy needs from its environment.
#[derive(Debug, Clone, Default)]
pub struct StrategyConfig {
    /// RCU flavour for strategies that use the userspace RCU; `None` is `auto`
    /// ([`FlavorKind::auto`]). [`visit`] compiles the strategy for the flavour.
    pub rcu: Option<FlavorKind>,
    /// Counter backend of the strategies over `percpu_ref`; `None` is `auto`
    /// ([`PercpuKind::auto`]).
    pub percpu: Option<PercpuKind>,
    /// Test hook for negative controls: the strategy's RCU domain runs grace periods that return
    /// without waiting (readers then use freed memory, so it exists only with the
    /// `internal-test-hooks` feature, which only tests turn on).
    #[cfg(feature = "internal-test-hooks")]
    pub broken_grace_periods: bool,
}

impl StrategyConfig {
    /// The configuration for RCU flavour `rcu` (`None`: `auto`).
    pub fn with_rcu(rcu: Option<FlavorKind>) -> StrategyConfig {
        StrategyConfig {
            rcu,
            percpu: None,
            #[cfg(feature = "internal-test-hooks")]
            broken_grace_periods: false,
        }
    }

    /// This configuration with counter backend `percpu` (`None`: `auto`).
    pub fn with_percpu(self, percpu: Option<PercpuKind>) -> StrategyConfig {
        StrategyConfig { percpu, ..self }
    }

    /// The flavour [`visit`] compiles RCU-based strategies for: the one asked for, or `auto`'s.
    pub fn flavor(&self) -> FlavorKind {
        self.rcu.unwrap_or_else(|| auto_flavor().0)
    }

    /// What [`visit`] compiles for: the flavour and the counter backend, asked for or `auto`'s.
    pub fn kinds(&self) -> Kinds {
        Kinds {
            rcu: self.flavor(),
            percpu: self.percpu.unwrap_or_else(|| auto_percpu().0),
        }
    }

    /// A fresh RCU domain of flavour `F`, or why this process cannot have one.
    pub fn rcu_domain<F: crate::rcu::Flavor>(&self) -> Result<crate::rcu::Rcu<F>, StrategyError> {
        let rcu = crate::rcu::Rcu::<F>::try_new().map_err(|e| StrategyError(e.to_string()))?;
        #[cfg(feature = "internal-test-hooks")]
        if self.broken_grace_periods {
            rcu.break_grace_periods_for_tests();
        }
        Ok(rcu)
    }
}

/// [`FlavorKind::auto`], decided once per process.
pub fn auto_flavor() -> &'static (FlavorKind, String) {
    static AUTO: std::sync::OnceLock<(FlavorKind, String)> = std::sync::OnceLock::new();
    AUTO.get_or_init(FlavorKind::auto)
}

/// [`PercpuKind::auto`], decided once per process.
pub fn auto_percpu() -> &'static (PercpuKind, String) {
    static AUTO: std::sync::OnceLock<(PercpuKind, String)> = std::sync::OnceLock::new();
    AUTO.get_or_init(PercpuKind::auto)
}

/// The compile-time choices [`visit`] makes for a strategy: its RCU flavour (strategies over
/// the RCU) and its counter backend (strategies over `percpu_ref`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    /// RCU flavour.
    pub rcu: FlavorKind,
    /// `percpu_ref` counter backend.
    pub percpu: PercpuKind,
}

/// A flavour alone: per-thread counters (what the instruction-count gate and the benches
/// measure unless told otherwise).
impl From<FlavorKind> for Kinds {
    fn from(rcu: FlavorKind) -> Kinds {
        Kinds {
            rcu,
            percpu: PercpuKind::Thread,
        }
    }
}

/// Why a strategy could not be set up (an RCU flavour this machine lacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyError(pub String);

impl fmt::Display for StrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StrategyError {}

/// Only this crate's strategies implement [`Strategy`]: the table's unsafe calls rely on what
/// they are (see the trait).
pub(crate) mod sealed {
    pub trait Sealed {}
}

/// One way of guarding `swap_info[]` against a concurrent swapoff.
///
/// Slots are `0..MAX_SWAPFILES`; the table checks the range and the on/off state before it
/// calls `publish` or `unpublish`, and never calls them concurrently for the same slot.
///
/// Sealed (a registry line and a file in `src/strategy/` add one): the table's unsafe calls
/// rely on properties of each implementation that the types do not state. A strategy without
/// churn (`unprotected`) has guards that borrow the strategy for `'r` (so none outlives the
/// table's borrow, which `unpublish`'s precondition 3 needs in the table's `Drop`) and orders
/// its readers after every publish itself. Outside this crate an implementation does not
/// compile:
///
/// ```compile_fail,E0277
/// use std::sync::{Arc, Mutex};
/// use swapref::strategy::{Strategy, StrategyConfig, StrategyError};
/// use swapref::swap::SwapMap;
/// // One device behind a mutex (every slot shares it): a whole strategy, were it allowed.
/// struct Outside(Mutex<Option<Arc<SwapMap>>>);
/// impl Strategy for Outside {
///     const NAME: &'static str = "outside";
///     const SUMMARY: &'static str = "one mutex";
///     type Reader = ();
///     type Guard<'r> = Arc<SwapMap>;
///     fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
///         Ok(Outside(Mutex::new(None)))
///     }
///     fn reader(&self) {}
///     fn get<'r>(&'r self, _: &'r mut (), _: usize) -> Option<Arc<SwapMap>> {
///         self.0.lock().unwrap().clone()
///     }
///     unsafe fn publish(&self, _: usize, map: Arc<SwapMap>) {
///         *self.0.lock().unwrap() = Some(map);
///     }
///     unsafe fn unpublish(&self, _: usize) -> Arc<SwapMap> {
///         self.0.lock().unwrap().take().expect("published")
///     }
///     fn device_bytes(&self) -> usize {
///         std::mem::size_of::<Self>()
///     }
/// }
/// ```
pub trait Strategy: sealed::Sealed + Send + Sync + Sized + 'static {
    /// The name on the command line and in results.
    const NAME: &'static str;
    /// One line for `swapref list`.
    const SUMMARY: &'static str;
    /// Whether swapoff/swapon may run while readers do (false only for `unprotected`).
    const CHURN: bool = true;
    /// Whether the strategy runs over the userspace RCU (and so is compiled per flavour).
    const RCU: bool = false;
    /// Whether its swapoff waits for RCU grace periods (false for `hazptr`, which takes only
    /// the flavour's barrier pair).
    const GRACE_PERIODS: bool = Self::RCU;
    /// Whether it counts with `percpu_ref` and so is compiled per counter backend too.
    const PERCPU: bool = false;

    /// What each reader thread keeps: a hazard pointer, a registered RCU reader, or nothing.
    /// Create it once per thread with [`reader`](Self::reader) and reuse it.
    type Reader;
    /// A held reference to a device; dropping it is `put_swap_device()`.
    type Guard<'r>: Deref<Target = SwapMap>
    where
        Self: 'r;

    /// Run `v` with the variant of this strategy that `kinds` asks for: `Self` unless the
    /// strategy has variants beyond the flavour (the `percpu_ref` counter backends).
    fn visit_as<V: Visitor>(v: V, kinds: Kinds) -> V::Output {
        let _ = kinds;
        v.visit::<Self>()
    }
    /// A strategy with every slot off.
    fn new(cfg: &StrategyConfig) -> Result<Self, StrategyError>;
    /// A reader handle for the calling thread.
    fn reader(&self) -> Self::Reader;
    /// Take a reference to slot `ty`'s device, or `None` if it is off (`get_swap_device`).
    fn get<'r>(&'r self, reader: &'r mut Self::Reader, ty: usize) -> Option<Self::Guard<'r>>;
    /// The reader holds no guard and nothing obtained through one (`rcu_quiescent_state()`
    /// under `qsbr`). Reader loops call it where they look at their stop flag; `&mut` proves no
    /// guard is alive. Nothing for strategies whose readers need no announcement.
    #[inline(always)]
    fn quiescent(reader: &mut Self::Reader) {
        let _ = reader;
    }
    /// Run `f`, which blocks, with the reader offline (`rcu_thread_offline()` under `qsbr`):
    /// readers wrap every wait (barriers, condition variables) in it. Just `f()` otherwise.
    fn offline<R>(reader: &mut Self::Reader, f: impl FnOnce() -> R) -> R {
        let _ = reader;
        f()
    }
    /// swapon's publication of a fully built map in a slot that is off.
    ///
    /// # Safety
    ///
    /// 1. Nothing is published in slot `ty`.
    /// 2. No other `publish` or `unpublish` of slot `ty` runs concurrently.
    ///
    /// [`SwapTable::swapon`](crate::swap::SwapTable::swapon) upholds both. Its refusal of a
    /// swapon once a no-churn table made a reader handle is that policy, not a safety
    /// precondition: such a strategy orders its readers after a publish itself (see
    /// `unprotected`'s module doc for why the table cannot).
    unsafe fn publish(&self, ty: usize, map: Arc<SwapMap>);
    /// swapoff: unpublish slot `ty` and return its map once no reader holds it or can obtain it.
    ///
    /// # Safety
    ///
    /// 1. A map is published in slot `ty`.
    /// 2. No other `publish` or `unpublish` of slot `ty` runs concurrently.
    /// 3. If `!Self::CHURN`: no guard of this strategy exists or can be taken meanwhile (such a
    ///    strategy cannot wait for readers).
    ///
    /// [`SwapTable::swapoff`](crate::swap::SwapTable::swapoff) and the table's `Drop` uphold
    /// all three.
    unsafe fn unpublish(&self, ty: usize) -> Arc<SwapMap>;
    /// Bytes per device this strategy allocates for its protection (per-thread slots
    /// included), excluding the map.
    fn device_bytes(&self) -> usize;
    /// The RCU domain, for strategies that use one (its flavour goes into the results, its
    /// readers' states into stall reports).
    fn rcu(&self) -> Option<&dyn Domain> {
        None
    }
    /// The RCU flavour this instance was compiled for, as results record it: the RCU domain's,
    /// or for a strategy that only borrows a flavour's barrier pair (`hazptr`), that flavour.
    fn flavor(&self) -> Option<FlavorKind> {
        self.rcu().map(|d| d.flavor())
    }
    /// The `percpu_ref` counter backend this instance counts with, for those that use one.
    fn percpu(&self) -> Option<PercpuKind> {
        None
    }
    /// What a stall report says about slot `ty`'s protection (a ref's count and mode), if
    /// anything.
    fn describe(&self, ty: usize) -> Option<String> {
        let _ = ty;
        None
    }
}

/// Name and description of a registered strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `Strategy::NAME`.
    pub name: &'static str,
    /// `Strategy::SUMMARY`.
    pub summary: &'static str,
    /// `Strategy::CHURN`.
    pub churn: bool,
    /// `Strategy::RCU`: compiled per RCU flavour, and its results name the flavour.
    pub rcu: bool,
    /// `Strategy::GRACE_PERIODS`.
    pub grace_periods: bool,
    /// `Strategy::PERCPU`: compiled per counter backend too, and its results name it.
    pub percpu: bool,
    /// The strategy's module (`src/strategy/<module>.rs`); tests and hot-path symbols are
    /// named by it.
    pub module: &'static str,
    /// The module's source file; its leading `//!` lines are the strategy's notes.
    pub source: &'static str,
}

impl Info {
    /// The module documentation as Markdown paragraphs: `//!` markers and doc links removed.
    /// Empty if the file has no module documentation.
    pub fn doc_markdown(&self) -> String {
        let lines: Vec<&str> = self
            .source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").trim())
            .collect();
        strip_links(&lines.join("\n"))
    }
}

/// `[`X`](path)` → `` `X` ``, `[`X`]` → `` `X` ``.
fn strip_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("[`") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find("`]") {
            Some(j) => {
                out.push_str(&after[..j + 1]);
                let tail = &after[j + 2..];
                rest = if tail.starts_with('(') {
                    tail.find(')').map_or(tail, |k| &tail[k + 1..])
                } else {
                    tail
                };
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Something to do with a strategy chosen by name at run time: the registry calls
/// `visit::<S>()` with the concrete type, so hot loops are monomorphised per strategy.
pub trait Visitor {
    /// What the visit returns.
    type Output;
    /// Do it with strategy `S`.
    fn visit<S: Strategy>(self) -> Self::Output;
}

/// The name was not found; the message lists every valid name (like refscale).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStrategy(pub String);

impl fmt::Display for UnknownStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = ALL.iter().map(|i| i.name).collect();
        write!(
            f,
            "unknown strategy '{}' (valid: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownStrategy {}

/// The one list of strategies, in the order reports list them: `rcu <module> <Type>` for a
/// type generic over the RCU flavour (`Type<F: Flavor>`), `percpu <module> <Type>` for one
/// also generic over the `percpu_ref` counter backend (`Type<F: Flavor, C: Counters<F> =
/// PerThread>`), `plain <module> <Type>` for the others; the module is
/// `src/strategy/<module>.rs`.
///
/// It calls `$callback! { $crate; <lines> }`, so that every per-strategy item, in this crate
/// ([`ALL`], [`visit`], the hot-path functions) or in a test file (one torture test per
/// strategy), is generated from these lines and from nothing else:
///
/// ```
/// macro_rules! modules {
///     ($k:tt; $($kind:ident $module:ident $ty:ident),* $(,)?) => {
///         &[$(stringify!($module)),*]
///     };
/// }
/// let modules: &[&str] = swapref::for_each_strategy!(modules);
/// assert_eq!(modules.len(), swapref::strategy::ALL.len());
/// assert!(modules.contains(&"rwlock"));
/// ```
#[macro_export]
macro_rules! for_each_strategy {
    ($callback:ident) => {
        $callback! { $crate;
            percpu percpu_acquire PercpuAcquire,
            percpu percpu_fence PercpuFence,
            plain arc_swap ArcSwapStrategy,
            plain hazard Hazard,
            rcu rcu_valid RcuValid,
            rcu rcuref RcuRefStrategy,
            rcu file_ref FileRefStrategy,
            rcu hazptr Hazptr,
            plain atomic Atomic,
            plain rwlock RwLockStrategy,
            plain unprotected Unprotected,
        }
    };
}

/// The registry's own expansion: the modules, [`ALL`] and [`visit`].
macro_rules! registry {
    ($k:tt; $($kind:ident $module:ident $ty:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every strategy, in the order reports list them.
        pub const ALL: &[Info] = &[$(Info {
            name: <registry!(@ty $kind $module $ty) as Strategy>::NAME,
            summary: <registry!(@ty $kind $module $ty) as Strategy>::SUMMARY,
            churn: <registry!(@ty $kind $module $ty) as Strategy>::CHURN,
            rcu: <registry!(@ty $kind $module $ty) as Strategy>::RCU,
            grace_periods: <registry!(@ty $kind $module $ty) as Strategy>::GRACE_PERIODS,
            percpu: <registry!(@ty $kind $module $ty) as Strategy>::PERCPU,
            module: stringify!($module),
            source: include_str!(concat!(stringify!($module), ".rs")),
        }),*];

        /// Run `v` with the strategy called `name`, compiled for the RCU flavour of `kinds` if
        /// it uses the RCU and for its counter backend if it uses `percpu_ref` (the others
        /// ignore them). A bare [`FlavorKind`] means per-thread counters.
        pub fn visit<V: Visitor>(
            name: &str,
            kinds: impl Into<Kinds>,
            v: V,
        ) -> Result<V::Output, UnknownStrategy> {
            let kinds: Kinds = kinds.into();
            $(if name == <registry!(@ty $kind $module $ty) as Strategy>::NAME {
                return Ok(registry!(@visit $kind v kinds $module $ty));
            })*
            let _ = kinds;
            Err(UnknownStrategy(name.to_owned()))
        }
    };
    (@ty rcu $module:ident $ty:ident) => { $module::$ty<crate::rcu::Memb> };
    // The backend is `visit_as`'s business: at the registry's level a percpu line is an RCU one.
    (@ty percpu $module:ident $ty:ident) => { registry!(@ty rcu $module $ty) };
    (@visit percpu $v:ident $kinds:ident $module:ident $ty:ident) => {
        registry!(@visit rcu $v $kinds $module $ty)
    };
    (@ty plain $module:ident $ty:ident) => { $module::$ty };
    (@visit rcu $v:ident $kinds:ident $module:ident $ty:ident) => {
        match $kinds.rcu {
            FlavorKind::Qsbr => {
                <$module::$ty<crate::rcu::Qsbr> as Strategy>::visit_as($v, $kinds)
            }
            FlavorKind::Membarrier => {
                <$module::$ty<crate::rcu::Memb> as Strategy>::visit_as($v, $kinds)
            }
            FlavorKind::Fence => <$module::$ty<crate::rcu::Mb> as Strategy>::visit_as($v, $kinds),
        }
    };
    (@visit plain $v:ident $kinds:ident $module:ident $ty:ident) => {
        <$module::$ty as Strategy>::visit_as($v, $kinds)
    };
}

for_each_strategy!(registry);

/// Look up a strategy's [`Info`] by name; a series label (`percpu-acquire@qsbr`) names its
/// strategy.
pub fn info(name: &str) -> Result<Info, UnknownStrategy> {
    let base = name.split_once('@').map_or(name, |(b, _)| b);
    ALL.iter()
        .copied()
        .find(|i| i.name == base)
        .ok_or_else(|| UnknownStrategy(name.to_owned()))
}

/// The `si->swap_map` field of a long-lived device that strategies which reuse the device in
/// place (percpu, rcu-valid, atomic, rwlock's sibling `unprotected`) share: a pointer that
/// swapon sets and swapoff clears, owning one `Arc` count while set.
///
/// Loads and stores are `Relaxed`: each strategy's own acquire/release point orders them, which
/// is exactly what the torture checker tests (a missing acquire reads a map from before the
/// set-up, or none). The one exception is `unprotected`, whose pair is
/// [`set_release`](Self::set_release) and [`get_acquire`](Self::get_acquire) (its module doc
/// says why).
#[derive(Debug, Default)]
pub(crate) struct MapSlot(AtomicPtr<SwapMap>);

impl MapSlot {
    /// setup_swap_info(): set the map. The slot must be empty.
    pub(crate) fn set(&self, map: Arc<SwapMap>) {
        // Relaxed: published by the strategy's own release point after it (atomic's Release
        // store, percpu's resurrect, rcu-valid's grace period). Not Release: on arm64 that would
        // also order the map's contents for a reader whose live check lacks its acquire, and
        // hide the stale map the torture checker looks for.
        let old = self.0.swap(Arc::into_raw(map).cast_mut(), Relaxed);
        debug_assert!(old.is_null(), "MapSlot::set on a slot that holds a map");
    }

    /// [`set`](Self::set), ordering itself: for `unprotected`, whose readers load with
    /// [`get_acquire`](Self::get_acquire).
    pub(crate) fn set_release(&self, map: Arc<SwapMap>) {
        // Release: pairs with `get_acquire`'s Acquire; the map's construction happens before.
        let old = self.0.swap(Arc::into_raw(map).cast_mut(), Release);
        debug_assert!(
            old.is_null(),
            "MapSlot::set_release on a slot that holds a map"
        );
    }

    /// Take the map back (swapoff, after the drain).
    pub(crate) fn take(&self) -> Arc<SwapMap> {
        // Relaxed: runs after the strategy's drain (Acquire load, grace period, release wait) or
        // with no reader left (unprotected), which orders every holder's use of the map before
        // it; the broken negative control skips the drain on purpose.
        let p = self.0.swap(std::ptr::null_mut(), Relaxed);
        assert!(!p.is_null(), "MapSlot::take on an empty slot");
        // SAFETY: `p` came from `Arc::into_raw` in `set` or `set_release` and was swapped out
        // exactly once, so this reclaims the count that leaked.
        unsafe { Arc::from_raw(p) }
    }

    /// The current map, if any.
    ///
    /// # Safety
    ///
    /// 1. The caller holds the strategy's reference to this device (so the map cannot be taken
    ///    and dropped before the returned reference's lifetime `'a` ends), and
    /// 2. its acquire point orders this load after the `set` it must observe.
    #[inline]
    pub(crate) unsafe fn get<'a>(&self) -> Option<&'a SwapMap> {
        // Relaxed: precondition 2, the caller's acquire point, orders it after the `set`.
        let p = self.0.load(Relaxed);
        // SAFETY: non-null pointers here come from `Arc::into_raw` and stay valid while the
        // slot owns them; the caller's precondition 1 extends that to `'a`.
        unsafe { p.as_ref() }
    }

    /// [`get`](Self::get) with an `Acquire` load, which orders itself: a map it sees, it sees
    /// whole (the load pairs with [`set_release`](Self::set_release)). On x86-64 the same
    /// instruction as `get`.
    ///
    /// # Safety
    ///
    /// 1. As `get`'s 1: the map cannot be taken and dropped before `'a` ends.
    #[inline]
    pub(crate) unsafe fn get_acquire<'a>(&self) -> Option<&'a SwapMap> {
        // Acquire: pairs with the Release in `set_release`; the map's construction happens
        // before.
        let p = self.0.load(Acquire);
        // SAFETY: as in `get`; precondition 1 extends the pointer's validity to `'a`.
        unsafe { p.as_ref() }
    }
}

impl Drop for MapSlot {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: as in `take`; `&mut self` means no reader can hold the map.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}

/// A reader holds a live reference to a device whose map is not set: the strategy's live check
/// did not order the set-up before the reader's loads (the stale-field outcome of a missing
/// ACQUIRE). Never a failed lookup: it stops the reader, which fails the run or the test.
#[cold]
#[inline(never)]
pub(crate) fn live_without_map(strategy: &str, ty: usize) -> ! {
    panic!(
        "{strategy}: device {ty} is live but its swap_map is not set: the live check did not \
         order swapon's set-up before this reader (ordering bug)"
    )
}

/// `[T; MAX_SWAPFILES]` built by a function, for the strategies' per-slot arrays.
pub(crate) fn slots<T>(f: impl FnMut(usize) -> T) -> [T; crate::swap::map::MAX_SWAPFILES] {
    std::array::from_fn(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `compile_fail` example of [`Strategy`]'s docs, word for word, with the seal: inside
    /// the crate it compiles and works, so the doctest fails only for the seal (its `E0277` is
    /// checked on nightly only; a trait change that broke the example would also fail there,
    /// and shows here). Keep the two the same.
    mod outside {
        use crate::strategy::{Strategy, StrategyConfig, StrategyError};
        use crate::swap::SwapMap;
        use std::sync::{Arc, Mutex};
        // One device behind a mutex (every slot shares it): a whole strategy, were it allowed.
        pub struct Outside(Mutex<Option<Arc<SwapMap>>>);
        impl Strategy for Outside {
            const NAME: &'static str = "outside";
            const SUMMARY: &'static str = "one mutex";
            type Reader = ();
            type Guard<'r> = Arc<SwapMap>;
            fn new(_: &StrategyConfig) -> Result<Self, StrategyError> {
                Ok(Outside(Mutex::new(None)))
            }
            fn reader(&self) {}
            fn get<'r>(&'r self, _: &'r mut (), _: usize) -> Option<Arc<SwapMap>> {
                self.0.lock().unwrap().clone()
            }
            unsafe fn publish(&self, _: usize, map: Arc<SwapMap>) {
                *self.0.lock().unwrap() = Some(map);
            }
            unsafe fn unpublish(&self, _: usize) -> Arc<SwapMap> {
                self.0.lock().unwrap().take().expect("published")
            }
            fn device_bytes(&self) -> usize {
                std::mem::size_of::<Self>()
            }
        }
        impl crate::strategy::sealed::Sealed for Outside {}
    }

    #[test]
    fn the_sealed_example_is_a_whole_strategy_once_sealed() {
        use crate::swap::{SwapEntry, SwapTable, TableConfig};
        let t = SwapTable::<outside::Outside>::new(&TableConfig::default()).unwrap();
        let e = SwapEntry { ty: 0, offset: 1 };
        // The reader handle is `()`.
        let r = &mut ();
        assert!(t.get_swap_device(r, e).is_none(), "no device yet");
        t.swapon(0, 4).unwrap();
        {
            let dev = t.get_swap_device(r, e).expect("device 0 is on");
            assert_eq!(dev.read(e.offset), dev.expected());
        }
        t.swapoff(0).unwrap();
        assert!(t.get_swap_device(r, e).is_none(), "device 0 is off");
    }

    #[test]
    fn every_registered_strategy_has_notes_naming_it() {
        for i in ALL {
            let d = i.doc_markdown();
            assert!(d.contains(&format!("`{}`", i.name)), "{}: {d}", i.name);
            assert!(d.len() > 200, "{}: too short to say anything: {d}", i.name);
            assert!(!d.contains("](super::"), "links stripped: {d}");
        }
    }

    #[test]
    fn doc_links_become_code() {
        assert_eq!(
            strip_links("see [`Percpu`](super::percpu::Percpu): x"),
            "see `Percpu`: x"
        );
        assert_eq!(strip_links("a [`B`] c"), "a `B` c");
        assert_eq!(strip_links("[not a link"), "[not a link");
    }

    #[test]
    fn names_and_modules_are_unique_and_info_finds_series() {
        let mut names: Vec<_> = ALL.iter().map(|i| i.name).collect();
        let mut modules: Vec<_> = ALL.iter().map(|i| i.module).collect();
        names.sort_unstable();
        names.dedup();
        modules.sort_unstable();
        modules.dedup();
        assert_eq!((names.len(), modules.len()), (ALL.len(), ALL.len()));
        assert_eq!(
            info("percpu-acquire@qsbr").unwrap().module,
            "percpu_acquire"
        );
        assert!(info("nope").is_err());
    }
}
