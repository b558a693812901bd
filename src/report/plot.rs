//! `swapref plot`: the figures of a results file, each as SVG and PNG.
//!
//! | file | what | slice |
//! | --- | --- | --- |
//! | `throughput` | total Mops/s against readers (log2), one line per strategy, min–max whiskers, a dashed ideal (linear) line; only with ≥ 3 reader counts | cost |
//! | `ns_per_lookup` | ns per lookup per strategy (median, min–max whiskers), up to four reader counts | cost |
//! | `cache_misses` | cache misses per lookup against readers; omitted (with a note) when the counter is null | cost |
//! | `swapoff_latency` | swapoff drain latency percentiles (p50/p90/p99/max) per strategy, log scale | churn |
//! | `swapoff_cdf` | swapoff drain latency CDF per strategy (every repeat's buckets merged), log x; omitted for files without buckets | churn |
//! | `failed_lookups` | failed-lookup rate against swap period; only when the run swept periods | [`View::sweep`] |
//!
//! Each figure's subtitle names the slice its points come from ([`super::Slice::name`]): the
//! cost slice (points without a swapper when the run has them) or the churn slice (a swap
//! period, reader counts whose swapper had its own CPU), or the one chosen with `--slice`.
//!
//! Every figure has a title, axis labels with units, a legend (drawn beside the plot, never
//! over the data), and a caption with the machine, the commit and the date. A strategy has the
//! same colour in every figure ([`View::colour`]). Text is rasterised with DejaVu Sans embedded
//! in the binary (the `dejavu` crate; Bitstream Vera licence), so no system font is opened;
//! SVG files name the `sans-serif` family and let the viewer draw it.

use super::{ReportError, View, fmt_ns, mops_spread, sig3};
use crate::results::{Percentiles, write_atomic};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const W: u32 = 1100;
const H: u32 = 640;
const LEGEND_W: u32 = 250;
const FONT: &str = "sans-serif";

/// One figure written as SVG and PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// File stem, e.g. `throughput`.
    pub name: &'static str,
    /// The figure's title.
    pub title: String,
    /// The SVG file.
    pub svg: PathBuf,
    /// The PNG file.
    pub png: PathBuf,
}

/// What [`plot_all`] made, and what it left out and why.
#[derive(Debug, Clone, Default)]
pub struct Plots {
    /// Figures written.
    pub figures: Vec<Figure>,
    /// One line per figure that was left out, saying why.
    pub omitted: Vec<String>,
}

/// Register the embedded font with plotters as its `sans-serif` (once per process). No system
/// font is needed: plotters' text layout here is ab_glyph's, which knows only registered fonts.
/// The benches call it too, for criterion's HTML report (its plotters backend draws in the same
/// family, through the same plotters).
pub fn fonts() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let bad = |_| "embedded DejaVu Sans is not a valid font".to_owned();
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(bad)?;
        plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).map_err(bad)
    })
    .clone()
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// The figures this view supports, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Throughput,
    NsPerLookup,
    CacheMisses,
    SwapoffLatency,
    SwapoffCdf,
    FailedLookups,
    Hold,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Throughput => "throughput",
            Kind::NsPerLookup => "ns_per_lookup",
            Kind::CacheMisses => "cache_misses",
            Kind::SwapoffLatency => "swapoff_latency",
            Kind::SwapoffCdf => "swapoff_cdf",
            Kind::FailedLookups => "failed_lookups",
            Kind::Hold => "hold",
        }
    }
}

/// Reader counts the per-strategy figures show: the cost slice's, all of them up to four, else
/// the fewest, a middle one and the most.
fn reader_marks(v: &View) -> Vec<usize> {
    let r = &v.cost.readers;
    if r.len() <= 4 {
        r.clone()
    } else {
        vec![r[0], r[r.len() / 2], r[r.len() - 1]]
    }
}

/// The point each strategy's latency figure uses: the churn slice's, most readers.
fn latency_points<'a>(v: &View<'a>) -> Vec<(String, Percentiles, usize)> {
    v.strategies
        .iter()
        .filter_map(|s| {
            let p = v
                .churn_series(s)
                .into_iter()
                .rev()
                .find(|p| p.swapoff_latency_ns.is_some_and(|l| l.count > 0))?;
            Some((s.clone(), p.swapoff_latency_ns?, p.readers))
        })
        .collect()
}

/// One strategy's swapoff latency CDF.
struct Cdf {
    name: String,
    /// (µs, fraction of cycles at or below).
    points: Vec<(f64, f64)>,
    readers: usize,
    cycles: u64,
}

