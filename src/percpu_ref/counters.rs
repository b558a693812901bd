//! Where a `percpu_ref` keeps its percpu-mode counts: the backends (the per-CPU one twice, by
//! CPU and by concurrency ID).
//!
//! | | [`PerThread`] | [`PerCpu`] |
//! | --- | --- | --- |
//! | counter | the calling thread's slot in its RCU reader record | the calling CPU's slot in the domain's per-CPU area ([`CpuArea`](crate::rseq::CpuArea)) |
//! | fast path | an RCU read-side section of the flavour around load, test, plain add | one restartable sequence: load, test, add ([`crate::rseq`]) |
//! | reader | an [`RcuReader`] (registration, quiescent states under `qsbr`) | none ([`CpuReader`] is an empty token) |
//! | switch to atomic | `call_rcu`: the sum waits for a grace period | `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ)`, then the sum, on the caller's thread |
//! | memory per ref | 8 B per thread ever registered (its record reserves [`PERCPU_SLOTS`](crate::rcu::PERCPU_SLOTS) × 8 B) | 8 B per possible CPU (the area reserves [`PERCPU_SLOTS`](crate::rcu::PERCPU_SLOTS) × 8 B per CPU) |
//! | sum | O(threads) | O(CPUs) |
//!
//! The per-CPU backend is the kernel's layout: `nr_cpu_ids` counters per ref, no registration.
//! It exists where [`crate::rseq::available`] says so (x86-64 and arm64 Linux with glibc ≥ 2.35
//! and Linux ≥ 5.10, not under Miri or loom). [`PerCid`] is the same backend indexed by the
//! thread's rseq concurrency ID (`mm_cid`) instead of its CPU, with one chunk per CPU the
//! process may run on, where [`crate::rseq::cid_available`] says so (Linux ≥ 6.3).

use super::{FLAGS, InitError};
use crate::rcu::{Flavor, Rcu, RcuReader, Record};
use crate::sync::{
    AtomicUsize,
    Ordering::{Acquire, Relaxed},
    load_own,
};

mod sealed {
    pub trait Sealed {}
}

/// A deferred step of a switch to atomic mode: queued behind a grace period, or run by the
/// caller after it released the switch lock. The switch's own step is the ref's data itself
/// (`Callback::head`), so a kill allocates nothing for it.
pub(crate) type Pending = crate::rcu::Callback;

