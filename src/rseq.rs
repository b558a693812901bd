//! Restartable sequences: a userspace `this_cpu_add()` for `percpu_ref`'s per-CPU backend.
//!
//! # What the kernel gives
//!
//! A thread registers a `struct rseq` area with `rseq(2)`; the kernel keeps its `cpu_id` field
//! current. Before a *critical section* the thread stores the address of a descriptor
//! (`struct rseq_cs`: `start_ip`, `post_commit_offset`, `abort_ip`) in the area's `rseq_cs`
//! field. If the thread is preempted, migrated or signalled while its instruction pointer is in
//! `[start_ip, start_ip + post_commit_offset)`, the kernel does not resume it there but at
//! `abort_ip`, whose four preceding bytes must be the signature the thread registered. A section
//! that ends with one committing store therefore runs on one CPU, uninterrupted by any other
//! thread on that CPU, or not at all — which is what `this_cpu_inc()` gets from disabling
//! preemption for one instruction.
//!
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ)` restarts every critical section of this
//! process that is running on any CPU when it is called (an IPI, `smp_mb()` then
//! `rseq_preempt()`, on each CPU running one of its threads) and returns after a full barrier:
//! a section that commits afterwards began afterwards and reads what the caller stored before
//! the call. That replaces the grace period of `percpu_ref`'s switch to atomic mode.
//!
//! # What this module uses, and what it never does
//!
//! - glibc ≥ 2.35 registers the area for every thread it creates and exports where it is:
//!   `__rseq_offset` (from the thread pointer), `__rseq_size` (0 if registration failed or was
//!   turned off with `GLIBC_TUNABLES=glibc.pthread.rseq=0`). This module looks them up with
//!   `dlsym`, so an older glibc is a reason to fall back, not a link error. It never registers a
//!   second area (the kernel allows one per thread).
//! - The abort signature is glibc's `RSEQ_SIG` for the architecture: `0x53053053` on x86-64
//!   (emitted as `ud1 0x53053053(%rip), %edi`, as librseq does), `0xd428bc00` (`brk #0x45e0`) on
//!   little-endian arm64.
//! - Descriptors are emitted into the `__rseq_cs` section (32-byte aligned, version 0, flags 0)
//!   and listed in `__rseq_cs_ptr_array`, librseq's layout, so debuggers and the check below
//!   find them; abort handlers go to `__rseq_failure`. [`check_descriptors`] verifies every
//!   descriptor of the running binary before [`available`] says yes.
//! - A thread whose registration failed has `cpu_id` = -1 or -2: as an unsigned index that is
//!   out of range, and the section leaves without committing (the caller then uses the atomic
//!   count); a section by concurrency ID, whose `mm_cid` may then be in range, tests `cpu_id`'s
//!   sign first ([`cid_available`]). No index is trusted to be in range: the section compares
//!   the CPU number or ID with the area's chunk count before it computes an address.
//!
//! A thread's `rseq_cs` field keeps pointing at the last descriptor it armed (the kernel clears
//! it lazily), so the code holding the descriptors must never be unmapped: this module is
//! linked statically into the binary, never into a library that could be `dlclose`d.
//!
//! Not available under Miri or loom (no syscalls, no inline assembly), nor on other
//! architectures; [`available`] says why, and `percpu_ref` falls back to per-thread counters.
//!
//! # The section
//!
//! [`CpuCounters::add_if_percpu`] is, in one assembly block: arm the descriptor; read `cpu_id`
//! (or `mm_cid`, the concurrency ID: [`cid_available`]);
//! load the ref's mode word (`Acquire` or `Relaxed`); leave if a mode bit is set or the CPU is
//! out of range; compute this CPU's counter from the mode word (which is the counter's address
//! in the first CPU's chunk, the two mode bits below it, as `percpu_count_ptr` carries the
//! counter's address: the CPU's chunk offset is added to it); add, with one
//! non-locked read-modify-write through one register (x86-64: `inc` for a get, `dec` for a put,
//! `add` otherwise; see `arch::section`) or a load/add/store whose store commits (arm64). An abort
//! restarts from the arming, so the mode is read again.

use crate::sync::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

/// Counters per CPU chunk: the same slot indices as the per-thread records
/// ([`PERCPU_SLOTS`](crate::rcu::PERCPU_SLOTS)), so one slot names a ref's counter in both
/// backends.
const SLOTS: usize = crate::rcu::PERCPU_SLOTS;
/// log2 of a CPU chunk's size in bytes: the section shifts the CPU number by it.
const CHUNK_SHIFT: u32 = 11;
const _: () = assert!(std::mem::size_of::<Chunk>() == 1 << CHUNK_SHIFT);

/// The mode word's flag bits (`percpu_ref`'s `ATOMIC | DEAD`); the section leaves if any is set.
pub(crate) const MODE_FLAGS: usize = 3;
// A mode word in percpu mode is a counter's address (`CpuCounters::slot_mode`): the flags fit
// below a counter's alignment.
const _: () = assert!(MODE_FLAGS < std::mem::align_of::<AtomicUsize>());

/// glibc's `RSEQ_SIG` for this architecture (the four bytes before every abort handler).
#[cfg(target_arch = "x86_64")]
pub const RSEQ_SIG: u32 = 0x5305_3053;
/// glibc's `RSEQ_SIG` for this architecture (the four bytes before every abort handler).
#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
pub const RSEQ_SIG: u32 = 0xd428_bc00;

/// One CPU's counters: a chunk of its own, so two CPUs never write one cache line.
#[repr(C, align(64))]
struct Chunk([AtomicUsize; SLOTS]);

/// Critical sections restarted (by preemption, migration, a signal or a membarrier), counted by
/// the abort handler, process-wide.
static ABORTS: AtomicU64 = AtomicU64::new(0);

/// How many critical sections have been restarted in this process so far: evidence, for the
/// stress test and the results, that aborts really happened.
pub fn aborts() -> u64 {
    // Relaxed: a statistic, read after the threads that counted have been joined.
    ABORTS.load(Relaxed)
}

/// What this process can use: where glibc put the rseq area, and the CPU count.
#[derive(Debug, Clone, Copy)]
pub struct Rseq {
    /// `__rseq_offset`: the area's address minus the thread pointer.
    offset: isize,
    /// `nr_cpu_ids`: CPUs this system may ever run us on.
    cpus: u32,
}

impl Rseq {
    /// Number of possible CPUs (`nr_cpu_ids`: an area indexed by `cpu_id` has this many
    /// chunks; one by `mm_cid`, as many as [`cid_available`] says).
    pub fn cpus(&self) -> u32 {
        self.cpus
    }
}

/// Whether the per-CPU backend works in this process: `Ok` with the rseq area's location, or
/// why not (glibc too old or told not to register, Miri, an architecture without the section,
/// a kernel without `MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ`, a descriptor that fails the check).
/// Decided once; registers the process for the rseq membarrier on the way.
pub fn available() -> Result<Rseq, String> {
    static STATE: OnceLock<Result<Rseq, String>> = OnceLock::new();
    STATE.get_or_init(probe).clone()
}