/// Per strategy, the swapoff latency CDF of its point with the most readers that recorded
/// buckets, every repeat's buckets merged.
fn cdf_series(v: &View) -> Vec<Cdf> {
    v.strategies
        .iter()
        .filter_map(|s| {
            let p = v.churn_series(s).into_iter().rev().find(|p| {
                p.repeats
                    .iter()
                    .any(|r| r.swapoff_buckets.as_ref().is_some_and(|b| !b.is_empty()))
            })?;
            let mut merged: std::collections::BTreeMap<u64, u64> = Default::default();
            for b in p.repeats.iter().filter_map(|r| r.swapoff_buckets.as_ref()) {
                for [lower, n] in b {
                    *merged.entry(*lower).or_default() += n;
                }
            }
            let total: u64 = merged.values().sum();
            let mut seen = 0;
            let pts = merged
                .into_iter()
                .map(|(lower, n)| {
                    seen += n;
                    ((lower as f64 / 1e3).max(1e-3), seen as f64 / total as f64)
                })
                .collect();
            Some(Cdf {
                name: s.clone(),
                points: pts,
                readers: p.readers,
                cycles: total,
            })
        })
        .collect()
}

/// Cache misses per lookup of `p`, if the counter was read.
fn cache_misses(p: &crate::results::Point) -> Option<f64> {
    p.counters.get("cache_misses").copied().flatten()
}

/// Why the cache-miss figure is left out, if it is.
pub fn cache_misses_omitted(v: &View) -> Option<String> {
    let any = v
        .strategies
        .iter()
        .flat_map(|s| v.cost_series(s))
        .any(|p| cache_misses(p).is_some());
    if any {
        return None;
    }
    let reason = v
        .results
        .points
        .iter()
        .find_map(|p| p.counter_notes.get("cache_misses").cloned())
        .unwrap_or_else(|| "the run did not ask for it".into());
    Some(format!(
        "cache misses per lookup: omitted, the counter was not available ({reason})"
    ))
}

/// Draw every figure the results support into `out` (created if missing), as SVG and PNG.
pub fn plot_all(v: &View, out: &Path) -> Result<Plots, ReportError> {
    fonts().map_err(|e| ReportError::Plot(out.into(), e))?;
    std::fs::create_dir_all(out).map_err(|e| ReportError::Io(out.into(), e))?;
    let mut plots = Plots::default();
    let mut kinds = Vec::new();
    match v.cost.readers.len() {
        n if n >= 3 => kinds.push(Kind::Throughput),
        n => plots.omitted.push(format!(
            "throughput against readers: omitted, the cost slice ({}) has {n} reader count{} \
             (a scaling figure needs 3 or more)",
            v.cost.name(),
            if n == 1 { "" } else { "s" }
        )),
    }
    kinds.push(Kind::NsPerLookup);
    match cache_misses_omitted(v) {
        None => kinds.push(Kind::CacheMisses),
        Some(note) => plots.omitted.push(note),
    }
    if latency_points(v).is_empty() {
        plots.omitted.push(
            "swapoff latency: omitted, no point of the churn slice recorded a swap cycle".into(),
        );
    } else {
        kinds.push(Kind::SwapoffLatency);
        if cdf_series(v).is_empty() {
            plots.omitted.push(
                "swapoff latency CDF: omitted, no repeat recorded latency buckets (a version 1 \
                 file)"
                    .into(),
            );
        } else {
            kinds.push(Kind::SwapoffCdf);
        }
    }
    if v.sweep().is_some() {
        kinds.push(Kind::FailedLookups);
    } else {
        plots.omitted.push(
            "failed lookups against swap period: omitted, the run did not sweep periods".into(),
        );
    }
    if v.holds.len() >= 2 {
        kinds.push(Kind::Hold);
    } else {
        plots.omitted.push(
            "ns per lookup against hold: omitted, the run measured one hold (`--hold 0,50ns,200ns` \
             sweeps)"
                .into(),
        );
    }
    for k in kinds {
        plots.figures.push(render(v, k, out)?);
    }
    Ok(plots)
}

fn render(v: &View, k: Kind, out: &Path) -> Result<Figure, ReportError> {
    let svg = out.join(format!("{}.svg", k.name()));
    let png = out.join(format!("{}.png", k.name()));
    let mut text = String::new();
    let title = {
        let root = SVGBackend::with_string(&mut text, (W, H)).into_drawing_area();
        let t = draw(v, k, &root).map_err(|e| ReportError::Plot(svg.clone(), e))?;
        root.present()
            .map_err(|e| ReportError::Plot(svg.clone(), e.to_string()))?;
        t
    };
    write_atomic(&svg, text.as_bytes()).map_err(|e| ReportError::Io(svg.clone(), e))?;
    // PNG: drawn to a temporary file in the same directory, then renamed over the target.
    let tmp = out.join(format!(".{}.tmp.{}.png", k.name(), std::process::id()));
    let result = (|| {
        let root = BitMapBackend::new(&tmp, (W, H)).into_drawing_area();
        draw(v, k, &root)?;
        root.present().map_err(err)?;
        drop(root);
        std::fs::rename(&tmp, &png).map_err(err)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(ReportError::Plot(png, e));
    }
    Ok(Figure {
        name: k.name(),
        title,
        svg,
        png,
    })
}

/// A legend entry: a line, a marker, or both, in a colour.
struct Entry {
    label: String,
    colour: RGBColor,
    line: bool,
    marker: Marker,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    Circle,
    Triangle,
    Square,
    Cross,
}

const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Cross,
];

fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: Marker,
    (x, y): (i32, i32),
    c: RGBColor,
) -> Result<(), String> {
    let s = 7;
    match m {
        Marker::None => Ok(()),
        Marker::Circle => area.draw(&Circle::new((x, y), s, c.filled())).map_err(err),
        Marker::Triangle => area
            .draw(&TriangleMarker::new((x, y), s + 2, c.filled()))
            .map_err(err),
        Marker::Square => area
            .draw(&Rectangle::new(
                [(x - s + 1, y - s + 1), (x + s - 1, y + s - 1)],
                c.filled(),
            ))
            .map_err(err),
        Marker::Cross => area
            .draw(&Cross::new((x, y), s, c.stroke_width(3)))
            .map_err(err),
    }
}

/// The plot area and the legend column of a figure.
type Areas<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

/// One mark of a column figure: `(median, min, max)`, or nothing when not measured.
type Mark = Option<(f64, f64, f64)>;

/// What a column figure shows besides its values.
struct Columns<'a> {
    names: &'a [String],
    y_desc: &'a str,
    marks: &'a [(Marker, String)],
    /// Join a column's marks with a thin line (percentile ladders).
    connect: bool,
}

/// Title on top, caption at the bottom; returns the plot area and the legend column.
fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    v: &View,
    title: &str,
    subtitle: &str,
) -> Result<Areas<DB>, String> {
    root.fill(&WHITE).map_err(err)?;
    let (w, h) = root.dim_in_pixel();
    let centre = Pos::new(HPos::Center, VPos::Top);
    root.draw_text(
        title,
        &TextStyle::from((FONT, 24).into_font().style(FontStyle::Bold)).pos(centre),
        ((w / 2) as i32, 10),
    )
    .map_err(err)?;
    root.draw_text(
        subtitle,
        &TextStyle::from((FONT, 15).into_font())
            .color(&RGBColor(60, 60, 60))
            .pos(centre),
        ((w / 2) as i32, 40),
    )
    .map_err(err)?;
    root.draw_text(
        &v.caption(),
        &TextStyle::from((FONT, 13).into_font())
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Left, VPos::Bottom)),
        (12, h as i32 - 8),
    )
    .map_err(err)?;
    let body = root.margin(64, 28, 6, 6);
    let (bw, _) = body.dim_in_pixel();
    let (plot, legend) = body.split_horizontally(bw.saturating_sub(LEGEND_W));
    Ok((plot, legend))
}

fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> Result<(), String> {
    let style = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let x0 = 12;
    let mut y = 40;
    for e in entries {
        if e.line {
            area.draw(&PathElement::new(
                vec![(x0, y), (x0 + 28, y)],
                e.colour.stroke_width(3),
            ))
            .map_err(err)?;
        }
        marker(area, e.marker, (x0 + 14, y), e.colour)?;
        area.draw_text(&e.label, &style, (x0 + 38, y))
            .map_err(err)?;
        y += 24;
    }
    Ok(())
}

fn strategy_entries(v: &View, names: &[String], line: bool) -> Vec<Entry> {
    names
        .iter()
        .map(|s| Entry {
            label: s.clone(),
            colour: rgb(v.colour(s)),
            line,
            marker: if line { Marker::Circle } else { Marker::None },
        })
        .collect()
}

/// Log-axis bounds around `lo..hi` with some room, never below a positive floor.
fn log_bounds(lo: f64, hi: f64) -> (f64, f64) {
    let lo = lo.max(1e-9);
    let hi = hi.max(lo * 1.0001);
    (lo / 1.6, hi * 1.6)
}

fn reader_axis(v: &View) -> (f64, f64) {
    let lo = *v.cost.readers.first().unwrap_or(&1) as f64;
    let hi = *v.cost.readers.last().unwrap_or(&1) as f64;
    let pad = ((hi - lo) * 0.05).max(0.5);
    (lo - pad, hi + pad)
}

/// Tick values for a log axis over `lo..hi`: 1-2-5 per decade, or only powers of ten when
/// that would be more than 12 ticks, or 1..9 per decade when fewer than 3.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let pick = |mults: &[f64]| -> Vec<f64> {
        let mut v = Vec::new();
        let mut e = lo.log10().floor() as i32 - 1;
        while 10f64.powi(e) <= hi * 1.0001 {
            for m in mults {
                let t = m * 10f64.powi(e);
                if t >= lo * 0.9999 && t <= hi * 1.0001 {
                    v.push(t);
                }
            }
            e += 1;
        }
        v
    };
    let v = pick(&[1.0, 2.0, 5.0]);
    if v.len() > 12 {
        pick(&[1.0])
    } else if v.len() < 3 {
        pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    } else {
        v
    }
}

