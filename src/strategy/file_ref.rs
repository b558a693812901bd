//! `file-ref`: the kernel's `file_ref_t` (`include/linux/file_ref.h`, `__file_ref_put()` in
//! `fs/file.c`, v6.13, Christian Brauner), the reference count of `struct file`, ported in
//! [`crate::zoned::FileRef`], with the same wiring as `rcuref` (`rcu_object`): the device is
//! found under swapref's RCU and held by the count.
//!
//! What differs from `rcuref`: 64 bits; `file_ref_get()` is a *fully ordered* add and sign
//! test with no slow path (a dead count stays where the add left it: it would take 2^61 gets
//! to revive it); `file_ref_put()` is a fully ordered decrement. The kernel's files are
//! `SLAB_TYPESAFE_BY_RCU` and `fget()` re-checks the fd table after its get; here the device is
//! freed a grace period after its release, so no re-check is needed.
//!
//! Reader cost: two RCU sections (nothing under `qsbr`), a domain check, a dependent load, and
//! two fully ordered RMWs on the shared count (on x86-64 the same `lock xadd` as `rcuref`; on
//! arm64 the acquire-release add, `__aarch64_ldadd8_acq_rel` (`ldaddal` with LSE), where
//! `rcuref` has the relaxed and the release forms: `results/codegen/aarch64/`).
//! swapoff cost: as `rcuref`: unpublish, drop the initial reference, wait for the last put,
//! one grace period.

use super::rcu_object::{ObjectRef, RcuObject};
use crate::zoned::FileRef;

/// `file-ref` over RCU flavour `F`.
pub type FileRefStrategy<F> = RcuObject<F, FileRef>;

impl ObjectRef for FileRef {
    const NAME: &'static str = "file-ref";
    const SUMMARY: &'static str =
        "RCU lookup + file_ref_get (fully ordered add, sign test, 64-bit zones; v6.13)";
}
