//! A registered reader thread: its sections (`membarrier`, `fence`), its quiescent states and
//! offline periods (`qsbr`), and the wake-up of a grace-period driver waiting for it.

use super::{Flavor, Rcu, Record};
use crate::sync::{
    Arc,
    Ordering::{Acquire, Relaxed, Release},
    rcu_ctr_begin, rcu_ctr_store, rcu_full_fence, rcu_gp_snapshot,
};
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

/// A registered reader thread of one [`Rcu`] domain (`rcu_register_thread` until drop).
///
/// `Send` (a reader may be handed to the thread that will use it) but not `Sync`: one thread
/// at a time enters sections and updates the percpu area.
///
/// Under `qsbr` the guarantees rest on the borrow checker: a section's guard borrows the reader,
/// and [`quiescent_state`](Self::quiescent_state) and [`offline`](Self::offline) need it
/// mutably, so no guard (and nothing a strategy's guard protects) can live across either.
pub struct RcuReader<F: Flavor> {
    rcu: Rcu<F>,
    record: OwnRecord,
    index: usize,
    /// Nesting depth of [`read_lock`](Self::read_lock) sections (`membarrier`, `fence`).
    nest: Cell<u32>,
}

/// A reader's record: the `Arc` that keeps it alive, and the record's address, loaded as it is
/// by the fast path. Through the `Arc` the record lies past the allocation's counts (128 bytes
/// in where `CachePadded` aligns to 128, as on x86-64 and arm64), an add on every lookup before
/// the counter offset in the mode word can be added (`PerThread`'s fast path).
struct OwnRecord {
    /// Points into `_keep`'s allocation.
    rec: std::ptr::NonNull<Record>,
    _keep: Arc<CachePadded<Record>>,
}

// SAFETY: `rec` is an address inside the allocation `_keep` owns, and is used only as a shared
// reference to the record (Deref); sending or sharing it sends or shares an `&Record`, which
// is `Send` and `Sync` as `Record` (atomics) is `Sync`, as the `Arc` itself is.
unsafe impl Send for OwnRecord {}
// SAFETY: as for Send.
unsafe impl Sync for OwnRecord {}

// What the two impls above rest on: a record is shared between threads as it is (atomics).
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Record>();
};

impl OwnRecord {
    fn new(keep: Arc<CachePadded<Record>>) -> OwnRecord {
        OwnRecord {
            rec: std::ptr::NonNull::from(&**keep),
            _keep: keep,
        }
    }
}

impl std::ops::Deref for OwnRecord {
    type Target = Record;
    #[inline(always)]
    fn deref(&self) -> &Record {
        // SAFETY: `rec` points to the record in `_keep`'s allocation (`new`), which lives at
        // least as long as `self` (an `Arc` never moves its data), and only shared references
        // to it are ever made.
        unsafe { self.rec.as_ref() }
    }
}

impl<F: Flavor> fmt::Debug for RcuReader<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RcuReader")
            .field("flavor", &F::KIND)
            .field("index", &self.index)
            .field("nest", &self.nest.get())
            .finish()
    }
}

/// An RCU read-side section; it ends when the guard is dropped (`rcu_read_unlock`). Under
/// `qsbr` it costs nothing: it only borrows the reader.
#[must_use = "the read-side section ends when the guard is dropped"]
pub struct RcuReadGuard<'r, F: Flavor> {
    reader: &'r RcuReader<F>,
}

impl<F: Flavor> Drop for RcuReadGuard<'_, F> {
    #[inline]
    fn drop(&mut self) {
        if F::QSBR {
            return;
        }
        let n = self.reader.nest.get() - 1;
        self.reader.nest.set(n);
        if n == 0 {
            self.reader.exit(&self.reader.record);
        }
    }
}

/// A `qsbr` reader's offline period: see [`RcuReader::offline`].
pub struct Offline<'r, F: Flavor> {
    reader: &'r mut RcuReader<F>,
}

impl<F: Flavor> Drop for Offline<'_, F> {
    fn drop(&mut self) {
        self.reader.go_online();
    }
}

/// Leaves the section when dropped, so that a panic inside [`RcuReader::section`] cannot leave
/// `ctr` set and stall every later grace period.
struct SectionExit<'a, F: Flavor> {
    reader: &'a RcuReader<F>,
    rec: &'a Record,
    _f: PhantomData<F>,
}