fn probe() -> Result<Rseq, String> {
    if cfg!(miri) {
        return Err("not attempted under Miri (no rseq, no inline assembly)".into());
    }
    if !cfg!(any(
        target_arch = "x86_64",
        all(target_arch = "aarch64", target_endian = "little")
    )) {
        return Err(format!(
            "no critical section written for {}",
            std::env::consts::ARCH
        ));
    }
    let size = glibc_symbol::<libc::c_uint>("__rseq_size")
        .ok_or("glibc older than 2.35 (no __rseq_size): it registers no rseq area")?;
    if size < 20 {
        return Err(format!(
            "glibc registered no rseq area (__rseq_size = {size}; rseq turned off by \
             GLIBC_TUNABLES=glibc.pthread.rseq=0, refused by seccomp, under valgrind, or a kernel before 4.18)"
        ));
    }
    let offset = glibc_symbol::<isize>("__rseq_offset").ok_or("glibc has no __rseq_offset")?;
    let cpus = possible_cpus()?;
    let r = Rseq { offset, cpus };
    // The calling thread's cpu_id says whether its registration worked (-1 or -2 if not).
    let cpu = r.cpu_id();
    if cpu >= cpus {
        return Err(format!(
            "this thread's rseq cpu_id is {} (registration failed?)",
            cpu as i32
        ));
    }
    check_descriptors().map_err(|e| format!("rseq descriptor check failed: {e}"))?;
    membarrier::register()?;
    Ok(r)
}

/// The value of glibc's exported variable `name`, if this glibc has it.
fn glibc_symbol<T: Copy>(name: &str) -> Option<T> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only searches the loaded
    // objects' symbol tables.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: glibc's `__rseq_size` is `const unsigned int` and `__rseq_offset` is `const
    // ptrdiff_t`, written once before `main` and never again; the callers ask for those types.
    Some(unsafe { p.cast::<T>().read() })
}

/// `nr_cpu_ids`, from `/sys/devices/system/cpu/possible` ("0-63", "0,2-5"), else glibc's count
/// of configured CPUs. The section checks every CPU number against it anyway.
fn possible_cpus() -> Result<u32, String> {
    let parsed = std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|s| {
            s.trim()
                .split(',')
                .filter_map(|r| r.rsplit('-').next()?.parse::<u32>().ok())
                .max()
        });
    let n = match parsed {
        Some(max) => max + 1,
        None => {
            // SAFETY: sysconf takes a constant and reads no user memory.
            let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
            u32::try_from(n).map_err(|_| format!("sysconf(_SC_NPROCESSORS_CONF) = {n}"))?
        }
    };
    if n == 0 || n > 1 << 16 {
        return Err(format!("implausible number of possible CPUs: {n}"));
    }
    Ok(n)
}

/// Where `struct rseq` has `cpu_id`.
const CPU_ID: usize = 4;
/// Where `struct rseq` has `node_id` (Linux ≥ 6.3): only the stress test's wrong index.
#[cfg(feature = "internal-test-hooks")]
const NODE_ID: usize = 20;
/// Where `struct rseq` has `mm_cid` (Linux ≥ 6.3), inside the 32 bytes every registration has.
const MM_CID: usize = 24;
/// `offsetofend(struct rseq, mm_cid)`: the feature size that says the kernel keeps `mm_cid`.
const MM_CID_FEATURE_SIZE: u32 = 28;
/// `AT_RSEQ_FEATURE_SIZE`: the auxiliary-vector entry with the kernel's rseq feature size.
const AT_RSEQ_FEATURE_SIZE: libc::c_ulong = 27;

/// Whether a section indexing by the field at `field` must first check `cpu_id`'s sign: every
/// field but `cpu_id` itself may hold an in-range value in a thread whose registration failed.
const fn checks_registration(field: usize) -> bool {
    field != CPU_ID
}

/// Whether sections can index by concurrency ID (`mm_cid`): `Ok` with the rseq area and how many
/// chunks an area indexed by it gets, or why not. Decided once.
///
/// The kernel gives each running thread of a process a concurrency ID that no other running
/// thread of the process has (`include/uapi/linux/rseq.h`: "allocated uniquely within a
/// memory map"), preferring small ones, so the first chunks are the hot ones. The ID a thread
/// sees in its area changes only across a preemption or migration, which also restarts a
/// section in flight, so as with `cpu_id` no two sections that commit at the same time share an
/// index. Unlike a CPU's counters, an ID's counter may next be written from another CPU; what
/// orders the old holder's commit before the new holder's load is the kernel's hand-over of the
/// ID: the full barrier after the runqueue lock at the old holder's context switch
/// (`smp_mb__after_spinlock()`), before the ID is released (a plain `cpumask_clear_cpu()`
/// since 6.4), and the fully ordered bit operation or `cmpxchg` with which the new holder
/// takes it. librseq's `RSEQ_PERCPU_MM_CID` counters rely on the same. `tests/rseq_stress.rs`
/// checks the sums natively (on x86-64, whose TSO cannot show a missing barrier).
///
/// An area indexed by it gets one chunk per CPU the process may run on (the main thread's
/// affinity when this is first called, at most `nr_cpu_ids`), not one per possible CPU. An ID
/// beyond the chunks (the process widened its affinity later, or the kernel kept a larger ID
/// for a while, as 6.4–6.12 do per CPU) makes the section leave without committing; the get or
/// put then takes the slow path, the switch lock (a mutex) and the atomic count: correct in
/// percpu mode too, only slower. Nothing counts these exits, so a run whose threads were
/// allowed more CPUs than the main thread had measures them without saying so.
///
/// A thread whose registration failed has `cpu_id` -1 or -2 but a `mm_cid` that may be in range
/// (0, or a stale value glibc left), and the kernel restarts none of its sections: the section
/// by ID checks `cpu_id`'s sign first and leaves.
///
/// Availability is librseq's rule: glibc 2.35–2.39 report `__rseq_size` 32 (the allocation)
/// and 2.40 reports 20 (the original feature size) whatever the kernel fills in, so for those
/// two values the kernel's `AT_RSEQ_FEATURE_SIZE` decides (capped at 32, the area glibc
/// registered); any other value is glibc's own statement of the active feature size.
pub fn cid_available() -> Result<(Rseq, u32), String> {
    static STATE: OnceLock<Result<(Rseq, u32), String>> = OnceLock::new();
    STATE.get_or_init(probe_cid).clone()
}

fn probe_cid() -> Result<(Rseq, u32), String> {
    let r = available()?;
    // SAFETY: getauxval only reads the process's auxiliary vector; 0 if the entry is absent.
    let kernel = unsafe { libc::getauxval(AT_RSEQ_FEATURE_SIZE) };
    let kernel = u32::try_from(kernel).unwrap_or(u32::MAX);
    let glibc = glibc_symbol::<libc::c_uint>("__rseq_size").unwrap_or(0);
    let active = match glibc {
        20 | 32 => kernel.min(32),
        n => n,
    };
    if active < MM_CID_FEATURE_SIZE {
        return Err(format!(
            "no rseq mm_cid here (active rseq feature size {active} < {MM_CID_FEATURE_SIZE}: \
             AT_RSEQ_FEATURE_SIZE {kernel}, __rseq_size {glibc}; mm_cid needs Linux >= 6.3)"
        ));
    }
    let cid = r.mm_cid();
    if cid >= r.cpus {
        return Err(format!(
            "this thread's rseq mm_cid is {}, not below nr_cpu_ids {}",
            cid as i32, r.cpus
        ));
    }
    // The main thread's set (the process id names it): the process's CPUs unless the main
    // thread was pinned, whichever thread asks.
    // SAFETY: getpid has no preconditions.
    let main = unsafe { libc::getpid() };
    let allowed = crate::measure::topology::allowed_cpus_of(main).len();
    Ok((r, u32::try_from(allowed).unwrap_or(r.cpus).clamp(1, r.cpus)))
}