/// Draw horizontal grid lines and labels for `ticks`; `at(y)` gives the backend pixels of the
/// plot's left and right edges at value `y`.
fn draw_y_ticks<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ticks: &[f64],
    at: &dyn Fn(f64) -> ((i32, i32), (i32, i32)),
) -> Result<(), String> {
    let style = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for &t in ticks {
        let ((x0, y), (x1, _)) = at(t);
        root.draw(&PathElement::new(
            vec![(x0, y), (x1, y)],
            RGBColor(215, 215, 215),
        ))
        .map_err(err)?;
        root.draw(&PathElement::new(vec![(x0 - 5, y), (x0, y)], BLACK))
            .map_err(err)?;
        root.draw_text(&sig3(t), &style, (x0 - 8, y)).map_err(err)?;
    }
    Ok(())
}

/// Vertical grid lines and labels for `ticks` on a log x axis; `at(x)` gives the backend
/// pixels of the plot's bottom and top edges at value `x`.
fn draw_x_ticks<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ticks: &[f64],
    at: &dyn Fn(f64) -> ((i32, i32), (i32, i32)),
) -> Result<(), String> {
    let style = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for &t in ticks {
        let ((x, y0), (_, y1)) = at(t);
        root.draw(&PathElement::new(
            vec![(x, y0), (x, y1)],
            RGBColor(215, 215, 215),
        ))
        .map_err(err)?;
        root.draw(&PathElement::new(vec![(x, y0), (x, y0 + 5)], BLACK))
            .map_err(err)?;
        root.draw_text(&sig3(t), &style, (x, y0 + 8)).map_err(err)?;
    }
    Ok(())
}

/// How many x labels to ask for so that ticks fall on whole reader counts.
fn reader_ticks(v: &View) -> usize {
    let lo = *v.cost.readers.first().unwrap_or(&1);
    let hi = *v.cost.readers.last().unwrap_or(&1);
    (hi - lo + 1).clamp(2, 12)
}

fn int_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-6 && *x >= 0.0 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

/// The slice a figure's points come from, for its subtitle.
fn slice_label(slice: &super::Slice) -> String {
    format!(
        "slice: {}{}",
        slice.name(),
        if slice.chosen { " (--slice)" } else { "" }
    )
}

/// Draw figure `k`; returns its title.
fn draw<DB: DrawingBackend>(
    v: &View,
    k: Kind,
    root: &DrawingArea<DB, Shift>,
) -> Result<String, String> {
    match k {
        Kind::Throughput => throughput(v, root),
        Kind::NsPerLookup => ns_per_lookup(v, root),
        Kind::CacheMisses => cache_miss_plot(v, root),
        Kind::SwapoffLatency => swapoff_latency(v, root),
        Kind::SwapoffCdf => swapoff_cdf(v, root),
        Kind::FailedLookups => failed_lookups(v, root),
        Kind::Hold => hold(v, root),
    }
}

