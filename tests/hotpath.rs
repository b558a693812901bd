//! The x86-64 percpu hot path has no locked instruction, no `xchg` and no `mfence` — checked
//! on the instructions the CPU actually executes, not on a listing.
//!
//! # Why execution and not the listing
//!
//! `swapref_hot_percpu_acquire_membarrier` (see `swapref::codegen`; one function per RCU
//! flavour) contains the atomic-mode slow paths (`add_not_zero`, `put_atomic`: `lock cmpxchg`
//! loops, inlined as cold blocks) and calls to the release callback and to the grace-period
//! driver's wake-up. A static scan of the function finds those; telling them apart from the percpu-mode path needs a control-flow argument about which
//! branch tests which field. Instead this test *single-steps* one call:
//! it sets the x86 trap flag (TF), the CPU raises SIGTRAP after every instruction, and the
//! handler records each instruction address. The recorded instructions are exactly those
//! executed on the path under test (percpu mode, device on, no grace period waiting), callees
//! included; each is then decoded for a `lock` prefix, `xchg` or a fence.
//!
//! # Negative controls
//!
//! - `atomic`'s hot path must show `lock` (its inc-not-zero CAS and decrement);
//! - the same percpu path compiled for the `fence` flavour must show `lock` or `mfence` (its
//!   `fence(SeqCst)`s): the check sees the full fences it is meant to exclude;
//! - the decoder is checked on hand-assembled byte sequences.
//!
//! `cargo test --release --test hotpath -- --nocapture` also prints the number of instructions
//! each strategy's hot path executes (`scripts/codegen.sh` saves that table).

#![cfg(all(not(loom), target_arch = "x86_64", target_os = "linux"))]

use std::arch::asm;
use std::ffi::c_void;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, Once};
use swapref::codegen::{self, HotPath};
use swapref::percpu_ref::PercpuKind;
use swapref::rcu::FlavorKind;

/// x86-64 instruction classification, from the bytes at an instruction's start address.
mod x86 {
    /// What matters about one instruction for the property under test.
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct Class {
        /// Carries a `lock` prefix (0xF0).
        pub lock: bool,
        /// `xchg` (0x86, 0x87, or 0x90+r other than `nop`/`pause`): implicitly locked with a
        /// memory operand.
        pub xchg: bool,
        /// `mfence` (0F AE F0).
        pub mfence: bool,
        /// `lfence` or `sfence` (0F AE E8 / F8): not forbidden, but reported.
        pub other_fence: bool,
        /// A `call` (E8, or FF /2).
        pub call: bool,
        /// A `ret` (C3, C2).
        pub ret: bool,
        /// An add, subtract, increment or decrement of memory addressed through base + index
        /// (`incq 0x100(%rax,%r8,2)`): on the reference VM's Intel host a chain of such adds to
        /// one counter waits for each store far longer than through one register
        /// (`src/percpu_ref/counters.rs`, `through_one_register`).
        pub indexed_rmw: bool,
        /// An add or subtract of a register to memory (`add %rdi,(%r9)`): as slow there as the
        /// indexed form, where the amount could have been an immediate (`inc`, `dec`).
        pub register_rmw: bool,
        /// An `inc` or `dec` of memory through one register, without an index (`incq (%rax)`):
        /// the form the percpu counters' adds must have.
        pub one_register_incdec: bool,
    }

