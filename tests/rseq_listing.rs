//! The per-CPU fast path's critical sections, read from this binary's own descriptors and
//! disassembled with `objdump`: a static count of the instructions between each section's
//! bounds, with no locked instruction, no `xchg`, no fence and no call among them, and a
//! commit (the last instruction) that is one store to memory, and an index read from `cpu_id`
//! or from `mm_cid` (both backends are compiled in), or from `node_id` in the stress test's
//! negative control only.
//!
//! `tests/hotpath.rs` traces the executed instructions of the other hot paths by
//! single-stepping; that cannot work here, because a single-step trap aborts the section and
//! restarts it forever. Where `objdump` is missing or the target is not x86-64 the test says
//! so loudly and checks nothing.

#![cfg(all(not(miri), not(loom), target_arch = "x86_64"))]

use std::process::Command;

/// The runtime address the executable's first mapping starts at (its load bias: the ELF
/// addresses of a PIE start at 0).
fn load_bias() -> u64 {
    let exe = std::fs::read_link("/proc/self/exe").expect("/proc/self/exe");
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    maps.lines()
        .find(|l| {
            l.ends_with(exe.to_str().unwrap()) && l.split_whitespace().nth(2) == Some("00000000")
        })
        .and_then(|l| u64::from_str_radix(l.split('-').next()?, 16).ok())
        .expect("the executable's first mapping in /proc/self/maps")
}

/// The ELF address ranges of this executable's `swapref_hot_*` functions (`nm -S`), or `None`
/// where `nm` cannot run.
fn hot_functions() -> Option<Vec<(u64, u64)>> {
    let out = Command::new("nm")
        .args(["-S", "--defined-only"])
        .arg(std::fs::read_link("/proc/self/exe").ok()?)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                // "00000000005a0ef0 0000000000000220 T swapref_hot_percpu_acquire_qsbr_cpu"
                let mut w = l.split_whitespace();
                let (addr, size, _, name) = (w.next()?, w.next()?, w.next()?, w.next()?);
                if !name.starts_with("swapref_hot_") {
                    return None;
                }
                let a = u64::from_str_radix(addr, 16).ok()?;
                Some((a, a + u64::from_str_radix(size, 16).ok()?))
            })
            .collect(),
    )
}

