//! The gate's driver: every (strategy, op) under `valgrind --tool=callgrind`, twice (and twice
//! more with `determinism`), each run a separate process running the [`worker`](super::worker)
//! behind a watchdog; the per-op counts, the exclusions and the determinism verdicts.
//!
//! The command line only parses its options into a [`Plan`], calls [`measure`], and prints the
//! [`Event`]s and the comparison ([`compare`](super::compare), [`render`](super::render),
//! [`Tally`]).

use super::{Agreement, Counts, Op, Row, Verdict};
use crate::rcu::FlavorKind as Flavor;
use crate::strategy;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `--toggle-collect` pattern: only the worker's measured functions (and their callees) count.
pub const MEASURED: &str = "*swapref_icount_measured_*";

/// How long one valgrind run may take before the watchdog kills it.
pub const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Iteration counts of the two runs whose difference is the per-op count.
pub fn iterations(op: Op) -> (u64, u64) {
    match op {
        Op::Lookup => (10_000, 20_000),
        Op::Cycle => (100, 200),
    }
}

/// The negative control: `extra` more trips of the worker's padding loop per op on one
/// strategy's op. The gate must then fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inject {
    /// The strategy's registry name.
    pub strategy: String,
    /// The op that gets the padding.
    pub op: Op,
    /// Trips per op.
    pub extra: u64,
}

impl std::str::FromStr for Inject {
    type Err = String;
    /// `STRATEGY:OP:N`, e.g. `atomic:lookup:4`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--inject '{s}': expected STRATEGY:OP:N, e.g. atomic:lookup:4");
        let mut it = s.split(':');
        let (Some(st), Some(op), Some(n), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad());
        };
        Ok(Inject {
            strategy: strategy::info(st)
                .map_err(|e| e.to_string())?
                .name
                .to_string(),
            op: Op::from_name(op).ok_or_else(bad)?,
            extra: n.parse().map_err(|_| bad())?,
        })
    }
}

/// What to measure, and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The valgrind binary.
    pub valgrind: String,
    /// What it says it is ([`valgrind_version`]), recorded in the counts.
    pub valgrind_version: String,
    /// The program valgrind runs, and the arguments that make it the worker (`swapref icount
    /// measure`); [`measure`] appends `--strategy S --op O --iters N --extra E --rcu F`.
    pub worker: (PathBuf, Vec<OsString>),
    /// The strategies, in report order.
    pub strategies: Vec<strategy::Info>,
    /// The RCU flavour of the RCU strategies.
    pub flavor: Flavor,
    /// The negative control, if any.
    pub inject: Option<Inject>,
    /// Measure every (strategy, op) twice and compare the runs.
    pub determinism: bool,
    /// The gate threshold (a fraction): two runs agree when their per-op counts are within a
    /// hundredth of it ([`agreement`](super::agreement)).
    pub threshold: f64,
}

/// Progress worth printing, in the order it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An op left out of the counts: it ran with more than one thread.
    Excluded {
        /// Strategy name.
        strategy: String,
        /// The op.
        op: Op,
        /// Why, as recorded in the counts.
        why: String,
    },
    /// The determinism check of one (strategy, op).
    Determinism {
        /// Strategy name.
        strategy: String,
        /// The op.
        op: Op,
        /// The two iteration counts.
        iters: (u64, u64),
        /// The first pair of totals.
        first: (u64, u64),
        /// The second pair.
        again: (u64, u64),
        /// Their verdict.
        agreement: Agreement,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Excluded { strategy, op, why } => write!(f, "{strategy} {op}: excluded: {why}"),
            Event::Determinism {
                strategy,
                op,
                iters: (n1, n2),
                first,
                again,
                agreement,
            } => {
                write!(
                    f,
                    "determinism {strategy} {op}: run 1 I({n1})={} I({n2})={}; \
                     run 2 I({n1})={} I({n2})={}: ",
                    first.0, first.1, again.0, again.1
                )?;
                match agreement {
                    Agreement::Identical => f.write_str("identical"),
                    Agreement::Within(d) => write!(
                        f,
                        "per-op counts within {:.4} % (under a hundredth of the threshold)",
                        d * 100.0
                    ),
                    Agreement::Different(d) => {
                        write!(f, "DIFFERENT (per-op counts {:.4} % apart)", d * 100.0)
                    }
                }
            }
        }
    }
}

/// What [`measure`] found.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The counts (and exclusions), ready to save as a baseline or to compare with one.
    pub counts: Counts,
    /// Some determinism check found two runs apart.
    pub nondeterministic: bool,
}

/// `valgrind --version`, or why it cannot run.
pub fn valgrind_version(valgrind: &str) -> Result<String, String> {
    match Command::new(valgrind).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        _ => Err(format!(
            "cannot run '{valgrind} --version': install valgrind (apt-get install valgrind)"
        )),
    }
}