    /// Classify the instruction starting at `b[0]`. Legacy prefixes may come in any order,
    /// then an optional REX prefix, then the opcode (VEX/EVEX forms are never one of ours).
    pub fn classify(b: &[u8]) -> Class {
        let mut c = Class::default();
        let mut i = 0;
        while i < b.len()
            && matches!(
                b[i],
                0xF0 | 0xF2 | 0xF3 | 0x2E | 0x36 | 0x3E | 0x26 | 0x64 | 0x65 | 0x66 | 0x67
            )
        {
            c.lock |= b[i] == 0xF0;
            i += 1;
        }
        let rex = if i < b.len() && (0x40..=0x4F).contains(&b[i]) {
            i += 1;
            b[i - 1]
        } else {
            0
        };
        let (rex_b, rex_x) = (rex & 1 != 0, rex & 2 != 0);
        let op = |k: usize| b.get(i + k).copied().unwrap_or(0);
        // ModRM's reg field: the operation of the FF, 81 and 83 groups.
        let reg = (op(1) >> 3) & 7;
        let rmw = match op(0) {
            0x01 | 0x29 => true,                 // add, sub r/m, r
            0xFF => reg <= 1,                    // inc, dec r/m
            0x81 | 0x83 => reg == 0 || reg == 5, // add, sub r/m, imm
            _ => false,
        };
        c.register_rmw = matches!(op(0), 0x01 | 0x29) && op(1) >> 6 != 3;
        // A memory operand (mod != 11) with a SIB byte (rm = 100) whose index is a register
        // (not 100 without REX.X, which means none).
        if rmw && op(1) >> 6 != 3 && op(1) & 7 == 4 {
            c.indexed_rmw = (op(2) >> 3) & 7 != 4 || rex_x;
        }
        c.one_register_incdec = op(0) == 0xFF && reg <= 1 && op(1) >> 6 != 3 && !c.indexed_rmw;
        match op(0) {
            0x86 | 0x87 => c.xchg = true,
            0x91..=0x97 => c.xchg = true,
            0x90 => c.xchg = rex_b, // 90 is nop (F3 90 pause); REX.B 90 is xchg r8, rax
            0x0F if op(1) == 0xAE => match op(2) {
                0xF0 => c.mfence = true,
                0xE8 | 0xF8 => c.other_fence = true,
                _ => {}
            },
            0xE8 => c.call = true,
            0xFF => c.call = (op(1) >> 3) & 7 == 2,
            0xC3 | 0xC2 => c.ret = true,
            _ => {}
        }
        c
    }
}

const CAP: usize = 4096;
static TRACE: [AtomicUsize; CAP] = [const { AtomicUsize::new(0) }; CAP];
static LEN: AtomicUsize = AtomicUsize::new(0);
static TRACING: Mutex<()> = Mutex::new(());
const TF: i64 = 0x100;

/// SIGTRAP handler: record the address of the next instruction while TF is set. The kernel
/// clears TF for the handler itself and restores the saved flags on return.
extern "C" fn on_trap(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: with SA_SIGINFO the third argument is the interrupted context, a ucontext_t.
    let uc = unsafe { &mut *ctx.cast::<libc::ucontext_t>() };
    let g = &mut uc.uc_mcontext.gregs;
    if g[libc::REG_EFL as usize] & TF == 0 {
        return; // the trap after the popf that cleared TF: not part of the traced call
    }
    let i = LEN.fetch_add(1, Relaxed);
    if i < CAP {
        TRACE[i].store(g[libc::REG_RIP as usize] as usize, Relaxed);
    } else {
        g[libc::REG_EFL as usize] &= !TF; // runaway: stop tracing, the caller reports it
    }
}

extern "C" fn trampoline(ctx: *mut c_void) {
    // SAFETY: `trace` passes a pointer to a live `&mut dyn FnMut()` it owns for the call.
    let f = unsafe { &mut *ctx.cast::<&mut dyn FnMut()>() };
    f();
}

/// Run `f` once with the trap flag set; return the addresses of every instruction executed.
fn trace(mut f: impl FnMut()) -> Vec<usize> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: a zeroed sigaction is valid (empty mask, no flags) before we fill it in;
        // the handler is async-signal-safe (atomic stores only).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_trap as extern "C" fn(_, _, _) as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            assert_eq!(libc::sigaction(libc::SIGTRAP, &sa, std::ptr::null_mut()), 0);
        }
    });
    let _one_at_a_time = TRACING.lock().unwrap_or_else(|e| e.into_inner());
    f(); // warm-up: first-use initialisation (thread-locals, lazy statics) is not the hot path
    LEN.store(0, Relaxed);
    let mut dynf: &mut dyn FnMut() = &mut f;
    let ctx: *mut c_void = (&mut dynf as *mut &mut dyn FnMut()).cast();
    // SAFETY: pushes/pops only (no `nostack`, so the stack is usable and call-aligned); sets
    // TF, calls `trampoline(ctx)` with the C ABI (all caller-saved registers clobbered), clears
    // TF. `ctx` points to `dynf`, live across the call.
    unsafe {
        asm!(
            "pushfq",
            "or qword ptr [rsp], 0x100",
            "popfq",
            "call {t}",
            "pushfq",
            "and qword ptr [rsp], -257",
            "popfq",
            t = in(reg) trampoline as extern "C" fn(*mut c_void),
            in("rdi") ctx,
            clobber_abi("C"),
        );
    }
    let n = LEN.load(Relaxed);
    assert!(n <= CAP, "trace overflow: more than {CAP} instructions");
    TRACE[..n].iter().map(|a| a.load(Relaxed)).collect()
}

