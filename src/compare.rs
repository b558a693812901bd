//! `swapref compare BASE NEW`: which points got worse or better between runs, calling a change
//! only where the measured noise cannot explain it.
//!
//! # The rule
//!
//! Each side is one results file or several (runs of one build, pooled). Points are matched by
//! [`Point::key`] (series, readers, period); points only one side has are listed, not judged.
//! For every shared point four metrics are judged, each from its per-repeat values:
//!
//! | metric | per repeat | threshold |
//! | --- | --- | --- |
//! | `ns/lookup` | ns per *successful* lookup (failed lookups are cheap: counting them would read as faster) | `--threshold`, 5 % |
//! | `failed` | failed-lookup rate, plus an offset of 0.1 % so that 0 → 0.05 % is no "infinite" change | `--failed-threshold`, 25 % |
//! | `swapoff p50`, `swapoff p99` | that repeat's swapoff latency percentiles | `--latency-threshold`, 25 % |
//!
//! The statistic is the ratio of the pooled 10 % trimmed means ([`TRIM`]), new / base (above
//! 1 = worse for every metric). A trimmed mean, not the median: on the reference VM ns/lookup
//! is spread about evenly between windows (each gets a fresh table and pool, so a fresh
//! layout), with a few outliers; the median rests on one or two of 40 values and needs a much
//! larger change to clear that noise, while the trimmed mean uses 32 of them and still ignores
//! the 4 lowest and 4 highest. Its interval is a seeded percentile bootstrap at 99 % ([`CONFIDENCE`],
//! [`RESAMPLES`]): with two runs or more on a side, runs are resampled and then repeats within
//! them, so the spread *between* runs widens the interval; with one run a side only its
//! repeats are, and between-run effects must be covered by the threshold. The verdict, as
//! criterion calls it against its noise threshold:
//!
//! - **regressed** when the whole interval lies above `1 + threshold`;
//! - **improved** when the whole interval lies below `1 − threshold`;
//! - **unchanged** otherwise ("within ±5 %" when the interval lies inside, "within noise"
//!   when it straddles a bound);
//! - **failed** when either side's point failed; **n/a** when a side has no values for the
//!   metric (no swap cycles; a version 1 file without per-repeat latencies) or fewer than
//!   [`MIN_REPEATS`].
//!
//! A point's verdict is its worst metric's.
//!
//! # What ns/lookup is divided by (`--normalize`)
//!
//! A shared machine has slow phases lasting from tens of milliseconds to seconds, which slow
//! some code far more than other code: on the 2-CPU reference VM a strategy's windows fall
//! into a fast and a slow mode (percpu about 6 or 10 ns) while `unprotected` barely moves.
//! By default (`floor`) each repeat's ns per successful lookup is divided by its own floor
//! ([`crate::measure::floor`]), a fixed loop timed on the reader's CPU just before that
//! window, which slows down in the same phases. `unprotected` divides by the same round's
//! repeat of the run's `unprotected` point at the same reader count instead (the pairing of
//! tango-bench; it cancels what slows both, not the phases that spare `unprotected`; the
//! reference itself then has no cost verdict); `none` judges ns as measured. A row whose files
//! lack the divisor (a version 1 file has no floors; a run without `unprotected`) is judged as
//! measured, with a warning. `scripts/aa-compare.sh` measures the false-alarm and detection
//! rates of all three on the same runs; its committed output is
//! `results/reference/vm-2cpu/aa-compare.md`.
//!
//! Runs on different machines, configurations or schema versions are compared anyway, with a
//! warning per difference ([`Comparison::warnings`]).

use crate::results::{Point, Repeat, Results, ResultsError, Status};
use crate::stats;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Default threshold for ns/lookup: a change must exceed 5 %.
pub const DEFAULT_THRESHOLD: f64 = 0.05;
/// Default threshold for the failed-lookup rate.
pub const DEFAULT_FAILED_THRESHOLD: f64 = 0.25;
/// Default threshold for swapoff latency percentiles.
pub const DEFAULT_LATENCY_THRESHOLD: f64 = 0.25;
/// Confidence of the bootstrap interval.
pub const CONFIDENCE: f64 = 0.99;
/// Bootstrap resamples per metric.
pub const RESAMPLES: usize = 4000;
/// Fewer repeats than this on a side: no verdict (`n/a`), there is no spread to judge by.
pub const MIN_REPEATS: usize = 3;
/// Offset added to failed-lookup rates before their ratio is taken (0.1 %).
pub const FAILED_OFFSET: f64 = 0.001;
/// The share of values a side's statistic cuts at each end: a 10 % trimmed mean.
pub const TRIM: f64 = 0.1;