/// Measure every (strategy, op) of the plan. `events` sees each exclusion and determinism
/// verdict as it happens. An error names the (strategy, op) whose run failed.
pub fn measure(plan: &Plan, mut events: impl FnMut(&Event)) -> Result<Measured, String> {
    let dir = TempDir::new()?;
    let mut counts = Counts {
        schema: super::SCHEMA.into(),
        schema_version: super::SCHEMA_VERSION,
        valgrind: plan.valgrind_version.clone(),
        rcu_flavor: plan.flavor.name().into(),
        method: "callgrind Ir inside swapref_icount_measured_* (calling thread), \
                 (I(n2) - I(n1)) / (n2 - n1); refresh: swapref icount refresh"
            .into(),
        counts: Default::default(),
        excluded: Default::default(),
    };
    let mut nondeterministic = false;
    for info in &plan.strategies {
        let name = info.name;
        for op in Op::ALL {
            if op == Op::Cycle && !info.churn {
                continue;
            }
            let extra = match &plan.inject {
                Some(i) if i.strategy == name && i.op == op => i.extra,
                _ => 0,
            };
            let (n1, n2) = iterations(op);
            let run = |n| callgrind(plan, &dir.0, (name, op), n, extra);
            let pair = || -> Result<(Run, Run), String> { Ok((run(n1)?, run(n2)?)) };
            let (r1, r2) = pair().map_err(|e| format!("{name} {op}: {e}"))?;
            let again = if plan.determinism {
                Some(pair().map_err(|e| format!("{name} {op}: {e}"))?)
            } else {
                None
            };
            let threads = r1.threads.max(r2.threads);
            if threads > 1 {
                let why = format!(
                    "{threads} threads while it ran (its swapoff hands work to another thread); \
                     valgrind serialises threads, so the count depends on scheduling"
                );
                events(&Event::Excluded {
                    strategy: name.to_string(),
                    op,
                    why: why.clone(),
                });
                counts
                    .excluded
                    .entry(name.to_string())
                    .or_default()
                    .insert(op, why);
                continue;
            }
            if let Some((j1, j2)) = again {
                let first = (r1.total, r2.total);
                let again = (j1.total, j2.total);
                let agreement = super::agreement(n1, n2, first, again, plan.threshold);
                nondeterministic |= matches!(agreement, Agreement::Different(_));
                events(&Event::Determinism {
                    strategy: name.to_string(),
                    op,
                    iters: (n1, n2),
                    first,
                    again,
                    agreement,
                });
            }
            let per = super::per_op(n1, r1.total, n2, r2.total).ok_or_else(|| {
                format!(
                    "{name} {op}: counts do not grow with iterations ({}, {}){}",
                    r1.total,
                    r2.total,
                    if r1.total == r2.total {
                        format!(": no {MEASURED} function counted (a stripped binary?)")
                    } else {
                        String::new()
                    }
                )
            })?;
            counts
                .counts
                .entry(name.to_string())
                .or_default()
                .insert(op, per);
        }
    }
    Ok(Measured {
        counts,
        nondeterministic,
    })
}

/// How many rows of a comparison fail the gate, and how many ask for a baseline refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Regressed or missing on one side.
    pub failed: usize,
    /// Fell by more than the threshold.
    pub improved: usize,
}

impl Tally {
    /// Count the verdicts of `rows`.
    pub fn of(rows: &[Row]) -> Tally {
        Tally {
            failed: rows.iter().filter(|r| r.verdict.fails()).count(),
            improved: rows
                .iter()
                .filter(|r| r.verdict == Verdict::Improved)
                .count(),
        }
    }
}

/// A scratch directory for callgrind's output files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    /// A new directory of its own: `create_dir` fails rather than share one that exists (a
    /// second [`measure`] in this process, or a stale one).
    fn new() -> Result<TempDir, String> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        // Relaxed: only uniqueness matters.
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("swapref-icount.{}.{n}", std::process::id()));
        std::fs::create_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        Ok(TempDir(d))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one valgrind run counted, and how many threads the worker had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    total: u64,
    threads: usize,
}

/// One valgrind run of the worker, killed after [`RUN_LIMIT`].
fn callgrind(
    plan: &Plan,
    dir: &Path,
    (name, op): (&str, Op),
    iters: u64,
    extra: u64,
) -> Result<Run, String> {
    let valgrind = &plan.valgrind;
    let out = dir.join(format!("callgrind.{name}.{op}.{iters}"));
    let mut child = Command::new(valgrind)
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--toggle-collect={MEASURED}"))
        .arg(&plan.worker.0)
        .args(&plan.worker.1)
        .args(["--strategy", name, "--op", op.name()])
        .args(["--iters", &iters.to_string(), "--extra", &extra.to_string()])
        .args(["--rcu", plan.flavor.name()])
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
    let threads = super::worker::Worked::parse(&stdout)
        .ok_or_else(|| format!("worker printed no thread count: {stdout:?}"))?
        .threads;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let total =
        super::callgrind_total(&text).ok_or_else(|| format!("{}: no Ir total", out.display()))?;
    Ok(Run { total, threads })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inject_parses_and_names_what_is_wrong() {
        let i: Inject = "atomic:lookup:4".parse().unwrap();
        assert_eq!(
            (i.strategy.as_str(), i.op, i.extra),
            ("atomic", Op::Lookup, 4)
        );
        for bad in [
            "atomic",
            "atomic:lookup",
            "atomic:lookup:x",
            "atomic:nope:1",
            "a:b:c:d",
        ] {
            let e = bad.parse::<Inject>().unwrap_err();
            assert!(e.contains("STRATEGY:OP:N"), "{bad}: {e}");
        }
        assert!("nosuch:lookup:1".parse::<Inject>().is_err());
    }

    #[test]
    fn a_missing_valgrind_is_named() {
        let e = valgrind_version("/nonexistent/valgrind").unwrap_err();
        assert!(e.contains("/nonexistent/valgrind"), "{e}");
    }
}
