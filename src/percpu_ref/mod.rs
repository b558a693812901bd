//! A userspace port of the kernel's percpu reference counter
//! (`include/linux/percpu-refcount.h`, `lib/percpu-refcount.c`).
//!
//! # What it is
//!
//! A refcount with two modes. In *percpu mode* `get`/`put` add to or subtract from a counter
//! private to the calling thread, inside an RCU read-side section: no atomic read-modify-write,
//! no fence, no cache line shared with another writer. Nobody can tell when the count reaches
//! zero, so before the initial reference is dropped the ref is *killed*: it is marked `DEAD`,
//! switched to *atomic mode* (one shared counter), and after an RCU grace period the per-thread
//! counters are summed into the shared one. From then on `put` can see zero and run the release
//! callback, exactly once.
//!
//! `swapref` uses it the way `mm/swapfile.c` does since v5.14: `si->users` is killed by
//! swapoff, the release callback completes `si->comp`, and swapon *resurrects* the same ref on
//! the same long-lived `swap_info_struct`. That reuse is what the thread in
//! `shared/seed/` is about: the ref doubles as the "device is initialised" flag, so the live
//! check must order the reads of the device after it.
//!
//! # The kernel, function by function
//!
//! | kernel | here | note |
//! | --- | --- | --- |
//! | `percpu_ref_init(ref, release, flags, gfp)` | [`PercpuRef::new`] with [`Init`] | `-ENOMEM` becomes [`InitError::NoSlots`] when the domain's [`PERCPU_SLOTS`](crate::rcu::PERCPU_SLOTS) are used up |
//! | `PERCPU_REF_INIT_ATOMIC`, `_DEAD`, `PERCPU_REF_ALLOW_REINIT` | [`Init::ATOMIC`], [`Init::DEAD`], [`Init::ALLOW_REINIT`] | same effects, including "ATOMIC or DEAD implies ALLOW_REINIT" |
//! | `percpu_ref_exit` | `Drop` | the slot goes back to the domain once no callback needs it |
//! | `percpu_ref_get` / `_get_many` | [`get`](PercpuRef::get) / [`get_many`](PercpuRef::get_many) | |
//! | `percpu_ref_tryget` / `_many` | [`tryget`](PercpuRef::tryget) / [`tryget_many`](PercpuRef::tryget_many) | |
//! | `percpu_ref_tryget_live` | [`tryget_live_relaxed`](PercpuRef::tryget_live_relaxed) | the kernel's: `READ_ONCE`, no ACQUIRE (the bug of the thread when the ref is a flag) |
//! | RFC "Make percpu_ref_tryget*() ACQUIRE operations" | [`tryget_live_acquire`](PercpuRef::tryget_live_acquire) | `swapref`'s `percpu-acquire` |
//! | `get_swap_device_info()`: `tryget_live` + `smp_rmb()` (v5.14, 63d8620ecf93) | [`tryget_live_fence`](PercpuRef::tryget_live_fence) | `swapref`'s `percpu-fence` |
//! | `percpu_ref_put` / `_many` | [`put`](PercpuRef::put) / [`put_many`](PercpuRef::put_many) | |
//! | `percpu_ref_kill` | [`kill`](PercpuRef::kill) | a second kill is refused ([`Misuse::KilledTwice`]) instead of WARN + extra put |
//! | `percpu_ref_kill_and_confirm` | [`kill_and_confirm`](PercpuRef::kill_and_confirm) | |
//! | `percpu_ref_switch_to_atomic` / `_sync` | [`switch_to_atomic`](PercpuRef::switch_to_atomic) / [`switch_to_atomic_sync`](PercpuRef::switch_to_atomic_sync) | |
//! | `percpu_ref_switch_to_percpu` | [`switch_to_percpu`](PercpuRef::switch_to_percpu) | |
//! | `percpu_ref_resurrect` | [`resurrect`](PercpuRef::resurrect) | resurrecting a live ref is refused ([`Misuse::ResurrectLive`]) |
//! | `percpu_ref_reinit` | [`reinit`](PercpuRef::reinit) | a nonzero count is refused ([`Misuse::ReinitNonZero`]) |
//! | `percpu_ref_is_zero` / `_is_dying` | [`is_zero`](PercpuRef::is_zero) / [`is_dying`](PercpuRef::is_dying) | |
//! | `call_rcu_hurry(&data->rcu, percpu_ref_switch_to_atomic_rcu)` | [`Rcu::call`]'s queue, the ref's data as the callback, no allocation ([`PerThread`]); `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ)` then the sum, on the caller's thread ([`PerCpu`]) | the grace period is the userspace RCU's (module [`crate::rcu`]); with rseq no section can commit after the membarrier, so no grace period is needed |
//! | `rcu_read_lock()` around the fast path | [`RcuReadGuard`](crate::rcu::RcuReadGuard) from the caller's [`RcuReader`](crate::rcu::RcuReader) | |
//! | `this_cpu_inc(*percpu_count)` | [`PerThread`]: plain load + store of the calling thread's slot in its reader record; [`PerCpu`]: one add to the calling CPU's slot (or its concurrency ID's, [`PerCid`]) in a restartable sequence ([`crate::rseq`]) | one writer per slot (per-thread) or per CPU or ID at a time (rseq), so no lock prefix |
//! | `percpu_ref_switch_lock`, `percpu_ref_switch_waitq` (global) | a mutex and condvar per ref | |
//! | `struct completion` for swap's release | [`Completion`](crate::completion::Completion) | |
//!
//! # What each operation orders, and what it does not
//!
//! - `get`, `tryget`, `put` in percpu mode order nothing: they touch only the caller's counter.
//!   A `put` is ordered before the release callback by the grace period that precedes the sum,
//!   and in atomic mode by its `AcqRel` decrement.
//! - `tryget_live_relaxed` reads the mode word `Relaxed`, like the kernel's `READ_ONCE`. Seeing
//!   the ref live then says nothing about fields written before it was made live.
//! - `tryget_live_acquire` reads the mode word with `Acquire`; `tryget_live_fence` reads it
//!   `Relaxed` and, on success, issues `fence(Acquire)` (`smp_rmb()`; `dmb ishld` on arm64).
//!   Both pair with the `Release` stores that make the ref live in `resurrect` (the `DEAD` clear,
//!   which stands in for the kernel's `spin_unlock()` after `setup_swap_info()`) and in
//!   `switch_to_percpu` (the kernel's `smp_store_release`), and with the `ATOMIC` store of a
//!   later switch to atomic mode of the live ref, which a reader may read instead (the kernel's
//!   store there is plain; here it is `Release`, because a release sequence does not run
//!   through a plain store).
//! - The "0 → live" case of the thread: after the release, `resurrect` takes the ref from zero
//!   back to live on the same object. A reader that saw the ref dead before and sees it live now
//!   must also see whatever was written before `resurrect`; only the two ordered variants give
//!   that. `tests/loom.rs` and `tests/miri_ordering.rs` show the relaxed one failing.
//! - `kill` orders nothing by itself: until the switch is confirmed, `tryget_live` may still
//!   succeed on threads that have not seen `DEAD`. After confirmation (the grace period)
//!   every new `tryget_live` fails.
//!
//! # One deliberate difference: no zeroing on the way back to percpu mode
//!
//! The kernel zeroes every CPU's counter in `__percpu_ref_switch_to_percpu` and relies on the
//! address dependency from `percpu_count_ptr` to the counter (`READ_ONCE` then `this_cpu_inc`)
//! to keep a CPU from incrementing a stale, unzeroed value. Rust has no dependency ordering (no
//! `consume`), so a reader using the relaxed live check could legally read its counter from
//! before the zeroing. This port never writes another thread's counter: it remembers the sum at
//! the last switch (`base`) and folds `sum - base` the next time. The arithmetic is the same
//! (wrapping, as in the kernel); the only writer of a counter is its owning thread.
//!
//! # Proofs, and what they do not cover
//!
//! - `tests/loom.rs` model-checks this module over the loom flavour of [`crate::rcu`] (whose
//!   grace period is built from RMWs instead of fences or membarrier: see that module): swapon
//!   message passing through `resurrect` → `tryget_live_*` (the relaxed check is reported, the
//!   acquire and fence checks pass), `kill` racing `tryget_live`/`get`/`put` on two threads
//!   (one release, after the last put; no underflow; no `tryget_live` after the confirmation),
//!   two kill/resurrect cycles with the "0 → live" case, `switch_to_atomic` on a live ref, and
//!   `tryget` + `put` across a kill. Loom explores interleavings up to a preemption bound (2 or
//!   3 per model), with at most three threads besides the callback worker; its partial-order
//!   reduction is known to skip some interleavings, which is why every model also asserts that
//!   the interesting ones (the reader got the ref, in cycle 2, after the confirmation, ...)
//!   happened. Not modelled: more readers, record hand-over between threads, slot reuse,
//!   `switch_to_percpu` on its own, the real barriers.
//! - Under Miri (`Fence` flavour) the unit tests run with several seeds, and
//!   `tests/miri_ordering.rs` shows the relaxed reader reading a stale field in every seed while
//!   the acquire and fence readers never do.
//! - Single-writer loads (`mode` under the switch lock, the owner's counter) go through
//!   `crate::sync::load_own`: `load(Relaxed)` here, a checked `unsync_load` under
//!   loom, so that loom's reduction does not hide the races between them and other threads'
//!   loads.
//!
//! # Misuse
//!
//! What the kernel `WARN`s about is refused with a [`Misuse`] error and leaves the count as it
//! was: killing twice, resurrecting a live ref, reinit with a nonzero count, and switching to
//! percpu mode without `ALLOW_REINIT`. A `put` that would take the count below zero cannot be
//! returned to anyone in percpu mode: it is caught when the counters are summed (the kernel's
//! "percpu ref <= 0 after switching to atomic" WARN), or at the `put` itself in atomic mode, and
//! is counted in [`PercpuRef::underflows`]; the release callback does not run on a negative
//! count.