/// Seed of the bootstrap: the same files give the same verdicts.
const SEED: u64 = 0x5eed_c0de;

/// What ns per successful lookup is divided by before it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// Judged as measured.
    None,
    /// Divided by each repeat's floor loop ([`crate::measure::floor`]).
    Floor,
    /// Divided by the same run's `unprotected` point at the same reader count, repeat by
    /// repeat of the same round: both were measured within one round, a few hundred
    /// milliseconds apart, so a slow phase of the machine moves both.
    Unprotected,
}

impl Normalize {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Normalize::None => "none",
            Normalize::Floor => "floor",
            Normalize::Unprotected => "unprotected",
        }
    }

    /// Parse a command-line name.
    pub fn parse(s: &str) -> Option<Normalize> {
        [Normalize::None, Normalize::Floor, Normalize::Unprotected]
            .into_iter()
            .find(|n| n.name() == s)
    }
}

/// The strategy every other is divided by under [`Normalize::Unprotected`].
pub const REFERENCE: &str = "unprotected";

/// What `compare` judges and how.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Options {
    /// Threshold for ns/lookup, a fraction.
    pub threshold: f64,
    /// Threshold for the failed-lookup rate.
    pub failed_threshold: f64,
    /// Threshold for swapoff p50 and p99.
    pub latency_threshold: f64,
    /// What ns/lookup is divided by.
    pub normalize: Normalize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threshold: DEFAULT_THRESHOLD,
            failed_threshold: DEFAULT_FAILED_THRESHOLD,
            latency_threshold: DEFAULT_LATENCY_THRESHOLD,
            normalize: Normalize::Floor,
        }
    }
}

/// A judged quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// ns per successful lookup (divided as [`Options::normalize`] says).
    NsPerLookup,
    /// Failed lookups / lookups.
    FailedRate,
    /// Swapoff latency, median of the repeat.
    SwapoffP50,
    /// Swapoff latency, 99th percentile of the repeat.
    SwapoffP99,
}

impl Metric {
    /// All, in table order.
    pub const ALL: [Metric; 4] = [
        Metric::NsPerLookup,
        Metric::FailedRate,
        Metric::SwapoffP50,
        Metric::SwapoffP99,
    ];

    /// The name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Metric::NsPerLookup => "ns/lookup",
            Metric::FailedRate => "failed",
            Metric::SwapoffP50 => "swapoff p50",
            Metric::SwapoffP99 => "swapoff p99",
        }
    }

    fn threshold(self, o: &Options) -> f64 {
        match self {
            Metric::NsPerLookup => o.threshold,
            Metric::FailedRate => o.failed_threshold,
            Metric::SwapoffP50 | Metric::SwapoffP99 => o.latency_threshold,
        }
    }

    fn offset(self) -> f64 {
        match self {
            Metric::FailedRate => FAILED_OFFSET,
            _ => 0.0,
        }
    }

    /// This metric's value for each repeat of `p` that has one; ns/lookup divided by `by`.
    pub fn values(self, p: &Point, by: Divisor<'_>) -> Vec<f64> {
        p.repeats
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match self {
                Metric::NsPerLookup => {
                    let ns = ns_per_successful_lookup(r)?;
                    match by {
                        Divisor::None => Some(ns),
                        Divisor::Floor => r.floor_ns.filter(|f| *f > 0.0).map(|f| ns / f),
                        Divisor::Point(u) => {
                            // The repeat of the same round (a version 1 file has no rounds:
                            // the same index, which ran at a different time, so no better
                            // than none; warned about).
                            let same = match r.round {
                                Some(k) => u.repeats.iter().find(|x| x.round == Some(k)),
                                None => u.repeats.get(i),
                            };
                            same.and_then(ns_per_successful_lookup)
                                .filter(|d| *d > 0.0)
                                .map(|d| ns / d)
                        }
                    }
                }
                Metric::FailedRate => {
                    let lookups: u64 = r.lookups_per_reader.iter().sum();
                    (lookups > 0).then(|| r.failed_lookups as f64 / lookups as f64)
                }
                Metric::SwapoffP50 => r.swapoff_latency_ns.map(|l| l.p50 as f64),
                Metric::SwapoffP99 => r.swapoff_latency_ns.map(|l| l.p99 as f64),
            })
            .filter(|v| v.is_finite() && *v >= 0.0)
            .collect()
    }
}