/// A percpu-mode counter backend: [`PerThread`] or [`PerCpu`]. Sealed: `PercpuRef`'s
/// correctness argument is written for these two.
pub trait Counters<F: Flavor>: sealed::Sealed + Send + Sync + Sized + 'static {
    /// Which backend this is, as on the command line and in results.
    const KIND: PercpuKind;
    /// What a thread passes to `get`/`put`.
    type Reader;
    /// The calling thread's reader for refs of `rcu`'s domain (`rcu_register_thread` for
    /// per-thread counters; nothing to register for per-CPU ones).
    fn reader(rcu: &Rcu<F>) -> Self::Reader;
    /// The reader holds no reference (a `qsbr` quiescent state; nothing per-CPU).
    fn quiescent(r: &mut Self::Reader);
    /// Run `f`, which blocks, with the reader offline (`qsbr`; just `f()` per-CPU).
    fn offline<R>(r: &mut Self::Reader, f: impl FnOnce() -> R) -> R;
    /// What the fast path needs, kept in the `PercpuRef` next to its mode word.
    type Fast: Send + Sync;
    /// What the ref keeps alive for as long as any of it may run (the per-CPU area).
    type Shared: Send + Sync;

    /// The backend's state for a ref of `rcu`'s domain, or why this process cannot have it.
    fn new(rcu: &Rcu<F>) -> Result<(Self::Fast, Self::Shared), InitError>;

    /// Refuse a reader of another domain (release builds too; see `PercpuRef::check_reader`).
    fn check_reader(domain: &Rcu<F>, r: &Self::Reader);

    /// The mode word of a ref of slot `slot` in percpu mode, flag bits clear: what the fast
    /// path turns into its counter's address, as the kernel's `percpu_count_ptr` is that
    /// address. Per-thread, the counter's byte offset in a reader record
    /// (`Record::counter_offset`: the address is the record's plus the word); per-CPU, the
    /// counter's address in the area's first chunk (`CpuCounters::slot_mode`: the section adds
    /// the CPU's chunk offset; under loom, the model's index).
    fn slot_mode(fast: &Self::Fast, slot: usize) -> usize;

    /// In one section: load `mode` (`Acquire` if `ACQUIRE`, else `Relaxed`); if no mode bit is
    /// set, add `nr` to the caller's counter of the slot the mode word names and return true;
    /// otherwise return false, having written no counter.
    ///
    /// # Safety
    ///
    /// 1. Whenever `mode`'s flag bits are clear, it is
    ///    [`slot_mode`](Self::slot_mode)`(fast, slot)` for a slot below
    ///    [`PERCPU_SLOTS`](crate::rcu::PERCPU_SLOTS), allocated from the domain `fast` and `r`
    ///    belong to (`r` passed [`check_reader`](Self::check_reader)).
    /// 2. `fast` came from [`new`](Self::new) with a `Shared` that is still alive.
    unsafe fn add_if_percpu<const ACQUIRE: bool>(
        fast: &Self::Fast,
        r: &Self::Reader,
        mode: &AtomicUsize,
        nr: usize,
    ) -> bool;

    /// Run `f`, which reads the mode word and may take an atomic-mode reference, so that a
    /// switch to atomic mode cannot complete between its read and its reference: inside an RCU
    /// section (per-thread: the switch waits for a grace period), or under the switch lock,
    /// which `lock` takes (per-CPU: the switch waits for no section of the caller's).
    fn covered<R, G>(r: &Self::Reader, lock: impl FnOnce() -> G, f: impl FnOnce() -> R) -> R;

    /// Wrapping sum of `slot` over every counter. Exact once no section can commit to it.
    fn sum(rcu: &Rcu<F>, shared: &Self::Shared, slot: usize) -> usize;

    /// `ATOMIC` has just been stored, under the switch lock: arrange for `then` to run once no
    /// fast path can still add to the counters. Per-thread: queued behind a grace period
    /// (`call_rcu`), returns `None`. Per-CPU: returns the membarrier and `then`, for the caller
    /// to run after it released the lock.
    fn after_switch(rcu: &Rcu<F>, shared: &Self::Shared, then: Pending) -> Option<Pending>;

    /// Bytes the backend reserves in the domain for all its slots, which the domain's refs
    /// share: per-thread, [`RECORD_BYTES`](crate::rcu::RECORD_BYTES) per record ever created
    /// (so it grows with the threads registered); per-CPU, the area (fixed by the CPU count).
    fn reserved_bytes(rcu: &Rcu<F>, shared: &Self::Shared) -> usize;
}

// A per-thread mode word is a counter's byte offset in the record: the area's offset and the
// counters' stride are multiples of FLAGS + 1 (FLAGS is the low mask 0b11), so every offset
// leaves the flag bits clear.
const _: () = assert!(
    FLAGS == 3
        && Record::counter_offset(0).is_multiple_of(FLAGS + 1)
        && std::mem::size_of::<AtomicUsize>().is_multiple_of(FLAGS + 1)
);

/// Counters in the RCU domain's reader records, one per registered thread: the backend that
/// runs everywhere (including loom and Miri).
#[derive(Debug, Clone, Copy)]
pub struct PerThread;

impl sealed::Sealed for PerThread {}

/// `this_cpu_add()` on a thread's record: the counter `mode` names.
///
/// # Safety
///
/// 1. `mode` is `Record::counter_offset(slot)` for a `slot < PERCPU_SLOTS` (a per-thread
///    ref's mode word with its flag bits clear: `PerThread::slot_mode`).
#[inline(always)]
unsafe fn record_add(rec: &Record, mode: usize, nr: usize) {
    // SAFETY: precondition 1.
    let c = through_one_register(unsafe { rec.counter_at(mode) });
    // Load + Relaxed store, not fetch_add: only this thread writes its counter (the kernel's
    // this_cpu_add is likewise not atomic against other CPUs), so `load_own` (a Relaxed load
    // outside loom) returns its latest value. The sum reads it only after a grace period,
    // which orders this store before the sum.
    c.store(load_own(c).wrapping_add(nr), Relaxed);
}