mod counters;

use crate::rcu::{Flavor, Rcu, RcuHead};
use crate::sync::{
    Arc, AtomicUsize, Mutex, MutexGuard,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
    WaitQueue, fence, load_own, lock,
};
use counters::Pending;
pub use counters::{Counters, PerThread, PercpuKind};
#[cfg(not(loom))]
pub use counters::{CpuReader, PerCid, PerCpu};
#[cfg(loom)]
pub use counters::{ModelCpu, ModelCpuReader, break_model_membarrier};
use std::fmt;

/// The count's bias while in percpu mode: keeps the atomic count from reaching zero while
/// per-thread counts are still being summed into it (`PERCPU_COUNT_BIAS`).
pub const PERCPU_COUNT_BIAS: usize = 1 << (usize::BITS - 1);

/// Mode bit: the ref uses the shared atomic count (`__PERCPU_REF_ATOMIC`).
const ATOMIC: usize = 1;
/// Mode bit: the ref has been killed (`__PERCPU_REF_DEAD`).
const DEAD: usize = 2;
/// Both mode bits (`__PERCPU_REF_FLAG_BITS`'s mask). The rest of the mode word names the
/// counter, as `percpu_count_ptr` carries the counter's address: the backend's
/// [`Counters::slot_mode`] of the ref's slot.
const FLAGS: usize = ATOMIC | DEAD;

/// `PERCPU_REF_INIT_*` flags for [`PercpuRef::new`]; combine with `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Init(u8);