/// What one point's ns/lookup values are divided by.
#[derive(Debug, Clone, Copy)]
pub enum Divisor<'a> {
    /// Nothing.
    None,
    /// Each repeat's floor.
    Floor,
    /// The same round's repeat of this point (the run's reference point).
    Point(&'a Point),
}

/// Window time × readers / successful lookups: ns per successful lookup of one repeat.
fn ns_per_successful_lookup(r: &Repeat) -> Option<f64> {
    let lookups: u64 = r.lookups_per_reader.iter().sum();
    let ok = lookups.saturating_sub(r.failed_lookups);
    (ok > 0).then(|| r.window_ns as f64 * r.lookups_per_reader.len() as f64 / ok as f64)
}

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing to judge.
    NotApplicable,
    /// Neither better nor worse beyond the noise and the threshold.
    Unchanged,
    /// Better beyond the threshold, the whole interval.
    Improved,
    /// Worse beyond the threshold, the whole interval.
    Regressed,
    /// One side's point failed.
    Failed,
}

impl Verdict {
    /// The word in tables.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Failed => "failed",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// One metric of one point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    /// Which metric.
    pub metric: Metric,
    /// 10 % trimmed mean of the base side's values (`None`: none).
    pub base: Option<f64>,
    /// 10 % trimmed mean of the new side's values.
    pub new: Option<f64>,
    /// Values per side.
    pub n: [usize; 2],
    /// new / base of the trimmed means (with the metric's offset).
    pub ratio: Option<f64>,
    /// The bootstrap interval of the ratio.
    pub interval: Option<[f64; 2]>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in a few words.
    pub why: String,
}

/// One point both sides have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Series (strategy, `@flavour` for a strategy over the RCU).
    pub strategy: String,
    /// Reader threads.
    pub readers: usize,
    /// Swap period, ns; `None` = never.
    pub period_ns: Option<u64>,
    /// Hold, ns.
    pub hold_ns: u64,
    /// What this row's ns/lookup was divided by: [`Options::normalize`], except `none` for the
    /// reference itself and for a point some file has no reference for.
    pub divided_by: Normalize,
    /// The metrics, in [`Metric::ALL`] order.
    pub metrics: Vec<Judged>,
    /// The worst verdict of the metrics.
    pub verdict: Verdict,
}

impl Row {
    /// The metric `m`.
    pub fn get(&self, m: Metric) -> &Judged {
        self.metrics
            .iter()
            .find(|j| j.metric == m)
            .expect("every row has every metric")
    }
}

/// One side's files, as a report names them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// Files given.
    pub files: Vec<String>,
    /// Commits that built them (`?` unknown), deduplicated.
    pub commits: Vec<String>,
    /// Machines (hostname, CPU model, label), deduplicated.
    pub machines: Vec<String>,
    /// RCU flavours the points used, deduplicated.
    pub flavours: Vec<String>,
    /// Median floor over every repeat, ns (`None`: none recorded).
    pub floor_ns: Option<f64>,
}

/// The result of comparing two sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Thresholds and normalisation.
    pub options: Options,
    /// The base side.
    pub base: Side,
    /// The new side.
    pub new: Side,
    /// One row per shared point, in the first base file's order.
    pub rows: Vec<Row>,
    /// Points only the base side has, described.
    pub only_base: Vec<String>,
    /// Points only the new side has, described.
    pub only_new: Vec<String>,
    /// Differences in machine or configuration, and other caveats; one line each.
    pub warnings: Vec<String>,
}

impl Comparison {
    /// Rows with this verdict.
    pub fn count(&self, v: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == v).count()
    }

    /// Whether any point regressed or failed (the CLI exits 1 then).
    pub fn has_regression(&self) -> bool {
        self.count(Verdict::Regressed) + self.count(Verdict::Failed) > 0
    }
}

