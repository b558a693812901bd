//! `swapref icount`: the deterministic CI gate. Counts instructions per op under callgrind
//! (see `swapref::icount` for the method) and compares them with `results/ci-baseline.json`.
//!
//! - `swapref icount check`: measure, print old/new/ratio per strategy and op, exit 1 when a
//!   count rose by more than `--threshold` (default 2 %) or a baseline entry is missing.
//! - `swapref icount refresh`: measure and rewrite the baseline.
//! - `swapref icount measure ...`: the worker that valgrind runs (one strategy, one op).
//!
//! Valgrind is driven directly rather than through gungraun (the renamed iai-callgrind): the
//! gate needs one number per strategy and op in a committed JSON file, which is a callgrind
//! `--toggle-collect` and a subtraction away; gungraun would add a `gungraun-runner` binary that
//! CI must `cargo install` at exactly the library's version, and keep its baselines under
//! `target/`, where a fresh clone has none.
//!
//! RCU flavour: pinned, `fence` unless `--rcu qsbr` or `--rcu membarrier` is given, and
//! recorded in the baseline; `check` refuses a baseline made with another flavour. `auto` is not
//! offered: what it picks depends on the kernel and on seccomp, so `auto` would make the counts
//! depend on the CI machine. Valgrind (3.19 here) passes `membarrier(2)` through, and every
//! flavour counts deterministically; `fence` is the default because every machine has it. Each
//! flavour is one binary's monomorphised path: the count is exactly that flavour's read side.

use super::usage_error;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use swapref::icount::{self, Counts, Op};
use swapref::rcu::FlavorKind as Flavor;
use swapref::strategy::{self, Strategy, StrategyConfig, Visitor};
use swapref::swap::{SwapEntry, SwapMap, SwapTable, TableConfig};

/// Options of `swapref icount`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Measure and compare with the baseline; exit 1 on a regression.
    Check(Gate),
    /// Measure and rewrite the baseline.
    Refresh(Gate),
    /// (internal) The worker valgrind runs: one strategy, one op, N iterations.
    #[command(hide = true)]
    Measure(Measure),
}

#[derive(clap::Args)]
struct Gate {
    /// The baseline file.
    #[arg(long, default_value = "results/ci-baseline.json")]
    baseline: PathBuf,
    /// Fail when a count rises by more than this, in percent ("2" or "2%"; at most 2).
    #[arg(long, default_value = "2%")]
    threshold: String,
    /// Comma-separated strategies, or `all`.
    #[arg(long, default_value = "all")]
    strategies: String,
    /// Negative control: add N extra instructions' worth of work per op on one strategy's
    /// path, as `STRATEGY:OP:N` (for example `atomic:lookup:4`). The gate must then fail.
    #[arg(long)]
    inject: Option<String>,
    /// Measure every (strategy, op) twice and fail unless both runs agree exactly (refresh
    /// always does).
    #[arg(long)]
    determinism: bool,
    /// The valgrind binary.
    #[arg(long, default_value = "valgrind")]
    valgrind: String,
    /// RCU flavour of the RCU strategies: `qsbr`, `membarrier` or `fence` (must match the
    /// baseline's).
    #[arg(long, default_value = "fence")]
    rcu: String,
}

#[derive(clap::Args)]
struct Measure {
    #[arg(long)]
    strategy: String,
    #[arg(long)]
    op: String,
    #[arg(long)]
    iters: u64,
    #[arg(long, default_value_t = 0)]
    extra: u64,
    #[arg(long, default_value = "fence")]
    rcu: String,
}

/// Iteration counts of the two runs whose difference is the per-op count.
fn iterations(op: Op) -> (u64, u64) {
    match op {
        Op::Lookup => (10_000, 20_000),
        Op::Cycle => (100, 200),
    }
}

/// How long one valgrind run may take before the watchdog kills it.
const RUN_LIMIT: Duration = Duration::from_secs(300);

const PAGES: usize = 64;
const ENTRY: SwapEntry = SwapEntry { ty: 0, offset: 7 };
/// `--toggle-collect` pattern: only these functions' instructions (and their callees') count.
const MEASURED: &str = "*swapref_icount_measured_*";

/// Run it.
pub fn main(args: Args) -> ExitCode {
    match args.cmd {
        Cmd::Measure(m) => measure(m),
        Cmd::Check(g) => gate(g, false),
        Cmd::Refresh(g) => gate(g, true),
    }
}