impl Rseq {
    /// The calling thread's `rseq->cpu_id` (u32::MAX - 1 or u32::MAX if its registration
    /// failed): the CPU it ran on at its last return to userspace.
    pub fn cpu_id(&self) -> u32 {
        self.field(CPU_ID)
    }

    /// The calling thread's `rseq->mm_cid`: its concurrency ID at its last return to userspace
    /// (0 on a kernel before 6.3, which does not write it; see [`cid_available`]).
    pub fn mm_cid(&self) -> u32 {
        self.field(MM_CID)
    }

    fn field(&self, at: usize) -> u32 {
        // SAFETY: (1) `offset` is glibc's `__rseq_offset`: `available` is the only constructor
        // of `Rseq`, and its fields are private; (2) callers pass CPU_ID or MM_CID.
        unsafe { field(self.offset, at) }
    }

    /// The calling thread's rseq area: thread pointer + `__rseq_offset`.
    #[cfg(test)]
    fn area(&self) -> *const u8 {
        thread_pointer().wrapping_offset(self.offset)
    }
}

/// The u32 at `at` in the calling thread's rseq area, which glibc put at the thread pointer +
/// `offset`.
///
/// # Safety
///
/// 1. `offset` is glibc's `__rseq_offset` (as every `Rseq` and `CpuCounters` holds).
/// 2. `at` is an aligned u32 field inside the area's first 32 bytes ([`CPU_ID`], [`MM_CID`]).
unsafe fn field(offset: isize, at: usize) -> u32 {
    let area = thread_pointer().wrapping_offset(offset);
    // SAFETY: by 1, `area` is the calling thread's glibc rseq area, live while the thread is
    // (glibc allocates it in the thread's control block, 32 bytes at least); by 2, `at` is an
    // aligned u32 field inside it. The kernel writes it only while this thread is not running
    // userspace code, so a volatile read races with nothing.
    unsafe { area.add(at).cast::<u32>().read_volatile() }
}

#[cfg(target_arch = "x86_64")]
fn thread_pointer() -> *const u8 {
    let tp: *const u8;
    // SAFETY: on x86-64 Linux the first word of the TCB that %fs points to is the thread
    // pointer itself (the TLS ABI's `tcb->self`); reading it has no other effect.
    unsafe {
        std::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp, options(nostack, readonly, preserves_flags))
    };
    tp
}

#[cfg(target_arch = "aarch64")]
fn thread_pointer() -> *const u8 {
    let tp: *const u8;
    // SAFETY: reading TPIDR_EL0 (the thread pointer) has no other effect.
    unsafe {
        std::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nostack, nomem, preserves_flags))
    };
    tp
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn thread_pointer() -> *const u8 {
    std::ptr::null()
}

/// Per-CPU counters of one RCU domain: a chunk of [`PERCPU_SLOTS`](crate::rcu::PERCPU_SLOTS)
/// counters per possible CPU (by `cpu_id`) or per concurrency ID the process may hold (by
/// `mm_cid`), the kernel's percpu chunk. A `percpu_ref` uses one slot in every chunk: `chunks ×
/// 8` bytes.
pub struct CpuArea {
    chunks: Box<[Chunk]>,
    rseq: Rseq,
}

impl std::fmt::Debug for CpuArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuArea")
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

impl CpuArea {
    /// A zeroed area for every possible CPU: for sections indexed by `cpu_id`.
    pub fn new(rseq: Rseq) -> CpuArea {
        CpuArea::with_chunks(rseq, rseq.cpus)
    }

    /// A zeroed area of `n` chunks (at least one): for sections indexed by `mm_cid`, `n` from
    /// [`cid_available`]. Sections whose index is `n` or more leave without committing.
    pub fn with_chunks(rseq: Rseq, n: u32) -> CpuArea {
        let chunks = (0..n.max(1))
            .map(|_| Chunk(std::array::from_fn(|_| AtomicUsize::new(0))))
            .collect();
        CpuArea { chunks, rseq }
    }

    /// Bytes the area occupies.
    pub fn bytes(&self) -> usize {
        std::mem::size_of_val(&*self.chunks)
    }

    /// Wrapping sum of `slot` over every CPU (`for_each_possible_cpu`). Exact once no section
    /// can commit to the slot: after the mode word was made atomic and [`membarrier::restart`]
    /// returned.
    pub fn sum(&self, slot: usize) -> usize {
        self.chunks.iter().fold(0usize, |s, c| {
            // Relaxed: the membarrier after the mode store ordered every committed add before
            // this load (see the module docs); nothing is read through the value.
            s.wrapping_add(c.0[slot].load(Relaxed))
        })
    }

    /// `slot`'s counter in each chunk, in chunk order: which CPUs (or IDs) the adds landed on,
    /// for the stress test. Exact under the same condition as [`sum`](Self::sum).
    #[cfg(feature = "internal-test-hooks")]
    pub fn chunk_values(&self, slot: usize) -> Vec<usize> {
        // Relaxed: as in `sum`.
        self.chunks
            .iter()
            .map(|c| c.0[slot].load(Relaxed))
            .collect()
    }

    /// Number of chunks: CPUs (or concurrency IDs) it has counters for.
    pub fn cpus(&self) -> u32 {
        self.chunks.len() as u32
    }

    /// What the fast path needs, copied next to a ref's mode word. Valid while `self` is.
    pub fn counters(&self) -> CpuCounters {
        CpuCounters {
            chunks: self.chunks.as_ptr().cast(),
            cpus: self.cpus(),
            offset: self.rseq.offset,
        }
    }
}

/// A [`CpuArea`]'s address (from which [`slot_mode`](Self::slot_mode) makes a ref's mode word),
/// its CPU count and the rseq area's offset (what a section needs besides the mode word), in the
/// ref itself so that the fast path loads no other object.
#[derive(Debug, Clone, Copy)]
pub struct CpuCounters {
    chunks: *const u8,
    cpus: u32,
    offset: isize,
}

// SAFETY: the area's memory is reached only through the sections (`add_if_percpu` and the test
// builds' `_delayed*`, through the mode word `slot_mode` makes from this pointer) and
// `add_unprotected_delayed`, whose callers guarantee the area is alive; the area's counters are
// atomics, shared across threads by design.
unsafe impl Send for CpuCounters {}
// SAFETY: as for Send.
unsafe impl Sync for CpuCounters {}

impl CpuCounters {
    /// The mode word of slot `slot` in percpu mode, flags clear: the address of the slot's
    /// counter in the first chunk, to which the section adds the CPU's (or ID's) chunk offset,
    /// as the kernel adds a CPU's per-CPU offset to `percpu_count_ptr`.
    ///
    /// # Panics
    ///
    /// If `slot` is not below the chunk's slot count.
    pub fn slot_mode(&self, slot: usize) -> usize {
        assert!(
            slot < SLOTS,
            "slot {slot} out of range (a chunk has {SLOTS})"
        );
        // The address as an integer the section adds to: its provenance is exposed, so the
        // assembly's write through the sum is a write to the area.
        self.chunks.expose_provenance() + slot * std::mem::size_of::<AtomicUsize>()
    }

