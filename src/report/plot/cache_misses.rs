//! The `cache_misses` figure, and why it is left out when the counter is null.

use super::*;

/// Cache misses per lookup of `p`, if the counter was read.
pub(super) fn cache_misses(p: &crate::results::Point) -> Option<f64> {
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

pub(super) fn cache_miss_plot<DB: DrawingBackend>(
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