/// What one hot-path call executed, from the function's entry to its return.
#[derive(Debug)]
struct Path {
    instructions: usize,
    lock: usize,
    xchg: usize,
    mfence: usize,
    other_fence: usize,
    calls: usize,
    indexed_rmw: usize,
    register_rmw: usize,
    one_register_incdec: usize,
}

fn class_at(addr: usize) -> x86::Class {
    // SAFETY: `addr` is the address of an instruction the CPU just executed, so at least the
    // instruction's bytes are mapped and readable (text is r-x); 15 bytes is the maximum
    // instruction length and we read no further than the instruction's own bytes plus what
    // follows it in the same text mapping (functions are followed by padding or code).
    let bytes = unsafe { std::slice::from_raw_parts(addr as *const u8, 15) };
    x86::classify(bytes)
}

/// Cut the trace to the call of the function at `entry` (depth-tracked until its `ret`) and
/// classify every instruction in it.
fn path_of(trace: &[usize], entry: usize) -> Path {
    let start = trace
        .iter()
        .position(|&a| a == entry)
        .expect("the traced call never reached the hot-path function");
    let mut p = Path {
        instructions: 0,
        lock: 0,
        xchg: 0,
        mfence: 0,
        other_fence: 0,
        calls: 0,
        indexed_rmw: 0,
        register_rmw: 0,
        one_register_incdec: 0,
    };
    let mut depth = 0usize;
    for &a in &trace[start..] {
        let c = class_at(a);
        p.instructions += 1;
        p.lock += c.lock as usize;
        p.xchg += c.xchg as usize;
        p.mfence += c.mfence as usize;
        p.other_fence += c.other_fence as usize;
        p.indexed_rmw += c.indexed_rmw as usize;
        p.register_rmw += c.register_rmw as usize;
        p.one_register_incdec += c.one_register_incdec as usize;
        if c.call {
            depth += 1;
            p.calls += 1;
        }
        if c.ret {
            if depth == 0 {
                return p;
            }
            depth -= 1;
        }
    }
    panic!("the hot-path function did not return within the trace");
}

/// The hot path called `label` (`percpu-acquire@qsbr`, `atomic`).
fn hot(label: &str) -> &'static HotPath {
    codegen::hot_paths()
        .find(|h| h.label() == label)
        .unwrap_or_else(|| panic!("no hot path {label}"))
}

/// Trace one successful lookup of `(0, 5)` through `h`; `None` (and a loud line) where its
/// flavour is unavailable here.
fn run(h: &HotPath) -> Option<Path> {
    if h.percpu.is_some_and(PercpuKind::is_rseq) {
        // Every single-step trap is a signal delivery, which aborts the restartable sequence
        // it lands in: the section would restart for ever. tests/rseq_listing.rs checks those
        // sections statically, in the binary.
        eprintln!(
            "{}: not traced (rseq sections abort under single-stepping; see tests/rseq_listing.rs)",
            h.label()
        );
        return None;
    }
    let mut call = match (h.prepare)() {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "!!!!! SKIPPED: {}: {e}; its path cannot run here",
                h.label()
            );
            return None;
        }
    };
    let mut got = 0u8;
    let tr = trace(|| got = black_box(call()));
    assert_ne!(got, 0, "{}: the traced lookup failed", h.label());
    Some(path_of(&tr, (h.entry)()))
}