/// Throughput against readers, both axes logarithmic (readers base 2), so perfect scaling is
/// a line of slope 1 for every series: the dashed ideal line, drawn through the lowest
/// reader count's median of `unprotected` (or of the first series without it), shows that
/// slope. Drawn only for 3 or more reader counts ([`plot_all`]).
fn throughput<DB: DrawingBackend>(
    v: &View,
    root: &DrawingArea<DB, Shift>,
) -> Result<String, String> {
    let title = "Lookup throughput against readers".to_owned();
    let sub = format!(
        "total successful + failed lookups per second, all readers; median of {} repeats, whiskers min–max; {}",
        v.results.config.repeats,
        slice_label(&v.cost)
    );
    let (plot, leg) = frame(root, v, &title, &sub)?;
    let series: Vec<(String, Vec<(f64, crate::results::Spread)>)> = v
        .strategies
        .iter()
        .map(|s| {
            let pts = v
                .cost_series(s)
                .iter()
                .map(|p| (p.readers as f64, mops_spread(p)))
                .collect();
            (s.clone(), pts)
        })
        .filter(|(_, p): &(String, Vec<_>)| !p.is_empty())
        .collect();
    let readers: Vec<f64> = v.cost.readers.iter().map(|&r| r as f64).collect();
    let (r0, r1) = (readers[0], readers[readers.len() - 1]);
    // The ideal line: from the anchor series' first point, linear in readers.
    let anchor = series
        .iter()
        .find(|(s, _)| s == "unprotected")
        .or(series.first())
        .and_then(|(s, p)| Some((s.clone(), *p.first()?)))
        .ok_or("no series")?;
    let (ax, amed) = (anchor.1.0, anchor.1.1.median);
    let ideal = |r: f64| amed * r / ax;
    let all = series.iter().flat_map(|(_, p)| p.iter().map(|(_, s)| *s));
    let lo = all.clone().map(|s| s.min).fold(ideal(r0), f64::min);
    let hi = all.map(|s| s.max).fold(ideal(r1), f64::max);
    let (ylo, yhi) = log_bounds(lo, hi);
    let (xlo, xhi) = (r0 / 1.25, r1 * 1.25);
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((xlo..xhi).log_scale().base(2.0), (ylo..yhi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("reader threads (one per CPU, log2 scale)")
        .y_desc("throughput (Mops/s, log scale)")
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_labels(0)
        .y_label_formatter(&|_| String::new())
        .disable_mesh()
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    draw_y_ticks(root, &log_ticks(ylo, yhi), &|y| {
        (
            chart.backend_coord(&(xlo, y)),
            chart.backend_coord(&(xhi, y)),
        )
    })?;
    // A tick at every measured reader count (they need not be powers of two).
    draw_x_ticks(root, &readers, &|x| {
        (
            chart.backend_coord(&(x, ylo)),
            chart.backend_coord(&(x, yhi)),
        )
    })?;
    chart
        .draw_series(DashedLineSeries::new(
            [(r0, ideal(r0)), (r1, ideal(r1))],
            8,
            6,
            RGBColor(90, 90, 90).stroke_width(2),
        ))
        .map_err(err)?;
    for (s, pts) in &series {
        let c = rgb(v.colour(s));
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|(x, sp)| (*x, sp.median)),
                c.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(pts.iter().map(|(x, sp)| {
                ErrorBar::new_vertical(*x, sp.min, sp.median, sp.max, c.stroke_width(1), 10)
            }))
            .map_err(err)?;
        chart
            .draw_series(
                pts.iter()
                    .map(|(x, sp)| Circle::new((*x, sp.median), 4, c.filled())),
            )
            .map_err(err)?;
    }
    let names: Vec<String> = series.iter().map(|(s, _)| s.clone()).collect();
    let mut entries = strategy_entries(v, &names, true);
    entries.push(Entry {
        label: format!("ideal (× readers, from {} at {ax})", anchor.0),
        colour: RGBColor(90, 90, 90),
        line: true,
        marker: Marker::None,
    });
    legend(&leg, &entries)?;
    Ok(title)
}

/// A figure with one column per strategy and a log y axis; `values(strategy)` gives, per
/// mark, `(median, min, max)`; marks are offset horizontally and keyed by `marks`.
fn strategy_columns<DB: DrawingBackend>(
    v: &View,
    root: &DrawingArea<DB, Shift>,
    plot: &DrawingArea<DB, Shift>,
    cols: &Columns,
    values: &dyn Fn(&str) -> Vec<Mark>,
) -> Result<(), String> {
    let Columns {
        names,
        y_desc,
        marks,
        connect,
    } = *cols;
    let data: Vec<Vec<Mark>> = names.iter().map(|s| values(s)).collect();
    let flat = data.iter().flatten().flatten();
    let lo = flat.clone().map(|t| t.1).fold(f64::INFINITY, f64::min);
    let hi = flat.map(|t| t.2).fold(0.0, f64::max);
    let (ylo, yhi) = log_bounds(lo, hi);
    let n = names.len() as f64;
    let mut chart = ChartBuilder::on(plot)
        .margin(10)
        // Two rows of two-line labels (`name` over `@flavour`), staggered so long names do not
        // run into each other.
        .x_label_area_size(100)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5..(n - 0.5), (ylo..yhi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_desc("strategy")
        .y_desc(y_desc)
        .y_labels(0)
        .y_label_formatter(&|_| String::new())
        .disable_y_mesh()
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    draw_y_ticks(root, &log_ticks(ylo, yhi), &|y| {
        (
            chart.backend_coord(&(-0.5, y)),
            chart.backend_coord(&(n - 0.5, y)),
        )
    })?;
    let m = marks.len() as f64;
    let step = if m > 1.0 { 0.5 / (m - 1.0) } else { 0.0 };
    let label_style =
        TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, (s, vals)) in names.iter().zip(&data).enumerate() {
        let c = rgb(v.colour(s));
        let xs: Vec<f64> = (0..marks.len())
            .map(|j| i as f64 - 0.25 + step * j as f64 + if m > 1.0 { 0.0 } else { 0.25 })
            .collect();
        if connect {
            let line: Vec<(f64, f64)> = xs
                .iter()
                .zip(vals)
                .filter_map(|(x, t)| t.map(|t| (*x, t.0)))
                .collect();
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(1)))
                .map_err(err)?;
        }
        for ((x, t), (mk, _)) in xs.iter().zip(vals).zip(marks) {
            let Some((med, lo, hi)) = *t else { continue };
            if hi > lo {
                chart
                    .draw_series(std::iter::once(ErrorBar::new_vertical(
                        *x,
                        lo,
                        med,
                        hi,
                        c.stroke_width(2),
                        10,
                    )))
                    .map_err(err)?;
            }
            let px = chart.backend_coord(&(*x, med));
            marker(root, *mk, px, c)?;
        }
        let (lx, ly) = chart.backend_coord(&(i as f64, ylo));
        let row = if i % 2 == 0 { 6 } else { 40 };
        let (name, flavour) = match s.split_once('@') {
            Some((n, f)) => (n, Some(f)),
            None => (s.as_str(), None),
        };
        root.draw_text(name, &label_style, (lx, ly + row))
            .map_err(err)?;
        if let Some(f) = flavour {
            root.draw_text(&format!("@{f}"), &label_style, (lx, ly + row + 15))
                .map_err(err)?;
        }
    }
    Ok(())
}