impl Init {
    /// Live, percpu mode, count 1 (flags = 0).
    pub const LIVE: Init = Init(0);
    /// Start in atomic mode (`PERCPU_REF_INIT_ATOMIC`); implies `ALLOW_REINIT`.
    pub const ATOMIC: Init = Init(1);
    /// Start dead, count 0 (`PERCPU_REF_INIT_DEAD`): `resurrect` makes it live. Implies
    /// `ALLOW_REINIT`. This is how swap creates `si->users`.
    pub const DEAD: Init = Init(2);
    /// Allow switching back to percpu mode after a kill (`PERCPU_REF_ALLOW_REINIT`).
    pub const ALLOW_REINIT: Init = Init(4);

    fn has(self, f: Init) -> bool {
        self.0 & f.0 != 0
    }
}

impl std::ops::BitOr for Init {
    type Output = Init;
    fn bitor(self, rhs: Init) -> Init {
        Init(self.0 | rhs.0)
    }
}

/// Why a [`PercpuRef`] could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitError {
    /// Every percpu slot of the RCU domain is taken (the kernel's `-ENOMEM`).
    NoSlots,
    /// The per-CPU backend was asked for and this process cannot have it (the reason from
    /// [`crate::rseq::available`]).
    NoRseq(String),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::NoSlots => write!(
                f,
                "no free percpu slot in this RCU domain ({} in use)",
                crate::rcu::PERCPU_SLOTS
            ),
            InitError::NoRseq(why) => write!(f, "no per-CPU counters (rseq): {why}"),
        }
    }
}

impl std::error::Error for InitError {}

/// Misuse that the kernel `WARN`s about; here the call is refused and the count kept intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misuse {
    /// `kill` on a ref that is already dead ("called more than once").
    KilledTwice,
    /// `resurrect` on a ref that is not dead.
    ResurrectLive,
    /// `reinit` while the count is not zero.
    ReinitNonZero,
    /// Switching back to percpu mode on a ref created without `ALLOW_REINIT` (or its implied forms).
    ReinitNotAllowed,
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Misuse::KilledTwice => "percpu_ref killed more than once",
            Misuse::ResurrectLive => "percpu_ref resurrected while live",
            Misuse::ReinitNonZero => "percpu_ref reinit with a nonzero count",
            Misuse::ReinitNotAllowed => "percpu_ref switched back to percpu without ALLOW_REINIT",
        })
    }
}

impl std::error::Error for Misuse {}

type ConfirmFn = Box<dyn FnOnce() + Send>;

/// State the kernel keeps under `percpu_ref_switch_lock`.
struct Switch {
    /// A switch to atomic mode is waiting for its grace period (`data->confirm_switch != NULL`).
    in_progress: bool,
    /// The callback to run when it is confirmed.
    confirm: Option<ConfirmFn>,
    force_atomic: bool,
    allow_reinit: bool,
    /// Sum of the slot over all threads at the last fold; see "no zeroing" in the module docs.
    base: usize,
}

/// What the kernel allocates as `struct percpu_ref_data`: everything the grace-period callback
/// needs, shared with it.
struct RefData<F: Flavor, C: Counters<F>> {
    count: AtomicUsize,
    release: Box<dyn Fn() + Send + Sync>,
    rcu: Rcu<F>,
    slot: usize,
    switch: Mutex<Switch>,
    waitq: WaitQueue,
    underflows: AtomicUsize,
    /// The backend's storage (the per-CPU area), alive as long as anything may add to it.
    counters: C::Shared,
}

impl<F: Flavor, C: Counters<F>> Drop for RefData<F, C> {
    fn drop(&mut self) {
        self.rcu.free_slot(self.slot);
    }
}

/// A percpu reference counter (`struct percpu_ref`), over RCU flavour `F`, counting in percpu
/// mode with backend `C`: per registered thread ([`PerThread`], the default) or per CPU
/// ([`PerCpu`], restartable sequences; see [`counters`](self::Counters)).
///
/// ```
/// use std::sync::Arc;
/// use swapref::completion::Completion;
/// use swapref::percpu_ref::{Init, PercpuRef};
/// use swapref::rcu::{Qsbr, Rcu};
///
/// let rcu = Rcu::<Qsbr>::new();
/// let released = Arc::new(Completion::new());
/// let r = released.clone();
/// let users = PercpuRef::new(&rcu, move || r.complete(), Init::DEAD).unwrap();
///
/// users.resurrect().unwrap();                  // swapon: the device is usable
/// let mut reader = rcu.register();
/// assert!(users.tryget_live_acquire(&reader)); // get_swap_device
/// users.put(&reader);                          // put_swap_device
///
/// // swapoff, on a thread whose reader is offline (a qsbr grace period would wait for it):
/// reader.offline(|| {
///     users.kill().unwrap();                   // percpu_ref_kill(&p->users)
///     released.wait();                         // wait_for_completion(&p->comp)
/// });
/// assert!(!users.tryget_live_acquire(&reader));
/// assert!(users.is_zero());
/// ```
pub struct PercpuRef<F: Flavor, C: Counters<F> = PerThread> {
    /// The hot word, the kernel's `percpu_count_ptr`: the ref's slot as the backend encodes it
    /// ([`Counters::slot_mode`]: per-thread, the counter's byte offset in a reader record;
    /// per-CPU, the counter's address in the area's first chunk),
    /// with the `ATOMIC | DEAD` bits below, so the fast path finds its counter in the word it
    /// tests.
    /// Written only under `data.switch`, so code holding that lock reads it with
    /// [`load_own`](crate::sync::load_own).
    mode: AtomicUsize,
    /// A second handle of the ref's domain (`data.rcu`), next to `mode` for the fast path's
    /// reader check: the reader's handle and this one are one pointer each, compared as they
    /// are (`Rcu::same_domain`), with no address arithmetic on either side.
    domain: Rcu<F>,
    /// What the backend's fast path needs besides `mode` (the per-CPU area's CPU count and the
    /// rseq offset), next to it.
    fast: C::Fast,
    data: Arc<RefData<F, C>>,
}