/// `c`, with its address computed into one register, so that the add reaches the counter
/// through that register alone (`add %r8,%rax; incq (%rax)`), not through the base + index
/// addressing the compiler would otherwise fold the record's address and the mode word into
/// (`incq (%rax,%r8)`).
///
/// Why: a get and its put add to the same counter, and in a loop of lookups each add loads what
/// the previous one stored. On this VM's Intel Xeon host an add to memory waits for that store
/// much longer when it addresses the counter through base + index, or takes the amount from a
/// register, than when it is an `inc`/`dec` through one register:
/// `results/reference/vm-2cpu/rseq-parts.txt` (`examples/rseq_parts.rs`, variants `full`,
/// `indexed inc`, `register add` and `indexed add`) measures it on the per-CPU section, and
/// `results/reference/vm-2cpu/get_put-ab-one-register-qsbr.txt` (and `-membarrier.txt`) on
/// criterion's `get_put` with per-thread counters, before and after. The kernel's
/// `this_cpu_inc` is such an add too (`incq %gs:(%rax)`). x86-64 only:
/// arm64 has no add to memory (its load and store take the address as they are), and this was
/// measured on x86-64 alone. Not under Miri or loom, which cannot run inline assembly.
/// `tests/hotpath.rs` checks that the per-thread paths update their counter with one `inc` and
/// one `dec` through one register.
#[inline(always)]
fn through_one_register(c: &AtomicUsize) -> &AtomicUsize {
    #[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
    {
        let mut p: *const AtomicUsize = c;
        // SAFETY: the assembly is empty: it returns its input unchanged, reads and writes no
        // memory, and touches no flags; it only hides from the compiler that `p` is a sum.
        #[expect(
            clippy::pointers_in_nomem_asm_block,
            reason = "the block reads nothing through the pointer: it returns it"
        )]
        unsafe {
            std::arch::asm!("/* {0}: the counter's address, in one register */", inout(reg) p,
                options(pure, nomem, nostack, preserves_flags));
        }
        // SAFETY: `p` is `c`'s address, unchanged (above), so it points to the same live
        // counter for the same lifetime.
        unsafe { &*p }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri), not(loom))))]
    c
}

impl<F: Flavor> Counters<F> for PerThread {
    const KIND: PercpuKind = PercpuKind::Thread;
    type Reader = RcuReader<F>;
    type Fast = ();
    type Shared = ();

    fn reader(rcu: &Rcu<F>) -> RcuReader<F> {
        rcu.register()
    }

    #[inline(always)]
    fn quiescent(r: &mut RcuReader<F>) {
        r.quiescent_state();
    }

    fn offline<R>(r: &mut RcuReader<F>, f: impl FnOnce() -> R) -> R {
        r.offline(f)
    }

    fn new(_: &Rcu<F>) -> Result<((), ()), InitError> {
        Ok(((), ()))
    }

    #[inline(always)]
    fn check_reader(domain: &Rcu<F>, r: &RcuReader<F>) {
        if !domain.same_domain(r.domain()) {
            super::wrong_domain();
        }
    }

    fn slot_mode(_: &(), slot: usize) -> usize {
        Record::counter_offset(slot)
    }

    #[inline(always)]
    unsafe fn add_if_percpu<const ACQUIRE: bool>(
        _: &(),
        r: &RcuReader<F>,
        mode: &AtomicUsize,
        nr: usize,
    ) -> bool {
        r.section_fast(|rec| {
            // Acquire: pairs with the Release stores that make the ref live (see
            // `PercpuRef::tryget_live_acquire`). Relaxed otherwise: READ_ONCE.
            let m = if ACQUIRE {
                mode.load(Acquire)
            } else {
                mode.load(Relaxed)
            };
            if m & FLAGS == 0 {
                // SAFETY: (1) of add_if_percpu: the flag bits are clear, so the word is
                // `slot_mode(slot)`, `Record::counter_offset(slot)`, of an allocated slot below
                // PERCPU_SLOTS, and every record has PERCPU_SLOTS counters.
                unsafe { record_add(rec, m, nr) };
                true
            } else {
                std::hint::cold_path();
                false
            }
        })
    }

