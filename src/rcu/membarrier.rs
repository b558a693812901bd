//! `membarrier(2)`: the heavy half of the asymmetric fence.
//!
//! `MEMBARRIER_CMD_PRIVATE_EXPEDITED` makes every running thread of this process execute a full
//! memory barrier (an IPI on each CPU that runs one of them) before the call returns; threads
//! that are not running pass through the scheduler, which is a full barrier. That lets readers
//! replace their `fence(SeqCst)` with a compiler barrier, exactly as liburcu's memb flavour and
//! the kernel's own `sys_membarrier` users do. Registration is once per process
//! (`MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED`).

use std::sync::OnceLock;

/// `MEMBARRIER_CMD_QUERY`: which commands the kernel offers (also used by `crate::rseq`).
pub(crate) const MEMBARRIER_CMD_QUERY: libc::c_int = 0;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

/// `membarrier(cmd, 0, 0)`: the one wrapper of the system call (also used by `crate::rseq`).
pub(crate) fn membarrier(cmd: libc::c_int) -> Result<libc::c_long, std::io::Error> {
    // SAFETY: membarrier takes (cmd, flags, cpu_id) by value and touches no user memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            cmd,
            0 as libc::c_uint,
            0 as libc::c_int,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Whether private expedited membarrier is usable in this process, registering it on first use.
/// `Err` carries the reason it is not (`ENOSYS` on old kernels, `EPERM` under seccomp, a query
/// result without the command, or "not under Miri").
pub fn available() -> Result<(), String> {
    static STATE: OnceLock<Result<(), String>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            if cfg!(miri) {
                return Err("not attempted under Miri (no membarrier syscall)".into());
            }
            let supported = membarrier(MEMBARRIER_CMD_QUERY)
                .map_err(|e| format!("MEMBARRIER_CMD_QUERY failed: {e}"))?;
            let need = (MEMBARRIER_CMD_PRIVATE_EXPEDITED
                | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) as libc::c_long;
            if supported & need != need {
                return Err(format!(
                    "kernel lacks MEMBARRIER_CMD_PRIVATE_EXPEDITED (query returned {supported:#x})"
                ));
            }
            membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
                .map_err(|e| format!("MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED failed: {e}"))?;
            Ok(())
        })
        .clone()
}

/// Execute a full barrier on every running thread of the process.
///
/// Only called after [`available`] returned `Ok`, so a failure here means the kernel revoked what
/// it granted; carrying on would silently void every grace period, so this aborts the process.
/// Not a panic: it runs inside a grace period, which the sequence then shows as in progress
/// forever, and every other waiter of the domain would hang instead of hearing of it (as
/// `rseq::membarrier::restart` does for the same reason).
pub fn heavy_barrier() {
    if let Err(e) = membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
        eprintln!(
            "swapref: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed after registration \
             ({e}); no grace period can be trusted, aborting"
        );
        std::process::abort();
    }
}