    /// In one restartable sequence: load `mode` (`Acquire` if `ACQUIRE`, else `Relaxed`); if no
    /// mode bit is set, add `nr` to the slot the mode word names in the chunk of the calling
    /// CPU (`cpu_id`; with `CID`, of the calling thread's concurrency ID, `mm_cid`) and return
    /// true. Otherwise (or if the CPU number or ID is past the area's chunks, or, by ID, `cpu_id`
    /// says the thread is not registered) return false having written nothing: the caller
    /// takes the atomic path.
    ///
    /// # Safety
    ///
    /// 1. `mode`'s value, whenever its flag bits are clear, is [`slot_mode`](Self::slot_mode)
    ///    of these counters (so the computed counter is that slot in the CPU's chunk).
    /// 2. The [`CpuArea`] these counters came from is alive, and every add to its counters is
    ///    made by this function or `add_if_percpu_delayed` (test builds), all
    ///    with the same `CID` (the section's exclusivity per index, CPU or concurrency ID, is
    ///    what makes the non-atomic add sound; CPU 0's section and ID 0's may run at once).
    #[inline(always)]
    pub unsafe fn add_if_percpu<const ACQUIRE: bool, const CID: bool>(
        &self,
        mode: &AtomicUsize,
        nr: usize,
    ) -> bool {
        // SAFETY: the caller's 1 and 2, which `section` needs.
        unsafe { self.by_index::<ACQUIRE, false, CID>(mode, nr) }
    }

    /// The section by `cpu_id`, or by `mm_cid` if `CID`.
    ///
    /// # Safety
    ///
    /// As [`section`](Self::section).
    #[inline(always)]
    unsafe fn by_index<const ACQUIRE: bool, const DELAY: bool, const CID: bool>(
        &self,
        mode: &AtomicUsize,
        nr: usize,
    ) -> bool {
        // SAFETY: the caller's.
        unsafe {
            if CID {
                self.section::<ACQUIRE, DELAY, MM_CID>(mode, nr)
            } else {
                self.section::<ACQUIRE, DELAY, CPU_ID>(mode, nr)
            }
        }
    }

    /// The section indexed by the rseq area's field at offset `FIELD`, on these counters.
    ///
    /// # Safety
    ///
    /// 1. and 2. as [`add_if_percpu`](Self::add_if_percpu)'s, for the field's index (test
    ///    builds' `node_id` control: see
    ///    [`add_if_percpu_delayed_by_node`](Self::add_if_percpu_delayed_by_node)).
    #[inline(always)]
    unsafe fn section<const ACQUIRE: bool, const DELAY: bool, const FIELD: usize>(
        &self,
        mode: &AtomicUsize,
        nr: usize,
    ) -> bool {
        // SAFETY: `offset` is glibc's __rseq_offset, so the section addresses this thread's
        // rseq area; by precondition 1 the mode word (flags clear) is a slot's counter in the
        // first chunk of a `CpuArea` (alive by 2) of at least `cpus` chunks (more only in tests
        // that set `cpus` lower), and the section checks the index against `cpus` (and, for any
        // field but cpu_id, that the thread is registered), so the counter it computes is that
        // slot's in the index's chunk; precondition 2 gives each index one writer at a time.
        unsafe { arch::add_if_percpu::<ACQUIRE, DELAY, FIELD>(self.offset, mode, self.cpus, nr) }
    }

    /// [`add_if_percpu`](Self::add_if_percpu) with a delay loop inside the section (between
    /// the mode load and the commit), so that a stress test sees many aborts: the kernel's
    /// `param_test` injects loops the same way (`RSEQ_INJECT_ASM`). `Relaxed` mode load.
    ///
    /// # Safety
    ///
    /// As for [`add_if_percpu`](Self::add_if_percpu).
    #[cfg(feature = "internal-test-hooks")]
    pub unsafe fn add_if_percpu_delayed<const CID: bool>(
        &self,
        mode: &AtomicUsize,
        nr: usize,
    ) -> bool {
        // SAFETY: as in add_if_percpu.
        unsafe { self.by_index::<false, true, CID>(mode, nr) }
    }

    /// The stress test's wrong index: [`add_if_percpu_delayed`](Self::add_if_percpu_delayed)
    /// indexed by `node_id`, which every CPU of a NUMA node shares. Sections on two CPUs of one
    /// node then add to one counter at once, and the rseq guarantee (one section per CPU) no
    /// longer excludes them: updates are lost, which shows that the exact sums of the stress
    /// test depend on the index being one a single running thread holds. Needs a kernel that
    /// writes `node_id` (Linux ≥ 6.3, the same feature size as `mm_cid`: [`cid_available`]).
    ///
    /// # Safety
    ///
    /// 1. As [`add_if_percpu`](Self::add_if_percpu)'s 1.
    /// 2. The [`CpuArea`] these counters came from is alive. Racing sections are what this is
    ///    for: each side's load and store of the counter are single-copy-atomic accesses of an
    ///    aligned word (as the `Relaxed` load and store of
    ///    [`add_unprotected_delayed`](Self::add_unprotected_delayed)), so the race loses
    ///    updates and nothing else.
    #[cfg(feature = "internal-test-hooks")]
    pub unsafe fn add_if_percpu_delayed_by_node(&self, mode: &AtomicUsize, nr: usize) -> bool {
        // SAFETY: section's 1 is ours; its 2 asks one writer per index, which this breaks on
        // purpose: the race it allows loses updates and nothing else (our 2), and the range
        // check and precondition 1 keep the address inside the live area.
        unsafe { self.section::<false, true, NODE_ID>(mode, nr) }
    }

    /// The negative control of the stress test: the same per-CPU add *without* a restartable
    /// sequence (read `cpu_id`, load the counter, the same delay, store), which a preemption or
    /// migration between the load and the store makes lose updates (atomic loads and stores,
    /// so a race, not undefined behaviour). Bounds-checked slot and CPU.
    ///
    /// # Safety
    ///
    /// 1. The [`CpuArea`] these counters came from is alive.
    #[cfg(feature = "internal-test-hooks")]
    pub unsafe fn add_unprotected_delayed(&self, slot: usize, nr: usize) {
        // SAFETY: (1) `offset` came from the `Rseq` the area was made with; (2) CPU_ID.
        let cpu = unsafe { field(self.offset, CPU_ID) };
        if cpu >= self.cpus || slot >= SLOTS {
            return;
        }
        // SAFETY: `cpu < cpus` chunks of SLOTS counters each, `slot < SLOTS`, in a live area
        // (precondition 1).
        let c = unsafe {
            &*self
                .chunks
                .cast::<AtomicUsize>()
                .add(cpu as usize * SLOTS + slot)
        };
        // Relaxed load and store: the race is the point.
        let v = c.load(Relaxed);
        for _ in 0..64 {
            std::hint::spin_loop();
        }
        c.store(v.wrapping_add(nr), Relaxed);
    }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::{ABORTS, CHUNK_SHIFT, MODE_FLAGS};
    use crate::sync::AtomicUsize;