impl<F: Flavor, C: Counters<F>> fmt::Debug for PercpuRef<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed, here and for `count`: a snapshot for display; nothing is read through it.
        let m = self.mode.load(Relaxed);
        f.debug_struct("PercpuRef")
            .field("atomic", &(m & ATOMIC != 0))
            .field("dead", &(m & DEAD != 0))
            .field("count", &self.data.count.load(Relaxed))
            .finish()
    }
}

/// Which load makes the live check (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum LiveOrder {
    Relaxed,
    Acquire,
    Fence,
}

impl<F: Flavor> PercpuRef<F> {
    /// Create a ref in `rcu`'s domain (`percpu_ref_init`) with per-thread counters. `release`
    /// runs once when the count drops to zero after a kill, possibly on the domain's callback
    /// thread; it must not block, and in particular must not wait for a grace period of this
    /// domain (`synchronize`, `barrier`): it may run inside the caller's read-side section, as
    /// in the kernel, or on the thread that runs the grace periods.
    pub fn new(
        rcu: &Rcu<F>,
        release: impl Fn() + Send + Sync + 'static,
        flags: Init,
    ) -> Result<PercpuRef<F>, InitError> {
        Self::with_counters(rcu, release, flags)
    }
}

impl<F: Flavor, C: Counters<F>> PercpuRef<F, C> {
    /// [`new`](PercpuRef::new) with backend `C`: `PercpuRef::<F, PerCpu>::with_counters` for
    /// per-CPU counters, which fails with [`InitError::NoRseq`] where rseq is unavailable.
    /// With the per-CPU backend `release` and `kill`'s `confirm` may also run on the thread that
    /// kills or switches the ref.
    pub fn with_counters(
        rcu: &Rcu<F>,
        release: impl Fn() + Send + Sync + 'static,
        flags: Init,
    ) -> Result<PercpuRef<F, C>, InitError> {
        let (fast, counters) = C::new(rcu)?;
        let slot = rcu.alloc_slot().ok_or(InitError::NoSlots)?;
        let mut start = 0usize;
        let mut mode = 0usize;
        let mut allow_reinit = flags.has(Init::ALLOW_REINIT);
        if flags.has(Init::ATOMIC) || flags.has(Init::DEAD) {
            mode |= ATOMIC;
            allow_reinit = true;
        } else {
            start = start.wrapping_add(PERCPU_COUNT_BIAS);
        }
        if flags.has(Init::DEAD) {
            mode |= DEAD;
        } else {
            start += 1;
        }
        // A previous owner of the slot may have left counts behind: they are our base.
        // The slot came from the registry under its lock, after the previous owner's data was
        // dropped, so no thread can be updating it now.
        let base = C::sum(rcu, &counters, slot);
        Ok(PercpuRef {
            mode: AtomicUsize::new(C::slot_mode(&fast, slot) | mode),
            domain: rcu.clone(),
            fast,
            data: Arc::new(RefData {
                count: AtomicUsize::new(start),
                release: Box::new(release),
                rcu: rcu.clone(),
                slot,
                switch: Mutex::new(Switch {
                    in_progress: false,
                    confirm: None,
                    force_atomic: flags.has(Init::ATOMIC),
                    allow_reinit,
                    base,
                }),
                waitq: WaitQueue::new(),
                underflows: AtomicUsize::new(0),
                counters,
            }),
        })
    }

    /// The RCU domain whose readers may use this ref.
    pub fn domain(&self) -> &Rcu<F> {
        &self.domain
    }

    /// Refuse a reader of another domain (release builds too): its section and its count would
    /// land in that domain's records, which our grace periods and sums never see. One compare of
    /// the reader's domain handle with the ref's (`Rcu::same_domain`), two loads of which one is
    /// folded into the compare; the panic is out of line. Nothing for the per-CPU backend, whose
    /// counters are the ref's own.
    #[inline(always)]
    fn check_reader(&self, r: &C::Reader) {
        C::check_reader(&self.domain, r);
    }

    /// The backend's fast path: in percpu mode, add `nr` to the caller's counter and return
    /// true; otherwise false, nothing written. Caller has checked `r` (`check_reader`).
    #[inline(always)]
    fn fast<const ACQUIRE: bool>(&self, r: &C::Reader, nr: usize) -> bool {
        // SAFETY: (1) with its flags clear the mode word is `C::slot_mode` of `self.fast` and
        // the slot `with_counters` allocated from this ref's domain (below PERCPU_SLOTS); the mode
        // stores (kill, resurrect, the switches) change only the flag bits; the caller checked
        // `r` against that domain; (2) `fast` came from `C::new` together with
        // `data.counters`, which `self` keeps alive.
        unsafe { C::add_if_percpu::<ACQUIRE>(&self.fast, r, &self.mode, nr) }
    }

    /// Take `nr` references the caller knows to be allowed (`percpu_ref_get_many`).
    #[inline(always)]
    pub fn get_many(&self, r: &C::Reader, nr: usize) {
        self.check_reader(r);
        // Relaxed: the caller already holds a reference, so there is nothing to order after.
        if !self.fast::<false>(r, nr) {
            std::hint::cold_path();
            // Not in percpu mode: an atomic count is valid in any mode (percpu mode keeps it
            // biased), so it needs no section.
            self.data.get_atomic(nr);
        }
    }

    /// Take a reference (`percpu_ref_get`).
    #[inline(always)]
    pub fn get(&self, r: &C::Reader) {
        self.get_many(r, 1)
    }

    /// Take `nr` references unless the count is zero, even if the ref is dying
    /// (`percpu_ref_tryget_many`).
    #[inline]
    pub fn tryget_many(&self, r: &C::Reader, nr: usize) -> bool {
        self.check_reader(r);
        // Relaxed: tryget is not a live check; callers that need ordering use tryget_live_*.
        // Outside percpu mode the atomic count, valid in any mode.
        self.fast::<false>(r, nr) || {
            std::hint::cold_path();
            self.data.add_not_zero(nr)
        }
    }

