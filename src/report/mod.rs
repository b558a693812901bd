//! Reports: what `swapref plot` and `swapref report` make of a results file, and the
//! hot-path listings `scripts/codegen.sh` cuts out of the compiler's assembly.
//!
//! - [`plot`]: SVG and PNG figures (plotters, with an embedded DejaVu Sans, so no system
//!   font is looked up).
//! - [`writeup`]: a Markdown write-up whose findings are computed from the data.
//! - [`listing`]: per-architecture instruction listings of each strategy's hot path and the
//!   summary of their ordering instructions.
//!
//! This module reads a results file through [`View`], which orders strategies as the registry
//! does, picks the period the reader-count plots use, and derives per-repeat spreads.

pub mod listing;
pub mod plot;
pub mod writeup;

use crate::results::{Point, Results, ResultsError, Spread, Status};
use crate::strategy;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a report could not be made.
#[derive(Debug)]
pub enum ReportError {
    /// The results file could not be read or is not a results file.
    Results(ResultsError),
    /// The results hold nothing to report on.
    Empty(PathBuf, String),
    /// Writing an output failed.
    Io(PathBuf, std::io::Error),
    /// The plotting library failed.
    Plot(PathBuf, String),
    /// Bad input other than the results file (an unreadable listing summary).
    Input(PathBuf, String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Results(e) => write!(f, "{e}"),
            ReportError::Empty(p, why) => write!(f, "{}: nothing to report: {why}", p.display()),
            ReportError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            ReportError::Plot(p, e) => write!(f, "{}: plotting failed: {e}", p.display()),
            ReportError::Input(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for ReportError {}

impl From<ResultsError> for ReportError {
    fn from(e: ResultsError) -> Self {
        ReportError::Results(e)
    }
}

/// Colours by series position (Tableau 10, then six darker tones: five plain strategies and
/// three over the RCU in three flavours are fourteen series).
const PALETTE: [(u8, u8, u8); 16] = [
    (0x1f, 0x77, 0xb4),
    (0xff, 0x7f, 0x0e),
    (0x2c, 0xa0, 0x2c),
    (0xd6, 0x27, 0x28),
    (0x94, 0x67, 0xbd),
    (0x8c, 0x56, 0x4b),
    (0xe3, 0x77, 0xc2),
    (0x7f, 0x7f, 0x7f),
    (0xbc, 0xbd, 0x22),
    (0x17, 0xbe, 0xcf),
    (0x0b, 0x3c, 0x5a),
    (0x80, 0x40, 0x07),
    (0x16, 0x50, 0x16),
    (0x6b, 0x14, 0x14),
    (0x4a, 0x34, 0x5e),
    (0x0c, 0x5f, 0x68),
];

/// A results file as the reports read it: successful points only, strategies in registry
/// order, one period chosen for the plots against readers.
#[derive(Debug)]
pub struct View<'a> {
    /// The whole run.
    pub results: &'a Results,
    /// Strategies with at least one successful point: registry order, then unknown names in
    /// alphabetical order.
    pub strategies: Vec<String>,
    /// Reader counts with at least one successful point, ascending.
    pub readers: Vec<usize>,
    /// Periods with at least one successful point, in the order the config lists them.
    pub periods: Vec<Option<u64>>,
    /// The period used for the plots and tables against readers: the one with the most points
    /// (the longest such) among periods with a swapper; `never` only when no point churned.
    pub main_period: Option<u64>,
    /// The period the cost comparisons (ratios to `unprotected`, rankings, scaling) use:
    /// `never` when the run measured churning strategies without a swapper too (then every
    /// lookup succeeds, like `unprotected`'s), else the main period.
    pub cost_period: Option<u64>,
    /// Points that failed.
    pub failed: Vec<&'a Point>,
}

impl<'a> View<'a> {
    /// Check that `results` has something to report and index it. `path` names the file in
    /// errors.
    pub fn new(results: &'a Results, path: &Path) -> Result<View<'a>, ReportError> {
        if results.points.is_empty() {
            return Err(ReportError::Empty(
                path.into(),
                "the run has no points".into(),
            ));
        }
        let ok: Vec<&Point> = results
            .points
            .iter()
            .filter(|p| p.status == Status::Ok)
            .collect();
        if ok.is_empty() {
            return Err(ReportError::Empty(
                path.into(),
                format!("all {} points failed", results.points.len()),
            ));
        }
        for p in &ok {
            let s = p.ns_per_op;
            if !(s.min.is_finite() && s.max.is_finite() && s.median.is_finite())
                || s.min <= 0.0
                || s.min > s.median
                || s.median > s.max
                || !p.mops.is_finite()
                || !(0.0..=1.0).contains(&p.failed_lookup_rate)
                || p.readers == 0
            {
                return Err(ReportError::Empty(
                    path.into(),
                    format!(
                        "point {} × {} readers has inconsistent numbers (ns_per_op {:?}, mops {}, failed_lookup_rate {})",
                        p.series(),
                        p.readers,
                        s,
                        p.mops,
                        p.failed_lookup_rate
                    ),
                ));
            }
        }
        // Series in registry order, each strategy's flavours in FlavorKind order.
        let mut strategies: Vec<String> = Vec::new();
        for i in strategy::ALL {
            let mut mine: Vec<(Option<crate::rcu::FlavorKind>, String)> = ok
                .iter()
                .filter(|p| p.strategy == i.name)
                .map(|p| {
                    let f = p.rcu_flavor.as_deref();
                    (f.and_then(crate::rcu::FlavorKind::from_name), p.series())
                })
                .collect();
            mine.sort();
            mine.dedup();
            strategies.extend(mine.into_iter().map(|(_, s)| s));
        }
        let mut unknown: Vec<String> = ok
            .iter()
            .filter(|p| strategy::info(&p.strategy).is_err())
            .map(|p| p.series())
            .collect();
        unknown.sort();
        unknown.dedup();
        strategies.extend(unknown);
        let mut readers: Vec<usize> = ok.iter().map(|p| p.readers).collect();
        readers.sort_unstable();
        readers.dedup();
        let mut periods: Vec<Option<u64>> = results
            .config
            .periods_ns
            .iter()
            .copied()
            .filter(|per| ok.iter().any(|p| p.period_ns == *per))
            .collect();
        for p in &ok {
            if !periods.contains(&p.period_ns) {
                periods.push(p.period_ns);
            }
        }
        let count = |per: Option<u64>| ok.iter().filter(|p| p.period_ns == per).count();
        // A run with churn is about churn: prefer the most measured period with a swapper, and
        // fall back to `never` only when nothing churned (`unprotected` alone always adds
        // `never` points, which must not outvote the periods of the sweep).
        let churned: Vec<Option<u64>> = periods.iter().copied().filter(Option::is_some).collect();
        let candidates = if churned.is_empty() {
            &periods
        } else {
            &churned
        };
        let main_period = candidates
            .iter()
            .copied()
            // Ties go to the longest period: the steadiest state, closest to a machine where
            // swapoff is rare, and the one where failed (cheap) lookups inflate throughput least.
            .fold(None::<(Option<u64>, usize)>, |best, per| match best {
                Some((b, n)) if n > count(per) || (n == count(per) && b >= per) => best,
                _ => Some((per, count(per))),
            })
            .map(|(per, _)| per)
            .unwrap_or(None);
        let churned_never = ok
            .iter()
            .any(|p| p.period_ns.is_none() && strategy::info(&p.strategy).is_ok_and(|i| i.churn));
        let cost_period = if churned_never { None } else { main_period };
        Ok(View {
            results,
            strategies,
            readers,
            periods,
            main_period,
            cost_period,
            failed: results
                .points
                .iter()
                .filter(|p| p.status == Status::Failed)
                .collect(),
        })
    }

    /// The successful point of `strategy` at `readers` and `period`, if measured.
    pub fn point(&self, strategy: &str, readers: usize, period: Option<u64>) -> Option<&'a Point> {
        self.results.points.iter().find(|p| {
            p.status == Status::Ok
                && p.series() == strategy
                && p.readers == readers
                && p.period_ns == period
        })
    }

    /// The point of `strategy` at `readers` that the tables and reader plots use: the one at
    /// the main period, or, for a strategy that refuses churn (`unprotected`, which the
    /// driver always measures without a swapper), its point without a swap period.
    pub fn at(&self, strategy: &str, readers: usize) -> Option<&'a Point> {
        self.point(strategy, readers, self.main_period)
            .or_else(|| match strategy::info(strategy) {
                Ok(i) if !i.churn => self.point(strategy, readers, None),
                _ => None,
            })
    }

    /// The point of `strategy` at `readers` that cost comparisons use: like [`at`](Self::at),
    /// at [`cost_period`](Self::cost_period).
    pub fn cost_at(&self, strategy: &str, readers: usize) -> Option<&'a Point> {
        self.point(strategy, readers, self.cost_period)
            .or_else(|| match strategy::info(strategy) {
                Ok(i) if !i.churn => self.point(strategy, readers, None),
                _ => None,
            })
    }

