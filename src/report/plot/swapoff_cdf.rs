//! The `swapoff_cdf` figure: the distribution of drain latency per strategy.

use super::*;

/// One strategy's swapoff latency CDF.
pub(super) struct Cdf {
    pub(super) name: String,
    /// (µs, fraction of cycles at or below).
    pub(super) points: Vec<(f64, f64)>,
    pub(super) readers: usize,
    pub(super) cycles: u64,
}

/// Per strategy, the swapoff latency CDF of its point with the most readers that recorded
/// buckets, every repeat's buckets merged.
pub(super) fn cdf_series(v: &View) -> Vec<Cdf> {
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

pub(super) fn swapoff_cdf<DB: DrawingBackend>(
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
