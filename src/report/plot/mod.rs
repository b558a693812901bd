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

mod cache_misses;
mod chart;
mod failed_lookups;
mod hold;
mod ns_per_lookup;
mod swapoff_cdf;
mod swapoff_latency;
mod throughput;

pub use cache_misses::cache_misses_omitted;
use cache_misses::*;
use chart::*;
use failed_lookups::*;
use hold::*;
use ns_per_lookup::*;
use swapoff_cdf::*;
use swapoff_latency::*;
use throughput::*;

const W: u32 = 1100;
const H: u32 = 640;
/// The legend column: room for the longest series label (`percpu-acquire@membarrier/cpu`, 29
/// characters at 15 px) after its marker.
const LEGEND_W: u32 = 300;
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