    /// Points of `strategy` for the tables and reader plots ([`at`](Self::at)), by ascending
    /// reader count.
    pub fn series(&self, strategy: &str) -> Vec<&'a Point> {
        self.readers
            .iter()
            .filter_map(|&r| self.at(strategy, r))
            .collect()
    }

    /// The RGB colour of series `strategy`: its position among every series this build can
    /// measure (registry order, each RCU strategy's flavours next to each other), so the same in
    /// every plot and every report; then, for series this build does not know, their position
    /// among this report's.
    pub fn colour(&self, strategy: &str) -> (u8, u8, u8) {
        let mut known: Vec<String> = Vec::new();
        for i in strategy::ALL {
            if i.rcu {
                known.extend(
                    crate::rcu::FlavorKind::ALL
                        .iter()
                        .map(|f| format!("{}@{f}", i.name)),
                );
            } else {
                known.push(i.name.to_owned());
            }
        }
        // A file from before the flavours names an RCU strategy bare: its first flavour's colour.
        let at = |s: &str| {
            known
                .iter()
                .position(|k| k == s || k.starts_with(&format!("{s}@")))
        };
        let i = at(strategy).unwrap_or_else(|| {
            known.len()
                + self
                    .strategies
                    .iter()
                    .filter(|s| at(s).is_none())
                    .position(|s| s == strategy)
                    .unwrap_or(0)
        });
        PALETTE[i % PALETTE.len()]
    }

    /// One line naming the machine, the commit and the date, for captions.
    pub fn caption(&self) -> String {
        let r = self.results;
        let env = &r.environment;
        let machine = match (&env.label, &env.cpu_model) {
            (Some(l), Some(c)) => format!("{l} ({c}, {})", env.arch),
            (Some(l), None) => format!("{l} ({})", env.arch),
            (None, Some(c)) => format!("{c} ({})", env.arch),
            (None, None) => env.arch.clone(),
        };
        let commit = match &r.tool.git_commit {
            Some(c) => format!(
                "{}{}",
                &c[..c.len().min(12)],
                if r.tool.git_dirty == Some(true) {
                    "-dirty"
                } else {
                    ""
                }
            ),
            None => "unknown commit".into(),
        };
        let date = r.started.get(..10).unwrap_or(&r.started);
        format!("{machine} · swapref {} {commit} · {date}", r.tool.version)
    }
}

/// Total lookups per second over a point's repeats, in millions: median, min, max. Falls back
/// to the point's `mops` (no spread) when it has no raw repeats.
pub fn mops_spread(p: &Point) -> Spread {
    let per_repeat: Vec<f64> = p
        .repeats
        .iter()
        .filter(|r| r.window_ns > 0)
        .map(|r| r.lookups_per_reader.iter().sum::<u64>() as f64 * 1e3 / r.window_ns as f64)
        .collect();
    Spread::of(&per_repeat).unwrap_or(Spread {
        median: p.mops,
        min: p.mops,
        max: p.mops,
    })
}

/// Whether two spreads' `min..=max` ranges overlap: the difference of their medians is then
/// within the run-to-run noise the repeats showed.
pub fn overlaps(a: &Spread, b: &Spread) -> bool {
    a.min <= b.max && b.min <= a.max
}

pub use crate::format::{ns as fmt_ns, period_ns as fmt_period, sig3};

#[cfg(test)]
mod tests;
