//! The `hold` figure: ns per lookup against the time each lookup holds its reference.

use super::*;

/// The points of the hold figure: per series, (hold ns, ns per lookup spread) at the cost
/// slice's period (no swapper for strategies that refuse churn) and fewest readers.
pub(super) fn hold_series(v: &View) -> Vec<(String, Vec<(f64, crate::results::Spread)>)> {
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
pub(super) fn hold<DB: DrawingBackend>(
    v: &View,
    root: &DrawingArea<DB, Shift>,
) -> Result<String, String> {
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