impl<F: Flavor> Drop for SectionExit<'_, F> {
    #[inline(always)]
    fn drop(&mut self) {
        self.reader.exit(self.rec);
    }
}

impl<F: Flavor> RcuReader<F> {
    pub(super) fn new(rcu: Rcu<F>, record: Arc<CachePadded<Record>>, index: usize) -> Self {
        let r = RcuReader {
            rcu,
            record: OwnRecord::new(record),
            index,
            nest: Cell::new(0),
        };
        if F::QSBR {
            r.go_online();
        }
        r
    }

    /// The domain this reader belongs to.
    pub fn domain(&self) -> &Rcu<F> {
        &self.rcu
    }

    /// Begin a read-side section (`rcu_read_lock`). Sections nest. Under `qsbr`, nothing.
    #[inline]
    pub fn read_lock(&self) -> RcuReadGuard<'_, F> {
        if !F::QSBR {
            let n = self.nest.get();
            if n == 0 {
                self.enter(&self.record);
            }
            self.nest.set(n + 1);
        }
        RcuReadGuard { reader: self }
    }

    /// Whether the calling thread is inside a [`read_lock`](Self::read_lock) section of this
    /// reader. Always false under `qsbr`, whose sections are not tracked.
    pub fn in_section(&self) -> bool {
        self.nest.get() > 0
    }

    /// Run `f` inside a read-side section, for this crate's own short sections (percpu_ref's
    /// paths). Unlike [`read_lock`](Self::read_lock) it never writes the nesting count: `f`
    /// must not open a section through this reader's `read_lock` (the count would not show ours),
    /// and a section already open around us keeps covering it. Under `qsbr` it is `f(record)`.
    ///
    /// `f` gets this thread's record, already loaded: the compiler barriers of the section would
    /// otherwise force a reload of `self.record` after each of them. The section ends when `f`
    /// returns or unwinds.
    #[inline(always)]
    pub(crate) fn section<R>(&self, f: impl FnOnce(&Record) -> R) -> R {
        let rec: &Record = &self.record;
        if F::QSBR || self.nest.get() != 0 {
            return f(rec);
        }
        self.enter(rec);
        let _exit = SectionExit {
            reader: self,
            rec,
            _f: PhantomData::<F>,
        };
        f(rec)
    }

    /// [`section`](Self::section) for the fast paths, whose `f` is a few loads and a store and
    /// cannot unwind. Its sections live in a grace-period word of their own (`fast`), which the
    /// grace period waits for as it waits for `ctr`: so it needs no nesting test (a
    /// [`read_lock`](Self::read_lock) section around it keeps `ctr` set) and never reads a word
    /// it writes. Fast sections do not nest in one another: the fast paths keep `f` free of
    /// calls (leave the section, then call), so a section never holds a slow path or callback.
    #[inline(always)]
    pub(crate) fn section_fast<R>(&self, f: impl FnOnce(&Record) -> R) -> R {
        let rec: &Record = &self.record;
        if F::QSBR {
            return f(rec);
        }
        // Any value of gp will do (see `enter`).
        F::enter(&rec.gp.fast, rcu_gp_snapshot(&self.rcu.inner.gp));
        let r = f(rec);
        F::exit(&rec.gp.fast, 0);
        // Relaxed: a hint to look; see `exit`.
        if rec.gp.wake.load(Relaxed) {
            self.wake_driver();
        }
        r
    }

    #[inline(always)]
    fn enter(&self, rec: &Record) {
        // Any value of gp will do; what orders the section after the ctr store is the flavour's
        // barrier, and a snapshot read from a newer advance proves the section began after the
        // driver's barrier (A) (module docs). Relaxed outside loom (see the helper).
        let snap = rcu_gp_snapshot(&self.rcu.inner.gp);
        F::enter(&rec.gp.ctr, snap);
    }

    #[inline(always)]
    fn exit(&self, rec: &Record) {
        F::exit(&rec.gp.ctr, 0);
        // Relaxed: only a hint to look; `wake_driver`'s Acquire swap does the ordering. The
        // flavour's exit barrier orders it after the ctr store (module docs, "wake-up").
        if rec.gp.wake.load(Relaxed) {
            self.wake_driver();
        }
    }

    /// liburcu's `wake_up_gp()`: the driver asked to be woken when this reader lets it go.
    #[cold]
    #[inline(never)]
    fn wake_driver(&self) {
        // Acquire: pairs with the driver's Release store of the flag, which follows its
        // `enlist`, so the unpark below finds the driver that is waiting (not an older one).
        if self.record.gp.wake.swap(false, Acquire) {
            self.rcu.inner.driver.unpark();
        }
    }

    /// `rcu_quiescent_state()` (`qsbr`): the thread holds no reference obtained before this
    /// point, so a grace period that began before it need not wait for it. One load and a
    /// compare when no grace period has begun since the last call; a store and a full fence
    /// once per grace period. Needs `&mut self`: no guard can be alive. No-op in the other
    /// flavours, whose readers are quiescent whenever they are outside a section.
    #[inline]
    pub fn quiescent_state(&mut self) {
        if !F::QSBR {
            return;
        }
        // Acquire: pairs with the driver's advance of gp (after the fence at (A)): a reader that
        // announces the new value sees everything the driver's caller did before the grace
        // period, in all it does after this point.
        let g = self.rcu.inner.gp.load(Acquire);
        // Relaxed: only this thread stores its ctr, so this is its own last value (the driver's
        // loom-only scan RMWs write the same value back).
        if g != self.record.gp.ctr.load(Relaxed) {
            self.announce(g);
        }
    }

    #[cold]
    #[inline(never)]
    fn announce(&self, g: u64) {
        // Release: our accesses before this quiescent state happen-before whatever the driver
        // does after reading this value (its Acquire scan).
        rcu_ctr_store(&self.record.gp.ctr, g, Release);
        // Orders the store before the load of the wake flag (pairs with the driver's fence
        // between setting the flag and re-reading ctr): liburcu qsbr's smp_mb() there.
        rcu_full_fence();
        // Relaxed: a hint; see `exit`.
        if self.record.gp.wake.load(Relaxed) {
            self.wake_driver();
        }
    }

    /// Run `f` with the thread offline (`rcu_thread_offline()` ... `rcu_thread_online()`),
    /// under `qsbr`: grace periods do not wait for it meanwhile. Every blocking wait of a `qsbr`
    /// reader thread (a barrier, a condition variable, `synchronize` itself) belongs in here.
    /// Needs `&mut self`: no guard can be alive, and `f` cannot use the reader. In the other
    /// flavours it is `f()`.
    pub fn offline<R>(&mut self, f: impl FnOnce() -> R) -> R {
        if !F::QSBR {
            return f();
        }
        self.go_offline();
        let _online = Offline { reader: self };
        f()
    }

    fn go_offline(&mut self) {
        // Release: our accesses before going offline happen-before what a driver does after it
        // reads the 0 (its Acquire scan).
        rcu_ctr_store(&self.record.gp.ctr, 0, Release);
        // As in `announce`: orders the store before the wake flag's load.
        rcu_full_fence();
        // Relaxed: a hint; see `exit`.
        if self.record.gp.wake.load(Relaxed) {
            self.wake_driver();
        }
    }

    fn go_online(&self) {
        // Any recent value will do (an old one only makes a grace period wait for our next
        // quiescent state); the fence below is what orders us (Relaxed store, and a Relaxed
        // load outside loom: see the helper).
        let g = rcu_gp_snapshot(&self.rcu.inner.gp);
        rcu_ctr_begin(&self.record.gp.ctr, g, Relaxed);
        // Pairs with the driver's fence at (A): either the scan sees us online, or our accesses
        // from here on see everything before the grace period (liburcu qsbr's smp_mb()).
        rcu_full_fence();
    }

    /// This thread's counter for percpu slot `slot` (`this_cpu_ptr`).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn this_cpu(&self, slot: usize) -> &crate::sync::AtomicUsize {
        &self.record.area[slot]
    }
}

impl<F: Flavor> Drop for RcuReader<F> {
    fn drop(&mut self) {
        // Whatever the flavour, the thread is done with the domain: a record left with a nonzero
        // ctr (a forgotten guard, a qsbr reader dropped online) would hold up every later grace
        // period. No section can be open: guards borrow the reader, fast sections end in the
        // call that opened them.
        self.go_offline();
        self.nest.set(0);
        crate::sync::lock(&self.rcu.inner.registry)
            .free_records
            .push(self.index);
    }
}
