//! Instruction counts per operation, for the CI regression gate (`swapref-icount`).
//!
//! Wall-clock numbers on a shared CI runner move by a few percent from run to run; the number
//! of instructions a single-threaded path retires under callgrind does not. The gate counts,
//! per strategy:
//!
//! - [`Op::Lookup`]: `get_swap_device` + read one `swap_map` byte + put, one reader, no churn;
//! - [`Op::Cycle`]: one swapoff + swapon of one device, with one idle registered reader.
//!
//! # Why callgrind, and what it can count
//!
//! Valgrind runs one guest thread at a time, so only single-thread paths give numbers that mean
//! something; contention (the `churn` benches) is not in the gate. Some strategies' swapoff is
//! not a single-thread path either: the percpu strategies' `percpu_ref_kill` hands the switch to
//! atomic mode to the `call_rcu` worker thread, and what the calling thread executes then
//! depends on how valgrind interleaves the two (it differed between identical runs). The
//! worker therefore reports how many threads the process had while the op ran; an op that ran
//! with more than one thread is recorded as *excluded*, with that reason, instead of counted.
//!
//! Per-op counts are exact differences: each (strategy, op) runs twice under
//! `valgrind --tool=callgrind --toggle-collect=<measured function>`, with `n1` and `n2`
//! iterations, and the count is `(I(n2) − I(n1)) / (n2 − n1)`: set-up, warm-up and the call of
//! the measured function cancel out.
//!
//! # Why not gungraun
//!
//! The gate drives valgrind itself ([`gate`]) rather than through gungraun (the renamed
//! iai-callgrind), which the Rust ecosystem uses for such gates. What it would not serve as
//! the gate is built today:
//!
//! - **Baselines in the repository.** The gate compares with one committed JSON file per RCU
//!   flavour, reviewed in the diff of the commit that changes a count. gungraun keeps its
//!   baselines as callgrind output files under `target/gungraun/`, where a fresh clone (CI)
//!   has none; they would have to be committed from that directory's layout instead.
//! - **Excluding what is not single-threaded.** An op that ran with more than one thread (the
//!   percpu strategies' swapoff hands work to the `call_rcu` worker) is recorded as excluded
//!   with the reason, rather than counted.
//! - **The runner.** gungraun needs a `gungraun-runner` binary of exactly the library's
//!   version, which CI would `cargo install` on every fresh clone.
//!
//! # The gate
//!
//! [`compare`] puts a fresh [`Counts`] next to the committed baseline
//! (`results/ci-baseline.json`): a count more than `threshold` (default 2 %) above its
//! baseline is a regression and fails CI; one more than `threshold` below is reported as an
//! improvement that asks for a baseline refresh; anything else passes. A strategy or op missing
//! on one side fails too (refresh the baseline after adding a strategy).

pub mod gate;
pub mod worker;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The `schema` field of a baseline file.
pub const SCHEMA: &str = "swapref-icount";
/// The baseline format this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;
/// Default gate threshold: a 2 % rise fails.
pub const DEFAULT_THRESHOLD: f64 = 0.02;

/// A counted operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `get_swap_device` + one byte + put.
    Lookup,
    /// One swapoff + swapon.
    Cycle,
}

impl Op {
    /// Both ops, in report order.
    pub const ALL: [Op; 2] = [Op::Lookup, Op::Cycle];

    /// `lookup` or `cycle`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Lookup => "lookup",
            Op::Cycle => "cycle",
        }
    }

    /// Parse [`Op::name`].
    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.name() == s)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Instructions per op, per strategy: a baseline file or a fresh measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `valgrind --version` of the run.
    pub valgrind: String,
    /// RCU flavour the RCU strategies were pinned to (`fence` by default; never `auto`, which
    /// would depend on the machine's kernel).
    pub rcu_flavor: String,
    /// How the counts were made, for a reader of the file.
    pub method: String,
    /// strategy → op → instructions per op.
    pub counts: BTreeMap<String, BTreeMap<Op, f64>>,
    /// strategy → op → why it is not counted (it is not a single-thread path).
    #[serde(default)]
    pub excluded: BTreeMap<String, BTreeMap<Op, String>>,
}

/// Why a baseline could not be read.
#[derive(Debug)]
pub enum CountsError {
    /// Reading failed.
    Io(PathBuf, std::io::Error),
    /// Not JSON or not this shape.
    Malformed(PathBuf, String),
    /// Another schema or version.
    Version(PathBuf, String),
}