fn ns_per_lookup<DB: DrawingBackend>(
    v: &View,
    root: &DrawingArea<DB, Shift>,
) -> Result<String, String> {
    let title = "Cost of one lookup + release".to_owned();
    let sub = format!(
        "ns per lookup per reader; median of {} repeats, whiskers min–max; {}",
        v.results.config.repeats,
        slice_label(&v.cost)
    );
    let (plot, leg) = frame(root, v, &title, &sub)?;
    let readers = reader_marks(v);
    let marks: Vec<(Marker, String)> = readers
        .iter()
        .zip(MARKERS.iter().cycle())
        .map(|(r, m)| (*m, format!("{r} reader{}", if *r == 1 { "" } else { "s" })))
        .collect();
    let values = |s: &str| {
        readers
            .iter()
            .map(|&r| {
                v.cost_at(s, r)
                    .map(|p| (p.ns_per_op.median, p.ns_per_op.min, p.ns_per_op.max))
            })
            .collect()
    };
    let cols = Columns {
        names: &v.strategies,
        y_desc: "ns per lookup (log scale)",
        marks: &marks,
        connect: false,
    };
    strategy_columns(v, root, &plot, &cols, &values)?;
    let entries: Vec<Entry> = marks
        .iter()
        .map(|(m, l)| Entry {
            label: l.clone(),
            colour: RGBColor(40, 40, 40),
            line: false,
            marker: *m,
        })
        .collect();
    legend(&leg, &entries)?;
    Ok(title)
}

fn cache_miss_plot<DB: DrawingBackend>(
    v: &View,
    root: &DrawingArea<DB, Shift>,
) -> Result<String, String> {
    let title = "Cache misses per lookup against readers".to_owned();
    let sub = format!(
        "perf 'cache-misses' per lookup, scaled for multiplexing; {}",
        slice_label(&v.cost)
    );
    let (plot, leg) = frame(root, v, &title, &sub)?;
    let series: Vec<(String, Vec<(f64, f64)>)> = v
        .strategies
        .iter()
        .map(|s| {
            let pts = v
                .cost_series(s)
                .iter()
                .filter_map(|p| cache_misses(p).map(|m| (p.readers as f64, m)))
                .collect();
            (s.clone(), pts)
        })
        .filter(|(_, p): &(String, Vec<_>)| !p.is_empty())
        .collect();
    let hi = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|t| t.1))
        .fold(0.0, f64::max);
    let (xlo, xhi) = reader_axis(v);
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(xlo..xhi, 0.0..(hi * 1.15).max(1e-3))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("reader threads (one per CPU)")
        .y_desc("cache misses per lookup")
        .x_labels(reader_ticks(v))
        .x_label_formatter(&int_label)
        .y_label_formatter(&|y| sig3(*y))
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .light_line_style(RGBColor(244, 244, 244))
        .draw()
        .map_err(err)?;
    for (s, pts) in &series {
        let c = rgb(v.colour(s));
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))
            .map_err(err)?;
    }
    let names: Vec<String> = series.iter().map(|(s, _)| s.clone()).collect();
    legend(&leg, &strategy_entries(v, &names, true))?;
    Ok(title)
}

/// The points of the hold figure: per series, (hold ns, ns per lookup spread) at the cost
/// slice's period (no swapper for strategies that refuse churn) and fewest readers.
fn hold_series(v: &View) -> Vec<(String, Vec<(f64, crate::results::Spread)>)> {
    let r = v.cost.readers[0];
    v.strategies
        .iter()
        .map(|s| {
            let pts = v
                .holds
                .iter()
                .filter_map(|&h| {
                    let p = v.held_at(s, r, v.cost.period, h)?;
                    Some((h as f64, p.ns_per_op))
                })
                .collect();
            (s.clone(), pts)
        })
        .filter(|(_, p): &(String, Vec<_>)| p.len() >= 2)
        .collect()
}

