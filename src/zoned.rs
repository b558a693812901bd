//! Zoned reference counts: the kernel's `rcuref_t` and `file_ref_t`, ported.
//!
//! Both answer the "RCU lookup, then take a reference" pattern without `atomic_inc_not_zero()`'s
//! compare-and-swap loop: get is one unconditional atomic add and a sign test. That is safe
//! only because the object is RCU-managed (freed a grace period after its release), so a get
//! on an object being released lands in a zone that tolerates it:
//!
//! ```text
//! 0x0 .. MAXREF           valid: the value is the reference count minus one (ONEREF = 0)
//! MAXREF+1 .. SATURATED.. saturation zone: get and put keep working, the object leaks
//! RELEASED .. NOREF-1     dead zone: get fails; DEAD sits in its middle
//! NOREF (all ones)        the last reference was just dropped; a get may still revive it
//! ```
//!
//! - [`RcuRef`]: `include/linux/rcuref.h` and `lib/rcuref.c` (v6.4, Thomas Gleixner, "atomics:
//!   Provide rcuref - scalable reference counting"), with the 2025 fix b9a49520679e ("rcuref:
//!   Plug slowpath race in rcuref_put()", v6.14, backported to 6.13) that hands the decremented
//!   value to the slow path instead of re-reading it (a re-read could see another put's DEAD
//!   and report a false "imbalanced put"). 32 bits; get is a *relaxed* add (`atomic_add_negative_relaxed`), put a
//!   release decrement (`atomic_sub_return_release`).
//! - [`FileRef`]: `include/linux/file_ref.h` and `__file_ref_put()` in `fs/file.c` (v6.13,
//!   Christian Brauner, "fs: add file_ref"). 64 bits; get and put are fully ordered
//!   (`atomic_long_add_negative`, `atomic_long_dec_return`) and get has no slow path (a dead
//!   file would need 2^61 gets to come back).
//!
//! In both, put's slow path turns NOREF into DEAD with a release compare-and-swap, which fails
//! (and so does not release) if a concurrent get revived the count or another put already
//! marked it dead; the winner then has acquire ordering (`smp_acquire__after_ctrl_dep()`).
//! `tests/loom.rs` models get racing the last put at the zone boundaries.
//!
//! The callers' contract, as in the kernel: get and put run where the object cannot be freed
//! (inside an RCU read-side section: put's slow path touches the count after the decrement
//! that may have let another thread release it), and the object is freed only a grace period
//! after [`is_dead`](RcuRef::is_dead) holds.

use crate::sync::{AtomicU32, AtomicU64, Ordering, fence};

mod sealed {
    pub trait Sealed {}
}

/// What the strategies built on a zoned count use of it.
///
/// Sealed: [`RcuRef`] and [`FileRef`] are the only ones. `RcuObject`'s unsafe code trusts what
/// they answer (a `get` that returns true holds the object until its `put`; `is_dead` holds
/// only once the last `put` has released it, and no `get` succeeds after), so a count
/// written elsewhere, answering otherwise from safe code, could make it free a device under a
/// reader. Outside this crate an implementation does not compile:
///
/// ```compile_fail,E0277
/// struct Liar;
/// impl swapref::zoned::Zoned for Liar {
///     fn one() -> Self { Liar }
///     fn get(&self) -> bool { true }
///     fn put(&self) -> bool { false }
///     fn is_dead(&self) -> bool { true }
///     fn describe(&self) -> String { String::new() }
/// }
/// ```
pub trait Zoned: sealed::Sealed + Send + Sync + Sized + 'static {
    /// A count holding one reference (the initial one).
    fn one() -> Self;
    /// Take a reference; false in the dead zone.
    fn get(&self) -> bool;
    /// Drop a reference; true if this released the object.
    fn put(&self) -> bool;
    /// Released, for good.
    fn is_dead(&self) -> bool;
    /// The raw value and its zone, for stall reports.
    fn describe(&self) -> String;
}

