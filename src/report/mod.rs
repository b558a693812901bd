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
//! does, picks the slices (one swap period, some reader counts) each claim and figure is drawn
//! from, and derives per-repeat spreads.

pub mod listing;
pub mod plot;
pub mod writeup;

use crate::results::{Point, Results, ResultsError, Spread, Status, StrategyFacts};
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

/// Colours by series position: Tableau 10, six darker tones, then eight lighter ones (Tableau
/// 20's). Series past the palette (a strategy added to the registry, one a file names that this
/// build does not know) get [`generated_colour`]s, so every series has a colour of its own
/// however many the registry grows to.
const PALETTE: [(u8, u8, u8); 24] = [
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
    (0xae, 0xc7, 0xe8),
    (0xff, 0xbb, 0x78),
    (0x98, 0xdf, 0x8a),
    (0xff, 0x98, 0x96),
    (0xc5, 0xb0, 0xd5),
    (0xc4, 0x9c, 0x94),
    (0xf7, 0xb6, 0xd2),
    (0xdb, 0xdb, 0x8d),
];

/// The `n`th colour past [`PALETTE`]: hues a golden angle apart (no two of the first hundreds
/// within a few degrees of each other), alternating between a mid and a dark tone, saturated
/// enough to read on white. Deterministic, so a series keeps its colour between figures.
fn generated_colour(n: usize) -> (u8, u8, u8) {
    let hue = (n as f64 * 137.507_764).rem_euclid(360.0) / 60.0;
    let (sat, light) = if n.is_multiple_of(2) {
        (0.65, 0.45)
    } else {
        (0.75, 0.30)
    };
    let c = (1.0 - (2.0 * light - 1.0_f64).abs()) * sat;
    let x = c * (1.0 - (hue % 2.0 - 1.0).abs());
    let (r, g, b) = match hue as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = light - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (byte(r), byte(g), byte(b))
}

/// A results file as the reports read it: successful points only, strategies in registry
/// order, and the two slices every claim is drawn from ([`Slice`]): the cost slice (the points
/// without a swapper when churning strategies ran there, else the churn slice) and the churn
/// slice (the most measured swap period, at the reader counts whose swapper had its own CPU).
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
    /// Holds (ns) with at least one successful point, ascending.
    pub holds: Vec<u64>,
    /// The hold every slice, table and figure but the hold figure is drawn at: the shortest
    /// measured, or the one `--slice` names.
    pub hold_ns: u64,
    /// The slice cost claims are drawn from (ns per lookup, ratios to `unprotected`,
    /// scaling, rankings, the cost table and figures).
    pub cost: Slice,
    /// The slice churn claims are drawn from (swapoff latency, failed lookups); `None` when no
    /// point churned.
    pub churn: Option<Slice>,
    /// Points that failed.
    pub failed: Vec<&'a Point>,
}