/// Why two sides cannot be compared.
#[derive(Debug)]
pub enum CompareError {
    /// A file could not be read or is not a results file of a known version.
    Results(ResultsError),
    /// A side has no file.
    NoFiles(&'static str),
    /// The same key twice in one file.
    DuplicatePoint {
        /// The file.
        file: String,
        /// The point's key, described.
        point: String,
    },
    /// The two sides share no point.
    NothingShared,
    /// A threshold is not a fraction in `[0, 1)`.
    BadThreshold(f64),
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareError::Results(e) => e.fmt(f),
            CompareError::NoFiles(side) => write!(f, "no {side} file given"),
            CompareError::DuplicatePoint { file, point } => {
                write!(f, "point {point} appears twice in {file}")
            }
            CompareError::NothingShared => {
                write!(
                    f,
                    "the two sides share no point (strategy, readers, period)"
                )
            }
            CompareError::BadThreshold(t) => {
                write!(f, "threshold {t} is not a fraction in [0, 1)")
            }
        }
    }
}

impl std::error::Error for CompareError {}

impl From<ResultsError> for CompareError {
    fn from(e: ResultsError) -> Self {
        CompareError::Results(e)
    }
}

type Key = crate::results::PointKey;

/// `strategy/readers/period`, and `/hold 100ns` for a point that holds, as tables show a
/// point.
pub fn describe(key: &Key) -> String {
    format!(
        "{}/{}r/{}{}",
        key.0,
        key.1,
        period(key.2),
        hold_suffix(key.3)
    )
}

/// `/hold 100ns`, or nothing for no hold.
fn hold_suffix(hold_ns: u64) -> String {
    if hold_ns == 0 {
        String::new()
    } else {
        format!("/hold {}", period(Some(hold_ns)))
    }
}

use crate::format::period_ns as period;

/// A file of a side: its name for messages and its results.
pub type Named<'a> = (&'a str, &'a Results);

fn index<'a>(name: &str, r: &'a Results) -> Result<BTreeMap<Key, &'a Point>, CompareError> {
    let mut m = BTreeMap::new();
    for p in &r.points {
        if m.insert(p.key(), p).is_some() {
            return Err(CompareError::DuplicatePoint {
                file: name.into(),
                point: describe(&p.key()),
            });
        }
    }
    Ok(m)
}

/// Judge one metric from per-run value lists.
fn judge(metric: Metric, base: &[Vec<f64>], new: &[Vec<f64>], o: &Options) -> Judged {
    let n = [
        base.iter().map(Vec::len).sum(),
        new.iter().map(Vec::len).sum(),
    ];
    let med = |s: &[Vec<f64>]| {
        stats::trimmed_mean(&mut s.iter().flatten().copied().collect::<Vec<_>>(), TRIM)
    };
    let mut j = Judged {
        metric,
        base: med(base),
        new: med(new),
        n,
        ratio: None,
        interval: None,
        verdict: Verdict::NotApplicable,
        why: String::new(),
    };
    if n[0] == 0 || n[1] == 0 {
        j.why = "no values on a side".into();
        return j;
    }
    let t = metric.threshold(o);
    let pct = format!("{}%", t * 100.0);
    let seed = SEED ^ metric as u64;
    let Some((ratio, lo, hi)) = stats::ratio_interval(
        base,
        new,
        metric.offset(),
        TRIM,
        CONFIDENCE,
        RESAMPLES,
        seed,
    ) else {
        j.why = "base is zero".into();
        return j;
    };
    j.ratio = Some(ratio);
    if n[0] < MIN_REPEATS || n[1] < MIN_REPEATS {
        j.why = format!("fewer than {MIN_REPEATS} repeats a side");
        return j;
    }
    j.interval = Some([lo, hi]);
    (j.verdict, j.why) = if lo > 1.0 + t {
        (Verdict::Regressed, format!("all of the interval > +{pct}"))
    } else if hi < 1.0 - t {
        (Verdict::Improved, format!("all of the interval < -{pct}"))
    } else if lo >= 1.0 - t && hi <= 1.0 + t {
        (Verdict::Unchanged, format!("within ±{pct}"))
    } else {
        (Verdict::Unchanged, "within noise".into())
    };
    j
}