#[test]
fn percpu_hot_paths_execute_no_locked_instruction_xchg_or_mfence() {
    let paths: Vec<(String, Option<Path>)> = codegen::hot_paths()
        .filter(|h| h.strategy.starts_with("percpu-") && h.flavor != Some(FlavorKind::Fence))
        .filter(|h| !h.percpu.is_some_and(PercpuKind::is_rseq))
        .map(|h| (h.label(), run(h)))
        .collect();
    assert!(
        paths.len() >= 4,
        "the percpu strategies' qsbr and membarrier paths: {paths:?}"
    );
    for (name, p) in &paths {
        let Some(p) = p else { continue };
        // The whole trace, callees included.
        assert_eq!((p.lock, p.xchg, p.mfence), (0, 0, 0), "{name}: {p:?}");
        // No lock (above): the atomic-mode slow paths, inline `lock cmpxchg` loops, were not
        // taken, so this is percpu mode; no call: no wake-up or release either, and the
        // guard's put was inlined whole.
        assert_eq!(p.calls, 0, "{name} left the inline percpu path: {p:?}");
        assert!(p.instructions > 5, "{name}: implausibly short trace {p:?}");
        // The counter's add goes through one register (`through_one_register`), not through
        // the record + slot addressing the compiler would fold it into, and adds an immediate.
        assert_eq!(
            (p.indexed_rmw, p.register_rmw, p.one_register_incdec),
            (0, 0, 2),
            "{name}: the get's and the put's counter updates are not one inc and one dec of memory through one register: {p:?}"
        );
    }
    // The non-preemptible kernel's read side is empty: the qsbr path executes fewer
    // instructions than the membarrier one (the two sections).
    let q = run(hot("percpu-acquire@qsbr")).unwrap();
    if let Some(m) = run(hot("percpu-acquire@membarrier")) {
        assert!(
            q.instructions < m.instructions,
            "qsbr {q:?} is not shorter than membarrier {m:?}"
        );
    }
}

/// The kernel's hazptr read side: a slot store, a compiler barrier, a re-load, a store of null;
/// the membarrier on the reclaim side is what makes that enough. Its fence fallback is the
/// negative control: the full fence the asymmetric design removes must show.
#[test]
fn hazptr_executes_no_locked_instruction_and_its_fence_fallback_does() {
    for label in ["hazptr@qsbr", "hazptr@membarrier"] {
        let Some(p) = run(hot(label)) else { continue };
        assert_eq!(
            (p.lock, p.xchg, p.mfence, p.calls),
            (0, 0, 0, 0),
            "{label}: {p:?}"
        );
    }
    let p = run(hot("hazptr@fence")).unwrap();
    assert!(
        p.lock + p.mfence >= 1,
        "hazptr@fence: its fence(SeqCst): {p:?}"
    );
}

/// rcuref's and file_ref's get and put are one locked RMW each (no compare-and-swap loop).
#[test]
fn zoned_counts_execute_two_locked_rmws_per_lookup() {
    for label in ["rcuref@qsbr", "file-ref@qsbr"] {
        let p = run(hot(label)).unwrap();
        assert_eq!((p.lock, p.calls), (2, 0), "{label}: {p:?}");
    }
}

#[test]
fn negative_control_atomic_hot_path_executes_lock() {
    let p = run(hot("atomic")).unwrap();
    assert!(
        p.lock >= 2,
        "inc-not-zero CAS and the decrement are locked: {p:?}"
    );
}

#[test]
fn negative_control_fence_flavour_executes_a_full_fence() {
    // The same path compiled for the fence flavour: fence(SeqCst) is `lock or` (current LLVM)
    // or `mfence`; either way the check must see it, twice per section.
    let p = run(hot("percpu-acquire@fence")).unwrap();
    assert!(
        p.lock + p.mfence >= 4,
        "a full fence at each RCU section's entry and exit: {p:?}"
    );
    assert_eq!(p.calls, 0, "{p:?}");
}

