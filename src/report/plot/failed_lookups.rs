//! The `failed_lookups` figure: failed-lookup rate against the swap period.

use super::*;

pub(super) fn failed_lookups<DB: DrawingBackend>(
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