fn gate(g: Gate, refresh: bool) -> ExitCode {
    let threshold = match super::compare::parse_percent(&g.threshold) {
        Ok(t) if t <= icount::DEFAULT_THRESHOLD => t,
        Ok(_) => {
            return usage_error(format!(
                "--threshold {} is above 2% (the counts are deterministic)",
                g.threshold
            ));
        }
        Err(e) => return usage_error(format!("--threshold {e}")),
    };
    let infos = match super::parse_strategies(&g.strategies) {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    let names: Vec<&str> = infos.iter().map(|i| i.name).collect();
    let flavor = match Flavor::from_name(&g.rcu) {
        Some(f) => f,
        None => {
            return usage_error(format!(
                "unknown RCU flavour '{}' (valid: qsbr, membarrier, fence; never auto)",
                g.rcu
            ));
        }
    };
    let inject = match g.inject.as_deref().map(parse_inject).transpose() {
        Ok(i) => i,
        Err(e) => return usage_error(e),
    };
    if refresh && (inject.is_some() || g.strategies != "all") {
        return usage_error("refresh measures every strategy and takes no --inject");
    }
    let baseline = if refresh {
        None
    } else {
        match Counts::load(&g.baseline) {
            Ok(b) => Some(b),
            Err(e) => return usage_error(e),
        }
    };
    let version = match Command::new(&g.valgrind).arg("--version").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => {
            return usage_error(format!(
                "cannot run '{} --version': install valgrind (apt-get install valgrind)",
                g.valgrind
            ));
        }
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return usage_error(format!("cannot find the running binary: {e}")),
    };
    let dir = TempDir(std::env::temp_dir().join(format!("swapref-icount.{}", std::process::id())));
    if let Err(e) = std::fs::create_dir_all(&dir.0) {
        return usage_error(format!("{}: {e}", dir.0.display()));
    }
    let mut new = Counts {
        schema: icount::SCHEMA.into(),
        schema_version: icount::SCHEMA_VERSION,
        valgrind: version,
        rcu_flavor: flavor.name().into(),
        method: "callgrind Ir inside swapref_icount_measured_* (calling thread), \
                 (I(n2) - I(n1)) / (n2 - n1); refresh: swapref icount refresh"
            .into(),
        counts: Default::default(),
        excluded: Default::default(),
    };
    if let Some(b) = &baseline {
        if b.rcu_flavor != new.rcu_flavor {
            return usage_error(format!(
                "{}: baseline counted with --rcu {}, this run asks for --rcu {}",
                g.baseline.display(),
                b.rcu_flavor,
                new.rcu_flavor
            ));
        }
        if b.valgrind != new.valgrind {
            eprintln!(
                "swapref: warning: baseline made with {}, this run uses {}",
                b.valgrind, new.valgrind
            );
        }
    }
    let determinism = g.determinism || refresh;
    let mut nondeterministic = false;
    for info in &infos {
        let name = &info.name;
        for op in Op::ALL {
            if op == Op::Cycle && !info.churn {
                continue;
            }
            let extra = match &inject {
                Some((s, o, n)) if s == name && *o == op => *n,
                _ => 0,
            };
            let (n1, n2) = iterations(op);
            let run = |n| callgrind(&g.valgrind, &exe, &dir.0, (name, op, flavor), n, extra);
            let runs = (|| -> Result<_, String> {
                let first = (run(n1)?, run(n2)?);
                let again = if determinism {
                    Some((run(n1)?, run(n2)?))
                } else {
                    None
                };
                Ok((first, again))
            })();
            let ((r1, r2), again) = match runs {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("swapref: {name} {op}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let threads = r1.threads.max(r2.threads);
            if threads > 1 {
                let why = format!(
                    "{threads} threads while it ran (its swapoff hands work to another thread); \
                     valgrind serialises threads, so the count depends on scheduling"
                );
                eprintln!("{name} {op}: excluded: {why}");
                new.excluded
                    .entry(name.to_string())
                    .or_default()
                    .insert(op, why);
                continue;
            }
            if let Some((j1, j2)) = again {
                let agreement = icount::agreement(
                    n1,
                    n2,
                    (r1.total, r2.total),
                    (j1.total, j2.total),
                    threshold,
                );
                eprintln!(
                    "determinism {name} {op}: run 1 I({n1})={} I({n2})={}; \
                     run 2 I({n1})={} I({n2})={}: {}",
                    r1.total,
                    r2.total,
                    j1.total,
                    j2.total,
                    match agreement {
                        icount::Agreement::Identical => "identical".to_string(),
                        icount::Agreement::Within(d) => format!(
                            "per-op counts within {:.4} % (under a hundredth of the threshold)",
                            d * 100.0
                        ),
                        icount::Agreement::Different(d) => {
                            format!("DIFFERENT (per-op counts {:.4} % apart)", d * 100.0)
                        }
                    }
                );
                nondeterministic |= matches!(agreement, icount::Agreement::Different(_));
            }
            let Some(per) = icount::per_op(n1, r1.total, n2, r2.total) else {
                eprintln!(
                    "swapref: {name} {op}: counts do not grow with iterations ({}, {})",
                    r1.total, r2.total
                );
                return ExitCode::FAILURE;
            };
            new.counts
                .entry(name.to_string())
                .or_default()
                .insert(op, per);
        }
    }
    if refresh {
        if nondeterministic {
            eprintln!("swapref: counts differ between runs; baseline not written");
            return ExitCode::FAILURE;
        }
        if let Err(e) = new.save(&g.baseline) {
            eprintln!("swapref: {}: {e}", g.baseline.display());
            return ExitCode::FAILURE;
        }
        let rows = icount::compare(&new, &new, threshold);
        print!("{}", icount::render(&rows));
        println!("wrote {}", g.baseline.display());
        return ExitCode::SUCCESS;
    }
    let mut baseline = baseline.expect("loaded above");
    if g.strategies != "all" {
        baseline.counts.retain(|s, _| names.contains(&s.as_str()));
        baseline.excluded.retain(|s, _| names.contains(&s.as_str()));
    }
    let rows = icount::compare(&baseline, &new, threshold);
    println!(
        "# instructions per op under callgrind; threshold {:.1} %",
        threshold * 100.0
    );
    print!("{}", icount::render(&rows));
    let failed = rows.iter().filter(|r| r.verdict.fails()).count();
    let improved = rows
        .iter()
        .filter(|r| r.verdict == icount::Verdict::Improved)
        .count();
    if improved > 0 {
        println!(
            "{improved} count(s) improved beyond the threshold: refresh the baseline with \
             `cargo run --release -- icount refresh` and commit it"
        );
    }
    if failed > 0 || nondeterministic {
        println!("icount gate: FAILED ({failed} regressed or missing)");
        ExitCode::FAILURE
    } else {
        println!("icount gate: passed");
        ExitCode::SUCCESS
    }
}

/// A scratch directory for callgrind's output files, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse_inject(s: &str) -> Result<(String, Op, u64), String> {
    let bad = || format!("--inject '{s}': expected STRATEGY:OP:N, e.g. atomic:lookup:4");
    let mut it = s.split(':');
    let (Some(st), Some(op), Some(n), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    let st = strategy::info(st)
        .map_err(|e| e.to_string())?
        .name
        .to_string();
    let op = Op::from_name(op).ok_or_else(bad)?;
    let n = n.parse().map_err(|_| bad())?;
    Ok((st, op, n))
}

/// One valgrind run of the worker; returns the collected instruction count.
fn callgrind(
    valgrind: &str,
    exe: &Path,
    dir: &Path,
    (name, op, flavor): (&str, Op, Flavor),
    iters: u64,
    extra: u64,
) -> Result<Run, String> {
    let out = dir.join(format!("callgrind.{name}.{op}.{iters}"));
    let mut child = Command::new(valgrind)
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--toggle-collect={MEASURED}"))
        .arg(exe)
        .args(["icount", "measure", "--strategy", name, "--op", op.name()])
        .args(["--iters", &iters.to_string(), "--extra", &extra.to_string()])
        .args(["--rcu", flavor.name()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {valgrind}: {e}"))?;
    let start = Instant::now();
    // Both pipes are drained on threads so that a chatty child cannot block on a full pipe.
    let drain = |p: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = p {
                let _ = p.read_to_string(&mut s);
            }
            s
        })
    };
    let out_t = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err_t = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > RUN_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("valgrind ran past {RUN_LIMIT:?}; killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for valgrind: {e}")),
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(format!(
            "valgrind exited with {status}: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    let threads = stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("threads="))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("worker printed no thread count: {stdout:?}"))?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let total =
        icount::callgrind_total(&text).ok_or_else(|| format!("{}: no Ir total", out.display()))?;
    Ok(Run { total, threads })
}

/// What one valgrind run counted, and how many threads the worker had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    total: u64,
    threads: usize,
}

struct Worker {
    flavor: Flavor,
    op: Op,
    iters: u64,
    extra: u64,
}

/// Threads of this process now (`Threads:` in /proc/self/status); 0 if unreadable.
fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

impl Visitor for Worker {
    type Output = Result<(u64, usize), String>;
    fn visit<S: Strategy>(self) -> Self::Output {
        let cfg = TableConfig {
            strategy: StrategyConfig::with_rcu(Some(self.flavor)),
            checked: false,
        };
        let t = SwapTable::<S>::new(&cfg).map_err(|e| e.to_string())?;
        let generation = t.swapon(ENTRY.ty, PAGES).map_err(|e| e.to_string())?;
        let mut r = t.reader();
        if lookups(&t, &mut r, 1, 0) != u64::from(SwapMap::tag_for(generation)) {
            return Err(format!(
                "{}: a lookup of a device that is on failed",
                S::NAME
            ));
        }
        // Warm-up outside the toggled functions: lazy initialisation (thread-locals,
        // haphazard's global domain, the call_rcu worker) is not part of an op.
        // The most threads seen around the op: more than one means the op is not a
        // single-thread path (the call_rcu worker), and its count would depend on scheduling.
        let mut threads = threads();
        let sum = match self.op {
            Op::Lookup => {
                for _ in 0..10 {
                    black_box(lookups(&t, &mut r, 100, self.extra));
                    threads = threads.max(self::threads());
                }
                swapref_icount_measured_lookups(&t, &mut r, self.iters, self.extra)
            }
            Op::Cycle => {
                if !S::CHURN {
                    return Err(format!("{} refuses swapoff", S::NAME));
                }
                // `r` stays registered and idle, as in the swapoff bench: offline (qsbr), as
                // a thread that waits for a grace period must be.
                S::offline(&mut r, || {
                    for _ in 0..10 {
                        black_box(cycles(&t, 2, self.extra));
                        threads = threads.max(self::threads());
                    }
                    swapref_icount_measured_cycles(&t, self.iters, self.extra)
                })
            }
        };
        Ok((sum, threads.max(self::threads())))
    }
}

#[inline(always)]
fn lookups<S: Strategy>(t: &SwapTable<S>, r: &mut S::Reader, n: u64, extra: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        if let Some(dev) = t.get_swap_device(r, black_box(ENTRY)) {
            sum += u64::from(dev.read(ENTRY.offset));
        }
        pad(i, extra);
    }
    sum
}

