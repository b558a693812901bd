//! The three flavours, as liburcu names them, each a type: the read side is compiled for one
//! flavour, so a section never branches on which flavour it is.
//!
//! | type | name | liburcu | kernel it models | read-side section | quiescent state | grace period's barrier |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | [`Qsbr`] | `qsbr` | urcu-qsbr | `CONFIG_PREEMPT_NONE` / `VOLUNTARY` (no `PREEMPT_RCU`): `rcu_read_lock()` is empty, a context switch is a quiescent state | nothing | announced by the reader ([`RcuReader::quiescent_state`](super::RcuReader::quiescent_state)), or offline | `fence(SeqCst)` |
//! | [`Memb`] | `membarrier` | urcu-memb | `PREEMPT_RCU` (`CONFIG_PREEMPT`, `PREEMPT_DYNAMIC`, `PREEMPT_RT`): a nesting count per task | a store of the gp snapshot, a compiler barrier; a store of 0 | outside every section | `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` |
//! | [`Mb`] | `fence` | urcu-mb | the same as `membarrier`, where membarrier is unavailable (Miri, seccomp, old kernels) | a store and `fence(SeqCst)`; a store and `fence(SeqCst)` | outside every section | `fence(SeqCst)` |
//!
//! [`FlavorKind`] is the flavour as a value: its name on the command line and in results, and
//! [`FlavorKind::auto`], which picks the flavour that models the running kernel.

use crate::sync::{AtomicU64, Ordering, rcu_ctr_begin, rcu_ctr_store, rcu_full_fence};

mod sealed {
    pub trait Sealed {}
}

/// An RCU flavour: how the two halves of the asymmetric barrier and the read side are built.
/// Sealed: [`Qsbr`], [`Memb`] and [`Mb`] are the only ones.
pub trait Flavor: sealed::Sealed + Send + Sync + Sized + 'static {
    /// The flavour as a value.
    const KIND: FlavorKind;
    /// Read-side sections are empty; readers announce quiescent states instead (`qsbr`).
    const QSBR: bool;

    /// Whether this process can use the flavour; `Err` says why not.
    fn available() -> Result<(), String>;

    /// The writer's half of the barrier, at (A) and (B) of a grace period and before the
    /// grace-period driver sleeps on a reader.
    fn heavy_barrier();

    /// Begin the outermost section: publish `snap`, the grace-period counter read just before,
    /// in the reader's `ctr`, then the reader's half of the barrier. Unused by `qsbr`.
    fn enter(ctr: &AtomicU64, snap: u64);

    /// End the outermost section: the reader's half of the barrier, `ctr = to` (0, or the
    /// snapshot of a section that stays open around this one), then the barrier that orders
    /// that store before the caller's load of its wake flag (the grace-period driver sets the
    /// flag, issues [`heavy_barrier`](Self::heavy_barrier), then reads `ctr`: one of the two
    /// sees the other's store). Unused by `qsbr`.
    fn exit(ctr: &AtomicU64, to: u64);
}

/// liburcu's urcu-qsbr: the non-preemptible kernel. Sections cost nothing; a reader thread
/// announces quiescent states and goes offline around anything that blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Qsbr;

/// liburcu's urcu-memb: `PREEMPT_RCU`. A section is two plain stores and a load; the grace
/// period's `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` is the readers' full barrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memb;

/// liburcu's urcu-mb: `PREEMPT_RCU` with a full fence on both sides, the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mb;

impl sealed::Sealed for Qsbr {}
impl sealed::Sealed for Memb {}
impl sealed::Sealed for Mb {}

impl Flavor for Qsbr {
    const KIND: FlavorKind = FlavorKind::Qsbr;
    const QSBR: bool = true;

    fn available() -> Result<(), String> {
        Ok(())
    }

    fn heavy_barrier() {
        // Pairs with the full fences of the readers' quiescent-state announcements, `online`
        // and `offline`: either the scan sees the reader's store, or the reader's later
        // accesses see everything before the grace period (store buffering, SC fences).
        rcu_full_fence();
    }

    #[inline(always)]
    fn enter(_: &AtomicU64, _: u64) {}

    #[inline(always)]
    fn exit(_: &AtomicU64, _: u64) {}
}

impl Flavor for Memb {
    const KIND: FlavorKind = FlavorKind::Membarrier;
    const QSBR: bool = false;

    fn available() -> Result<(), String> {
        #[cfg(loom)]
        return Ok(());
        #[cfg(not(loom))]
        super::membarrier::available()
    }

    fn heavy_barrier() {
        // A full barrier on every CPU running one of our threads: pairs with the readers'
        // compiler barriers in `enter` and `exit` (module docs of `rcu`). Under loom, nothing:
        // the model orders through RMWs (`crate::sync`).
        #[cfg(not(loom))]
        super::membarrier::heavy_barrier();
    }

    #[inline(always)]
    fn enter(ctr: &AtomicU64, snap: u64) {
        // Relaxed (plain store, liburcu memb's CMM_STORE_SHARED): the writer's membarrier at (A)
        // and (B) runs a full barrier on this CPU, which orders this store and our earlier
        // sections against its scan, as Release + fence would.
        rcu_ctr_begin(ctr, snap, Ordering::Relaxed);
        // Light barrier: stops the compiler only. The writer's membarrier executes the matching
        // full barrier on this CPU.
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    }

