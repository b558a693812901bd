//! `rcuref`: the kernel's `rcuref_t` (`include/linux/rcuref.h`, `lib/rcuref.c`, v6.4, Thomas
//! Gleixner), the reference count made for "RCU lookup, then take a reference" and used by
//! `dst_entry` (+25…130 % on a localhost memtier test, in the series), ported in
//! [`crate::zoned::RcuRef`]; the device is found under swapref's RCU as a `dst_entry` is
//! (shared wiring: `rcu_object`).
//!
//! get = RCU section { load the published device (`rcu_dereference`), `rcuref_get()` }:
//! one *relaxed* unconditional add and a sign test, no compare-and-swap loop as in
//! `atomic_inc_not_zero()` (`atomic`); the dead and saturation zones absorb the adds that
//! race a release. put = `rcuref_put()` in a section: a release decrement and a sign test; the
//! last put marks the count dead with a release compare-and-swap.
//!
//! Reader cost: two RCU sections (nothing under `qsbr`), a domain check, a dependent load, and
//! two locked RMWs on a count every reader of the device writes (one cache line moving between
//! CPUs once two share it, as `atomic`, but never a retry).
//! swapoff cost, in `dst_release()`'s order: unpublish, drop the initial reference, wait for the
//! last holder's put, one grace period (the kernel's `call_rcu()` before the free).

use super::rcu_object::{ObjectRef, RcuObject};
use crate::zoned::RcuRef;

/// `rcuref` over RCU flavour `F`.
pub type RcuRefStrategy<F> = RcuObject<F, RcuRef>;

impl ObjectRef for RcuRef {
    const NAME: &'static str = "rcuref";
    const SUMMARY: &'static str =
        "RCU lookup + rcuref_get (relaxed add, sign test, dead/saturation zones; v6.4)";
}