    /// The section (see the module docs). Labels: 2 arms the descriptor (the abort handler
    /// jumps back there), 3 is the descriptor, 4 `start_ip`, 5 the end of the commit
    /// (`post_commit_ip`), 6 the abort handler, 7 the exit without commit. `$inject` is placed
    /// between the mode test and the commit (test builds only); `$commit` is the add to the
    /// counter at `[{t}]`; `$ops` are the operands.
    ///
    /// The counter's address is computed into `{t}` (the index shifted to its chunk's offset,
    /// plus the mode word, which is the counter's address in the first chunk) and the commit
    /// adds through it alone, as `inc` or `dec` where `nr` is 1 or -1 (a get, a put): on this
    /// VM's Intel host an add to memory through base + index, or with the amount in a
    /// register, waits far longer for the previous add's store to the same counter
    /// (`examples/rseq_parts.rs`, variants `indexed inc`, `register add` and `indexed add`
    /// against `full`, in `results/reference/vm-2cpu/rseq-parts.txt`). `tests/rseq_listing.rs`
    /// checks the form.
    ///
    /// The block returns a flag (`t`: 1 committed, 0 left) that the caller tests again, three
    /// instructions that an asm-goto exit (`jnz {exit}` to a `label` operand) would save. That
    /// was tried and was slower in criterion `get_put` (`SWAPREF_PERCPU=cpu`, before and after
    /// interleaved): LLVM treats the goto as a terminator (`callbr`), duplicated the put's
    /// section and spilled the area's fields to the stack and reloaded them around it. A
    /// fall-through form was tried too: the exit without commit moved out of line (to
    /// `.text.unlikely`, `xor` and a jump back), so that a commit falls through with `{t}`
    /// still holding the counter's address, never 0, as the flag: two instructions and one
    /// taken jump fewer per section. Its ranges overlap those of this form in
    /// `results/reference/vm-2cpu/get_put-ab-fallthrough-exit-qsbr-cpu.txt` (the patch beside
    /// it), so the simpler form stays.
    macro_rules! section {
        ([$($inject:literal),*] $commit:literal, $($ops:tt)*) => {
            std::arch::asm!(
                ".pushsection __rseq_cs, \"awR\"",
                ".balign 32",
                "3:",
                ".long 0, 0",
                ".quad 4f, 5f - 4f, 6f",
                ".popsection",
                ".pushsection __rseq_cs_ptr_array, \"awR\"",
                ".balign 8",
                ".quad 3b",
                ".popsection",
                "2:",
                "lea {t}, [rip + 3b]",
                "mov qword ptr fs:[{off} + 8], {t}",
                "4:",
                // By mm_cid: leave first if this thread's registration failed (cpu_id -1 or -2,
                // the sign bit), since glibc then writes cpu_id only and mm_cid may hold 0 or a
                // stale ID that another thread holds.
                ".if {cid}",
                "mov {t:e}, dword ptr fs:[{off} + 4]",
                "test {t:e}, {t:e}",
                "js 7f",
                ".endif",
                "mov {t:e}, dword ptr fs:[{off} + {index}]",
                "mov {m}, qword ptr [{mode}]",
                "test {m:e}, {flags}",
                "jnz 7f",
                "cmp {t:e}, {cpus:e}",
                "jae 7f",
                $($inject,)*
                "shl {t}, {shift}",
                "add {t}, {m}",
                $commit,
                "5:",
                "mov {t:e}, 1",
                "jmp 12f",
                "7:",
                "xor {t:e}, {t:e}",
                "12:",
                ".pushsection __rseq_failure, \"axR\"",
                ".byte 0x0f, 0xb9, 0x3d",
                ".long 0x53053053",
                "6:",
                "lock inc qword ptr [rip + {aborts}]",
                "jmp 2b",
                ".popsection",
                flags = const MODE_FLAGS,
                shift = const CHUNK_SHIFT,
                aborts = sym ABORTS,
                options(nostack),
                $($ops)*
            )
        };
    }