impl<'a> View<'a> {
    /// Check that `results` has something to report and index it, with the default slices.
    /// `path` names the file in errors.
    pub fn new(results: &'a Results, path: &Path) -> Result<View<'a>, ReportError> {
        View::with_slice(results, path, None)
    }

    /// Like [`new`](Self::new), with every claim drawn from the slice `choice` (`--slice`)
    /// instead of the default ones; an error names what was measured when it has no point.
    pub fn with_slice(
        results: &'a Results,
        path: &Path,
        choice: Option<&SliceChoice>,
    ) -> Result<View<'a>, ReportError> {
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
        let mut holds: Vec<u64> = ok.iter().map(|p| p.hold_ns).collect();
        holds.sort_unstable();
        holds.dedup();
        let hold_ns = match choice.and_then(|c| c.hold_ns) {
            Some(h) if holds.contains(&h) => h,
            Some(h) => {
                let have: Vec<String> = holds.iter().map(|&h| fmt_period(Some(h))).collect();
                return Err(ReportError::Input(
                    path.into(),
                    format!(
                        "--slice {}: no successful point holds {} (measured holds: {})",
                        choice.expect("a chosen hold"),
                        fmt_period(Some(h)),
                        have.join(", ")
                    ),
                ));
            }
            None => holds[0],
        };
        // Every slice is at one hold: the points of the others only feed the hold figure.
        let all_ok = ok;
        let ok: Vec<&Point> = all_ok
            .iter()
            .copied()
            .filter(|p| p.hold_ns == hold_ns)
            .collect();
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
        // The churn slice's period: the most measured period with a swapper; ties go to the
        // longest (the steadiest state, closest to a machine where swapoff is rare, and the one
        // where failed, cheap, lookups inflate throughput least).
        let churn_period = periods
            .iter()
            .copied()
            .filter(Option::is_some)
            .fold(None::<(Option<u64>, usize)>, |best, per| match best {
                Some((b, n)) if n > count(per) || (n == count(per) && b >= per) => best,
                _ => Some((per, count(per))),
            })
            .map(|(per, _)| per);
        let readers_at = |per: Option<u64>| -> Vec<usize> {
            let mut r: Vec<usize> = ok
                .iter()
                .filter(|p| p.period_ns == per)
                .map(|p| p.readers)
                .collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        let shares = |per: Option<u64>, r: usize| {
            ok.iter()
                .any(|p| p.period_ns == per && p.readers == r && p.swapper_shares_cpu)
        };
        let slice = |per: Option<u64>, readers: Vec<usize>, chosen: bool| Slice {
            swapper_shares: readers.iter().any(|&r| shares(per, r)),
            period: per,
            readers,
            hold_ns,
            holds_swept: holds.len() > 1,
            chosen,
        };
        let (cost, churn) = match choice {
            Some(c) => {
                let have = readers_at(c.period);
                let readers = c.readers.clone().unwrap_or_else(|| have.clone());
                let missing: Vec<String> = readers
                    .iter()
                    .filter(|r| !have.contains(r))
                    .map(|r| r.to_string())
                    .collect();
                if have.is_empty() || !missing.is_empty() || readers.is_empty() {
                    let measured: Vec<String> = periods
                        .iter()
                        .map(|&per| {
                            let r: Vec<String> =
                                readers_at(per).iter().map(|r| r.to_string()).collect();
                            format!("{} at {}", fmt_period(per), r.join(","))
                        })
                        .collect();
                    return Err(ReportError::Input(
                        path.into(),
                        format!(
                            "--slice {c}: no successful point there (measured: {})",
                            measured.join("; ")
                        ),
                    ));
                }
                let s = slice(c.period, readers, true);
                let churn = s.period.is_some().then(|| s.clone());
                (s, churn)
            }
            None => {
                // Churn claims: the swapper on its own CPU where some reader count allows it.
                let churn = churn_period.map(|per| {
                    let all = readers_at(per);
                    let own: Vec<usize> =
                        all.iter().copied().filter(|&r| !shares(per, r)).collect();
                    slice(per, if own.is_empty() { all } else { own }, false)
                });
                // Cost claims: without a swapper when churning strategies ran there too (every
                // lookup then succeeds, as `unprotected`'s do), else the churn slice.
                let churned_never = ok
                    .iter()
                    .any(|p| p.period_ns.is_none() && results.churns(&p.strategy));
                let cost = match &churn {
                    Some(c) if !churned_never => c.clone(),
                    _ => slice(None, readers_at(None), false),
                };
                (cost, churn)
            }
        };
        Ok(View {
            results,
            strategies,
            readers,
            periods,
            holds,
            hold_ns,
            cost,
            churn,
            failed: results
                .points
                .iter()
                .filter(|p| p.status == Status::Failed)
                .collect(),
        })
    }

    /// The successful point of `strategy` at `readers` and `period`, at the view's hold, if
    /// measured.
    pub fn point(&self, strategy: &str, readers: usize, period: Option<u64>) -> Option<&'a Point> {
        self.point_held(strategy, readers, period, self.hold_ns)
    }

