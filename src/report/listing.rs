//! Hot-path listings: each strategy's `swapref_hot_*` function (see [`crate::codegen`]) cut
//! out of the compiler's `--emit asm` output, with a summary of the instructions that order
//! memory or are atomic.
//!
//! `scripts/codegen.sh` compiles the library for each architecture and calls
//! `swapref listings` once per architecture; this module does the cutting and counting. The
//! counts are *static*: they cover the whole function, every branch included (both RCU
//! flavours' read-side code, the atomic-mode slow paths and the calls they make). What one
//! lookup actually executes on x86-64 is measured by `tests/hotpath.rs`.

use super::ReportError;
use crate::results::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The instruction set of a listing, which decides how its instructions are classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isa {
    /// x86-64, AT&T syntax as rustc emits it.
    X86_64,
    /// AArch64.
    Aarch64,
}

impl Isa {
    /// From a target triple's first component.
    pub fn of_target(target: &str) -> Option<Isa> {
        match target.split('-').next()? {
            "x86_64" => Some(Isa::X86_64),
            "aarch64" => Some(Isa::Aarch64),
            _ => None,
        }
    }
}

/// One function's listing and what it contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// Strategy name.
    pub strategy: String,
    /// Symbol.
    pub symbol: String,
    /// Instructions in the function (labels and comments not counted).
    pub instructions: usize,
    /// Ordering and atomic instructions, by mnemonic (with the barrier option for `dmb`,
    /// with `lock` for locked x86 instructions), and how often each occurs.
    pub ordering: BTreeMap<String, usize>,
    /// Functions it calls or tail-calls, demangled.
    pub calls: Vec<String>,
}

/// One architecture's listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchListings {
    /// Short name, also the directory of the listings (`x86_64`, `aarch64`, `aarch64-rcpc`).
    pub name: String,
    /// Target triple.
    pub target: String,
    /// `-C target-feature` value, empty for the baseline.
    pub features: String,
    /// `rustc -V` of the compiler that produced the assembly.
    pub toolchain: String,
    /// Instruction set.
    pub isa: Isa,
    /// One entry per strategy, in registry order.
    pub functions: Vec<Function>,
}

/// `results/codegen/summary.json`: every architecture listed so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// By architecture, in the order they were added.
    pub archs: Vec<ArchListings>,
}

impl Summary {
    /// Read `summary.json` from `dir`; `Ok(None)` if there is none.
    pub fn load(dir: &Path) -> Result<Option<Summary>, ReportError> {
        let path = dir.join("summary.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| ReportError::Input(path, format!("malformed listing summary: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ReportError::Io(path, e)),
        }
    }

    /// Replace (or add) the architecture called `a.name`.
    pub fn upsert(&mut self, a: ArchListings) {
        match self.archs.iter_mut().find(|x| x.name == a.name) {
            Some(x) => *x = a,
            None => self.archs.push(a),
        }
    }
}

