//! `swapref compare BASE.json NEW.json`: which points of a run got slower or faster than in a
//! base run, calling a change only where the noise cannot explain it.
//!
//! # The rule
//!
//! Points are matched by [`Point::key`] (strategy, readers, period); both files must hold the
//! same set of points. For each pair the *ratio* is `new.ns_per_op.median / base.ns_per_op.median`
//! (above 1 = slower). The verdict is
//!
//! - **regressed** when the ratio exceeds `1 + threshold` **and** the two runs' ranges do not
//!   overlap: every repeat of the new run is slower than every repeat of the base
//!   (`new.min > base.max`);
//! - **improved** when the ratio is below `1 − threshold` **and** `new.max < base.min`;
//! - **unchanged** otherwise: within the threshold, or beyond it but inside the spread
//!   (reported as "within noise");
//! - **failed** when either point's status is `failed` (it has no trustworthy number).
//!
//! Why ranges: a repeat is a whole measured window, and the results file keeps
//! `{median, min, max}` over repeats. Under the null hypothesis (both runs draw repeats from the
//! same distribution) complete separation of `r` repeats against `r` happens by chance with
//! probability `2 / C(2r, r)`: 10 % for 3 repeats each, 0.8 % for 5, 0.06 % for 7. With a
//! single repeat a side there is no spread to test against; [`compare`] warns then.
//!
//! Runs on different machines or with different configurations are compared anyway, with a
//! warning per difference ([`Comparison::warnings`]); the CLI prints them on stderr.

use crate::results::{Point, Results, ResultsError, Status};
use std::collections::BTreeMap;
use std::fmt;

/// Default threshold: a change must exceed 5 % to be called.
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// A point's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Slower beyond both the threshold and the spread.
    Regressed,
    /// Faster beyond both the threshold and the spread.
    Improved,
    /// Neither.
    Unchanged,
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
        }
    }
}

/// One matched pair of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Strategy.
    pub strategy: String,
    /// Reader threads.
    pub readers: usize,
    /// Swap period, ns; `None` = never.
    pub period_ns: Option<u64>,
    /// Base ns/op: median, min, max.
    pub base: crate::results::Spread,
    /// New ns/op: median, min, max.
    pub new: crate::results::Spread,
    /// `new.median / base.median`.
    pub ratio: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in a few words ("beyond 5 % and outside the spread", "within noise", ...).
    pub why: String,
}

/// The result of comparing two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Threshold used, as a fraction.
    pub threshold: f64,
    /// One row per point, in the base file's order.
    pub rows: Vec<Row>,
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