    /// The successful point of `strategy` at `readers`, `period` and `hold_ns`, if measured.
    pub fn point_held(
        &self,
        strategy: &str,
        readers: usize,
        period: Option<u64>,
        hold_ns: u64,
    ) -> Option<&'a Point> {
        self.results.points.iter().find(|p| {
            p.status == Status::Ok
                && p.series() == strategy
                && p.readers == readers
                && p.period_ns == period
                && p.hold_ns == hold_ns
        })
    }

    /// The point of `strategy` at `readers` in `slice`: at the slice's period, or, for a
    /// strategy that refuses churn (`unprotected`, which the driver always measures without a
    /// swapper), its point without a swap period. `None` for readers outside the slice.
    pub fn in_slice(&self, slice: &Slice, strategy: &str, readers: usize) -> Option<&'a Point> {
        if !slice.readers.contains(&readers) {
            return None;
        }
        self.held_at(strategy, readers, slice.period, self.hold_ns)
    }

    /// The point of `strategy` at `readers`, `period` and `hold_ns`, or, for a strategy that
    /// refuses churn (measured without a swapper only), its point without a swap period.
    pub fn held_at(
        &self,
        strategy: &str,
        readers: usize,
        period: Option<u64>,
        hold_ns: u64,
    ) -> Option<&'a Point> {
        self.point_held(strategy, readers, period, hold_ns)
            .or_else(|| {
                (!self.churns(strategy))
                    .then(|| self.point_held(strategy, readers, None, hold_ns))
                    .flatten()
            })
    }

    /// Whether `strategy` (a name or a series) ran with a swapper in this run, read from the
    /// results rather than from this build's registry: a strategy that refuses churn
    /// (`unprotected`) has only points without a swap period.
    pub fn churns(&self, strategy: &str) -> bool {
        self.results.churns(strategy)
    }

    /// What the build that measured `strategy` (a name or a series) said of it, from the file;
    /// for a file from before the file carried it, what this build's registry says (the
    /// second value is then true). `None` when neither knows the strategy.
    pub fn facts(&self, strategy: &str) -> Option<(StrategyFacts, bool)> {
        let base = strategy.split('@').next().unwrap_or(strategy);
        match self.results.config.strategy_facts.get(base) {
            Some(f) => Some((f.clone(), false)),
            None => strategy::info(base)
                .ok()
                .map(|i| (StrategyFacts::of(&i), true)),
        }
    }

    /// [`in_slice`](Self::in_slice) of the cost slice.
    pub fn cost_at(&self, strategy: &str, readers: usize) -> Option<&'a Point> {
        self.in_slice(&self.cost, strategy, readers)
    }

    /// The points of `strategy` in `slice`, by ascending reader count.
    pub fn series_in(&self, slice: &Slice, strategy: &str) -> Vec<&'a Point> {
        slice
            .readers
            .iter()
            .filter_map(|&r| self.in_slice(slice, strategy, r))
            .collect()
    }

    /// Points of `strategy` in the cost slice.
    pub fn cost_series(&self, strategy: &str) -> Vec<&'a Point> {
        self.series_in(&self.cost, strategy)
    }

    /// Points of `strategy` in the churn slice (none without one). Strategies that refuse
    /// churn have none.
    pub fn churn_series(&self, strategy: &str) -> Vec<&'a Point> {
        match &self.churn {
            Some(c) => self
                .series_in(c, strategy)
                .into_iter()
                .filter(|p| p.period_ns.is_some())
                .collect(),
            None => Vec::new(),
        }
    }

    /// The period sweep the failed-lookup figure and finding use: the swept periods (finite
    /// ones, at least two) and one reader count, the most readers at which some strategy was
    /// measured at two periods or more, preferring reader counts whose swapper had its own
    /// CPU at every period. With `--slice`, the slice's reader counts only.
    pub fn sweep(&self) -> Option<(Vec<u64>, usize)> {
        let periods: Vec<u64> = self.periods.iter().filter_map(|p| *p).collect();
        if periods.len() < 2 {
            return None;
        }
        let swept = |r: usize| {
            self.strategies.iter().any(|s| {
                periods
                    .iter()
                    .filter(|&&per| self.point(s, r, Some(per)).is_some())
                    .count()
                    >= 2
            })
        };
        let own = |r: usize| {
            !self
                .results
                .points
                .iter()
                .any(|p| p.readers == r && p.period_ns.is_some() && p.swapper_shares_cpu)
        };
        let candidates: Vec<usize> = self
            .readers
            .iter()
            .copied()
            .filter(|r| !self.cost.chosen || self.cost.readers.contains(r))
            .filter(|&r| swept(r))
            .collect();
        let r = candidates
            .iter()
            .rev()
            .copied()
            .find(|&r| own(r))
            .or_else(|| candidates.last().copied())?;
        Some((periods, r))
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
        // The per-CPU series after every other, so that the colours of the others are those
        // they had before the backends existed.
        let rseq = crate::percpu_ref::PercpuKind::ALL
            .into_iter()
            .filter(|k| k.is_rseq());
        for k in rseq {
            for i in strategy::ALL.iter().filter(|i| i.percpu) {
                known.extend(
                    crate::rcu::FlavorKind::ALL
                        .iter()
                        .map(|f| format!("{}@{f}/{k}", i.name)),
                );
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
        PALETTE
            .get(i)
            .copied()
            .unwrap_or_else(|| generated_colour(i - PALETTE.len()))
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

/// The points one claim, table or figure is drawn from: one swap period and the reader counts
/// measured there. Every caption that uses a slice names it ([`Slice::name`]), so no two parts
/// of a report answer one question from different points without saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// Swap period; `None`: no swapper.
    pub period: Option<u64>,
    /// Reader counts, ascending, never empty.
    pub readers: Vec<usize>,
    /// How long each lookup held its reference, ns.
    pub hold_ns: u64,
    /// Whether the run measured other holds too (the name then gives this one, 0 included).
    pub holds_swept: bool,
    /// Whether the swapper shared a CPU with a reader at some point of the slice.
    pub swapper_shares: bool,
    /// Chosen with `--slice` rather than by the default rule.
    pub chosen: bool,
}

impl Slice {
    /// `no swapper, 1–4 readers`, `swap period 10ms, 1 reader, the swapper on its own CPU`.
    pub fn name(&self) -> String {
        let readers = match self.readers.as_slice() {
            [r] => format!("{r} reader{}", if *r == 1 { "" } else { "s" }),
            rs => {
                let all: Vec<String> = rs.iter().map(|r| r.to_string()).collect();
                format!("{} readers", all.join(", "))
            }
        };
        let hold = if self.hold_ns > 0 || self.holds_swept {
            format!(", hold {}", fmt_period(Some(self.hold_ns)))
        } else {
            String::new()
        };
        match self.period {
            None => format!("no swapper, {readers}{hold}"),
            Some(_) => format!(
                "swap period {}, {readers}{hold}, {}",
                fmt_period(self.period),
                if self.swapper_shares {
                    "the swapper sharing a CPU with a reader"
                } else {
                    "the swapper on its own CPU"
                }
            ),
        }
    }
}

/// A slice asked for with `--slice`: a swap period (`never` for none) and, optionally, reader
/// counts (all measured at that period when `None`) and a hold (the shortest measured when
/// `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceChoice {
    /// The period; `None`: never.
    pub period: Option<u64>,
    /// The reader counts.
    pub readers: Option<Vec<usize>>,
    /// The hold, ns.
    pub hold_ns: Option<u64>,
}

impl fmt::Display for SliceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", fmt_period(self.period))?;
        if self.readers.is_some() || self.hold_ns.is_some() {
            let r: Vec<String> = self
                .readers
                .iter()
                .flatten()
                .map(|r| r.to_string())
                .collect();
            write!(f, ":{}", r.join(","))?;
        }
        if let Some(h) = self.hold_ns {
            write!(f, ":{}", fmt_period(Some(h)))?;
        }
        Ok(())
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