/// The lines of `symbol`'s body in `asm`: from its label to the end-of-function marker,
/// without assembler directives and debug labels; jump-target labels and `MEMBARRIER`
/// comments (the compiler fences) are kept. `None` if the symbol is not defined in `asm`.
///
/// A symbol the compiler merged into an identical function (`sym = other`, rustc's
/// `merge-functions=aliases`; `hazptr`'s `qsbr` and `membarrier` paths are the same code) has
/// the other's body under its own label; [`alias_of`] names the other.
pub fn extract(asm: &str, symbol: &str) -> Option<Vec<String>> {
    if let Some(target) = alias_of(asm, symbol) {
        let mut body = extract(asm, target)?;
        body[0] = format!("{symbol}:");
        return Some(body);
    }
    let start = format!("{symbol}:");
    let mut lines = asm.lines();
    lines.find(|l| l.trim_end() == start)?;
    let mut body = vec![start];
    // The section the lines go to when it is not the function's own (an inline `asm!` that
    // puts descriptors or handlers elsewhere, as the rseq sections do): those lines are kept,
    // directives included, but as comments, so that no count takes them for the path.
    let mut elsewhere: Option<String> = None;
    for l in lines {
        let t = l.trim();
        if t.starts_with(".Lfunc_end") || t.starts_with(".size") && t.contains(symbol) {
            break;
        }
        let switch = t
            .strip_prefix(".section")
            .or_else(|| t.strip_prefix(".pushsection"))
            .map(|r| {
                r.trim()
                    .split([',', ' ', '\t'])
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .or_else(|| (t == ".popsection" || t == ".previous").then(|| ".text".to_owned()));
        if let Some(name) = switch {
            let other = !name.starts_with(".text");
            if other && elsewhere.as_deref() != Some(name.as_str()) {
                body.push(format!(
                    "\t// ---- section {name}: out of line, not on the path ----"
                ));
                elsewhere = Some(name);
            } else if !other && elsewhere.take().is_some() {
                body.push("\t// ---- back in the function's section ----".to_owned());
            }
            continue;
        }
        if let Some(section) = &elsewhere {
            if !t.is_empty() && !t.starts_with('#') && !t.starts_with("//") {
                body.push(format!("\t// [{section}] {}", t.replace('\t', " ")));
            }
            continue;
        }
        // Trailing comments (`// =>This Inner Loop Header`, `# =>...`) go; the instruction
        // stays. A `#` starts an x86 comment only with whitespace on both sides: aarch64
        // immediates (`#31`, `#-8`) are never followed by whitespace.
        let t = if t.contains("MEMBARRIER") {
            t
        } else {
            let b = t.as_bytes();
            let cut = (1..b.len()).find(|&i| {
                b[i - 1].is_ascii_whitespace()
                    && (t[i..].starts_with("//")
                        || (b[i] == b'#' && b.get(i + 1).is_none_or(|c| c.is_ascii_whitespace())))
            });
            cut.map_or(t, |i| t[..i].trim_end())
        };
        if t.is_empty()
            || (t.starts_with(".Ltmp") && !t.ends_with(':'))
            || t.starts_with(".Lfunc_begin")
            || (t.starts_with('.') && !t.ends_with(':'))
            || ((t.starts_with('#') || t.starts_with("//")) && !t.contains("MEMBARRIER"))
        {
            continue;
        }
        if t.ends_with(':') {
            body.push(t.to_owned());
        } else {
            body.push(format!("\t{}", t.replace('\t', " ")));
        }
    }
    // `.Ltmp` labels mark debug-info positions, except those an instruction (or a kept
    // descriptor) names: a branch target inside an inline `asm!`, a section's bounds.
    let named: std::collections::BTreeSet<String> = body
        .iter()
        .filter(|l| !l.ends_with(':'))
        .flat_map(|l| {
            l.match_indices(".Ltmp").map(move |(i, _)| {
                let rest = &l[i..];
                let end = rest[1..]
                    .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .map_or(rest.len(), |e| e + 1);
                rest[..end].to_owned()
            })
        })
        .collect();
    let keep = |l: &String| {
        let label = l
            .trim()
            .trim_start_matches("// [")
            .split("] ")
            .last()
            .unwrap_or("");
        !(label.starts_with(".Ltmp") && label.ends_with(':'))
            || named.contains(label.trim_end_matches(':'))
    };
    let body: Vec<String> = body.into_iter().filter(|l| keep(l)).collect();
    Some(body)
}

/// The function `symbol` is an alias of (`symbol = target` in the assembly), if it is one.
pub fn alias_of<'a>(asm: &'a str, symbol: &str) -> Option<&'a str> {
    let prefix = format!("{symbol} = ");
    asm.lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .map(str::trim)
        .filter(|t| *t != symbol && !t.is_empty())
}

/// Demangle a legacy Rust symbol (`_ZN7swapref10percpu_ref...17h<hash>E`) enough to read:
/// `swapref::percpu_ref::...`. Other names come back unchanged.
pub fn demangle(sym: &str) -> String {
    let Some(mut rest) = sym.strip_prefix("_ZN") else {
        return sym.to_owned();
    };
    let mut parts: Vec<String> = Vec::new();
    while let Some(c) = rest.chars().next() {
        if !c.is_ascii_digit() {
            break;
        }
        let n_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let Ok(n) = rest[..n_end].parse::<usize>() else {
            break;
        };
        let Some(ident) = rest.get(n_end..n_end + n) else {
            break;
        };
        rest = &rest[n_end + n..];
        if ident.len() == 17 && ident.starts_with('h') && rest == "E" {
            break; // the hash
        }
        parts.push(
            ident
                .replace("$LT$", "<")
                .replace("$GT$", ">")
                .replace("$u20$", " ")
                .replace("$RF$", "&")
                .replace("$C$", ",")
                .replace("..", "::"),
        );
    }
    if parts.is_empty() {
        sym.to_owned()
    } else {
        parts.join("::")
    }
}