impl fmt::Display for CountsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountsError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            CountsError::Malformed(p, e) => write!(f, "{}: malformed baseline: {e}", p.display()),
            CountsError::Version(p, v) => write!(
                f,
                "{}: baseline is {v}, this build reads {SCHEMA} v{SCHEMA_VERSION}",
                p.display()
            ),
        }
    }
}

impl std::error::Error for CountsError {}

impl Counts {
    /// Parse and validate a baseline document.
    pub fn from_json(path: &Path, text: &str) -> Result<Counts, CountsError> {
        let c: Counts = serde_json::from_str(text)
            .map_err(|e| CountsError::Malformed(path.into(), e.to_string()))?;
        if c.schema != SCHEMA || c.schema_version != SCHEMA_VERSION {
            return Err(CountsError::Version(
                path.into(),
                format!("{} v{}", c.schema, c.schema_version),
            ));
        }
        Ok(c)
    }

    /// Read a baseline file.
    pub fn load(path: &Path) -> Result<Counts, CountsError> {
        let text = std::fs::read_to_string(path).map_err(|e| CountsError::Io(path.into(), e))?;
        Self::from_json(path, &text)
    }

    /// Write as pretty JSON, atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        crate::results::write_atomic(path, text.as_bytes())
    }
}

/// Instructions per op from two runs of `n1 < n2` iterations that counted `i1` and `i2`.
/// `None` when the counts do not grow with the iterations: something else was counted, or
/// nothing (a stripped binary, where `--toggle-collect` finds no measured function and every
/// total is 0, would otherwise pass the gate as a 100 % improvement).
pub fn per_op(n1: u64, i1: u64, n2: u64, i2: u64) -> Option<f64> {
    if n2 <= n1 || i2 <= i1 {
        return None;
    }
    Some((i2 - i1) as f64 / (n2 - n1) as f64)
}

/// How two measurements of one (strategy, op) agree, for the gate's determinism check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agreement {
    /// The same totals.
    Identical,
    /// Per-op counts that differ by less than a hundredth of the gate's threshold (a stray
    /// instruction or two over a hundred cycles, e.g. a spin that ran once more): far below
    /// anything the gate judges, so not a failure. The relative difference is given.
    Within(f64),
    /// Per-op counts that differ by more: the measurement is not deterministic.
    Different(f64),
}

/// Compare two measurements `(I(n1), I(n2))` of the same op against the gate's `threshold` (a
/// fraction, 0.02 for 2 %).
pub fn agreement(n1: u64, n2: u64, a: (u64, u64), b: (u64, u64), threshold: f64) -> Agreement {
    if a == b {
        return Agreement::Identical;
    }
    match (per_op(n1, a.0, n2, a.1), per_op(n1, b.0, n2, b.1)) {
        (Some(x), Some(y)) if x > 0.0 => {
            let rel = (x - y).abs() / x;
            if rel <= threshold / 100.0 {
                Agreement::Within(rel)
            } else {
                Agreement::Different(rel)
            }
        }
        _ => Agreement::Different(f64::INFINITY),
    }
}

/// The total instruction count (`Ir`) of a callgrind output file's `totals:` (or `summary:`)
/// line. With `--toggle-collect` that is the collected part only.
pub fn callgrind_total(text: &str) -> Option<u64> {
    let mut events: Option<Vec<&str>> = None;
    let mut total = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("events:") {
            events = Some(rest.split_whitespace().collect());
        } else if let Some(rest) = line
            .strip_prefix("totals:")
            .or_else(|| line.strip_prefix("summary:"))
        {
            let col = events.as_ref()?.iter().position(|e| *e == "Ir")?;
            total = rest.split_whitespace().nth(col)?.parse().ok();
        }
    }
    total
}

/// The gate's verdict on one count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the threshold.
    Same,
    /// Above baseline by more than the threshold: fails the gate.
    Regressed,
    /// Below baseline by more than the threshold: passes, asks for a baseline refresh.
    Improved,
    /// In the baseline but not measured: fails the gate.
    Missing,
    /// Measured but not in the baseline: fails the gate (refresh the baseline).
    New,
    /// Not a single-thread path in baseline and measurement: not gated.
    Excluded,
}

impl Verdict {
    /// Whether this verdict fails the gate.
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Regressed | Verdict::Missing | Verdict::New)
    }

    /// Word for the table.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Same => "ok",
            Verdict::Regressed => "REGRESSED",
            Verdict::Improved => "improved (refresh baseline)",
            Verdict::Missing => "MISSING",
            Verdict::New => "NEW (refresh baseline)",
            Verdict::Excluded => "excluded (not single-threaded)",
        }
    }
}