    /// Always inlined: it is the body of the fast path's cold block, and a call there would
    /// make the function save registers for it on every lookup (see `tryget_live_with`).
    #[inline(always)]
    fn covered<R, G>(r: &RcuReader<F>, _: impl FnOnce() -> G, f: impl FnOnce() -> R) -> R {
        r.section(|_| f())
    }

    fn sum(rcu: &Rcu<F>, _: &(), slot: usize) -> usize {
        rcu.sum_slot(slot)
    }

    fn after_switch(rcu: &Rcu<F>, _: &(), then: Pending) -> Option<Pending> {
        rcu.call_callback(then);
        None
    }

    fn reserved_bytes(rcu: &Rcu<F>, _: &()) -> usize {
        rcu.records() * crate::rcu::RECORD_BYTES
    }
}

#[cfg(loom)]
pub use model_cpu::{ModelCpu, ModelCpuReader, break_model_membarrier};
#[cfg(not(loom))]
pub use per_cpu::{CpuReader, PerCid, PerCpu};

/// The per-CPU backend as loom sees it, **given rseq's guarantee**: each CPU's critical
/// sections and the membarrier's visit of that CPU are mutually exclusive, and a section that
/// is restarted reads the mode again. A CPU is a mutex: a section holds its CPU's mutex from the
/// mode load to the commit (a section the membarrier interrupts is one that restarts after it,
/// so it may as well not have begun); the membarrier takes and releases every CPU's mutex
/// (`smp_mb()` on each CPU, ordering the sections before it before the sum, and the mode store
/// before the sections after it). Loom cannot run rseq or membarrier themselves;
/// `tests/rseq_stress.rs` checks, natively, that the real section keeps the guarantee.
#[cfg(loom)]
mod model_cpu {
    use super::{Counters, FLAGS, InitError, Pending, PercpuKind, sealed};
    use crate::rcu::{Flavor, Rcu};
    use crate::sync::{
        Arc, AtomicUsize, Mutex,
        Ordering::{Acquire, Relaxed},
        load_own, lock,
    };

    /// Model CPUs.
    const CPUS: usize = 2;
    /// The model's own encoding of the slot in the mode word, an index above the flags: the
    /// real backend stores the counter's address (`CpuCounters::slot_mode`); the model checks
    /// the protocol, not the address arithmetic.
    const SLOT_SHIFT: u32 = 2;

    /// Test hook: the membarrier visits no CPU (the mutation that the models must catch).
    static BROKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    /// Make the model's membarrier skip every CPU (`true`) or not; for the negative control.
    pub fn break_model_membarrier(broken: bool) {
        BROKEN.store(broken, std::sync::atomic::Ordering::SeqCst);
    }

    /// [`PerCpu`](super) under loom.
    #[derive(Debug, Clone, Copy)]
    pub struct ModelCpu;

    impl sealed::Sealed for ModelCpu {}

    /// The CPU a model thread runs its sections on (threads may share one).
    #[derive(Debug, Clone, Copy)]
    pub struct ModelCpuReader(pub usize);

    /// The model CPUs and their counters.
    pub struct Area {
        cpus: [Mutex<()>; CPUS],
        counters: [[AtomicUsize; crate::rcu::PERCPU_SLOTS]; CPUS],
    }

    impl<F: Flavor> Counters<F> for ModelCpu {
        const KIND: PercpuKind = PercpuKind::Cpu;
        type Reader = ModelCpuReader;
        type Fast = Arc<Area>;
        type Shared = Arc<Area>;

        fn reader(_: &Rcu<F>) -> ModelCpuReader {
            ModelCpuReader(0)
        }

        fn quiescent(_: &mut ModelCpuReader) {}

        fn offline<R>(_: &mut ModelCpuReader, f: impl FnOnce() -> R) -> R {
            f()
        }

        fn new(_: &Rcu<F>) -> Result<(Arc<Area>, Arc<Area>), InitError> {
            let area = Arc::new(Area {
                cpus: std::array::from_fn(|_| Mutex::new(())),
                counters: std::array::from_fn(|_| std::array::from_fn(|_| AtomicUsize::new(0))),
            });
            Ok((area.clone(), area))
        }

        fn check_reader(_: &Rcu<F>, r: &ModelCpuReader) {
            assert!(r.0 < CPUS, "model CPU {} out of range", r.0);
        }

