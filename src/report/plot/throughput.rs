//! The `throughput` figure: total Mops/s against readers (log2), with the ideal line.

use super::*;

/// Throughput against readers, both axes logarithmic (readers base 2), so perfect scaling is
/// a line of slope 1 for every series: the dashed ideal line, drawn through the lowest
/// reader count's median of `unprotected` (or of the first series without it), shows that
/// slope. Drawn only for 3 or more reader counts ([`plot_all`]).
pub(super) fn throughput<DB: DrawingBackend>(
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