/// ns per lookup against the hold, linear x, log y. The dashed line is `unprotected` at the
/// shortest hold plus the hold itself: a lookup that costs nothing but its hold; the gap
/// above it is what the strategy adds, and a gap that grows with the hold is a protection
/// whose cost depends on how long it is held (a lock held across the hold, say).
fn hold<DB: DrawingBackend>(v: &View, root: &DrawingArea<DB, Shift>) -> Result<String, String> {
    let title = "ns per lookup against the hold".to_owned();
    let mut slice = v.cost.clone();
    slice.readers.truncate(1);
    slice.holds_swept = false;
    slice.hold_ns = 0;
    let sub = format!(
        "each lookup holds its reference this long (a calibrated spin); median of {} repeats, \
         whiskers min–max; {}, every hold",
        v.results.config.repeats,
        slice_label(&slice)
    );
    let (plot, leg) = frame(root, v, &title, &sub)?;
    let series = hold_series(v);
    let base = series
        .iter()
        .find(|(s, _)| s == "unprotected")
        .and_then(|(_, p)| p.first().map(|(h, s)| s.median - h));
    let hmax = *v.holds.last().ok_or("no holds")? as f64;
    let all = series.iter().flat_map(|(_, p)| p.iter().map(|(_, s)| *s));
    let lo = all.clone().map(|s| s.min).fold(f64::INFINITY, f64::min);
    let hi = all.map(|s| s.max).fold(0.0, f64::max);
    let (ylo, yhi) = log_bounds(lo, hi);
    let pad = hmax * 0.05;
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(-pad..hmax + pad, (ylo..yhi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("hold (ns)")
        .y_desc("ns per lookup (log scale)")
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_labels(0)
        .y_label_formatter(&|_| String::new())
        .disable_mesh()
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .draw()
        .map_err(err)?;
    draw_y_ticks(root, &log_ticks(ylo, yhi), &|y| {
        (
            chart.backend_coord(&(-pad, y)),
            chart.backend_coord(&(hmax + pad, y)),
        )
    })?;
    let xs: Vec<f64> = v.holds.iter().map(|&h| h as f64).collect();
    draw_x_ticks(root, &xs, &|x| {
        (
            chart.backend_coord(&(x, ylo)),
            chart.backend_coord(&(x, yhi)),
        )
    })?;
    let mut entries = Vec::new();
    if let Some(b) = base.filter(|b| *b > 0.0) {
        chart
            .draw_series(DashedLineSeries::new(
                xs.iter().map(|&h| (h, b + h)),
                8,
                6,
                RGBColor(90, 90, 90).stroke_width(2),
            ))
            .map_err(err)?;
        entries.push(Entry {
            label: "unprotected + the hold itself".into(),
            colour: RGBColor(90, 90, 90),
            line: true,
            marker: Marker::None,
        });
    }
    for (s, pts) in &series {
        let c = rgb(v.colour(s));
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|(x, sp)| (*x, sp.median)),
                c.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(pts.iter().map(|(x, sp)| {
                PathElement::new(vec![(*x, sp.min), (*x, sp.max)], c.stroke_width(1))
            }))
            .map_err(err)?;
        chart
            .draw_series(
                pts.iter()
                    .map(|(x, sp)| Circle::new((*x, sp.median), 4, c.filled())),
            )
            .map_err(err)?;
    }
    let names: Vec<String> = series.iter().map(|(s, _)| s.clone()).collect();
    let mut all_entries = strategy_entries(v, &names, true);
    all_entries.extend(entries);
    legend(&leg, &all_entries)?;
    Ok(title)
}

fn swapoff_latency<DB: DrawingBackend>(
    v: &View,
    root: &DrawingArea<DB, Shift>,
) -> Result<String, String> {
    let title = "swapoff latency per strategy".to_owned();
    let pts = latency_points(v);
    let readers: Vec<usize> = pts.iter().map(|t| t.2).collect();
    let at = if readers.iter().all(|r| *r == readers[0]) {
        let n = readers[0];
        format!("{n} reader{}", if n == 1 { "" } else { "s" })
    } else {
        "most readers measured per strategy".into()
    };
    let sub = format!(
        "swapoff's drain: from unpublish until no reader can hold the map; {at}; {}",
        slice_label(v.churn.as_ref().ok_or("no churn slice")?)
    );
    let (plot, leg) = frame(root, v, &title, &sub)?;
    let names: Vec<String> = pts.iter().map(|t| t.0.clone()).collect();
    let marks: Vec<(Marker, String)> = vec![
        (Marker::Circle, "p50".into()),
        (Marker::Triangle, "p90".into()),
        (Marker::Square, "p99".into()),
        (Marker::Cross, "max".into()),
    ];
    let us = |ns: u64| (ns as f64 / 1e3).max(1e-3);
    let values = |s: &str| {
        let l = pts.iter().find(|t| t.0 == s).map(|t| t.1);
        [
            l.map(|l| l.p50),
            l.map(|l| l.p90),
            l.map(|l| l.p99),
            l.map(|l| l.max),
        ]
        .into_iter()
        .map(|x| x.map(|ns| (us(ns), us(ns), us(ns))))
        .collect()
    };
    let cols = Columns {
        names: &names,
        y_desc: "swapoff latency (µs, log scale)",
        marks: &marks,
        connect: true,
    };
    strategy_columns(v, root, &plot, &cols, &values)?;
    let mut entries: Vec<Entry> = marks
        .iter()
        .map(|(m, l)| Entry {
            label: l.clone(),
            colour: RGBColor(40, 40, 40),
            line: false,
            marker: *m,
        })
        .collect();
    let count = pts.iter().map(|t| t.1.count).min().unwrap_or(0);
    entries.push(Entry {
        label: format!("≥ {count} cycles each"),
        colour: WHITE,
        line: false,
        marker: Marker::None,
    });
    legend(&leg, &entries)?;
    Ok(title)
}

fn failed_lookups<DB: DrawingBackend>(
    v: &View,
    root: &DrawingArea<DB, Shift>,
) -> Result<String, String> {
    let title = "Failed lookups against swap period".to_owned();
    let (periods, readers) = v.sweep().ok_or("no period sweep")?;
    let shares = v
        .results
        .points
        .iter()
        .any(|p| p.readers == readers && p.period_ns.is_some() && p.swapper_shares_cpu);
    let sub = format!(
        "share of lookups that found the device off; {readers} reader{}, {}, off time {}",
        if readers == 1 { "" } else { "s" },
        if shares {
            "the swapper sharing a CPU with a reader"
        } else {
            "the swapper on its own CPU"
        },
        fmt_ns(v.results.config.off_time_ns as f64)
    );
    let (plot, leg) = frame(root, v, &title, &sub)?;
    let (scale, unit) = if periods.iter().all(|&p| p >= 1_000_000) {
        (1e6, "ms")
    } else {
        (1e3, "µs")
    };
    // Strategies that refuse churn (unprotected) have no failed lookups to show.
    let series: Vec<(String, Vec<(f64, f64)>)> = v
        .strategies
        .iter()
        .filter(|s| v.churns(s))
        .map(|s| {
            let pts = periods
                .iter()
                .filter_map(|&per| {
                    v.point(s, readers, Some(per))
                        .map(|p| (per as f64 / scale, p.failed_lookup_rate * 100.0))
                })
                .collect();
            (s.clone(), pts)
        })
        .filter(|(_, p): &(String, Vec<_>)| !p.is_empty())
        .collect();
    let hi = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|t| t.1))
        .fold(0.0, f64::max);
    let xs = periods.iter().map(|p| *p as f64 / scale);
    let (xlo, xhi) = log_bounds(
        xs.clone().fold(f64::INFINITY, f64::min),
        xs.fold(0.0, f64::max),
    );
    let yhi = (hi * 1.15).max(1e-3);
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((xlo..xhi).log_scale(), 0.0..yhi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(format!(
            "swap period ({unit} between swap cycles, log scale)"
        ))
        .y_desc("failed lookups (% of lookups)")
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .disable_x_mesh()
        .y_label_formatter(&|y| sig3(*y))
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .light_line_style(RGBColor(244, 244, 244))
        .draw()
        .map_err(err)?;
    draw_x_ticks(root, &log_ticks(xlo, xhi), &|x| {
        (
            chart.backend_coord(&(x, 0.0)),
            chart.backend_coord(&(x, yhi)),
        )
    })?;
    for (s, pts) in &series {
        let c = rgb(v.colour(s));
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))
            .map_err(err)?;
    }
    let names: Vec<String> = series.iter().map(|(s, _)| s.clone()).collect();
    legend(&leg, &strategy_entries(v, &names, true))?;
    Ok(title)
}