    /// One restartable `if percpu { this_cpu_add }`.
    ///
    /// # Safety
    ///
    /// 1. `offset` is glibc's `__rseq_offset`: the calling thread's rseq area is at
    ///    `%fs:offset` (addressed through the segment, with no load of the thread pointer).
    /// 2. `mode`, whenever its flag bits are clear, is the address of a counter in the first
    ///    chunk of an area of at least `cpus` contiguous chunks of `1 << CHUNK_SHIFT` bytes.
    /// 3. As [`CpuCounters::add_if_percpu`](super::CpuCounters::add_if_percpu)'s 1 and 2.
    #[inline(always)]
    pub(super) unsafe fn add_if_percpu<
        const ACQUIRE: bool,
        const DELAY: bool,
        const FIELD: usize,
    >(
        offset: isize,
        mode: &AtomicUsize,
        cpus: u32,
        nr: usize,
    ) -> bool {
        let done: usize;
        // A plain `mov` load is an Acquire load on x86-64 (TSO), and the block is a compiler
        // barrier (no `nomem`), so one section serves both orderings.
        let _ = ACQUIRE;
        // The operands every form of the section has.
        macro_rules! with_common {
            ([$($inject:literal),*] $commit:literal $(, $($more:tt)*)?) => {
                section!(
                    [$($inject),*] $commit,
                    off = in(reg) offset, mode = in(reg) mode.as_ptr(), cpus = in(reg) cpus,
                    index = const FIELD,
                    cid = const super::checks_registration(FIELD) as u8,
                    t = out(reg) done, m = out(reg) _, $($($more)*)?
                )
            };
        }
        // SAFETY: each block writes only the area's `rseq_cs` field (1, through %fs), the
        // counter it computes (2, 3, after the range check of the CPU) and ABORTS (a static,
        // with a locked add).
        unsafe {
            if DELAY {
                with_common!(
                    ["mov {s:e}, 64", "8:", "dec {s:e}", "jnz 8b"] "add qword ptr [{t}], {nr}",
                    nr = in(reg) nr, s = out(reg) _
                );
            } else if nr == 1 {
                // A get (`this_cpu_inc`): `nr` is a constant wherever the fast path is inlined,
                // so only one of these three forms is compiled into it.
                with_common!([] "inc qword ptr [{t}]");
            } else if nr == usize::MAX {
                // A put of one reference (`this_cpu_dec`: `nr` is -1 wrapped).
                with_common!([] "dec qword ptr [{t}]");
            } else {
                with_common!([] "add qword ptr [{t}], {nr}", nr = in(reg) nr);
            }
        }
        done != 0
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use super::{ABORTS, CHUNK_SHIFT, MODE_FLAGS};
    use crate::sync::AtomicUsize;

    /// The section, labels as on x86-64. The commit is the `str`; `$load` is the mode load
    /// (`ldar` for Acquire, `ldapr` with `+rcpc`, `ldr` for Relaxed). The abort handler counts
    /// with an exclusive load/store pair, so it needs `{s}` too.
    macro_rules! section {
        ($load:literal [$($inject:literal),*] $($ops:tt)*) => {
            std::arch::asm!(
                ".pushsection __rseq_cs, \"awR\"",
                ".balign 32",
                "3:",
                ".long 0, 0",
                ".quad 4f, 5f - 4f, 6f",
                ".popsection",
                ".pushsection __rseq_cs_ptr_array, \"awR\"",
                ".balign 8",
                ".quad 3b",
                ".popsection",
                "2:",
                "adrp {t}, 3b",
                "add {t}, {t}, :lo12:3b",
                "str {t}, [{area}, #8]",
                "4:",
                // By mm_cid: leave first if this thread's registration failed (x86-64's comment).
                ".if {cid}",
                "ldr {t:w}, [{area}, #4]",
                "tbnz {t:w}, #31, 7f",
                ".endif",
                "ldr {t:w}, [{area}, #{index}]",
                $load,
                "tst {m}, #{flags}",
                "b.ne 7f",
                "cmp {t:w}, {cpus:w}",
                "b.hs 7f",
                $($inject,)*
                "add {t}, {m}, {t}, lsl #{shift}",
                "ldr {m}, [{t}]",
                "add {m}, {m}, {nr}",
                "str {m}, [{t}]",
                "5:",
                "mov {t}, #1",
                "b 12f",
                "7:",
                "mov {t}, #0",
                "12:",
                ".pushsection __rseq_failure, \"axR\"",
                ".long 0xd428bc00",
                "6:",
                "adrp {t}, {aborts}",
                "add {t}, {t}, :lo12:{aborts}",
                "13:",
                "ldxr {m}, [{t}]",
                "add {m}, {m}, #1",
                "stxr {s:w}, {m}, [{t}]",
                "cbnz {s:w}, 13b",
                "b 2b",
                ".popsection",
                flags = const MODE_FLAGS,
                shift = const CHUNK_SHIFT,
                aborts = sym ABORTS,
                options(nostack),
                $($ops)*
            )
        };
    }

    /// One restartable `if percpu { this_cpu_add }`.
    ///
    /// # Safety
    ///
    /// As the x86-64 version.
    #[inline(always)]
    pub(super) unsafe fn add_if_percpu<
        const ACQUIRE: bool,
        const DELAY: bool,
        const FIELD: usize,
    >(
        offset: isize,
        mode: &AtomicUsize,
        cpus: u32,
        nr: usize,
    ) -> bool {
        // The calling thread's rseq area: TPIDR_EL0 + `__rseq_offset`.
        let area = super::thread_pointer().wrapping_offset(offset);
        let done: usize;
        // SAFETY: as the x86-64 version: the block writes the area's `rseq_cs`, the counter it
        // computes after the range check, and ABORTS (exclusive monitor).
        unsafe {
            match (ACQUIRE, DELAY) {
                // With FEAT_LRCPC, `ldapr`, as the compiler emits for `load(Acquire)`: RCpc is
                // what Rust's Acquire means. What `ldar` adds (no reordering with an earlier
                // `stlr`) is no part of the ordering the proofs use.
                #[cfg(target_feature = "rcpc")]
                (true, _) => section!(
                    "ldapr {m}, [{mode}]" []
                    area = in(reg) area, mode = in(reg) mode.as_ptr(),
                    cpus = in(reg) cpus, nr = in(reg) nr, index = const FIELD, cid = const super::checks_registration(FIELD) as u8,
                    t = out(reg) done, m = out(reg) _, s = out(reg) _,
                ),
                #[cfg(not(target_feature = "rcpc"))]
                (true, _) => section!(
                    "ldar {m}, [{mode}]" []
                    area = in(reg) area, mode = in(reg) mode.as_ptr(),
                    cpus = in(reg) cpus, nr = in(reg) nr, index = const FIELD, cid = const super::checks_registration(FIELD) as u8,
                    t = out(reg) done, m = out(reg) _, s = out(reg) _,
                ),
                (false, false) => section!(
                    "ldr {m}, [{mode}]" []
                    area = in(reg) area, mode = in(reg) mode.as_ptr(),
                    cpus = in(reg) cpus, nr = in(reg) nr, index = const FIELD, cid = const super::checks_registration(FIELD) as u8,
                    t = out(reg) done, m = out(reg) _, s = out(reg) _,
                ),
                (false, true) => section!(
                    "ldr {m}, [{mode}]" ["mov {s:w}, #64", "8:", "subs {s:w}, {s:w}, #1", "b.ne 8b"]
                    area = in(reg) area, mode = in(reg) mode.as_ptr(),
                    cpus = in(reg) cpus, nr = in(reg) nr, index = const FIELD, cid = const super::checks_registration(FIELD) as u8,
                    t = out(reg) done, m = out(reg) _, s = out(reg) _,
                ),
            }
        }
        done != 0
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod arch {
    use crate::sync::AtomicUsize;

    /// No section on this architecture: [`available`](super::available) refuses, so no
    /// `CpuArea` exists and this is never called.
    pub(super) unsafe fn add_if_percpu<
        const ACQUIRE: bool,
        const DELAY: bool,
        const FIELD: usize,
    >(
        _: isize,
        _: &AtomicUsize,
        _: u32,
        _: usize,
    ) -> bool {
        false
    }
}

/// `membarrier(2)` for rseq: registration and the restart of every section in flight.
pub mod membarrier {
    use crate::rcu::membarrier::MEMBARRIER_CMD_QUERY;
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ: libc::c_int = 1 << 7;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ: libc::c_int = 1 << 8;

    use crate::rcu::membarrier::membarrier as call;

    /// Register this process for the rseq command (once; idempotent in the kernel).
    pub(super) fn register() -> Result<(), String> {
        let q =
            call(MEMBARRIER_CMD_QUERY).map_err(|e| format!("MEMBARRIER_CMD_QUERY failed: {e}"))?;
        let need = (MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ
            | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ) as libc::c_long;
        if q & need != need {
            return Err(format!(
                "kernel lacks MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ (query returned {q:#x}; Linux >= 5.10)"
            ));
        }
        call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ)
            .map_err(|e| format!("MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ failed: {e}"))?;
        Ok(())
    }

    /// Restart every rseq critical section of this process in flight on any CPU, with a full
    /// barrier on each CPU that runs one of its threads, and one before and after the call.
    /// Only called once [`available`](super::available) returned `Ok`: a failure means the
    /// kernel revoked what it granted, and carrying on would let a section commit after the
    /// sum, so this panics.
    ///
    /// `ENOMEM` (the kernel's cpumask allocation) and `EINTR` are retried. Any other failure
    /// aborts the process rather than unwinding: the caller is half-way through a switch to
    /// atomic mode (the mode word says atomic, the switch is in progress), and a panic there
    /// would leave the ref waiting forever for a switch that never completes.
    pub fn restart() {
        let mut tries = 0;
        loop {
            match call(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) {
                Ok(_) => return,
                Err(e)
                    if tries < 1000
                        && matches!(e.raw_os_error(), Some(libc::ENOMEM | libc::EINTR)) =>
                {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_micros(10));
                }
                Err(e) => {
                    eprintln!(
                        "swapref: membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) failed after \
                         registration ({e}); no sum of per-CPU counters can be trusted, aborting"
                    );
                    std::process::abort();
                }
            }
        }
    }
}

/// One descriptor as the kernel reads it (`struct rseq_cs`).
#[repr(C, align(32))]
#[derive(Debug, Clone, Copy)]
struct RseqCs {
    version: u32,
    flags: u32,
    start_ip: u64,
    post_commit_offset: u64,
    abort_ip: u64,
}

unsafe extern "C" {
    // Defined by the linker around the sections of the same name (their names are C
    // identifiers), in every binary that has a critical section of this module.
    static __start___rseq_cs: RseqCs;
    static __stop___rseq_cs: RseqCs;
    static __start___rseq_cs_ptr_array: u64;
    static __stop___rseq_cs_ptr_array: u64;
    static __start___rseq_failure: u8;
    static __stop___rseq_failure: u8;
}

/// One critical section of the running binary, from its descriptor: `[start, start + len)` is
/// the section, `abort` its abort handler (runtime addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// `start_ip`.
    pub start: u64,
    /// `post_commit_offset`: the commit is the last instruction before `start + len`.
    pub len: u64,
    /// `abort_ip`.
    pub abort: u64,
}