/// One row of the gate's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Strategy.
    pub strategy: String,
    /// Op.
    pub op: Op,
    /// Baseline instructions per op.
    pub old: Option<f64>,
    /// Measured instructions per op.
    pub new: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Row {
    /// `new / old`, when both exist and `old > 0`.
    pub fn ratio(&self) -> Option<f64> {
        match (self.old, self.new) {
            (Some(o), Some(n)) if o > 0.0 => Some(n / o),
            _ => None,
        }
    }
}

/// Compare a measurement with the baseline; rows in strategy, op order.
pub fn compare(baseline: &Counts, measured: &Counts, threshold: f64) -> Vec<Row> {
    let mut keys: Vec<(String, Op)> = Vec::new();
    for c in [baseline, measured] {
        for map in [
            c.counts
                .iter()
                .map(|(s, m)| (s, m.keys().copied().collect::<Vec<_>>()))
                .collect::<Vec<_>>(),
            c.excluded
                .iter()
                .map(|(s, m)| (s, m.keys().copied().collect()))
                .collect(),
        ] {
            for (s, ops) in map {
                for op in ops {
                    if !keys.contains(&(s.clone(), op)) {
                        keys.push((s.clone(), op));
                    }
                }
            }
        }
    }
    keys.sort();
    keys.into_iter()
        .map(|(strategy, op)| {
            let get = |c: &Counts| c.counts.get(&strategy).and_then(|m| m.get(&op)).copied();
            let excluded = |c: &Counts| {
                c.excluded
                    .get(&strategy)
                    .is_some_and(|m| m.contains_key(&op))
            };
            let both_excluded = excluded(baseline) && excluded(measured);
            let (old, new) = (get(baseline), get(measured));
            let verdict = match (old, new) {
                (None, None) if both_excluded => Verdict::Excluded,
                (Some(_), None) => Verdict::Missing,
                (None, _) => Verdict::New,
                (Some(o), Some(n)) if n > o * (1.0 + threshold) => Verdict::Regressed,
                (Some(o), Some(n)) if n < o * (1.0 - threshold) => Verdict::Improved,
                _ => Verdict::Same,
            };
            Row {
                strategy,
                op,
                old,
                new,
                verdict,
            }
        })
        .collect()
}