/// Why two runs cannot be compared.
#[derive(Debug)]
pub enum CompareError {
    /// A file could not be read or is not a results file of a known version.
    Results(ResultsError),
    /// A point of one file has no counterpart in the other.
    MissingPoint {
        /// Which file lacks it: "base" or "new".
        missing_in: &'static str,
        /// The point's key, described.
        point: String,
    },
    /// The same key twice in one file.
    DuplicatePoint {
        /// "base" or "new".
        file: &'static str,
        /// The point's key, described.
        point: String,
    },
    /// A number that cannot be compared (median not positive and finite).
    BadValue {
        /// "base" or "new".
        file: &'static str,
        /// The point's key, described.
        point: String,
    },
    /// The threshold is not a fraction in `[0, 1)`.
    BadThreshold(f64),
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareError::Results(e) => e.fmt(f),
            CompareError::MissingPoint { missing_in, point } => {
                write!(f, "point {point} is missing in the {missing_in} file")
            }
            CompareError::DuplicatePoint { file, point } => {
                write!(f, "point {point} appears twice in the {file} file")
            }
            CompareError::BadValue { file, point } => write!(
                f,
                "point {point} in the {file} file has no positive finite ns_per_op"
            ),
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

type Key = (String, usize, Option<u64>);

/// `strategy/readers/period`, as tables show a point.
pub fn describe(key: &Key) -> String {
    format!("{}/{}r/{}", key.0, key.1, period(key.2))
}

use crate::format::period_ns as period;

fn index<'a>(r: &'a Results, file: &'static str) -> Result<BTreeMap<Key, &'a Point>, CompareError> {
    let mut m = BTreeMap::new();
    for p in &r.points {
        let key = p.key();
        let s = p.ns_per_op;
        if p.status == Status::Ok
            && !([s.median, s.min, s.max]
                .iter()
                .all(|v| v.is_finite() && *v > 0.0))
        {
            return Err(CompareError::BadValue {
                file,
                point: describe(&key),
            });
        }
        if m.insert(key.clone(), p).is_some() {
            return Err(CompareError::DuplicatePoint {
                file,
                point: describe(&key),
            });
        }
    }
    Ok(m)
}

/// The verdict on one pair, with its reason; see the module docs for the rule.
pub fn judge(base: &Point, new: &Point, threshold: f64) -> (f64, Verdict, String) {
    let (b, n) = (base.ns_per_op, new.ns_per_op);
    let ratio = n.median / b.median;
    if base.status == Status::Failed || new.status == Status::Failed {
        let side = if new.status == Status::Failed {
            "new"
        } else {
            "base"
        };
        return (ratio, Verdict::Failed, format!("{side} point failed"));
    }
    let pct = threshold * 100.0;
    if ratio > 1.0 + threshold {
        if n.min > b.max {
            (
                ratio,
                Verdict::Regressed,
                format!("> +{pct}%, ranges apart"),
            )
        } else {
            (
                ratio,
                Verdict::Unchanged,
                format!("> +{pct}% but within noise"),
            )
        }
    } else if ratio < 1.0 - threshold {
        if n.max < b.min {
            (ratio, Verdict::Improved, format!("< -{pct}%, ranges apart"))
        } else {
            (
                ratio,
                Verdict::Unchanged,
                format!("< -{pct}% but within noise"),
            )
        }
    } else {
        (ratio, Verdict::Unchanged, format!("within ±{pct}%"))
    }
}

/// Compare two runs. `threshold` is a fraction (0.05 = 5 %).
pub fn compare(base: &Results, new: &Results, threshold: f64) -> Result<Comparison, CompareError> {
    if !(0.0..1.0).contains(&threshold) {
        return Err(CompareError::BadThreshold(threshold));
    }
    let bi = index(base, "base")?;
    let ni = index(new, "new")?;
    for k in bi.keys() {
        if !ni.contains_key(k) {
            return Err(CompareError::MissingPoint {
                missing_in: "new",
                point: describe(k),
            });
        }
    }
    for k in ni.keys() {
        if !bi.contains_key(k) {
            return Err(CompareError::MissingPoint {
                missing_in: "base",
                point: describe(k),
            });
        }
    }
    let mut rows = Vec::new();
    let mut single = false;
    for bp in &base.points {
        let np = ni[&bp.key()];
        single |= bp.repeats.len() < 2 || np.repeats.len() < 2;
        let (ratio, verdict, why) = judge(bp, np, threshold);
        rows.push(Row {
            strategy: bp.series(),
            readers: bp.readers,
            period_ns: bp.period_ns,
            base: bp.ns_per_op,
            new: np.ns_per_op,
            ratio,
            verdict,
            why,
        });
    }
    let mut warnings = differences(base, new);
    if single {
        warnings.push(
            "some points have a single repeat: their range is a point, so only the threshold \
             guards against noise (use --repeats 3 or more)"
                .into(),
        );
    }
    Ok(Comparison {
        threshold,
        rows,
        warnings,
    })
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
    diff("machine (hostname)", opt(&be.hostname), opt(&ne.hostname));
    diff("CPU model", opt(&be.cpu_model), opt(&ne.cpu_model));
    diff("architecture", be.arch.clone(), ne.arch.clone());
    diff("kernel", opt(&be.kernel), opt(&ne.kernel));
    diff(
        "allowed CPUs",
        format!("{:?}", be.allowed_cpus),
        format!("{:?}", ne.allowed_cpus),
    );
    diff(
        "cpufreq governors",
        format!("{:?}", be.governors),
        format!("{:?}", ne.governors),
    );
    diff(
        "membarrier",
        be.membarrier.available.to_string(),
        ne.membarrier.available.to_string(),
    );
    let (bc, nc) = (&base.config, &new.config);
    diff(
        "config off_time_ns",
        bc.off_time_ns.to_string(),
        nc.off_time_ns.to_string(),
    );
    diff(
        "config devices",
        bc.devices.to_string(),
        nc.devices.to_string(),
    );
    diff("config pages", bc.pages.to_string(), nc.pages.to_string());
    diff("config hold", bc.hold.to_string(), nc.hold.to_string());
    diff(
        "config duration_ns",
        bc.duration_ns.to_string(),
        nc.duration_ns.to_string(),
    );
    diff(
        "config warmup_ns",
        bc.warmup_ns.to_string(),
        nc.warmup_ns.to_string(),
    );
    diff(
        "config repeats",
        bc.repeats.to_string(),
        nc.repeats.to_string(),
    );
    diff(
        "config cpus",
        format!("{:?}", bc.cpus),
        format!("{:?}", nc.cpus),
    );
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

fn range(s: &crate::results::Spread) -> String {
    format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max)
}

/// A fixed-width table for a terminal.
pub fn render_table(c: &Comparison) -> String {
    let rows: Vec<[String; 7]> = c
        .rows
        .iter()
        .map(|r| {
            [
                r.strategy.clone(),
                r.readers.to_string(),
                period(r.period_ns),
                range(&r.base),
                range(&r.new),
                format!("{:.3}", r.ratio),
                format!("{} ({})", r.verdict.word(), r.why),
            ]
        })
        .collect();
    let head = [
        "strategy",
        "readers",
        "period",
        "base ns/op med (min–max)",
        "new ns/op med (min–max)",
        "ratio",
        "verdict",
    ];
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = w[i] - c.chars().count();
            if i == cells.len() - 1 {
                s.push_str(c);
            } else if (1..=5).contains(&i) {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
                s.push_str("  ");
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&head.map(String::from));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push_str(&summary(c));
    out.push('\n');
    out
}

fn summary(c: &Comparison) -> String {
    format!(
        "{} regressed, {} improved, {} unchanged, {} failed (threshold {}%, and ranges over \
         repeats must not overlap)",
        c.count(Verdict::Regressed),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged),
        c.count(Verdict::Failed),
        c.threshold * 100.0
    )
}

/// GitHub-flavoured Markdown, for a CI comment.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::from("### swapref compare\n\n");
    out.push_str(&summary(c));
    out.push_str("\n\n");
    out.push_str(
        "| strategy | readers | period | base ns/op med (min–max) | new ns/op med (min–max) | ratio | verdict |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for r in &c.rows {
        let verdict = match r.verdict {
            Verdict::Regressed | Verdict::Failed => format!("**{}** ({})", r.verdict.word(), r.why),
            _ => format!("{} ({})", r.verdict.word(), r.why),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {:.3} | {} |\n",
            r.strategy,
            r.readers,
            period(r.period_ns),
            range(&r.base),
            range(&r.new),
            r.ratio,
            verdict
        ));
    }
    if !c.warnings.is_empty() {
        out.push_str("\n**Warnings**\n\n");
        for w in &c.warnings {
            out.push_str(&format!("- {w}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