fn side(files: &[Named<'_>]) -> Side {
    let mut commits = BTreeSet::new();
    let mut machines = BTreeSet::new();
    let mut flavours = BTreeSet::new();
    let mut floors = Vec::new();
    for (_, r) in files {
        commits.insert(r.tool.git_commit.clone().unwrap_or_else(|| "?".into()));
        let e = &r.environment;
        let mut m = e.hostname.clone().unwrap_or_else(|| "?".into());
        if let Some(c) = &e.cpu_model {
            m.push_str(&format!(" ({c})"));
        }
        if let Some(l) = &e.label {
            m.push_str(&format!(", {l}"));
        }
        machines.insert(m);
        for p in &r.points {
            flavours.extend(p.rcu_flavor.clone());
            floors.extend(p.repeats.iter().filter_map(|x| x.floor_ns));
        }
    }
    Side {
        files: files.iter().map(|f| f.0.to_string()).collect(),
        commits: commits.into_iter().collect(),
        machines: machines.into_iter().collect(),
        flavours: flavours.into_iter().collect(),
        floor_ns: stats::median(&mut floors),
    }
}

/// Compare the runs of `base` with the runs of `new`.
pub fn compare(
    base: &[Named<'_>],
    new: &[Named<'_>],
    o: &Options,
) -> Result<Comparison, CompareError> {
    for t in [o.threshold, o.failed_threshold, o.latency_threshold] {
        if !(0.0..1.0).contains(&t) {
            return Err(CompareError::BadThreshold(t));
        }
    }
    if base.is_empty() {
        return Err(CompareError::NoFiles("base"));
    }
    if new.is_empty() {
        return Err(CompareError::NoFiles("new"));
    }
    let bi: Vec<_> = base
        .iter()
        .map(|(n, r)| index(n, r))
        .collect::<Result<_, _>>()?;
    let ni: Vec<_> = new
        .iter()
        .map(|(n, r)| index(n, r))
        .collect::<Result<_, _>>()?;
    // Keys in the first base file's order, then the others'.
    let mut order: Vec<Key> = Vec::new();
    for (_, r) in base.iter().chain(new) {
        for p in &r.points {
            if !order.contains(&p.key()) {
                order.push(p.key());
            }
        }
    }
    let on = |ix: &[BTreeMap<Key, &Point>], k: &Key| ix.iter().any(|m| m.contains_key(k));
    let mut rows = Vec::new();
    let (mut only_base, mut only_new) = (Vec::new(), Vec::new());
    for k in &order {
        match (on(&bi, k), on(&ni, k)) {
            (true, false) => only_base.push(describe(k)),
            (false, true) => only_new.push(describe(k)),
            _ => rows.push(row(k, &bi, &ni, o)),
        }
    }
    if rows.is_empty() {
        return Err(CompareError::NothingShared);
    }
    let warnings = warnings(base, new, &rows, o);
    Ok(Comparison {
        options: *o,
        base: side(base),
        new: side(new),
        rows,
        only_base,
        only_new,
        warnings,
    })
}

fn points_of<'m, 'a>(
    ix: &'m [BTreeMap<Key, &'a Point>],
    k: &Key,
) -> Vec<(&'m Index<'a>, &'a Point)> {
    ix.iter().filter_map(|m| Some((m, *m.get(k)?))).collect()
}

type Index<'a> = BTreeMap<Key, &'a Point>;

/// The reference point for `k` in one file: `unprotected` at the same readers, at the same
/// period if the run has it there (it does not churn, so any period will do otherwise).
fn reference<'a>(ix: &Index<'a>, k: &Key) -> Option<&'a Point> {
    ix.get(&(REFERENCE.to_string(), k.1, k.2, k.3))
        .or_else(|| {
            ix.iter()
                .find(|(q, _)| q.0 == REFERENCE && q.1 == k.1 && q.3 == k.3)
                .map(|(_, p)| p)
        })
        .copied()
}