    /// Take a reference unless the count is zero (`percpu_ref_tryget`).
    #[inline]
    pub fn tryget(&self, r: &C::Reader) -> bool {
        self.tryget_many(r, 1)
    }

    /// The live check's load of the mode word.
    #[inline(always)]
    fn load_mode(&self, order: LiveOrder) -> usize {
        match order {
            // Acquire: pairs with the Release stores that make the ref live (resurrect's DEAD
            // clear, switch_to_percpu's ATOMIC clear), so the caller's later reads of the
            // object see what was written before it was made live.
            LiveOrder::Acquire => self.mode.load(Acquire),
            // Relaxed: READ_ONCE in the kernel. For Fence the ordering comes after, below.
            LiveOrder::Relaxed | LiveOrder::Fence => self.mode.load(Relaxed),
        }
    }

    #[inline(always)]
    fn tryget_live_with(&self, r: &C::Reader, order: LiveOrder) -> bool {
        self.check_reader(r);
        // The mode load inside the section is Acquire for the Acquire variant (see
        // load_mode), Relaxed otherwise.
        let done = match order {
            LiveOrder::Acquire => self.fast::<true>(r, 1),
            LiveOrder::Relaxed | LiveOrder::Fence => self.fast::<false>(r, 1),
        };
        // Left the section first. The slow path is inlined as a cold block, not called: a
        // call on a path that rejoins the fast path makes the whole function save and restore
        // the registers live across it, on every lookup (the kernel's tryget_live has
        // atomic_long_inc_not_zero() inline too). With per-thread counters under qsbr the
        // function then makes no call but the release callback's; membarrier's sections may
        // still call to wake a grace period, and the per-CPU cover (the switch lock) is one.
        let ok = done || {
            std::hint::cold_path();
            self.tryget_live_slow(r, order)
        };
        if order == LiveOrder::Fence && ok {
            // smp_rmb() of get_swap_device_info(): pairs with the same Release stores as the
            // Acquire variant, through the Relaxed mode load (fence-to-store synchronisation).
            fence(Acquire);
        }
        ok
    }

    /// `tryget_live` outside percpu mode: looks at the mode again and takes an atomic-mode
    /// reference unless the ref is dead, covered ([`Counters::covered`]) so that a kill's switch
    /// cannot complete between the look and the reference: in an RCU section (per-thread: the
    /// switch's grace period waits for it) or under the switch lock (per-CPU). If the ref is
    /// back in percpu mode meanwhile, the atomic count is still valid (it carries the bias).
    #[inline(always)]
    fn tryget_live_slow(&self, r: &C::Reader, order: LiveOrder) -> bool {
        // Dead is final until a resurrect, which a reader may miss anyway: fail without the
        // cover (for the per-CPU backend, without the switch lock every failed lookup after a
        // swapoff would otherwise take).
        if self.load_mode(order) & DEAD != 0 {
            return false;
        }
        C::covered(
            r,
            || lock(&self.data.switch),
            || self.load_mode(order) & DEAD == 0 && self.data.add_not_zero(1),
        )
    }

    /// The kernel's `percpu_ref_tryget_live`: take a reference unless the ref is dying.
    ///
    /// The live check is a `Relaxed` load: **it does not order the caller's later reads**. This
    /// is the variant the thread found insufficient when the ref doubles as an "initialised"
    /// flag; it exists so the proofs can show that, and no strategy uses it.
    #[inline(always)]
    pub fn tryget_live_relaxed(&self, r: &C::Reader) -> bool {
        self.tryget_live_with(r, LiveOrder::Relaxed)
    }

    /// `tryget_live` as an ACQUIRE operation (Huang Ying's RFC): the mode word is loaded with
    /// `Acquire`. Used by the `percpu-acquire` strategy.
    #[inline(always)]
    pub fn tryget_live_acquire(&self, r: &C::Reader) -> bool {
        self.tryget_live_with(r, LiveOrder::Acquire)
    }

    /// `tryget_live` followed, on success, by `fence(Acquire)` — `smp_rmb()` as in
    /// `get_swap_device_info()` since v5.14. Used by the `percpu-fence` strategy.
    #[inline(always)]
    pub fn tryget_live_fence(&self, r: &C::Reader) -> bool {
        self.tryget_live_with(r, LiveOrder::Fence)
    }

    /// Drop `nr` references (`percpu_ref_put_many`); the last one after a kill runs `release`.
    #[inline(always)]
    pub fn put_many(&self, r: &C::Reader, nr: usize) {
        self.check_reader(r);
        // SAFETY: (1) just checked.
        unsafe { self.put_many_checked(r, nr) }
    }

    /// [`put_many`](Self::put_many) for a caller that already checked `r` against this ref
    /// (a guard made by a successful `tryget_live` with the same reader).
    ///
    /// # Safety
    ///
    /// 1. `r` belongs to this ref's domain (it passed `check_reader`): otherwise the decrement
    ///    would land in a slot of another domain's record, whose ref could then be released
    ///    while still in use.
    #[inline(always)]
    pub(crate) unsafe fn put_many_checked(&self, r: &C::Reader, nr: usize) {
        // Relaxed: a put orders the caller's accesses before the release by other means: the
        // grace period or membarrier before the sum (percpu mode) or the AcqRel decrement
        // (atomic mode).
        if !self.fast::<false>(r, nr.wrapping_neg()) {
            std::hint::cold_path();
            // Outside percpu mode, after the section: the atomic decrement (valid in any mode)
            // and, if it was the last reference, the release callback, in no section, so that
            // a callback that panics cannot leave one open.
            self.data.put_atomic_and_release(nr);
        }
    }

    /// Drop a reference (`percpu_ref_put`).
    #[inline(always)]
    pub fn put(&self, r: &C::Reader) {
        self.put_many(r, 1)
    }

