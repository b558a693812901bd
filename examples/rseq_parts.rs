//! Where the per-CPU backend's cost goes: its restartable sequence taken apart.
//!
//! criterion's `get_put/rseq-floor` shows that two of the backend's sections around a lookup,
//! with no ref at all, already cost most of what the per-CPU strategies cost over
//! `unprotected`. This experiment asks which part of the section that is. It runs, in one
//! process, a loop of `section(+1); read one byte; section(-1)` with the section as
//! `src/rseq.rs` emitted it before 019c36f (`full`: the slot in the mode word, the area's address
//! added to it), and with one part of it taken out at a time, after a warm-up round, interleaved
//! over rounds (each round in another order), and prints each variant's ns per iteration (median
//! and min–max over the rounds) and its difference from `full`. Since 019c36f the backend's
//! mode word is the counter's address, as in `address mode`:
//!
//! | variant | what is left out |
//! | --- | --- |
//! | `full` | nothing: arm the descriptor (`lea`, store to `rseq_cs`), load `cpu_id`, load and test the mode word, check the CPU, compute the counter's address into one register, add through it (`inc` for the get, `dec` for the put) |
//! | `fields loaded` | nothing left out, but the counters' address, the CPU count and the rseq offset are loaded from memory in each section, as criterion's `get_put` loops (`rseq-floor`'s and the strategies') loaded them before 019c36f (`full` keeps them in registers) |
//! | `address mode` | `fields loaded`, but the mode word is the counter's address in CPU 0's chunk (as the kernel's `percpu_count_ptr` is), so there is no counters' address to load or add: one load and one instruction fewer per section (the library's section since 019c36f, as criterion's loops run it, its two fields loaded) |
//! | `indexed inc` | nothing left out, but the `inc` and `dec` address the counter through base + index (`inc [t + m*2]`, no `lea`) |
//! | `register add` | nothing left out, but the add takes its amount from a register (`add [t], nr`: the section's form for amounts other than 1 and -1) |
//! | `indexed add` | nothing left out, but both: `add [t + m*2], nr` (the section's commit before d8a1fbf) |
//! | `no arm` | the `lea` and the store that arm the descriptor |
//! | `arm elsewhere` | the store goes to a static instead of the `%fs`-relative `rseq_cs` |
//! | `cpu elsewhere` | `cpu_id` is loaded from a static instead of through `%fs` |
//! | `no mode` | the mode word's load (its register is zeroed) |
//! | `no check` | the CPU range check (`cmp`, `jae`) and the CPU's shift: every add goes to CPU 0's counter |
//! | `one add` | everything but the add: an `inc` and a `dec` of a fixed counter |
//! | `read only` | no section and no add: the loop and the byte read alone |
//!
//! Only `full` is a correct section. The others are timing variants: the descriptor of each
//! is real (listed in `__rseq_cs_ptr_array`, so `swapref::rseq::available()`'s check of the
//! binary's descriptors passes), but a variant that does not arm it is not restarted when
//! preempted mid-way; with one thread that only means its count may land on the counter of the
//! CPU it was preempted on, which nothing reads. Nothing here is undefined behaviour: the
//! counters are a static that only this thread's assembly writes, inside its bounds (the CPU
//! is range-checked, or not used).
//!
//! It prints the commit and toolchain it was built from. Run it with `scripts/rseq-parts.sh`,
//! which adds the machine, or
//! `cargo run --release --example rseq_parts [ROUNDS]`. x86-64 Linux with glibc's rseq
//! registration only; elsewhere it says so and exits 2.

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod x86 {
    use std::arch::asm;
    use std::hint::black_box;
    use std::time::Instant;

    /// Abort-handler entries; a correct run of `full` may abort a few times (preemptions).
    pub static mut ABORTS: u64 = 0;
    /// 256 CPUs × 2 KiB, the backend's chunk size (`CHUNK_SHIFT` 11).
    #[repr(align(4096))]
    #[expect(dead_code, reason = "written only through assembly")]
    pub struct Chunks([u64; 256 * 256]);
    pub static mut CHUNKS: Chunks = Chunks([0; 256 * 256]);
    /// The mode word: slot 0, no flag (per-CPU mode).
    pub static mut MODE: u64 = 0;
    /// Where the `elsewhere` variants store and load instead of the rseq area.
    pub static mut ELSEWHERE: [u64; 8] = [0; 8];
    /// What `fields loaded` loads in each section, as a ref's fields (`CpuCounters`) were loaded
    /// before 019c36f: the counters' address, the CPU count and the rseq area's offset.
    #[repr(C)]
    pub struct Fields {
        chunks: u64,
        cpus: u64,
        off: i64,
    }
    pub static mut FIELDS: Fields = Fields {
        chunks: 0,
        cpus: 256,
        off: 0,
    };

    /// A section's descriptor (label 3: `start_ip` 4, `post_commit_ip` 5, `abort_ip` 6) and its
    /// entry in `__rseq_cs_ptr_array`, as `src/rseq.rs` emits them.
    macro_rules! descriptor {
        () => {
            concat!(
                ".pushsection __rseq_cs, \"awR\"\n.balign 32\n3:\n.long 0, 0\n",
                ".quad 4f, 5f - 4f, 6f\n.popsection\n",
                ".pushsection __rseq_cs_ptr_array, \"awR\"\n.balign 8\n.quad 3b\n.popsection"
            )
        };
    }

    /// After the commit (5): the flag in `{t}` (1 committed, 0 left at 7), then the abort
    /// handler (6, after glibc's signature) that counts in `{aborts}` and restarts at 2, as
    /// `src/rseq.rs` emits them.
    macro_rules! exit_and_abort_handler {
        () => {
            concat!(
                "5:\nmov {t:e}, 1\njmp 12f\n7:\nxor {t:e}, {t:e}\n12:\n",
                ".pushsection __rseq_failure, \"axR\"\n.byte 0x0f, 0xb9, 0x3d\n",
                ".long 0x53053053\n6:\nlock inc qword ptr [rip + {aborts}]\njmp 2b\n.popsection"
            )
        };
    }

    /// One section: `$arm` arms the descriptor, `$cpu` loads the CPU into `t`, `$mode` the mode
    /// word into `m`, `$check` checks the CPU, `$add` commits (`{nr}` is 1 or -1). The
    /// descriptor, the signature and the abort handler are `src/rseq.rs`'s.
    macro_rules! section {
        ($arm:literal, $cpu:literal, $mode:literal, $check:literal, $add:literal, $off:expr, $nr:expr) => {{
            let t: u64;
            asm!(
                descriptor!(),
                "2:", $arm,
                "4:", $cpu, $mode,
                "test {m:e}, 3", "jnz 7f",
                $check,
                $add,
                exit_and_abort_handler!(),
                // Every variant names every operand, used or not.
                "/* {off} {mode} {chunks} {nr} {elsewhere} */",
                off = in(reg) $off, mode = in(reg) &raw const MODE,
                chunks = in(reg) &raw mut CHUNKS, nr = in(reg) $nr,
                aborts = sym ABORTS, elsewhere = sym ELSEWHERE,
                t = out(reg) t, m = out(reg) _, options(nostack));
            t
        }};
    }

    macro_rules! variant {
        // One commit for the get and the put (it uses `{nr}`).
        ($name:ident, $arm:literal, $cpu:literal, $mode:literal, $check:literal, $add:literal) => {
            variant!($name, $arm, $cpu, $mode, $check, $add, $add);
        };
        // The get's commit, then the put's.
        ($name:ident, $arm:literal, $cpu:literal, $mode:literal, $check:literal, $get:literal, $put:literal) => {
            fn $name(off: isize, n: u64, map: &[u8]) -> f64 {
                let t = Instant::now();
                let mut s = 0u64;
                for i in 0..n {
                    // SAFETY: the block writes the calling thread's rseq area (`off` is glibc's
                    // __rseq_offset, checked by the caller), a counter inside CHUNKS (the CPU is
                    // range-checked where the address depends on it; variants without the check
                    // add to a fixed counter) or ELSEWHERE, and ABORTS; only this thread runs
                    // them.
                    unsafe {
                        if section!($arm, $cpu, $mode, $check, $get, off, 1u64) != 0 {
                            s += u64::from(map[(i & 1023) as usize]);
                            section!($arm, $cpu, $mode, $check, $put, off, u64::MAX);
                        }
                    }
                }
                black_box(s);
                t.elapsed().as_nanos() as f64 / n as f64
            }
        };
    }

    variant!(
        full,
        "lea {t}, [rip + 3b]\nmov qword ptr fs:[{off} + 8], {t}",
        "mov {t:e}, dword ptr fs:[{off} + 4]",
        "mov {m}, qword ptr [{mode}]",
        "cmp {t:e}, 256\njae 7f",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ninc qword ptr [{t}]",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ndec qword ptr [{t}]"
    );
    variant!(
        indexed_inc,
        "lea {t}, [rip + 3b]\nmov qword ptr fs:[{off} + 8], {t}",
        "mov {t:e}, dword ptr fs:[{off} + 4]",
        "mov {m}, qword ptr [{mode}]",
        "cmp {t:e}, 256\njae 7f",
        "shl {t}, 11\nadd {t}, {chunks}\ninc qword ptr [{t} + {m} * 2]",
        "shl {t}, 11\nadd {t}, {chunks}\ndec qword ptr [{t} + {m} * 2]"
    );
    variant!(
        register_add,
        "lea {t}, [rip + 3b]\nmov qword ptr fs:[{off} + 8], {t}",
        "mov {t:e}, dword ptr fs:[{off} + 4]",
        "mov {m}, qword ptr [{mode}]",
        "cmp {t:e}, 256\njae 7f",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\nadd qword ptr [{t}], {nr}"
    );
    variant!(
        indexed_add,
        "lea {t}, [rip + 3b]\nmov qword ptr fs:[{off} + 8], {t}",
        "mov {t:e}, dword ptr fs:[{off} + 4]",
        "mov {m}, qword ptr [{mode}]",
        "cmp {t:e}, 256\njae 7f",
        "shl {t}, 11\nadd {t}, {chunks}\nadd qword ptr [{t} + {m} * 2], {nr}"
    );
    variant!(
        no_arm,
        "",
        "mov {t:e}, dword ptr fs:[{off} + 4]",
        "mov {m}, qword ptr [{mode}]",
        "cmp {t:e}, 256\njae 7f",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ninc qword ptr [{t}]",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ndec qword ptr [{t}]"
    );
    variant!(
        arm_elsewhere,
        "lea {t}, [rip + 3b]\nmov qword ptr [rip + {elsewhere} + 8], {t}",
        "mov {t:e}, dword ptr fs:[{off} + 4]",
        "mov {m}, qword ptr [{mode}]",
        "cmp {t:e}, 256\njae 7f",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ninc qword ptr [{t}]",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ndec qword ptr [{t}]"
    );
    variant!(
        cpu_elsewhere,
        "lea {t}, [rip + 3b]\nmov qword ptr fs:[{off} + 8], {t}",
        "mov {t:e}, dword ptr [rip + {elsewhere} + 4]",
        "mov {m}, qword ptr [{mode}]",
        "cmp {t:e}, 256\njae 7f",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ninc qword ptr [{t}]",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ndec qword ptr [{t}]"
    );
    variant!(
        no_mode,
        "lea {t}, [rip + 3b]\nmov qword ptr fs:[{off} + 8], {t}",
        "mov {t:e}, dword ptr fs:[{off} + 4]",
        "xor {m:e}, {m:e}",
        "cmp {t:e}, 256\njae 7f",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ninc qword ptr [{t}]",
        "shl {t}, 11\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ndec qword ptr [{t}]"
    );
    variant!(
        no_check,
        "lea {t}, [rip + 3b]\nmov qword ptr fs:[{off} + 8], {t}",
        "mov {t:e}, dword ptr fs:[{off} + 4]",
        "mov {m}, qword ptr [{mode}]",
        "",
        "xor {t:e}, {t:e}\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ninc qword ptr [{t}]",
        "xor {t:e}, {t:e}\nadd {t}, {chunks}\nlea {t}, [{t} + {m} * 2]\ndec qword ptr [{t}]"
    );
    variant!(
        one_add,
        "",
        "",
        "xor {m:e}, {m:e}",
        "",
        "inc qword ptr [{chunks}]",
        "dec qword ptr [{chunks}]"
    );

    /// A section that loads the counters' address (`$chunks`, into `{c}`), the CPU count and the
    /// rseq offset from `$fields` in each section (criterion's `get_put` loops loaded them after
    /// every section before 019c36f, since the compiler must assume the section may have
    /// written memory; since then they load the two others), rather than keeping them in
    /// registers; `$addr` turns the CPU's chunk offset in `{t}` and the mode
    /// word in `{m}` into the counter's address; `$add` commits.
    macro_rules! loaded {
        ($chunks:literal, $addr:literal, $add:literal, $fields:expr, $mode:expr) => {{
            let t: u64;
            asm!(
                descriptor!(),
                "mov {o}, qword ptr [{f} + 16]", $chunks, "mov {n:e}, dword ptr [{f} + 8]",
                "2:", "lea {t}, [rip + 3b]", "mov qword ptr fs:[{o} + 8], {t}",
                "4:", "mov {t:e}, dword ptr fs:[{o} + 4]", "mov {m}, qword ptr [{mode}]",
                "test {m:e}, 3", "jnz 7f",
                "cmp {t:e}, {n:e}", "jae 7f",
                "shl {t}, 11", $addr, $add,
                exit_and_abort_handler!(),
                // Both forms name every operand, used or not.
                "/* {c} */",
                f = in(reg) $fields, mode = in(reg) $mode,
                aborts = sym ABORTS, t = out(reg) t, m = out(reg) _, o = out(reg) _,
                c = out(reg) _, n = out(reg) _, options(nostack));
            t
        }};
    }

    /// `address mode`'s mode word: CHUNKS' address (slot 0 of CPU 0, no flag).
    pub static mut MODE_ADDR: u64 = 0;

    macro_rules! loaded_variant {
        ($name:ident, $chunks:literal, $addr:literal, $mode:expr) => {
            fn $name(off: isize, n: u64, map: &[u8]) -> f64 {
                // SAFETY: only this thread runs the variants, and no asm block is running.
                unsafe {
                    FIELDS = Fields {
                        chunks: &raw mut CHUNKS as u64,
                        cpus: 256,
                        off: off as i64,
                    };
                    MODE_ADDR = &raw mut CHUNKS as u64;
                }
                let fields = &raw const FIELDS;
                let t = Instant::now();
                let mut s = 0u64;
                for i in 0..n {
                    // SAFETY: as `full`'s: FIELDS holds glibc's __rseq_offset (checked by the
                    // caller) and CHUNKS' address; the CPU is range-checked against 256, CHUNKS'
                    // chunks, and the mode word is 0 (a slot offset) or CHUNKS' address.
                    unsafe {
                        if loaded!($chunks, $addr, "inc qword ptr [{t}]", fields, $mode) != 0 {
                            s += u64::from(map[(i & 1023) as usize]);
                            loaded!($chunks, $addr, "dec qword ptr [{t}]", fields, $mode);
                        }
                    }
                }
                black_box(s);
                t.elapsed().as_nanos() as f64 / n as f64
            }
        };
    }

    loaded_variant!(
        fields_loaded,
        "mov {c}, qword ptr [{f}]",
        "add {t}, {c}\nlea {t}, [{t} + {m} * 2]",
        &raw const MODE
    );
    // The mode word is the counter's address in CPU 0's chunk, flags in its low bits (as the
    // kernel's `percpu_count_ptr`): the CPU's chunk offset is added to it.
    loaded_variant!(
        fields_address_mode,
        "",
        "add {t}, {m}",
        &raw const MODE_ADDR
    );

    fn read_only(_: isize, n: u64, map: &[u8]) -> f64 {
        let t = Instant::now();
        let mut s = 0u64;
        for i in 0..n {
            s += u64::from(map[(black_box(i) & 1023) as usize]);
        }
        black_box(s);
        t.elapsed().as_nanos() as f64 / n as f64
    }

    type Variant = (&'static str, fn(isize, u64, &[u8]) -> f64);
    pub const VARIANTS: [Variant; 13] = [
        ("full", full),
        ("fields loaded", fields_loaded),
        ("address mode", fields_address_mode),
        ("indexed inc", indexed_inc),
        ("register add", register_add),
        ("indexed add", indexed_add),
        ("no arm", no_arm),
        ("arm elsewhere", arm_elsewhere),
        ("cpu elsewhere", cpu_elsewhere),
        ("no mode", no_mode),
        ("no check", no_check),
        ("one add", one_add),
        ("read only", read_only),
    ];

    pub fn aborts() -> u64 {
        // SAFETY: read after every variant ran, on the thread that ran them.
        unsafe { ABORTS }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn main() {
    let rounds: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 9,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            eprintln!("rseq_parts: ROUNDS must be a whole number of at least 1");
            std::process::exit(2)
        }
    };
    match swapref::rseq::available() {
        Err(e) => {
            eprintln!("rseq_parts: rseq unavailable here: {e}");
            std::process::exit(2)
        }
        // Its counters have room for 256 CPUs; a section on CPU 256 or above would leave
        // without adding, and the timings would measure nothing.
        Ok(r) if r.cpus() > 256 => {
            eprintln!(
                "rseq_parts: {} possible CPUs; this experiment has room for 256",
                r.cpus()
            );
            std::process::exit(2)
        }
        Ok(_) => {}
    }
    // SAFETY: dlsym with a NUL-terminated name; `available()` above found the symbol, and
    // glibc's `__rseq_offset` is a `const ptrdiff_t` that never changes.
    let off = unsafe {
        let p = libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr());
        assert!(!p.is_null(), "__rseq_offset vanished");
        *p.cast::<isize>()
    };
    let map = vec![1u8; 1024];
    let n = 30_000_000;
    let k = x86::VARIANTS.len();
    // A warm-up round, not counted: the first variant run would otherwise pay for the
    // process's start (page faults, the frequency ramp).
    for (_, f) in x86::VARIANTS {
        f(off, n / 10, &map);
    }
    let mut ns = vec![Vec::with_capacity(rounds); k];
    // Interleaved: every round runs every variant once, so a shift of the machine lands in
    // every variant's spread rather than in one variant's median; round r starts at variant
    // r mod k, so no variant always runs first or after the same one.
    for r in 0..rounds {
        for i in (0..k).map(|i| (i + r) % k) {
            ns[i].push((x86::VARIANTS[i].1)(off, n, &map));
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let stats: Vec<_> = ns.iter_mut().map(med).collect();
    let full = stats[0].0;
    let tool = swapref::measure::env::tool();
    let commit = tool.git_commit.as_deref().unwrap_or("unknown commit");
    println!(
        "# built from swapref {} {}{} ({}), {}",
        tool.version,
        &commit[..commit.len().min(12)],
        if tool.git_dirty == Some(true) {
            "-dirty"
        } else {
            ""
        },
        tool.profile,
        tool.rustc.as_deref().unwrap_or("unknown rustc"),
    );
    println!(
        "# {rounds} rounds of {n} iterations per variant after a warm-up round, interleaved, \
         each round in a rotated order; ns per iteration"
    );
    println!(
        "{:<14} {:>7} {:>17} {:>9}",
        "variant", "median", "[min-max]", "vs full"
    );
    for ((name, _), (m, lo, hi)) in x86::VARIANTS.iter().zip(&stats) {
        println!(
            "{name:<14} {m:>7.2} {:>17} {:>+9.2}",
            format!("[{lo:.2}-{hi:.2}]"),
            m - full
        );
    }
    println!("# aborts of the armed variants: {}", x86::aborts());
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn main() {
    eprintln!("rseq_parts: x86-64 Linux only (its sections are x86-64 assembly)");
    std::process::exit(2)
}