/// Count instructions and collect the ordering/atomic ones and the call targets.
pub fn analyse(isa: Isa, body: &[String]) -> (usize, BTreeMap<String, usize>, Vec<String>) {
    let mut count = 0;
    let mut ordering: BTreeMap<String, usize> = BTreeMap::new();
    let mut calls: Vec<String> = Vec::new();
    for l in body {
        let t = l.trim();
        if t.ends_with(':') || t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        count += 1;
        let mut words = t.split_whitespace();
        let Some(first) = words.next() else { continue };
        let (mnemonic, operands) = if first == "lock" {
            let op = words.next().unwrap_or("");
            (format!("lock {op}"), words.collect::<Vec<_>>().join(" "))
        } else {
            (first.to_owned(), words.collect::<Vec<_>>().join(" "))
        };
        let key = match isa {
            Isa::X86_64 => {
                let m = mnemonic.as_str();
                if m.starts_with("lock ")
                    || m.starts_with("xchg")
                    || matches!(m, "mfence" | "lfence" | "sfence")
                    || m.starts_with("cmpxchg")
                {
                    Some(mnemonic.clone())
                } else {
                    None
                }
            }
            Isa::Aarch64 => {
                let m = mnemonic.as_str();
                let atomic_prefix = [
                    "ldar", "ldapr", "ldapur", "stlr", "stlur", "ldaxr", "ldaxp", "ldxr", "ldxp",
                    "stxr", "stxp", "stlxr", "stlxp", "cas", "ldadd", "ldclr", "ldeor", "ldset",
                    "ldsmax", "ldsmin", "ldumax", "ldumin", "swp", "stadd", "stclr", "steor",
                    "stset",
                ];
                if matches!(m, "dmb" | "dsb") {
                    Some(format!("{m} {operands}"))
                } else if m == "isb" || atomic_prefix.iter().any(|p| m.starts_with(p)) {
                    Some(mnemonic.clone())
                } else {
                    None
                }
            }
        };
        if let Some(k) = key {
            *ordering.entry(k).or_default() += 1;
        }
        let target = match (isa, mnemonic.as_str()) {
            (Isa::X86_64, "callq" | "call" | "jmp" | "jmpq") => Some(operands.as_str()),
            (Isa::Aarch64, "bl" | "b") => Some(operands.as_str()),
            _ => None,
        };
        if let Some(t) = target {
            let t = t.trim_start_matches('*');
            let t = t.split('@').next().unwrap_or(t);
            let t = t.split('(').next().unwrap_or(t);
            if !t.is_empty() && !t.starts_with(".L") && !t.starts_with('%') {
                // aarch64 outline atomics (`-moutline-atomics`, on by default for linux-gnu):
                // the atomic operation is a call to a helper that picks LSE or LL/SC at run time.
                if isa == Isa::Aarch64 && t.starts_with("__aarch64_") {
                    *ordering.entry(format!("bl {t}")).or_default() += 1;
                }
                let d = demangle(t);
                if !calls.contains(&d) {
                    calls.push(d);
                }
            }
        }
    }
    (count, ordering, calls)
}

/// Cut every hot-path function out of `asm`, write `out/<name>/<strategy>.s`, and record
/// the architecture in `out/summary.json` (replacing an earlier entry of the same name).
pub fn write_listings(
    asm: &str,
    name: &str,
    target: &str,
    features: &str,
    toolchain: &str,
    out: &Path,
) -> Result<ArchListings, ReportError> {
    let isa = Isa::of_target(target).ok_or_else(|| {
        ReportError::Input(
            out.into(),
            format!("target '{target}': only x86_64-* and aarch64-* listings are supported"),
        )
    })?;
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(ReportError::Input(
            out.into(),
            format!("'{name}' is not a usable directory name for a listing"),
        ));
    }
    let dir = out.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| ReportError::Io(dir.clone(), e))?;
    let mut functions = Vec::new();
    for hot in crate::codegen::hot_paths() {
        let (strategy, symbol) = (hot.label(), hot.symbol);
        let body = extract(asm, symbol).ok_or_else(|| {
            ReportError::Input(
                out.into(),
                format!("symbol {symbol} not found in the assembly (was it built from this tree?)"),
            )
        })?;
        let (instructions, ordering, calls) = analyse(isa, &body);
        let mut text = format!(
            "// {strategy}: lookup + read of swap_map[offset] + release ({symbol})\n\
             // target {target}{}; {toolchain}\n\
             // generated by scripts/codegen.sh; {instructions} instructions, every branch\n",
            if features.is_empty() {
                String::new()
            } else {
                format!(", -C target-feature={features}")
            }
        );
        if let Some(t) = alias_of(asm, symbol) {
            text.push_str(&format!(
                "// the compiler merged this function with an identical one: {symbol} = {t}\n"
            ));
        }
        for l in &body {
            text.push_str(l);
            text.push('\n');
        }
        let file = dir.join(format!("{}.s", hot.file_stem()));
        write_atomic(&file, text.as_bytes()).map_err(|e| ReportError::Io(file, e))?;
        functions.push(Function {
            strategy: strategy.clone(),
            symbol: symbol.to_owned(),
            instructions,
            ordering,
            calls,
        });
    }
    let arch = ArchListings {
        name: name.to_owned(),
        target: target.to_owned(),
        features: features.to_owned(),
        toolchain: toolchain.to_owned(),
        isa,
        functions,
    };
    let mut summary = Summary::load(out)?.unwrap_or_default();
    summary.upsert(arch.clone());
    let path = out.join("summary.json");
    let mut json = serde_json::to_string_pretty(&summary)
        .map_err(|e| ReportError::Input(path.clone(), e.to_string()))?;
    json.push('\n');
    write_atomic(&path, json.as_bytes()).map_err(|e| ReportError::Io(path, e))?;
    Ok(arch)
}