macro_rules! zoned {
    (
        $(#[$doc:meta])* $name:ident($atomic:ty, $word:ty, $signed:ty),
        zones: $saturated:literal, $released:literal, $dead:literal,
        get: $get_order:expr, get_slow: $get_slow:literal, put: $put_order:expr
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name($atomic);

        impl sealed::Sealed for $name {}

        impl Zoned for $name {
            fn one() -> Self {
                Self::new(1)
            }
            #[inline(always)]
            fn get(&self) -> bool {
                $name::get(self)
            }
            #[inline(always)]
            fn put(&self) -> bool {
                $name::put(self)
            }
            fn is_dead(&self) -> bool {
                $name::is_dead(self)
            }
            fn describe(&self) -> String {
                format!("count {:#x} ({}, {} reference(s))", self.raw(), self.zone(), self.read())
            }
        }

        impl $name {
            /// Exactly one reference.
            pub const ONEREF: $word = 0;
            /// The largest valid count minus one.
            pub const MAXREF: $word = <$word>::MAX >> 1;
            /// The middle of the saturation zone.
            pub const SATURATED: $word = $saturated;
            /// The start of the dead zone.
            pub const RELEASED: $word = $released;
            /// The middle of the dead zone: released.
            pub const DEAD: $word = $dead;
            /// No reference left, not yet marked dead.
            pub const NOREF: $word = <$word>::MAX;

            /// A count holding `refs` references (`*_init(ref, cnt)`); `refs` ≥ 1.
            pub fn new(refs: $word) -> Self {
                assert!(refs >= 1, "a zoned count starts with at least one reference");
                $name(<$atomic>::new(refs - 1))
            }

            /// A count with this raw value, to test the zones' boundaries.
            #[cfg(any(test, loom))]
            pub fn from_raw(v: $word) -> Self {
                $name(<$atomic>::new(v))
            }

            /// The raw value.
            pub fn raw(&self) -> $word {
                // Relaxed: a snapshot for reports and tests, ordering nothing.
                self.0.load(Ordering::Relaxed)
            }

            /// The number of references (`*_read()`): 0 once in the dead zone (or at NOREF).
            pub fn read(&self) -> $word {
                let c = self.raw();
                if c >= Self::RELEASED { 0 } else { c + 1 }
            }

            /// Take a reference; false if the count is in the dead zone (the object is being or
            /// has been released). One atomic add and a sign test.
            #[inline(always)]
            pub fn get(&self) -> bool {
                // Unconditionally add: the saturation and dead zones tolerate it.
                let new = self.0.fetch_add(1, $get_order).wrapping_add(1);
                if (new as $signed) >= 0 {
                    return true;
                }
                if $get_slow { self.get_slow() } else { false }
            }

            /// [`get`](Self::get), also returning the value its add found (loom models).
            #[cfg(loom)]
            #[doc(hidden)]
            pub fn get_traced_for_tests(&self) -> (bool, $word) {
                let old = self.0.fetch_add(1, $get_order);
                if (old.wrapping_add(1) as $signed) >= 0 {
                    return (true, old);
                }
                (if $get_slow { self.get_slow() } else { false }, old)
            }

            /// [`put`](Self::put) with a relaxed decrement: the negative control of the loom
            /// models (the releaser no longer sees this holder's accesses).
            #[cfg(loom)]
            #[doc(hidden)]
            pub fn put_relaxed_for_tests(&self) -> bool {
                let c = self.0.fetch_sub(1, Ordering::Relaxed).wrapping_sub(1);
                if (c as $signed) >= 0 {
                    return false;
                }
                self.put_slow(c)
            }

            /// `rcuref_get_slowpath()`: the add went negative.
            #[cold]
            #[inline(never)]
            fn get_slow(&self) -> bool {
                // Relaxed: only decides which zone the count is in; nothing is read through it.
                let c = self.0.load(Ordering::Relaxed);
                if c >= Self::RELEASED {
                    // Dead: undo the add by setting DEAD, so the count stays in the middle of
                    // the zone, and fail. Relaxed: the object is not touched.
                    self.0.store(Self::DEAD, Ordering::Relaxed);
                    return false;
                }
                if c > Self::MAXREF {
                    // Saturated (the kernel warns once): stay in the middle of the zone; the
                    // object leaks instead of overflowing. Relaxed as above.
                    self.0.store(Self::SATURATED, Ordering::Relaxed);
                }
                true
            }

            /// Drop a reference; true if this dropped the last one and marked the count dead:
            /// the caller may then schedule the object's release (after a grace period).
            #[inline(always)]
            pub fn put(&self) -> bool {
                // Release (rcuref) or full ordering (file_ref): the caller's accesses to the
                // object happen-before the releaser's, through the release sequence that the
                // winning compare-and-swap below reads from.
                let c = self.0.fetch_sub(1, $put_order).wrapping_sub(1);
                if (c as $signed) >= 0 {
                    return false;
                }
                self.put_slow(c)
            }

            /// `rcuref_put_slowpath()` / `__file_ref_put()`, given the decremented value `c`
            /// (not a re-read: a re-read could see a later put's DEAD and call this put
            /// imbalanced).
            #[cold]
            #[inline(never)]
            fn put_slow(&self, c: $word) -> bool {
                if c == Self::NOREF {
                    // Try to mark it dead. This fails if a concurrent get revived it or a put
                    // marked it dead already: both valid, neither retried, and then the caller
                    // must not release. Release on success: the dead value publishes our
                    // accesses to whoever sees it.
                    if self
                        .0
                        .compare_exchange(c, Self::DEAD, Ordering::Release, Ordering::Relaxed)
                        .is_err()
                    {
                        return false;
                    }
                    // smp_acquire__after_ctrl_dep(): pairs with the other holders' release
                    // decrements, which our compare-and-swap read from (release sequence), so
                    // their accesses happen-before the caller's release of the object.
                    fence(Ordering::Acquire);
                    return true;
                }
                if c >= Self::RELEASED {
                    // An imbalanced put (the kernel warns): back to DEAD, do not release.
                    // Relaxed: only keeps the count in the middle of the zone.
                    self.0.store(Self::DEAD, Ordering::Relaxed);
                    return false;
                }
                if c > Self::MAXREF {
                    // A put on a saturated count: back to the middle of the zone. Relaxed.
                    self.0.store(Self::SATURATED, Ordering::Relaxed);
                }
                false
            }

            /// Whether the count has been released: in the dead zone and not at NOREF (where a
            /// get may still revive it). Once true it stays true.
            pub fn is_dead(&self) -> bool {
                // Acquire: pairs with the winning compare-and-swap's Release when this reads
                // DEAD from it (the last holder's accesses then happen-before ours); a read of
                // a value a dead-zone get wrote is only a state, and callers wait a grace
                // period before freeing anyway (module docs).
                let c = self.0.load(Ordering::Acquire);
                c >= Self::RELEASED && c != Self::NOREF
            }

            /// Which zone the count is in, for stall reports.
            pub fn zone(&self) -> &'static str {
                match self.raw() {
                    Self::NOREF => "noref",
                    c if c >= Self::RELEASED => "dead",
                    c if c > Self::MAXREF => "saturated",
                    _ => "valid",
                }
            }
        }
    };
}