        fn slot_mode(_: &Arc<Area>, slot: usize) -> usize {
            slot << SLOT_SHIFT
        }

        fn covered<R, G>(_: &ModelCpuReader, lock: impl FnOnce() -> G, f: impl FnOnce() -> R) -> R {
            let _held = lock();
            f()
        }

        fn sum(_: &Rcu<F>, area: &Arc<Area>, slot: usize) -> usize {
            area.counters
                .iter()
                // Relaxed: ordered after every committed section by the membarrier's locks.
                .fold(0usize, |s, c| s.wrapping_add(c[slot].load(Relaxed)))
        }

        fn after_switch(_: &Rcu<F>, area: &Arc<Area>, then: Pending) -> Option<Pending> {
            let area = area.clone();
            Some(Pending::boxed(move || {
                if !BROKEN.load(std::sync::atomic::Ordering::SeqCst) {
                    for cpu in &area.cpus {
                        drop(lock(cpu));
                    }
                }
                then.run()
            }))
        }

        unsafe fn add_if_percpu<const ACQUIRE: bool>(
            area: &Arc<Area>,
            r: &ModelCpuReader,
            mode: &AtomicUsize,
            nr: usize,
        ) -> bool {
            let _on_cpu = lock(&area.cpus[r.0]);
            // As the real section: Acquire or Relaxed mode load.
            let m = if ACQUIRE {
                mode.load(Acquire)
            } else {
                mode.load(Relaxed)
            };
            if m & FLAGS != 0 {
                return false;
            }
            let c = &area.counters[r.0][m >> SLOT_SHIFT];
            // One writer per CPU at a time (the CPU's mutex), as the real commit.
            c.store(load_own(c).wrapping_add(nr), Relaxed);
            true
        }

        fn reserved_bytes(_: &Rcu<F>, _: &Arc<Area>) -> usize {
            std::mem::size_of::<Area>()
        }
    }
}

#[cfg(not(loom))]
mod per_cpu {
    use super::{Counters, FLAGS, InitError, Pending, PercpuKind, sealed};
    use crate::rcu::{Flavor, Rcu};
    use crate::rseq::{CpuArea, CpuCounters, MODE_FLAGS, membarrier};
    use crate::sync::{Arc, AtomicUsize};

    // The section tests the flags `percpu_ref` sets.
    const _: () = assert!(FLAGS == MODE_FLAGS);

    /// Counters per CPU, updated in restartable sequences ([`crate::rseq`]); with `CID`, per
    /// concurrency ID (`mm_cid`: [`crate::rseq::cid_available`]) instead, in an area of one
    /// chunk per CPU the process may run on. [`PerCid`] names that one.
    #[derive(Debug, Clone, Copy)]
    pub struct PerCpu<const CID: bool = false>;

    /// Per-CPU counters indexed by concurrency ID (`--percpu cid`).
    pub type PerCid = PerCpu<true>;

    impl<const CID: bool> sealed::Sealed for PerCpu<CID> {}

    /// What a thread passes to a per-CPU ref: nothing (no registration, no quiescent states).
    /// A token so that the two backends' calls read alike.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct CpuReader;

    impl<F: Flavor, const CID: bool> Counters<F> for PerCpu<CID> {
        const KIND: PercpuKind = if CID {
            PercpuKind::Cid
        } else {
            PercpuKind::Cpu
        };
        type Reader = CpuReader;
        type Fast = CpuCounters;
        type Shared = Arc<CpuArea>;

        fn reader(_: &Rcu<F>) -> CpuReader {
            CpuReader
        }

        #[inline(always)]
        fn quiescent(_: &mut CpuReader) {}

        fn offline<R>(_: &mut CpuReader, f: impl FnOnce() -> R) -> R {
            f()
        }

        fn new(rcu: &Rcu<F>) -> Result<(CpuCounters, Arc<CpuArea>), InitError> {
            let area = if CID { rcu.cid_area() } else { rcu.cpu_area() };
            let area = area.map_err(InitError::NoRseq)?;
            Ok((area.counters(), area))
        }

        #[inline(always)]
        fn check_reader(_: &Rcu<F>, _: &CpuReader) {}