/// `ordering` as one short cell: `ldar ×2, dmb ishld ×1`; `—` when empty.
pub fn fmt_ordering(ordering: &BTreeMap<String, usize>) -> String {
    if ordering.is_empty() {
        return "—".into();
    }
    ordering
        .iter()
        .map(|(k, n)| format!("`{k}` ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86: &str = "\t.section\t.text.swapref_hot_atomic,\"ax\",@progbits
\t.globl\tswapref_hot_atomic
swapref_hot_atomic:
.Lfunc_begin329:
\t.cfi_startproc
# %bb.0:
\tcmpq\t$31, %rdx
\tjbe\t.LBB329_2
.LBB329_2:
\tlock\t\tcmpxchgq\t%rdx, (%rsi)
\t#MEMBARRIER
\tcallq\t*_ZN7swapref10percpu_ref7RefData12add_not_zero17hb69e72a5d323f8d5E@GOTPCREL(%rip)
\tlock\t\tdecq\t(%rsi)
\tretq
.Lfunc_end329:
\t.size\tswapref_hot_atomic, .Lfunc_end329-swapref_hot_atomic
other:
\tmfence
";

    #[test]
    fn an_alias_gets_the_body_of_the_function_it_names() {
        let asm = "f:\n\tmovl $1, %eax\n\tretq\n.Lfunc_end0:\n\t.globl g\ng = f\n";
        assert_eq!(alias_of(asm, "g"), Some("f"));
        assert_eq!(alias_of(asm, "f"), None);
        assert_eq!(
            extract(asm, "g").unwrap(),
            ["g:", "\tmovl $1, %eax", "\tretq"]
        );
        assert_eq!(extract(asm, "h"), None);
    }

    #[test]
    fn extract_comments_out_other_sections_and_keeps_only_named_ltmp_labels() {
        let asm = "f:\n\tmovl $1, %edi\n.Ltmp1:\n\t.section\t__rseq_cs,\"awR\",@progbits\n\
                   .Ltmp2:\n\t.quad\t.Ltmp3\n\t.section\t.text.f,\"ax\",@progbits\n\
                   \tleaq\t.Ltmp2(%rip), %r9\n.Ltmp3:\n\taddq %rdi, (%r9)\n\
                   \t.pushsection __rseq_failure, \"axR\"\n\tlock incq x(%rip)\n\t.popsection\n\
                   \tretq\n.Lfunc_end0:\n";
        let body = extract(asm, "f").unwrap();
        let text = body.join("\n");
        assert!(
            !text.contains(".Ltmp1:"),
            "a label nothing names goes: {text}"
        );
        assert!(text.contains("// [__rseq_cs] .Ltmp2:"), "{text}");
        assert!(
            text.contains("\n.Ltmp3:"),
            "a label a kept descriptor names stays: {text}"
        );
        assert!(text.contains("// [__rseq_failure] lock incq"), "{text}");
        assert!(text.contains("back in the function's section"), "{text}");
        let (n, ordering, _) = analyse(Isa::X86_64, &body);
        assert_eq!(n, 4, "movl, leaq, addq, retq: {text}");
        assert!(
            ordering.is_empty(),
            "the out-of-line lock is not on the path: {ordering:?}"
        );
    }

    #[test]
    fn extract_keeps_instructions_labels_and_compiler_fences_only() {
        let b = extract(X86, "swapref_hot_atomic").unwrap();
        assert_eq!(b[0], "swapref_hot_atomic:");
        assert!(b.iter().any(|l| l == ".LBB329_2:"));
        assert!(b.iter().any(|l| l.contains("#MEMBARRIER")));
        assert!(
            !b.iter()
                .any(|l| l.contains("cfi") || l.contains("%bb.0") || l.contains("mfence"))
        );
        assert_eq!(extract(X86, "swapref_hot_nope"), None);
        let (n, ord, calls) = analyse(Isa::X86_64, &b);
        assert_eq!(n, 6);
        assert_eq!(ord.get("lock cmpxchgq"), Some(&1));
        assert_eq!(ord.get("lock decq"), Some(&1));
        assert_eq!(
            calls,
            vec!["swapref::percpu_ref::RefData::add_not_zero".to_owned()]
        );
    }

    #[test]
    fn comments_go_and_aarch64_immediates_stay() {
        let asm = "f:\n\tcmp x2, #31\n\tldr x8, [x19, #-8] // reload\n.LBB0_3: # =>This Inner Loop Header: Depth=1\n\tjne .LBB0_3 # loop\n\t//MEMBARRIER\n.Lfunc_end0:\n";
        let b = extract(asm, "f").unwrap();
        assert_eq!(
            b,
            [
                "f:",
                "\tcmp x2, #31",
                "\tldr x8, [x19, #-8]",
                ".LBB0_3:",
                "\tjne .LBB0_3",
                "\t//MEMBARRIER"
            ]
        );
    }

    #[test]
    fn aarch64_ordering_instructions_are_classified_with_their_barrier_option() {
        let body: Vec<String> = [
            "f:",
            "\tldar x8, [x8]",
            "\tldapr x8, [x8]",
            "\tldr x8, [x19, #8]",
            "\tdmb ishld",
            "\tdmb ish",
            "\tstlr x9, [x8]",
            "\tldaxr x8, [x0]",
            "\tstlxr w9, x8, [x0]",
            "\tbl _ZN4core9panicking5panic17h0123456789abcdefE",
            "\tbl __aarch64_cas8_acq",
            "\tb .LBB1_2",
            "\tret",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (n, ord, calls) = analyse(Isa::Aarch64, &body);
        assert_eq!(n, 12);
        for k in [
            "ldar",
            "ldapr",
            "dmb ishld",
            "dmb ish",
            "stlr",
            "ldaxr",
            "stlxr",
        ] {
            assert_eq!(ord.get(k), Some(&1), "{k}: {ord:?}");
        }
        assert!(!ord.contains_key("ldr"));
        assert_eq!(calls, ["core::panicking::panic", "__aarch64_cas8_acq"]);
    }

    #[test]
    fn listings_and_summary_are_written_and_a_missing_symbol_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_listings(
            X86,
            "x86_64",
            "x86_64-unknown-linux-gnu",
            "",
            "rustc t",
            dir.path(),
        );
        assert!(
            matches!(e, Err(ReportError::Input(..))),
            "only one symbol present"
        );
        let mut asm = String::new();
        for h in crate::codegen::hot_paths() {
            let s = h.symbol;
            asm.push_str(&format!(
                "{s}:\n\tmovq (%rdi), %rax\n\tretq\n.Lfunc_end0:\n"
            ));
        }
        let a = write_listings(
            &asm,
            "x86_64",
            "x86_64-unknown-linux-gnu",
            "",
            "rustc t",
            dir.path(),
        )
        .unwrap();
        assert_eq!(a.functions.len(), crate::codegen::hot_paths().count());
        assert!(dir.path().join("x86_64/percpu-acquire@qsbr.s").is_file());
        assert!(
            dir.path()
                .join("x86_64/percpu-acquire@qsbr+cpu.s")
                .is_file()
        );
        write_listings(
            &asm,
            "aarch64",
            "aarch64-unknown-linux-gnu",
            "",
            "rustc t",
            dir.path(),
        )
        .unwrap();
        let s = Summary::load(dir.path()).unwrap().unwrap();
        assert_eq!(s.archs.len(), 2);
        assert!(
            write_listings(
                &asm,
                "../x",
                "x86_64-unknown-linux-gnu",
                "",
                "t",
                dir.path()
            )
            .is_err()
        );
        assert!(
            write_listings(
                &asm,
                "riscv",
                "riscv64gc-unknown-linux-gnu",
                "",
                "t",
                dir.path()
            )
            .is_err()
        );
    }
}