    #[inline(always)]
    fn exit(ctr: &AtomicU64, to: u64) {
        // Light barrier: the section's accesses stay before the store (membarrier at (B)).
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        // On x86 (TSO) a store-release is the same plain `mov`; elsewhere a plain store, as
        // liburcu memb's CMM_STORE_SHARED (no `stlr` per section on arm64). Release on x86 keeps
        // the exit one instruction with a documented ordering of its own.
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        rcu_ctr_store(ctr, to, Ordering::Release);
        #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
        rcu_ctr_store(ctr, to, Ordering::Relaxed);
        // Light barrier: the store stays before the caller's load of the wake flag; the
        // driver's membarrier between setting the flag and re-reading ctr is the other half.
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    }
}

impl Flavor for Mb {
    const KIND: FlavorKind = FlavorKind::Fence;
    const QSBR: bool = false;

    fn available() -> Result<(), String> {
        Ok(())
    }

    fn heavy_barrier() {
        // At (A): pairs with the fence(SeqCst) in `enter` (the scan sees the ctr, or the section
        // sees the removal). Before the driver sleeps: pairs with the fence in `exit`.
        rcu_full_fence();
    }

    #[inline(always)]
    fn enter(ctr: &AtomicU64, snap: u64) {
        // Release: pairs with the Acquire scan: a writer that reads this value also sees our
        // previous sections' accesses (release sequences do not run through plain stores).
        rcu_ctr_begin(ctr, snap, Ordering::Release);
        // Pairs with fence(SeqCst) at (A) of the grace period: either the scan sees our ctr, or
        // our section sees the writer's removal.
        rcu_full_fence();
    }

    #[inline(always)]
    fn exit(ctr: &AtomicU64, to: u64) {
        // Release: pairs with the Acquire scan, so our section's accesses happen-before what the
        // writer does after the grace period.
        rcu_ctr_store(ctr, to, Ordering::Release);
        // Orders the store before the caller's load of its wake flag (urcu-mb's smp_mb() after
        // the unlock store): pairs with the driver's fence between setting the flag and
        // re-reading ctr.
        rcu_full_fence();
    }
}

/// A flavour as a value: what `--rcu` names and results record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlavorKind {
    /// [`Qsbr`].
    Qsbr,
    /// [`Memb`].
    Membarrier,
    /// [`Mb`].
    Fence,
}

impl FlavorKind {
    /// Every flavour, in the order reports list them.
    pub const ALL: [FlavorKind; 3] = [FlavorKind::Qsbr, FlavorKind::Membarrier, FlavorKind::Fence];

    /// The name used on the command line and in results: `qsbr`, `membarrier` or `fence`.
    pub fn name(self) -> &'static str {
        match self {
            FlavorKind::Qsbr => "qsbr",
            FlavorKind::Membarrier => "membarrier",
            FlavorKind::Fence => "fence",
        }
    }

    /// Parse a name written by [`FlavorKind::name`].
    pub fn from_name(s: &str) -> Option<FlavorKind> {
        FlavorKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The kernel configuration the flavour models, in a few words (reports print it).
    pub fn models(self) -> &'static str {
        match self {
            FlavorKind::Qsbr => {
                "non-preemptible kernel (PREEMPT_NONE/VOLUNTARY): empty rcu_read_lock()"
            }
            FlavorKind::Membarrier => {
                "PREEMPT_RCU: a nesting count per section, membarrier grace periods"
            }
            FlavorKind::Fence => "PREEMPT_RCU with a full fence per section (urcu-mb fallback)",
        }
    }

    /// Whether this process can use the flavour; `Err` says why not.
    pub fn available(self) -> Result<(), String> {
        match self {
            FlavorKind::Qsbr => Qsbr::available(),
            FlavorKind::Membarrier => Memb::available(),
            FlavorKind::Fence => Mb::available(),
        }
    }

    /// `auto`: the flavour that models the running kernel, and why. A kernel built with
    /// `PREEMPT`, `PREEMPT_DYNAMIC` or `PREEMPT_RT` (its version string says so) has
    /// `PREEMPT_RCU`: `membarrier`, or `fence` where membarrier is unavailable. Otherwise
    /// `qsbr`.
    pub fn auto() -> (FlavorKind, String) {
        let version = kernel_version();
        let preempt = version
            .split_whitespace()
            .find(|w| w.starts_with("PREEMPT"))
            .map(str::to_owned);
        match preempt {
            None => (
                FlavorKind::Qsbr,
                format!(
                    "auto: qsbr (kernel '{}' is built without PREEMPT: rcu_read_lock() is empty there)",
                    version.trim()
                ),
            ),
            Some(p) => match Memb::available() {
                Ok(()) => (
                    FlavorKind::Membarrier,
                    format!("auto: membarrier (kernel built with {p}, so PREEMPT_RCU)"),
                ),
                Err(why) => (
                    FlavorKind::Fence,
                    format!(
                        "auto: fence (kernel built with {p}, so PREEMPT_RCU; membarrier unavailable: {why})"
                    ),
                ),
            },
        }
    }
}

impl std::fmt::Display for FlavorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `uname -v`: the kernel's build string (`#1 SMP PREEMPT_DYNAMIC ...`); empty if unknown.
fn kernel_version() -> String {
    #[cfg(all(target_os = "linux", not(loom), not(miri)))]
    {
        // SAFETY: `uname` writes only into the struct we pass, which is zeroed, so every field
        // stays NUL-terminated whatever the kernel writes (it terminates them itself).
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `u` is a valid, writable utsname.
        if unsafe { libc::uname(&mut u) } == 0 {
            // SAFETY: a NUL-terminated C string inside `u` (see above).
            let v = unsafe { std::ffi::CStr::from_ptr(u.version.as_ptr()) };
            return v.to_string_lossy().into_owned();
        }
    }
    String::new()
}