    /// Whether the ref has been killed (`percpu_ref_is_dying`).
    pub fn is_dying(&self) -> bool {
        // Relaxed: a snapshot for the caller's information, as in the kernel.
        self.mode.load(Relaxed) & DEAD != 0
    }

    /// Whether the count is zero (`percpu_ref_is_zero`). Always false in percpu mode.
    pub fn is_zero(&self) -> bool {
        // Relaxed: a snapshot, as in the kernel (READ_ONCE); a caller that waited for the
        // release (reinit after swapoff) is already ordered after the kill's mode stores.
        if self.mode.load(Relaxed) & FLAGS == 0 {
            return false;
        }
        let _st = lock(&self.data.switch);
        // An RMW, not a load: a load could return a stale nonzero count after the last put
        // (and make `reinit` refuse wrongly). Acquire: pairs with the AcqRel decrements, so a
        // caller that sees zero sees what the last holders did.
        self.data.count.fetch_add(0, Acquire) == 0
    }

    /// The shared count as it stands (biased by [`PERCPU_COUNT_BIAS`] in percpu mode). For
    /// tests and diagnostics.
    pub fn atomic_count(&self) -> usize {
        // Relaxed: a snapshot for tests and diagnostics; nothing is read through it.
        self.data.count.load(Relaxed)
    }

    /// How many times a put took (or a sum found) the count below zero. Always 0 in correct use.
    pub fn underflows(&self) -> usize {
        // Relaxed: a statistic; callers read it after joining (or waiting for) the puts it counts.
        self.data.underflows.load(Relaxed)
    }

    /// Bytes this ref allocates itself: the struct and its shared data. Its counters live in
    /// the domain's reader records, one per registered thread (the kernel's `nr_cpu_ids *
    /// sizeof(unsigned long)`), each of which reserves [`RECORD_BYTES`](crate::rcu::RECORD_BYTES)
    /// for all the domain's refs: a user of many refs divides that among them.
    pub fn footprint_bytes(&self) -> usize {
        std::mem::size_of::<PercpuRef<F, C>>() + std::mem::size_of::<RefData<F, C>>()
    }

    /// Bytes the backend reserves in the domain for its counters, shared by the domain's refs
    /// ([`Counters::reserved_bytes`]): per-thread, one record per thread ever registered;
    /// per-CPU, one chunk per possible CPU (by concurrency ID: per CPU the process may use).
    pub fn reserved_bytes(&self) -> usize {
        C::reserved_bytes(&self.data.rcu, &self.data.counters)
    }

    /// Which backend counts in percpu mode.
    pub fn counters(&self) -> PercpuKind {
        C::KIND
    }

    /// Kill the ref (`percpu_ref_kill`): no new `tryget_live` once every thread sees it, then
    /// drop the initial reference. Waits for no grace period of its own (the switch completes
    /// after one, per-thread), but like every switching method it first waits for a switch
    /// already in flight (after [`switch_to_atomic`](Self::switch_to_atomic)), as the kernel's
    /// does: then, under `qsbr`, call it with the caller's reader offline.
    pub fn kill(&self) -> Result<(), Misuse> {
        self.kill_and_confirm(|| {})
    }

    /// [`kill`](Self::kill), calling `confirm` once every thread sees the ref dead
    /// (`percpu_ref_kill_and_confirm`). With per-thread counters `confirm` runs on the thread
    /// that ends the grace period (the callback thread, or a `synchronize` caller); it must not
    /// block (nor wait for a grace period). With per-CPU counters, or when the ref is already
    /// in atomic mode, it runs on the caller's thread before `kill_and_confirm` returns. Either
    /// way it may run under the ref's switch lock, so it must not call this ref's switching
    /// methods, nor `tryget_live` on a live ref in atomic mode (whose per-CPU slow path takes
    /// that lock). If it panics, the kill is finished all the same (the release still comes)
    /// and the panic goes on: to the thread that ran the callback, which counts it
    /// ([`Rcu::callback_panics`]), or, where it ran on the caller's thread, to the caller.
    pub fn kill_and_confirm(&self, confirm: impl FnOnce() + Send + 'static) -> Result<(), Misuse> {
        let st = lock(&self.data.switch);
        let m = load_own(&self.mode);
        if m & DEAD != 0 {
            return Err(Misuse::KilledTwice);
        }
        // Relaxed: a reader need not see DEAD at once; the grace period of the switch below is
        // what guarantees that every later tryget_live sees it.
        self.mode.store(m | DEAD, Relaxed);
        let (st, pending) = self.switch_mode(st, Some(Box::new(confirm)));
        drop(st);
        // The initial reference. The ref is in atomic mode now (switch_mode set ATOMIC), and
        // the switch still holds its own reference, so this put cannot release. It comes before
        // the per-CPU backend's sum (`pending`), as it comes before the grace period's: a put
        // too many in percpu mode is then caught by the sum, whichever the backend.
        self.data.put_atomic_and_release(1);
        run(pending);
        Ok(())
    }

    /// Switch to atomic mode and stay there until [`switch_to_percpu`](Self::switch_to_percpu)
    /// (`percpu_ref_switch_to_atomic`). `confirm` runs once the switch is seen everywhere.
    pub fn switch_to_atomic(&self, confirm: impl FnOnce() + Send + 'static) {
        let mut st = lock(&self.data.switch);
        st.force_atomic = true;
        let (st, pending) = self.switch_mode(st, Some(Box::new(confirm)));
        drop(st);
        run(pending);
    }

    /// [`switch_to_atomic`](Self::switch_to_atomic) and wait for the confirmation
    /// (`percpu_ref_switch_to_atomic_sync`). Per-thread that is a grace period: under `qsbr`,
    /// call it with the caller's reader offline.
    pub fn switch_to_atomic_sync(&self) {
        self.switch_to_atomic(|| {});
        let mut st = lock(&self.data.switch);
        while st.in_progress {
            st = self.data.waitq.wait(st);
        }
    }