/// The instructions of `[start, end)` (ELF addresses) of this executable: mnemonic and operands.
fn disassemble(start: u64, end: u64) -> Option<Vec<String>> {
    let out = Command::new("objdump")
        .args([
            "-d",
            "--no-show-raw-insn",
            &format!("--start-address={start:#x}"),
            &format!("--stop-address={end:#x}"),
        ])
        // The file itself: in objdump's process, /proc/self/exe would be objdump.
        .arg(std::fs::read_link("/proc/self/exe").ok()?)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter_map(|l| {
                // "  1234:\tadd    %rax,(%rcx,%rdx,2)"
                let (addr, insn) = l.trim_start().split_once(":\t")?;
                u64::from_str_radix(addr, 16).ok()?;
                Some(insn.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .collect(),
    )
}

#[test]
fn every_critical_section_is_short_unlocked_fence_free_and_ends_in_one_store() {
    if swapref::rseq::available().is_err() {
        eprintln!("!!!!! SKIPPED: rseq section listing (rseq unavailable here) !!!!!");
        return;
    }
    if Command::new("objdump").arg("--version").output().is_err() {
        eprintln!("!!!!! SKIPPED: rseq section listing (objdump not found) !!!!!");
        return;
    }
    let bias = load_bias();
    let hot = hot_functions();
    // The commits of the sections inside the hot-path functions, whose get and put add 1 and -1.
    let mut hot_commits: Vec<String> = Vec::new();
    let sections = swapref::rseq::sections();
    assert!(!sections.is_empty(), "no critical section in this binary");
    let mut counts = Vec::new();
    // Sections reading `cpu_id` (offset 4 of the rseq area), `mm_cid` (offset 24, 0x18) and
    // `node_id` (offset 20, 0x14: only the stress test's negative control).
    let (mut by_cpu, mut by_cid, mut by_node) = (0, 0, 0);
    for s in &sections {
        let (start, end) = (s.start - bias, s.start + s.len - bias);
        let insns = disassemble(start, end)
            .unwrap_or_else(|| panic!("objdump failed on {start:#x}..{end:#x}"));
        let listing = insns.join("\n  ");
        assert!(!insns.is_empty(), "empty section at {start:#x}");
        for i in &insns {
            let m = i.split_whitespace().next().unwrap_or("");
            assert!(
                !i.starts_with("lock")
                    && !m.contains("xchg")
                    && !m.ends_with("fence")
                    && !m.starts_with("call"),
                "section at {start:#x} has `{i}`:\n  {listing}"
            );
        }
        let index = |off: &str| {
            insns
                .iter()
                .any(|i| i.starts_with("mov %fs:") && i.contains(&format!("%fs:{off}(")))
        };
        // By mm_cid, the section first reads cpu_id and leaves on its sign (a thread whose
        // registration failed), so it reads both.
        // Its limit is three instructions more (the load, the test and the branch).
        // The delay loop of the stress test's section (a `dec` of a register and a `jne`) makes
        // it longer; a put's commit is a `dec` too, but of memory.
        let delayed = insns
            .iter()
            .any(|i| i.starts_with("dec") && !i.ends_with(')'));
        // In this order: load cpu_id, test it, leave on its sign, load the index at `off`.
        let sign_first = |off: &str| {
            let at = |p: &dyn Fn(&String) -> bool| insns.iter().position(p);
            let (cpu, js, idx) = (
                at(&|i| i.starts_with("mov %fs:0x4(")),
                at(&|i| i.starts_with("js ")),
                at(&|i| i.starts_with(&format!("mov %fs:{off}("))),
            );
            matches!((cpu, js, idx), (Some(a), Some(b), Some(c)) if a < b && b < c)
        };
        let limit = match (index("0x4"), index("0x18"), index("0x14")) {
            (true, false, false) => {
                by_cpu += 1;
                // mov %fs (cpu_id), mov (mode), test, jnz, cmp, jae, shl, add (the mode word:
                // the counter's address in the first chunk), and the commit.
                9
            }
            (true, true, false) => {
                assert!(
                    sign_first("0x18"),
                    "section at {start:#x} does not test cpu_id's sign before it reads mm_cid:\n  {listing}"
                );
                by_cid += 1;
                12
            }
            (true, false, true) => {
                assert!(
                    delayed && sign_first("0x14"),
                    "section at {start:#x} reads node_id but is not the stress test's control:\n  {listing}"
                );
                by_node += 1;
                12
            }
            _ => panic!(
                "section at {start:#x} reads no index (cpu_id, or cpu_id and mm_cid):\n  {listing}"
            ),
        };
        // The commit: an add (`add`, or `inc`/`dec` for one reference) to the counter, through
        // one register: no index (`(%rax)`, not `(%rax,%rdx)`), which on the reference VM's
        // Intel host makes each add wait longer for the previous one's store (`src/rseq.rs`,
        // the x86-64 section's docs).
        let commit = insns.last().unwrap();
        let through_one_register = commit
            .rsplit_once('(')
            .is_some_and(|(_, addr)| addr.ends_with(')') && !addr.contains(','));
        assert!(
            ["add", "inc", "dec"].iter().any(|m| commit.starts_with(m)) && through_one_register,
            "section at {start:#x} does not end in its commit (an add to memory through one register) but `{commit}`:\n  {listing}"
        );
        // A get or put of one reference commits with `inc` or `dec`: an `add` with the amount
        // in a register waits as long as an indexed one on that host.
        if hot.iter().flatten().any(|&(a, b)| (a..b).contains(&start)) {
            assert!(
                commit.starts_with("inc") || commit.starts_with("dec"),
                "section at {start:#x} in a swapref_hot_* function commits with `{commit}`, not inc or dec:\n  {listing}"
            );
            hot_commits.push(commit.clone());
        }
        counts.push((insns.len(), delayed));
        if !delayed {
            assert!(
                insns.len() <= limit,
                "section at {start:#x} has {} instructions:\n  {listing}",
                insns.len()
            );
        }
    }
    let fast: Vec<usize> = counts.iter().filter(|c| !c.1).map(|c| c.0).collect();
    eprintln!(
        "rseq sections: {} in this binary ({by_cpu} by cpu_id, {by_cid} by mm_cid, {by_node} by node_id), {} fast-path copies of {:?} instructions each (start_ip to the commit)",
        sections.len(),
        fast.len(),
        {
            let mut f = fast.clone();
            f.sort_unstable();
            f.dedup();
            f
        }
    );
    assert!(
        !fast.is_empty(),
        "no fast-path section (only the test's delayed one)"
    );
    assert!(
        by_cpu > 0 && by_cid > 0,
        "both indexes are compiled in (the codegen module has hot paths of each)"
    );
    match hot {
        None => eprintln!(
            "!!!!! SKIPPED: the hot paths' commits were not told apart (nm could not run) !!!!!"
        ),
        Some(_) => {
            let incs = hot_commits.iter().filter(|c| c.starts_with("inc")).count();
            eprintln!(
                "sections in swapref_hot_* functions: {} ({incs} commit with inc, the rest with dec)",
                hot_commits.len()
            );
            assert!(
                incs > 0 && incs < hot_commits.len(),
                "the swapref_hot_* functions' sections: {} commits, {incs} of them inc: a get's and a put's were expected",
                hot_commits.len()
            );
        }
    }
}