fn swapoff_cdf<DB: DrawingBackend>(
    v: &View,
    root: &DrawingArea<DB, Shift>,
) -> Result<String, String> {
    let title = "swapoff latency CDF per strategy".to_owned();
    let series = cdf_series(v);
    let readers: Vec<usize> = series.iter().map(|c| c.readers).collect();
    let at = if readers.iter().all(|r| *r == readers[0]) {
        let n = readers[0];
        format!("{n} reader{}", if n == 1 { "" } else { "s" })
    } else {
        "most readers measured per strategy".into()
    };
    let sub = format!(
        "share of swapoffs whose drain took at most x; every repeat merged; {at}; {}",
        slice_label(v.churn.as_ref().ok_or("no churn slice")?)
    );
    let (plot, leg) = frame(root, v, &title, &sub)?;
    let xs = series.iter().flat_map(|c| c.points.iter().map(|p| p.0));
    let (xlo, xhi) = log_bounds(
        xs.clone().fold(f64::INFINITY, f64::min),
        xs.fold(0.0, f64::max),
    );
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((xlo..xhi).log_scale(), 0.0..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("swapoff latency (µs, log scale; buckets of two significant digits)")
        .y_desc("fraction of swapoffs ≤ x")
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .disable_x_mesh()
        .y_label_formatter(&|y| sig3(*y))
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .light_line_style(RGBColor(244, 244, 244))
        .draw()
        .map_err(err)?;
    draw_x_ticks(root, &log_ticks(xlo, xhi), &|x| {
        (
            chart.backend_coord(&(x, 0.0)),
            chart.backend_coord(&(x, 1.0)),
        )
    })?;
    for cdf in &series {
        let c = rgb(v.colour(&cdf.name));
        let pts = &cdf.points;
        // A step function: each bucket's share is reached at its lower bound.
        let mut steps = Vec::with_capacity(pts.len() * 2);
        let mut last = 0.0;
        for &(x, y) in pts {
            steps.push((x, last));
            steps.push((x, y));
            last = y;
        }
        chart
            .draw_series(LineSeries::new(steps, c.stroke_width(2)))
            .map_err(err)?;
    }
    let names: Vec<String> = series.iter().map(|c| c.name.clone()).collect();
    let mut entries = strategy_entries(v, &names, true);
    let count = series.iter().map(|c| c.cycles).min().unwrap_or(0);
    entries.push(Entry {
        label: format!("≥ {count} cycles each"),
        colour: WHITE,
        line: false,
        marker: Marker::None,
    });
    legend(&leg, &entries)?;
    Ok(title)
}