    /// Go back to percpu mode unless the ref is dying (`percpu_ref_switch_to_percpu`).
    pub fn switch_to_percpu(&self) -> Result<(), Misuse> {
        let mut st = lock(&self.data.switch);
        st.force_atomic = false;
        let (st, pending) = self.switch_mode(st, None);
        let refused = !st.allow_reinit && load_own(&self.mode) & ATOMIC != 0;
        drop(st);
        run(pending);
        if refused {
            return Err(Misuse::ReinitNotAllowed);
        }
        Ok(())
    }

    /// Make a dead ref live again, in the mode it had (`percpu_ref_resurrect`). This is
    /// swapon's `percpu_ref_resurrect(&p->users)`; everything written before it is visible to
    /// readers that pass `tryget_live_acquire` or `tryget_live_fence`.
    pub fn resurrect(&self) -> Result<(), Misuse> {
        let st = lock(&self.data.switch);
        let m = load_own(&self.mode);
        if m & DEAD == 0 {
            return Err(Misuse::ResurrectLive);
        }
        debug_assert!(m & ATOMIC != 0, "a dead ref is always in atomic mode");
        // Release: a reader that sees the ref live in atomic mode (before the switch below)
        // must see the caller's set-up; pairs with the Acquire of tryget_live_acquire and the
        // fence of tryget_live_fence. The kernel gets this from the spin_unlock() after
        // setup_swap_info() in enable_swap_info().
        self.mode.store(m & !DEAD, Release);
        // percpu_ref_get(): the ref is in atomic mode, so this is the atomic add.
        self.data.get_atomic(1);
        let (st, pending) = self.switch_mode(st, None);
        drop(st);
        run(pending);
        Ok(())
    }

    /// Resurrect a ref whose count is zero (`percpu_ref_reinit`).
    pub fn reinit(&self) -> Result<(), Misuse> {
        if !self.is_zero() {
            return Err(Misuse::ReinitNonZero);
        }
        self.resurrect()
    }

    /// `__percpu_ref_switch_mode`: wait for a switch in flight, then go where the flags say.
    /// Returns what the caller must run once it has released the lock (the per-CPU backend's
    /// switch to atomic mode: membarrier, sum, confirmation).
    fn switch_mode<'a>(
        &self,
        mut st: MutexGuard<'a, Switch>,
        confirm: Option<ConfirmFn>,
    ) -> (MutexGuard<'a, Switch>, Option<Pending>) {
        // "If the previous ATOMIC switching hasn't finished yet, wait for its completion."
        while st.in_progress {
            st = self.data.waitq.wait(st);
        }
        let pending = if st.force_atomic || load_own(&self.mode) & DEAD != 0 {
            self.switch_to_atomic_locked(&mut st, confirm)
        } else {
            self.switch_to_percpu_locked(&mut st);
            None
        };
        (st, pending)
    }

    /// `__percpu_ref_switch_to_atomic`.
    fn switch_to_atomic_locked(
        &self,
        st: &mut Switch,
        confirm: Option<ConfirmFn>,
    ) -> Option<Pending> {
        let m = load_own(&self.mode);
        if m & ATOMIC != 0 {
            // Already atomic: confirm at once, as the kernel does. If `confirm` panics, the
            // panic goes on only after the caller has finished (kill's put of the initial
            // reference, the release it may bring): it comes back as the pending step, which
            // callers run last.
            if let Some(c) = confirm
                && let Err(p) = crate::sync::catch(c)
            {
                return Some(Pending::boxed(move || std::panic::resume_unwind(p)));
            }
            return None;
        }
        // Release: when the ref is live (`switch_to_atomic` rather than `kill`), a reader's live
        // check may read this store instead of the one that made the ref live, and must still
        // see what was written before that: pairs with tryget_live_acquire's Acquire and
        // tryget_live_fence's fence. A Relaxed store would end the release sequence of
        // resurrect's store (C++20 release sequences run through RMWs only). Found by
        // tests/loom.rs, switch_to_atomic_after_resurrect_*. That readers switch to the atomic
        // count is ensured by the grace period before the sum, not by this ordering.
        self.mode.store(m | ATOMIC, Release);
        st.in_progress = true;
        st.confirm = confirm;
        // percpu_ref_get(): held until the switch is confirmed, so the count cannot reach zero
        // in between. Atomic mode now, so the atomic add.
        self.data.get_atomic(1);
        // The switch's callback is the ref's data (`RcuHead`), queued by reference count, as
        // the kernel queues the `rcu_head` in `percpu_ref_data` (there with `call_rcu_hurry`;
        // ours is queued lazily, see `Rcu::call`).
        C::after_switch(
            &self.data.rcu,
            &self.data.counters,
            Pending::head(self.data.clone()),
        )
    }

    /// `__percpu_ref_switch_to_percpu`.
    fn switch_to_percpu_locked(&self, st: &mut Switch) {
        let m = load_own(&self.mode);
        if m & ATOMIC == 0 || !st.allow_reinit {
            return;
        }
        // Relaxed: ordered before the mode store below by its Release.
        self.data.count.fetch_add(PERCPU_COUNT_BIAS, Relaxed);
        // No zeroing of the per-thread counters: `base` already holds their sum (module docs).
        // Release: the kernel's smp_store_release; pairs with tryget_live_acquire's Acquire and
        // tryget_live_fence's fence, and publishes the bias before any percpu-mode access.
        self.mode.store(m & !ATOMIC, Release);
    }
}

/// Run what `switch_mode` deferred, after the switch lock was released.
fn run(pending: Option<Pending>) {
    if let Some(p) = pending {
        p.run();
    }
}

#[cold]
#[inline(never)]
pub(crate) fn wrong_domain() -> ! {
    panic!(
        "percpu_ref used with an RCU reader of another domain: its count would be invisible to \
         this ref's grace periods and sums (refused)"
    )
}