/// The rows as a fixed-width table: strategy, op, old, new, ratio, verdict.
pub fn render(rows: &[Row]) -> String {
    let num = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    let w = rows
        .iter()
        .map(|r| r.strategy.len())
        .chain([8])
        .max()
        .unwrap_or(8);
    let mut out = format!(
        "{:w$}  {:6}  {:>12}  {:>12}  {:>7}  verdict\n",
        "strategy", "op", "old instr/op", "new instr/op", "ratio"
    );
    for r in rows {
        out.push_str(&format!(
            "{:w$}  {:6}  {:>12}  {:>12}  {:>7}  {}\n",
            r.strategy,
            r.op.name(),
            num(r.old),
            num(r.new),
            r.ratio().map_or("-".to_string(), |x| format!("{x:.4}")),
            r.verdict.word()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(entries: &[(&str, Op, f64)]) -> Counts {
        let mut c = Counts {
            schema: SCHEMA.into(),
            schema_version: SCHEMA_VERSION,
            valgrind: "valgrind-3.19.0".into(),
            rcu_flavor: "fence".into(),
            method: "test".into(),
            counts: BTreeMap::new(),
            excluded: BTreeMap::new(),
        };
        for (s, op, v) in entries {
            c.counts.entry(s.to_string()).or_default().insert(*op, *v);
        }
        c
    }

    #[test]
    fn per_op_is_the_exact_difference() {
        assert_eq!(per_op(1000, 5_000_123, 3000, 15_000_123), Some(5000.0));
        assert_eq!(per_op(1000, 10, 1000, 10), None);
        assert_eq!(per_op(1000, 10, 2000, 9), None);
        assert_eq!(
            per_op(1000, 0, 2000, 0),
            None,
            "nothing counted is no count"
        );
    }

    #[test]
    fn callgrind_totals_are_read_from_the_ir_column() {
        let text = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir Dr\nfn=(1) main\n1 5 2\n\
                    totals: 12345 678\n";
        assert_eq!(callgrind_total(text), Some(12345));
        let text = "events: Dr Ir\nsummary: 1 99\n";
        assert_eq!(callgrind_total(text), Some(99));
        assert_eq!(callgrind_total("events: Ir\n"), None);
        assert_eq!(callgrind_total("totals: 5\n"), None, "no events line");
    }

    #[test]
    fn the_gate_fails_above_the_threshold_only() {
        let base = counts(&[
            ("a", Op::Lookup, 100.0),
            ("b", Op::Lookup, 100.0),
            ("c", Op::Lookup, 100.0),
            ("d", Op::Cycle, 1000.0),
        ]);
        let new = counts(&[
            ("a", Op::Lookup, 102.0), // exactly +2 %: allowed
            ("b", Op::Lookup, 102.5), // +2.5 %: fails
            ("c", Op::Lookup, 90.0),  // -10 %: improvement, passes
            ("e", Op::Lookup, 50.0),  // not in the baseline
        ]);
        let rows = compare(&base, &new, DEFAULT_THRESHOLD);
        let v: Vec<_> = rows
            .iter()
            .map(|r| (r.strategy.as_str(), r.op, r.verdict))
            .collect();
        assert_eq!(
            v,
            vec![
                ("a", Op::Lookup, Verdict::Same),
                ("b", Op::Lookup, Verdict::Regressed),
                ("c", Op::Lookup, Verdict::Improved),
                ("d", Op::Cycle, Verdict::Missing),
                ("e", Op::Lookup, Verdict::New),
            ]
        );
        assert!(rows[1].verdict.fails() && !rows[2].verdict.fails());
        let table = render(&rows);
        assert!(
            table.contains("1.0250") && table.contains("REGRESSED"),
            "{table}"
        );
        assert!(table.contains("improved (refresh baseline)"), "{table}");
    }

    #[test]
    fn excluded_ops_are_not_gated_unless_they_change_state() {
        let mut base = counts(&[("p", Op::Lookup, 30.0)]);
        base.excluded
            .entry("p".into())
            .or_default()
            .insert(Op::Cycle, "2 threads".into());
        let rows = compare(&base, &base, 0.0);
        assert_eq!(rows[1].verdict, Verdict::Excluded);
        assert!(!rows[1].verdict.fails());
        // Counted in the baseline, excluded now: the count is missing, which fails.
        let mut now = base.clone();
        now.excluded.clear();
        now.excluded
            .entry("p".into())
            .or_default()
            .insert(Op::Lookup, "2 threads".into());
        now.counts.clear();
        now.counts
            .entry("p".into())
            .or_default()
            .insert(Op::Cycle, 4000.0);
        let v: Vec<_> = compare(&base, &now, 0.0)
            .iter()
            .map(|r| r.verdict)
            .collect();
        assert_eq!(v, vec![Verdict::Missing, Verdict::New]);
    }

    /// The determinism check tolerates a stray instruction (CI saw `rcu-valid cycle` differ by
    /// one in 457845 between two runs) and nothing the gate could mistake for a change.
    #[test]
    fn determinism_tolerates_a_stray_instruction_not_a_change() {
        assert_eq!(
            agreement(100, 200, (228945, 457845), (228945, 457845), 0.02),
            Agreement::Identical
        );
        assert!(matches!(
            agreement(100, 200, (228945, 457845), (228945, 457844), 0.02),
            Agreement::Within(_)
        ));
        // 0.1 % per op: a twentieth of the threshold, which the gate would not flag but
        // which is no stray instruction either.
        assert!(matches!(
            agreement(100, 200, (228945, 457845), (228945, 457845 + 229), 0.02),
            Agreement::Different(_)
        ));
        assert!(matches!(
            agreement(100, 200, (228945, 457845), (457845, 228945), 0.02),
            Agreement::Different(_)
        ));
    }

    #[test]
    fn identical_counts_pass() {
        let c = counts(&[("a", Op::Lookup, 17.0), ("a", Op::Cycle, 4000.0)]);
        assert!(
            compare(&c, &c, 0.0)
                .iter()
                .all(|r| r.verdict == Verdict::Same)
        );
    }

    #[test]
    fn baselines_round_trip_and_other_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        let c = counts(&[("a", Op::Lookup, 17.5)]);
        c.save(&p).unwrap();
        assert_eq!(Counts::load(&p).unwrap(), c);
        let mut v = serde_json::to_value(&c).unwrap();
        v["schema_version"] = 2.into();
        assert!(matches!(
            Counts::from_json(&p, &v.to_string()),
            Err(CountsError::Version(..))
        ));
        assert!(matches!(
            Counts::from_json(&p, "[1,"),
            Err(CountsError::Malformed(..))
        ));
    }
}