#[test]
fn decoder_recognises_what_it_must() {
    use x86::classify;
    assert!(classify(&[0xF0, 0x48, 0x0F, 0xB1, 0x16]).lock); // lock cmpxchg [rsi], rdx
    assert!(classify(&[0x66, 0xF0, 0x0F, 0xB1, 0x16]).lock); // prefix order varies
    assert!(classify(&[0xF0, 0x83, 0x0C, 0x24, 0x00]).lock); // lock or dword [rsp], 0
    assert!(classify(&[0x48, 0x87, 0x07]).xchg); // xchg [rdi], rax
    assert!(classify(&[0x49, 0x90]).xchg); // xchg r8, rax
    assert!(classify(&[0x0F, 0xAE, 0xF0]).mfence);
    assert!(classify(&[0x0F, 0xAE, 0xE8]).other_fence); // lfence
    assert!(classify(&[0xE8, 0, 0, 0, 0]).call);
    assert!(classify(&[0xFF, 0x15, 0, 0, 0, 0]).call); // call [rip+x]
    assert!(classify(&[0xC3]).ret);
    // Adds to memory through base + index, and through one register.
    assert!(classify(&[0x4A, 0xFF, 0x84, 0x40, 0x00, 0x01, 0x00, 0x00]).indexed_rmw); // incq 0x100(%rax,%r8,2)
    assert!(classify(&[0x4B, 0x01, 0x3C, 0x51]).indexed_rmw); // addq %rdi,(%r9,%r10,2)
    assert!(classify(&[0x48, 0xFF, 0x44, 0xC2, 0x88]).indexed_rmw); // incq -0x78(%rdx,%rax,8)
    assert!(classify(&[0x49, 0x01, 0x39]).register_rmw); // addq %rdi,(%r9)
    assert!(classify(&[0x48, 0x29, 0x08]).register_rmw); // subq %rcx,(%rax)
    assert!(!classify(&[0x48, 0x01, 0xC8]).register_rmw); // addq %rcx,%rax: no memory
    assert!(!classify(&[0x48, 0xFF, 0x00]).register_rmw); // incq (%rax)
    assert!(classify(&[0x48, 0xFF, 0x00]).one_register_incdec); // incq (%rax)
    assert!(classify(&[0x48, 0xFF, 0x0A]).one_register_incdec); // decq (%rdx)
    assert!(classify(&[0x49, 0xFF, 0x44, 0x24, 0x08]).one_register_incdec); // incq 8(%r12)
    assert!(!classify(&[0x4A, 0xFF, 0x84, 0x40, 0x00, 0x01, 0x00, 0x00]).one_register_incdec); // indexed
    assert!(!classify(&[0x48, 0xFF, 0xC0]).one_register_incdec); // incq %rax: no memory
    assert!(!classify(&[0xFF, 0x15, 0, 0, 0, 0]).one_register_incdec); // call [rip+x]: FF /2
    for b in [
        &[0x48, 0xFF, 0x00][..],               // incq (%rax)
        &[0x48, 0xFF, 0x0A],                   // decq (%rdx)
        &[0x49, 0x01, 0x39],                   // addq %rdi,(%r9)
        &[0x48, 0xFF, 0x04, 0x24],             // incq (%rsp): a SIB byte without an index
        &[0x49, 0xFF, 0x44, 0x24, 0x08],       // incq 8(%r12)
        &[0x48, 0x89, 0x04, 0xCA],             // movq %rax,(%rdx,%rcx,8): a store, not an add
        &[0x48, 0xFF, 0x24, 0xC5, 0, 0, 0, 0], // jmpq *(,%rax,8): FF /4
    ] {
        assert!(!classify(b).indexed_rmw, "{b:x?}");
    }
    // Plain instructions, including ones whose later bytes look like prefixes or opcodes.
    for b in [
        &[0x48, 0xFF, 0x44, 0xC2, 0x88][..], // inc qword [rdx+rax*8-0x78]
        &[0x48, 0x8B, 0x47, 0xF0],           // mov rax, [rdi-0x10]
        &[0x90],                             // nop
        &[0xF3, 0x90],                       // pause
        &[0xFF, 0xE0],                       // jmp rax (FF /4)
        &[0x0F, 0xAE, 0x38],                 // clflush [rax]
    ] {
        let c = classify(b);
        assert!(
            !(c.lock || c.xchg || c.mfence || c.call || c.ret),
            "{b:x?}: {c:?}"
        );
    }
}

/// Not an assertion about speed: the exact count of instructions one lookup + release
/// executes, printed for `scripts/codegen.sh` (run with `--nocapture`). It still checks that
/// every strategy's path was traced to its return, one row per hot-path function.
#[test]
fn print_instruction_counts_per_strategy() {
    let rows: Vec<(String, bool, Option<Path>)> = codegen::hot_paths()
        .map(|h| (h.label(), h.percpu.is_some_and(PercpuKind::is_rseq), run(h)))
        .collect();
    println!("# x86-64 hot paths, executed instructions per lookup + release");
    println!("strategy\tinstructions\tlocked\txchg\tmfence\tcalls");
    for (n, rseq, p) in &rows {
        match p {
            Some(p) => {
                println!(
                    "{n}\t{}\t{}\t{}\t{}\t{}",
                    p.instructions, p.lock, p.xchg, p.mfence, p.calls
                );
                assert!(p.instructions > 0);
            }
            None if *rseq => {
                println!("{n}\t-\t-\t-\t-\t- (rseq: static check, tests/rseq_listing.rs)")
            }
            None => println!("{n}\t-\t-\t-\t-\t- (flavour unavailable)"),
        }
    }
}