/// Every critical section of the running binary (one per inlined copy of the fast path), for
/// listings and static checks of their code.
pub fn sections() -> Vec<Section> {
    if cfg!(miri) {
        return Vec::new();
    }
    // SAFETY: as in check_descriptors: the linker's bounds of this binary's `__rseq_cs`.
    let descs = unsafe {
        let d0 = &raw const __start___rseq_cs;
        let d1 = &raw const __stop___rseq_cs;
        std::slice::from_raw_parts(d0, d1.offset_from(d0) as usize)
    };
    descs
        .iter()
        .map(|d| Section {
            start: d.start_ip,
            len: d.post_commit_offset,
            abort: d.abort_ip,
        })
        .collect()
}

/// Check every rseq descriptor of the running binary, as relocated in memory: version and
/// flags 0, a section of 1 to 64 bytes, an abort handler outside it and preceded by
/// [`RSEQ_SIG`], every pointer of `__rseq_cs_ptr_array` naming one of them. Returns how many
/// descriptors there are.
pub fn check_descriptors() -> Result<usize, String> {
    if cfg!(miri) {
        return Err("not under Miri".into());
    }
    // SAFETY: the four symbols bound the two sections the linker laid out from this module's
    // `.pushsection`s (both non-empty: `add_if_percpu` is compiled into the library); the
    // descriptors are 32-byte aligned and 32 bytes long, the pointers 8.
    let (descs, ptrs) = unsafe {
        let d0 = &raw const __start___rseq_cs;
        let d1 = &raw const __stop___rseq_cs;
        let p0 = &raw const __start___rseq_cs_ptr_array;
        let p1 = &raw const __stop___rseq_cs_ptr_array;
        (
            std::slice::from_raw_parts(d0, d1.offset_from(d0) as usize),
            std::slice::from_raw_parts(p0, p1.offset_from(p0) as usize),
        )
    };
    let base = descs.as_ptr() as u64;
    // The executable section the abort handlers (and their signatures) are in.
    let (f0, f1) = (
        &raw const __start___rseq_failure as u64,
        &raw const __stop___rseq_failure as u64,
    );
    check(descs, base, ptrs, |abort_ip| {
        if abort_ip < f0 + 4 || abort_ip > f1 {
            return None;
        }
        // SAFETY: `abort_ip - 4 .. abort_ip` lies inside this binary's `__rseq_failure`
        // section (just checked), which is mapped and readable for the process's lifetime.
        Some(unsafe { ((abort_ip - 4) as *const u32).read_unaligned() })
    })
}