zoned! {
    /// `rcuref_t`: 32 bits, relaxed get with a slow path for the dead and saturation zones,
    /// release put.
    RcuRef(AtomicU32, u32, i32),
    zones: 0xA000_0000, 0xC000_0000, 0xE000_0000,
    get: Ordering::Relaxed, get_slow: true, put: Ordering::Release
}

zoned! {
    /// `file_ref_t`: 64 bits, fully ordered get (no slow path) and put.
    FileRef(AtomicU64, u64, i64),
    zones: 0xA000_0000_0000_0000, 0xC000_0000_0000_0000, 0xE000_0000_0000_0000,
    get: Ordering::SeqCst, get_slow: false, put: Ordering::SeqCst
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_zones_are_the_kernels() {
        assert_eq!(
            (
                RcuRef::MAXREF,
                RcuRef::SATURATED,
                RcuRef::RELEASED,
                RcuRef::DEAD,
                RcuRef::NOREF
            ),
            (
                0x7FFF_FFFF,
                0xA000_0000,
                0xC000_0000,
                0xE000_0000,
                0xFFFF_FFFF
            )
        );
        assert_eq!(
            (
                FileRef::MAXREF,
                FileRef::SATURATED,
                FileRef::RELEASED,
                FileRef::DEAD,
                FileRef::NOREF
            ),
            (
                0x7FFF_FFFF_FFFF_FFFF,
                0xA000_0000_0000_0000,
                0xC000_0000_0000_0000,
                0xE000_0000_0000_0000,
                0xFFFF_FFFF_FFFF_FFFF
            )
        );
    }

    #[test]
    fn one_holder_get_put_release_and_a_dead_count_refuses_gets() {
        let r = RcuRef::new(1);
        assert_eq!(r.read(), 1);
        assert!(r.get());
        assert_eq!(r.read(), 2);
        assert!(!r.put());
        assert!(!r.is_dead());
        assert!(r.put(), "the last put releases");
        assert!(r.is_dead());
        assert_eq!(r.raw(), RcuRef::DEAD);
        assert!(!r.get(), "a get on a dead count fails");
        assert_eq!(
            r.raw(),
            RcuRef::DEAD,
            "and rcuref puts it back in the middle"
        );
        let f = FileRef::new(1);
        assert!(f.put());
        assert!(!f.get());
        assert_eq!(
            f.raw(),
            FileRef::DEAD + 1,
            "file_ref's get leaves the add in place"
        );
        assert!(f.is_dead());
    }

    #[test]
    fn a_get_at_noref_revives_and_the_late_put_does_not_release() {
        // The last put decremented to NOREF and has not yet marked it dead; a get revives it.
        let r = RcuRef::from_raw(RcuRef::NOREF);
        assert!(!r.is_dead(), "NOREF is not yet dead");
        assert!(r.get());
        assert_eq!(r.raw(), RcuRef::ONEREF);
        // The first put's compare-and-swap now fails: it must not release.
        assert!(!r.put_slow(RcuRef::NOREF));
        assert!(r.put(), "the reviver's put releases");
    }

    #[test]
    fn saturation_holds_the_count_in_the_middle_of_its_zone() {
        let r = RcuRef::from_raw(RcuRef::MAXREF);
        assert!(r.get(), "a get into the saturation zone still succeeds");
        assert_eq!(r.raw(), RcuRef::SATURATED);
        assert!(!r.put());
        assert_eq!(r.raw(), RcuRef::SATURATED, "a put there keeps it saturated");
        assert_eq!(r.zone(), "saturated");
    }

    #[test]
    fn an_imbalanced_put_stays_dead_and_does_not_release_again() {
        let r = RcuRef::new(1);
        assert!(r.put());
        assert!(!r.put(), "a second release would free twice");
        assert_eq!(r.raw(), RcuRef::DEAD);
        let f = FileRef::new(1);
        assert!(f.put());
        assert!(!f.put());
        assert_eq!(f.raw(), FileRef::DEAD);
    }
}