#[inline(always)]
fn cycles<S: Strategy>(t: &SwapTable<S>, n: u64, extra: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        t.swapoff(ENTRY.ty).expect("device 0 is on");
        sum += t
            .swapon(ENTRY.ty, black_box(PAGES))
            .expect("device 0 is off");
        pad(i, extra);
    }
    sum
}

/// The injected regression: `extra` trips round a loop the optimiser cannot remove (a few
/// instructions each). With `extra = 0` it is one compare per op, in baseline and check alike.
#[inline(always)]
fn pad(i: u64, extra: u64) {
    for j in 0..black_box(extra) {
        black_box(i ^ j);
    }
}

#[inline(never)]
fn swapref_icount_measured_lookups<S: Strategy>(
    t: &SwapTable<S>,
    r: &mut S::Reader,
    n: u64,
    extra: u64,
) -> u64 {
    lookups(t, r, n, extra)
}

#[inline(never)]
fn swapref_icount_measured_cycles<S: Strategy>(t: &SwapTable<S>, n: u64, extra: u64) -> u64 {
    cycles(t, n, extra)
}

fn measure(m: Measure) -> ExitCode {
    let Some(op) = Op::from_name(&m.op) else {
        return usage_error(format!("unknown op '{}' (valid: lookup, cycle)", m.op));
    };
    let Some(flavor) = Flavor::from_name(&m.rcu) else {
        return usage_error(format!("unknown RCU flavour '{}'", m.rcu));
    };
    let w = Worker {
        flavor,
        op,
        iters: m.iters,
        extra: m.extra,
    };
    match strategy::visit(&m.strategy, flavor, w) {
        Err(e) => usage_error(e),
        Ok(Err(e)) => usage_error(e),
        Ok(Ok((sum, threads))) => {
            println!("{sum} threads={threads}");
            ExitCode::SUCCESS
        }
    }
}