/// [`check_descriptors`] on given descriptors (at address `base`), pointers, and a reader of
/// the four bytes before an abort handler (`None`: the handler is not in `__rseq_failure`).
fn check(
    descs: &[RseqCs],
    base: u64,
    ptrs: &[u64],
    sig_before: impl Fn(u64) -> Option<u32>,
) -> Result<usize, String> {
    if descs.is_empty() {
        return Err("no descriptor in __rseq_cs".into());
    }
    for (i, d) in descs.iter().enumerate() {
        if d.version != 0 || d.flags != 0 {
            return Err(format!(
                "descriptor {i}: version {} flags {}",
                d.version, d.flags
            ));
        }
        if !(1..=64).contains(&d.post_commit_offset) {
            return Err(format!(
                "descriptor {i}: post_commit_offset {}",
                d.post_commit_offset
            ));
        }
        let end = d.start_ip + d.post_commit_offset;
        if (d.start_ip..end).contains(&d.abort_ip) || d.abort_ip < 4 {
            return Err(format!(
                "descriptor {i}: abort_ip {:#x} inside the section",
                d.abort_ip
            ));
        }
        let Some(sig) = sig_before(d.abort_ip) else {
            return Err(format!(
                "descriptor {i}: abort_ip {:#x} is not in __rseq_failure",
                d.abort_ip
            ));
        };
        if sig != RSEQ_SIG {
            return Err(format!(
                "descriptor {i}: {sig:#010x} before abort_ip {:#x}, not RSEQ_SIG {RSEQ_SIG:#010x}",
                d.abort_ip
            ));
        }
    }
    let hi = base + std::mem::size_of_val(descs) as u64;
    if ptrs.len() != descs.len() {
        return Err(format!(
            "{} pointers for {} descriptors",
            ptrs.len(),
            descs.len()
        ));
    }
    for (i, &p) in ptrs.iter().enumerate() {
        if !(base..hi).contains(&p) || !(p - base).is_multiple_of(32) {
            return Err(format!(
                "__rseq_cs_ptr_array[{i}] = {p:#x} names no descriptor"
            ));
        }
    }
    Ok(descs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The descriptors are this binary's, whatever the kernel: checked without `available`.
    #[test]
    fn every_descriptor_of_this_binary_passes_the_check() {
        assert!(check_descriptors().unwrap() >= 1);
    }

    #[test]
    fn glibc_registered_an_area_here() {
        match available() {
            Ok(r) => assert!(r.cpu_id() < r.cpus()),
            Err(e) => eprintln!("!!!!! SKIPPED: rseq unavailable here: {e} !!!!!"),
        }
    }

    /// The check's negative controls: each defect it looks for, made on a copy of a good
    /// descriptor, is refused.
    #[test]
    fn a_bad_descriptor_is_refused() {
        let good = RseqCs {
            version: 0,
            flags: 0,
            start_ip: 0x1000,
            post_commit_offset: 20,
            abort_ip: 0x2004,
        };
        let sig = |ip: u64| match ip {
            0x2004 => Some(RSEQ_SIG),
            0x3004 => Some(0),
            _ => None,
        };
        let base = 0x9000;
        assert_eq!(check(&[good], base, &[base], sig), Ok(1));
        let bad = |f: fn(&mut RseqCs)| {
            let mut d = good;
            f(&mut d);
            check(&[d], base, &[base], sig).unwrap_err()
        };
        assert!(bad(|d| d.version = 1).contains("version"));
        assert!(bad(|d| d.flags = 1).contains("flags"));
        assert!(bad(|d| d.post_commit_offset = 0).contains("post_commit_offset"));
        assert!(bad(|d| d.abort_ip = 0x1008).contains("inside"));
        assert!(bad(|d| d.abort_ip = 0x3004).contains("not RSEQ_SIG"));
        assert!(bad(|d| d.abort_ip = 0x5004).contains("not in __rseq_failure"));
        assert!(check(&[good], base, &[base + 8], sig).is_err());
        assert!(check(&[good], base, &[], sig).is_err());
        assert!(check(&[], base, &[], sig).is_err());
    }

    /// One area, its sections indexed by `cpu_id` or (`CID`) by `mm_cid`.
    fn adds_in_percpu_mode_and_refuses_otherwise<const CID: bool>(area: &CpuArea) {
        let c = area.counters();
        let mode = AtomicUsize::new(c.slot_mode(5));
        for _ in 0..1000 {
            // SAFETY: (1) the mode word is `slot_mode(5)` of these counters; (2) `area` outlives
            // the call, and only this function adds.
            assert!(unsafe { c.add_if_percpu::<true, CID>(&mode, 3) });
            // SAFETY: as above.
            assert!(unsafe { c.add_if_percpu::<false, CID>(&mode, 1usize.wrapping_neg()) });
        }
        assert_eq!(area.sum(5), 2000);
        assert_eq!(area.sum(4) + area.sum(6), 0);
        for bits in 1..=3 {
            mode.store(c.slot_mode(5) | bits, Relaxed);
            // SAFETY: as above.
            assert!(!unsafe { c.add_if_percpu::<true, CID>(&mode, 7) });
        }
        assert_eq!(area.sum(5), 2000);
    }

    #[test]
    fn the_section_adds_in_percpu_mode_and_refuses_otherwise() {
        let Ok(r) = available() else { return };
        adds_in_percpu_mode_and_refuses_otherwise::<false>(&CpuArea::new(r));
    }

    #[test]
    fn the_section_by_concurrency_id_adds_in_percpu_mode_and_refuses_otherwise() {
        match cid_available() {
            Ok((r, n)) => {
                assert!(r.mm_cid() < n, "mm_cid {} with {n} chunks", r.mm_cid());
                assert!(n <= r.cpus());
                adds_in_percpu_mode_and_refuses_otherwise::<true>(&CpuArea::with_chunks(r, n));
            }
            Err(e) => eprintln!("!!!!! SKIPPED: rseq mm_cid unavailable here: {e} !!!!!"),
        }
    }

    /// A thread without an rseq registration (here: unregistered, which leaves `cpu_id` -1 and
    /// `mm_cid` 0, in range) never commits, by either index: the kernel would not restart its
    /// sections, so a commit would race with the thread that holds the index.
    #[test]
    fn a_thread_without_registration_never_commits() {
        let Ok((r, n)) = cid_available() else {
            eprintln!("!!!!! SKIPPED: unregistered-thread check (rseq mm_cid unavailable) !!!!!");
            return;
        };
        // One area per index (precondition 2 of add_if_percpu).
        let (by_cpu, by_cid) = (CpuArea::new(r), CpuArea::with_chunks(r, n));
        std::thread::scope(|s| {
            s.spawn(|| {
                const RSEQ_FLAG_UNREGISTER: libc::c_int = 1;
                // The length glibc registered: 32 up to 2.40, max(__rseq_size, 32) since; the
                // kernel unregisters only with the same length.
                let len = glibc_symbol::<libc::c_uint>("__rseq_size")
                    .unwrap_or(0)
                    .max(32);
                // SAFETY: unregisters this thread's own area, glibc's, with the length glibc
                // registered; glibc then reads `cpu_id` as unavailable and makes the system
                // call instead. The thread exits right after.
                let rc = unsafe {
                    libc::syscall(
                        libc::SYS_rseq,
                        r.area(),
                        len,
                        RSEQ_FLAG_UNREGISTER,
                        RSEQ_SIG,
                    )
                };
                if rc != 0 {
                    let e = std::io::Error::last_os_error();
                    eprintln!("!!!!! SKIPPED: unregistered-thread check (unregister: {e}) !!!!!");
                    return;
                }
                assert!(
                    r.cpu_id() >= r.cpus(),
                    "cpu_id {} after unregister",
                    r.cpu_id()
                );
                if r.mm_cid() >= n {
                    eprintln!(
                        "!!!!! SKIPPED: unregistered-thread check (mm_cid {} after unregister is \
                         out of range: not the case this checks) !!!!!",
                        r.mm_cid()
                    );
                    return;
                }
                // SAFETY: (1) each mode word is `slot_mode(3)` of the counters it is used with;
                // (2) the areas outlive the scope, only this thread adds, each area by one index.
                unsafe {
                    let by_cpu = by_cpu.counters();
                    let mode = AtomicUsize::new(by_cpu.slot_mode(3));
                    assert!(!by_cpu.add_if_percpu::<true, false>(&mode, 1), "by cpu_id");
                    let by_cid = by_cid.counters();
                    let mode = AtomicUsize::new(by_cid.slot_mode(3));
                    assert!(!by_cid.add_if_percpu::<true, true>(&mode, 1), "by mm_cid");
                }
            });
        });
        assert_eq!(by_cpu.sum(3) + by_cid.sum(3), 0);
    }

    /// A section by `cpu_id` whose CPU is past the area's chunks leaves without committing.
    /// Shown with an area of one chunk and a thread of its own pinned to an allowed CPU other
    /// than 0. (By `mm_cid`: the next test.)
    #[test]
    fn an_index_past_the_chunks_leaves_without_committing() {
        let Ok(r) = available() else { return };
        let Some(&cpu) = crate::measure::topology::allowed_cpus()
            .iter()
            .find(|&&c| c > 0 && c < r.cpus() as usize)
        else {
            eprintln!("!!!!! SKIPPED: out-of-range index (no CPU but 0 to pin to) !!!!!");
            return;
        };
        let area = CpuArea::with_chunks(r, 1);
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(core_affinity::set_for_current(core_affinity::CoreId {
                    id: cpu
                }));
                let c = area.counters();
                let mode = AtomicUsize::new(c.slot_mode(2));
                for _ in 0..10_000 {
                    // SAFETY: (1) the mode word is `slot_mode(2)` of these counters; (2) `area`
                    // outlives the scope; only this adds.
                    let added = unsafe { c.add_if_percpu::<false, false>(&mode, 1) };
                    assert!(
                        !added,
                        "a section on CPU {cpu} committed to a one-chunk area"
                    );
                }
            });
        });
        assert_eq!(area.sum(2), 0);
    }

    /// Either index, past the chunk count, leaves without committing: counters that claim no
    /// chunk at all (a count of 0, which no `CpuArea` hands out) make every CPU and every
    /// concurrency ID out of range, whatever the kernel assigned this thread. The areas behind
    /// them have a chunk for every possible CPU, so a commit that the range check let through
    /// lands in memory the test reads, and fails it, instead of corrupting the heap.
    #[test]
    fn either_index_past_the_chunk_count_leaves_without_committing() {
        let Ok(r) = available() else { return };
        let area = CpuArea::new(r);
        let none = CpuCounters {
            cpus: 0,
            ..area.counters()
        };
        let mode = AtomicUsize::new(none.slot_mode(4));
        // SAFETY: (1) the mode word is `slot_mode(4)` of `none` (the area's counters with no
        // chunk); (2) `area` lives to the end; by cpu_id only here.
        assert!(
            !unsafe { none.add_if_percpu::<true, false>(&mode, 1) },
            "by cpu_id"
        );
        match cid_available() {
            Ok(_) => {
                let by_cid = CpuArea::new(r);
                let none = CpuCounters {
                    cpus: 0,
                    ..by_cid.counters()
                };
                let mode = AtomicUsize::new(none.slot_mode(4));
                // SAFETY: (1) the mode word is `slot_mode(4)` of `none`; (2) `by_cid` lives to
                // the end; by mm_cid only.
                let added = unsafe { none.add_if_percpu::<true, true>(&mode, 1) };
                assert!(!added, "by mm_cid");
                assert_eq!(by_cid.sum(4), 0);
            }
            Err(e) => eprintln!("!!!!! SKIPPED: out-of-range mm_cid (unavailable: {e}) !!!!!"),
        }
        assert_eq!(area.sum(4), 0);
    }
}