fn row(k: &Key, bi: &[Index<'_>], ni: &[Index<'_>], o: &Options) -> Row {
    let (bp, np) = (points_of(bi, k), points_of(ni, k));
    // What this row's ns/lookup is divided by: the divisor only where every file of both
    // sides has it (else the two sides would be judged in different units).
    let is_reference = k.0 == REFERENCE;
    let has = |ix: &Index<'_>, p: &Point| match o.normalize {
        Normalize::None => true,
        Normalize::Floor => p
            .repeats
            .iter()
            .all(|r| r.floor_ns.is_some_and(|f| f > 0.0)),
        Normalize::Unprotected => !is_reference && reference(ix, k).is_some(),
    };
    let divided_by = if bp.iter().chain(&np).all(|(ix, p)| has(ix, p)) {
        o.normalize
    } else {
        Normalize::None
    };
    let failed = |ps: &[(&Index<'_>, &Point)]| ps.iter().any(|(_, p)| p.status == Status::Failed);
    let metrics = Metric::ALL
        .iter()
        .map(|&m| {
            let per_run = |ps: &[(&Index<'_>, &Point)]| -> Vec<Vec<f64>> {
                ps.iter()
                    .map(|(ix, p)| {
                        let by = match divided_by {
                            Normalize::None => Divisor::None,
                            Normalize::Floor => Divisor::Floor,
                            Normalize::Unprotected => {
                                Divisor::Point(reference(ix, k).expect("checked above"))
                            }
                        };
                        m.values(p, by)
                    })
                    .filter(|v| !v.is_empty())
                    .collect()
            };
            let mut j = judge(m, &per_run(&bp), &per_run(&np), o);
            if m == Metric::NsPerLookup
                && is_reference
                && o.normalize == Normalize::Unprotected
                && j.verdict != Verdict::NotApplicable
            {
                j.verdict = Verdict::NotApplicable;
                j.why = "the reference of --normalize unprotected".into();
            }
            if failed(&bp) || failed(&np) {
                j.verdict = Verdict::Failed;
                j.why = format!("{} point failed", if failed(&np) { "new" } else { "base" });
            }
            j
        })
        .collect::<Vec<_>>();
    let verdict = metrics
        .iter()
        .map(|j| j.verdict)
        .max()
        .unwrap_or(Verdict::NotApplicable);
    Row {
        strategy: k.0.clone(),
        readers: k.1,
        period_ns: k.2,
        hold_ns: k.3,
        divided_by,
        metrics,
        verdict,
    }
}

fn warnings(base: &[Named<'_>], new: &[Named<'_>], rows: &[Row], o: &Options) -> Vec<String> {
    let mut w = differences(base[0].1, new[0].1);
    for (label, files) in [("base", base), ("new", new)] {
        for (name, r) in files {
            if r.schema_version < 2 {
                w.push(format!(
                    "{name} is a version {} file: its repeats ran one point after another, so \
                     drift of the machine was not spread over its points, and it has no \
                     per-repeat latencies",
                    r.schema_version
                ));
            }
            if let Some(i) = &r.config.inject {
                w.push(format!(
                    "{name} ran with an injected cost ({i}): a test run"
                ));
            }
        }
        if files.len() == 1 {
            continue;
        }
        for (name, r) in &files[1..] {
            for d in differences(files[0].1, r) {
                w.push(format!("within the {label} side, {name}: {d}"));
            }
        }
    }
    if rows
        .iter()
        .any(|r| r.metrics.iter().any(|j| j.why.starts_with("fewer than")))
    {
        w.push(format!(
            "some points have fewer than {MIN_REPEATS} repeats a side: no verdict for them \
             (use --repeats 10 or more)"
        ));
    }
    if o.normalize != Normalize::None {
        let raw: Vec<String> = rows
            .iter()
            .filter(|r| r.divided_by == Normalize::None)
            .filter(|r| !(o.normalize == Normalize::Unprotected && r.strategy == REFERENCE))
            .map(|r| describe(&(r.strategy.clone(), r.readers, r.period_ns, r.hold_ns)))
            .collect();
        if !raw.is_empty() {
            let what = match o.normalize {
                Normalize::Floor => format!(
                    "a file has repeats without a floor (version 1); --normalize {}",
                    Normalize::Unprotected.name()
                ),
                _ => format!(
                    "a file has no {REFERENCE} point at that reader count; run it with \
                     --strategies ...,{REFERENCE}"
                ),
            };
            w.push(format!(
                "ns/lookup judged as measured, not divided by {}, for {} ({what})",
                o.normalize.name(),
                raw.join(", ")
            ));
        }
    }
    w
}

/// One line per difference in machine or configuration that can move the numbers.
pub fn differences(base: &Results, new: &Results) -> Vec<String> {
    let mut w = Vec::new();
    let (be, ne) = (&base.environment, &new.environment);
    let mut diff = |what: &str, a: String, b: String| {
        if a != b {
            w.push(format!("{what} differs: base {a}, new {b}"));
        }
    };
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
    let show = |v: &dyn fmt::Debug| format!("{v:?}");
    diff("machine (hostname)", opt(&be.hostname), opt(&ne.hostname));
    diff("CPU model", opt(&be.cpu_model), opt(&ne.cpu_model));
    diff("architecture", be.arch.clone(), ne.arch.clone());
    diff("kernel", opt(&be.kernel), opt(&ne.kernel));
    diff(
        "allowed CPUs",
        show(&be.allowed_cpus),
        show(&ne.allowed_cpus),
    );
    diff(
        "cpufreq governors",
        show(&be.governors),
        show(&ne.governors),
    );
    diff(
        "membarrier",
        be.membarrier.available.to_string(),
        ne.membarrier.available.to_string(),
    );
    let (bc, nc) = (&base.config, &new.config);
    diff(
        "config off_time_ns",
        show(&bc.off_time_ns),
        show(&nc.off_time_ns),
    );
    diff("config devices", show(&bc.devices), show(&nc.devices));
    diff("config pages", show(&bc.pages), show(&nc.pages));
    // Before version 3 the hold was one count of spin iterations for the whole run; now each
    // point's hold (ns) is part of its identity.
    let legacy = |c: &crate::results::RunConfig| c.hold.filter(|&h| h > 0);
    diff(
        "config hold (spin iterations, before version 3)",
        show(&legacy(bc)),
        show(&legacy(nc)),
    );
    diff(
        "config duration_ns",
        show(&bc.duration_ns),
        show(&nc.duration_ns),
    );
    diff("config warmup_ns", show(&bc.warmup_ns), show(&nc.warmup_ns));
    diff("config repeats", show(&bc.repeats), show(&nc.repeats));
    diff("config cpus", show(&bc.cpus), show(&nc.cpus));
    diff("config rcu", bc.rcu.clone(), nc.rcu.clone());
    diff(
        "build profile",
        base.tool.profile.clone(),
        new.tool.profile.clone(),
    );
    for (label, r) in [("base", base), ("new", new)] {
        if !r.complete {
            w.push(format!(
                "the {label} run is incomplete ({})",
                r.interrupted.as_deref().unwrap_or("no reason recorded")
            ));
        }
    }
    w
}

/// A metric's value as tables show it.
fn value(m: Metric, v: Option<f64>, by: Normalize) -> String {
    match v {
        None => "-".into(),
        Some(v) => match m {
            Metric::NsPerLookup if by == Normalize::Floor => format!("{v:.2}x floor"),
            Metric::NsPerLookup if by == Normalize::Unprotected => format!("{v:.3}x {REFERENCE}"),
            Metric::NsPerLookup => format!("{v:.2} ns"),
            Metric::FailedRate => format!("{:.3}%", v * 100.0),
            Metric::SwapoffP50 | Metric::SwapoffP99 => crate::format::ns(v),
        },
    }
}

fn ratio_cell(j: &Judged) -> String {
    match (j.ratio, j.interval) {
        (Some(r), Some([lo, hi])) => format!("{r:.3} [{lo:.3}, {hi:.3}]"),
        (Some(r), None) => format!("{r:.3}"),
        _ => "-".into(),
    }
}

/// The rows to show: every metric with values on both sides, except a failed-lookup rate
/// that is zero on both (nothing failed, nothing to say).
fn shown(c: &Comparison) -> Vec<(&Row, &Judged)> {
    let mut v = Vec::new();
    for r in &c.rows {
        for j in &r.metrics {
            let zero_failed = j.metric == Metric::FailedRate
                && j.base == Some(0.0)
                && j.new == Some(0.0)
                && j.verdict != Verdict::Failed;
            if (j.n[0] > 0 && j.n[1] > 0 && !zero_failed) || j.verdict == Verdict::Failed {
                v.push((r, j));
            }
        }
    }
    v
}

fn cells(r: &Row, j: &Judged) -> [String; 8] {
    [
        r.strategy.clone(),
        r.readers.to_string(),
        format!("{}{}", period(r.period_ns), hold_suffix(r.hold_ns)),
        j.metric.name().to_string(),
        value(j.metric, j.base, r.divided_by),
        value(j.metric, j.new, r.divided_by),
        ratio_cell(j),
        format!("{} ({})", j.verdict.word(), j.why),
    ]
}

const HEAD: [&str; 8] = [
    "strategy",
    "readers",
    "period",
    "metric",
    "base tmean",
    "new tmean",
    "ratio [99% interval]",
    "verdict",
];

fn names(s: &Side) -> String {
    let short: Vec<String> = s
        .commits
        .iter()
        .map(|c| c.chars().take(12).collect())
        .collect();
    format!(
        "{} file(s), commit {}, {}, rcu {}",
        s.files.len(),
        short.join("+"),
        s.machines.join(" + "),
        if s.flavours.is_empty() {
            "-".into()
        } else {
            s.flavours.join(",")
        }
    )
}

fn header(c: &Comparison) -> String {
    format!("base: {}\nnew:  {}\n", names(&c.base), names(&c.new))
}

fn footer(c: &Comparison) -> String {
    let mut s = summary(c);
    s.push('\n');
    s.push_str(match c.options.normalize {
        Normalize::Floor => {
            "ns/lookup is judged divided by each repeat's floor loop (--normalize floor; none: \
             as measured)\n"
        }
        Normalize::Unprotected => {
            "ns/lookup is judged divided by the same round's unprotected (--normalize \
             unprotected)\n"
        }
        Normalize::None => "ns/lookup is judged as measured (--normalize none)\n",
    });
    if c.base.files.len() == 1 || c.new.files.len() == 1 {
        s.push_str(
            "a side has one run: its interval sees the spread of its repeats, not the spread \
             between runs (give a comma list of runs a side to include it)\n",
        );
    }
    for (label, v) in [("only in base", &c.only_base), ("only in new", &c.only_new)] {
        if !v.is_empty() {
            s.push_str(&format!("{label} (not compared): {}\n", v.join(", ")));
        }
    }
    s
}

/// A fixed-width table for a terminal.
pub fn render_table(c: &Comparison) -> String {
    let rows: Vec<[String; 8]> = shown(c).into_iter().map(|(r, j)| cells(r, j)).collect();
    let mut w: Vec<usize> = HEAD.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, x) in r.iter().enumerate() {
            w[i] = w[i].max(x.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, x) in cells.iter().enumerate() {
            let pad = w[i] - x.chars().count();
            if i == cells.len() - 1 {
                s.push_str(x);
            } else if matches!(i, 1 | 2 | 4 | 5 | 6) {
                s.push_str(&" ".repeat(pad));
                s.push_str(x);
                s.push_str("  ");
            } else {
                s.push_str(x);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = header(c);
    out.push_str(&line(&HEAD.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push_str(&footer(c));
    out
}

fn summary(c: &Comparison) -> String {
    let o = &c.options;
    format!(
        "{} point(s): {} regressed, {} improved, {} unchanged, {} failed, {} n/a (verdict only \
         when the whole {}% bootstrap interval of the ratio is beyond ±{}% for ns/lookup, \
         ±{}% for failed lookups, ±{}% for swapoff latency; tmean: the mean of the repeats \
         without the lowest and highest {}%)",
        c.rows.len(),
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged),
        c.count(Verdict::Failed),
        c.count(Verdict::NotApplicable),
        CONFIDENCE * 100.0,
        o.threshold * 100.0,
        o.failed_threshold * 100.0,
        o.latency_threshold * 100.0,
        TRIM * 100.0,
    )
}

/// GitHub-flavoured Markdown, for a CI comment.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::from("### swapref compare\n\n");
    out.push_str(&format!(
        "- base: {}\n- new: {}\n\n",
        names(&c.base),
        names(&c.new)
    ));
    out.push_str(&format!("| {} |\n", HEAD.join(" | ")));
    out.push_str("| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |\n");
    for (row, j) in shown(c) {
        let r = cells(row, j);
        let verdict = match j.verdict {
            Verdict::Regressed | Verdict::Failed => format!("**{}**", r[7]),
            _ => r[7].clone(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], verdict
        ));
    }
    out.push('\n');
    out.push_str(&footer(c));
    if !c.warnings.is_empty() {
        out.push_str("\n**Warnings**\n\n");
        for w in &c.warnings {
            out.push_str(&format!("- {w}\n"));
        }
    }
    out
}

/// The comparison as JSON (warnings included).
pub fn render_json(c: &Comparison) -> String {
    serde_json::to_string_pretty(c).expect("a comparison serialises") + "\n"
}

#[cfg(test)]
mod tests;