        /// The section's encoding: the slot's counter in the area's first chunk, the flags
        /// below its alignment.
        fn slot_mode(fast: &CpuCounters, slot: usize) -> usize {
            fast.slot_mode(slot)
        }

        #[inline(always)]
        unsafe fn add_if_percpu<const ACQUIRE: bool>(
            fast: &CpuCounters,
            _: &CpuReader,
            mode: &AtomicUsize,
            nr: usize,
        ) -> bool {
            // SAFETY: (1) and (2) of add_if_percpu are those of CpuCounters::add_if_percpu:
            // (1) a word with flags clear is `slot_mode(fast, slot)` = `fast.slot_mode(slot)`,
            // these counters' own (precondition 1 of ours); (2) the area is alive (the
            // ref's shared data holds it), and every add to the area is
            // made through this function, with this `CID`: the domain keeps one area per
            // index (`Rcu::cpu_area`, `Rcu::cid_area`).
            unsafe { fast.add_if_percpu::<ACQUIRE, CID>(mode, nr) }
        }

        /// Out of line: the lock is a call anyway (its contended path), so the slow path
        /// makes one call, not several.
        #[cold]
        #[inline(never)]
        fn covered<R, G>(_: &CpuReader, lock: impl FnOnce() -> G, f: impl FnOnce() -> R) -> R {
            let _held = lock();
            f()
        }

        fn sum(_: &Rcu<F>, area: &Arc<CpuArea>, slot: usize) -> usize {
            area.sum(slot)
        }

        fn after_switch(_: &Rcu<F>, _: &Arc<CpuArea>, then: Pending) -> Option<Pending> {
            // Boxed: one allocation beside the membarrier's system call (tens of µs).
            Some(Pending::boxed(move || {
                // Every section that read the mode before ATOMIC was stored has committed or
                // will restart and read it again; the membarrier's barriers order the
                // committed adds before the sum in `then`.
                membarrier::restart();
                then.run()
            }))
        }

        fn reserved_bytes(_: &Rcu<F>, area: &Arc<CpuArea>) -> usize {
            area.bytes()
        }
    }
}

/// The backend as a value, for the command line and results (`--percpu thread|cpu|cid|auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PercpuKind {
    /// [`PerThread`].
    Thread,
    /// `PerCpu` (restartable sequences, a chunk per possible CPU, indexed by `cpu_id`).
    Cpu,
    /// `PerCid` (restartable sequences, a chunk per allowed CPU, indexed by `mm_cid`).
    Cid,
}

impl PercpuKind {
    /// Every backend, in the order reports list them.
    pub const ALL: [PercpuKind; 3] = [PercpuKind::Thread, PercpuKind::Cpu, PercpuKind::Cid];

    /// The name on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            PercpuKind::Thread => "thread",
            PercpuKind::Cpu => "cpu",
            PercpuKind::Cid => "cid",
        }
    }

    /// Whether its fast path is a restartable sequence (which single-stepping aborts: the
    /// listings and `tests/hotpath.rs` check it statically).
    pub fn is_rseq(self) -> bool {
        self != PercpuKind::Thread
    }

    /// The backend called `s`, if any (`auto` is resolved by [`auto`](Self::auto)).
    pub fn from_name(s: &str) -> Option<PercpuKind> {
        PercpuKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Whether this process can use it, or why not.
    pub fn available(self) -> Result<(), String> {
        match self {
            PercpuKind::Thread => Ok(()),
            #[cfg(not(loom))]
            PercpuKind::Cpu => crate::rseq::available().map(|_| ()),
            #[cfg(not(loom))]
            PercpuKind::Cid => crate::rseq::cid_available().map(|_| ()),
            #[cfg(loom)]
            PercpuKind::Cpu | PercpuKind::Cid => Err("not under loom".into()),
        }
    }

    /// `auto`: per-CPU counters where rseq works, per-thread otherwise; with the reason.
    pub fn auto() -> (PercpuKind, String) {
        match PercpuKind::Cpu.available() {
            Ok(()) => (
                PercpuKind::Cpu,
                "auto = cpu (rseq registered by glibc, membarrier PRIVATE_EXPEDITED_RSEQ available)"
                    .into(),
            ),
            Err(why) => (PercpuKind::Thread, format!("auto = thread ({why})")),
        }
    }
}

impl std::fmt::Display for PercpuKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