/// The switch to atomic mode's callback, embedded in the ref's data as the kernel's `rcu_head`
/// is in `percpu_ref_data`: queueing it takes a reference, not an allocation.
impl<F: Flavor, C: Counters<F>> RcuHead for RefData<F, C> {
    fn rcu_callback(&self) {
        self.switch_to_atomic_rcu();
    }
}

impl<F: Flavor, C: Counters<F>> RefData<F, C> {
    /// `atomic_long_add` in atomic mode. Relaxed: like atomic_long_add, a get publishes nothing.
    #[inline(always)]
    fn get_atomic(&self, nr: usize) {
        self.count.fetch_add(nr, Relaxed);
    }

    /// `atomic_long_add_unless(count, nr, 0)`; Relaxed on both outcomes: the live check's
    /// ordering (if any) comes from the mode load, not from the count.
    #[inline(always)]
    fn add_not_zero(&self, nr: usize) -> bool {
        let mut c = self.count.load(Relaxed);
        loop {
            if c == 0 {
                // As in put_atomic: the load may be stale (nothing orders it after the get that
                // made the count nonzero); only an RMW is sure to read the latest value, so a
                // "zero" is confirmed with one before we fail. Slow path only.
                match self.count.compare_exchange(0, 0, Relaxed, Relaxed) {
                    Ok(_) => return false,
                    Err(now) => {
                        c = now;
                        continue;
                    }
                }
            }
            match self
                .count
                .compare_exchange_weak(c, c.wrapping_add(nr), Relaxed, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
    }

    /// `atomic_long_sub_and_test`, refusing to go below zero. Returns whether this put took
    /// the count to zero: the caller then runs `release`, outside any RCU section of its own.
    #[inline(always)]
    #[must_use = "run the release callback when the count reached zero"]
    fn put_atomic(&self, nr: usize) -> bool {
        // Relaxed: only a first guess for the CAS below, which does the ordering.
        let mut c = self.count.load(Relaxed);
        loop {
            // In atomic mode after the sum the count is exact; while a switch is in flight it
            // still carries the bias, so it cannot be below `nr` legitimately.
            if c < nr {
                // The guess may be stale: nothing orders the load above after the increments
                // this put balances (a `tryget` or a relaxed live check in percpu mode reads the
                // mode `Relaxed`), and it may still read, say, the 0 from before `resurrect`.
                // Refusing the put on that value would lose it, and the release would never
                // come. Only an RMW is sure to read the latest value, so confirm with one
                // (only on this path; the CAS below already is one). Relaxed: a read, it
                // publishes nothing. Found by tests/loom.rs, tryget_then_put_across_a_kill_*.
                match self.count.compare_exchange(c, c, Relaxed, Relaxed) {
                    Ok(_) => {
                        // Relaxed: a statistic (see `underflows`); it publishes nothing.
                        self.underflows.fetch_add(1, Relaxed);
                        return false;
                    }
                    Err(now) => {
                        c = now;
                        continue;
                    }
                }
            }
            // AcqRel: Release orders this holder's accesses before the release callback;
            // Acquire (on the final put) makes every other holder's accesses visible to it.
            // Relaxed on failure: the value read is only the next guess; the retry orders.
            match self.count.compare_exchange_weak(c, c - nr, AcqRel, Relaxed) {
                Ok(_) => break,
                Err(now) => c = now,
            }
        }
        c == nr
    }

    /// `put_atomic`, then the release callback if it was the last reference.
    #[inline(always)]
    fn put_atomic_and_release(&self, nr: usize) {
        if self.put_atomic(nr) {
            self.release();
        }
    }

    /// The release callback, out of line so the put fast path stays small.
    #[cold]
    #[inline(never)]
    fn release(&self) {
        (self.release)();
    }

    /// `percpu_ref_switch_to_atomic_rcu` + `percpu_ref_call_confirm_rcu`: runs after the grace
    /// period (per-thread) or the membarrier (per-CPU) that followed setting `ATOMIC`.
    fn switch_to_atomic_rcu(&self) {
        let confirm = {
            let mut st = lock(&self.switch);
            // Every thread that could have updated the slot in percpu mode has left the RCU
            // section it did so in (grace period), so the sum is final until a switch back.
            let sum = C::sum(&self.rcu, &self.counters, self.slot);
            let delta = sum.wrapping_sub(st.base);
            st.base = sum;
            // "It's crucial that we sum the percpu counters _before_ adding the sum to
            // &ref->count"; the bias comes off in the same add.
            // AcqRel: joins the chain of RMWs on count, so whoever reaches zero sees the sum.
            let before = self
                .count
                .fetch_add(delta.wrapping_sub(PERCPU_COUNT_BIAS), AcqRel);
            let after = before.wrapping_add(delta.wrapping_sub(PERCPU_COUNT_BIAS));
            if (after as isize) <= 0 {
                // "percpu ref (%ps) <= 0 (%ld) after switching to atomic". The switch reference
                // is still held, so the count must be >= 1; anything less is a put too many.
                // Relaxed: a statistic (see `underflows`); it publishes nothing.
                self.underflows.fetch_add(1, Relaxed);
            }
            st.confirm.take()
        };
        // `confirm` is the caller's (`kill_and_confirm`, `switch_to_atomic`). If it panics, the
        // switch is finished all the same (the mode is ATOMIC and the sum is in): left
        // `in_progress` with its reference held, the next switch would wait forever and the
        // release would never come (swapoff's wait for it would hang). The panic goes on
        // afterwards, to the callback runner (which counts it) or, per-CPU, to the caller.
        let panicked = confirm.and_then(|c| crate::sync::catch(c).err());
        {
            let mut st = lock(&self.switch);
            st.in_progress = false;
            self.waitq.notify_all();
        }
        // Drop the reference taken by __percpu_ref_switch_to_atomic.
        self.put_atomic_and_release(1);
        if let Some(p) = panicked {
            std::panic::resume_unwind(p);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
