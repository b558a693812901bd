//! The furniture every figure shares: the frame (title, caption, legend column), markers,
//! legend entries, log and reader axes, ticks, and the column figure that `ns_per_lookup`,
//! `cache_misses` and `swapoff_latency` draw their values into.

use super::*;

/// Reader counts the per-strategy figures show: the cost slice's, all of them up to four, else
/// the fewest, a middle one and the most.
pub(super) fn reader_marks(v: &View) -> Vec<usize> {
    let r = &v.cost.readers;
    if r.len() <= 4 {
        r.clone()
    } else {
        vec![r[0], r[r.len() / 2], r[r.len() - 1]]
    }
}

/// A legend entry: a line, a marker, or both, in a colour.
pub(super) struct Entry {
    pub(super) label: String,
    pub(super) colour: RGBColor,
    pub(super) line: bool,
    pub(super) marker: Marker,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Marker {
    None,
    Circle,
    Triangle,
    Square,
    Cross,
}

pub(super) const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Cross,
];

pub(super) fn marker<DB: DrawingBackend>(
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
pub(super) type Areas<DB> = (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>);

/// One mark of a column figure: `(median, min, max)`, or nothing when not measured.
pub(super) type Mark = Option<(f64, f64, f64)>;

/// What a column figure shows besides its values.
pub(super) struct Columns<'a> {
    pub(super) names: &'a [String],
    pub(super) y_desc: &'a str,
    pub(super) marks: &'a [(Marker, String)],
    /// Join a column's marks with a thin line (percentile ladders).
    pub(super) connect: bool,
}

/// Title on top, caption at the bottom; returns the plot area and the legend column.
pub(super) fn frame<DB: DrawingBackend>(
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

pub(super) fn legend<DB: DrawingBackend>(
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

pub(super) fn strategy_entries(v: &View, names: &[String], line: bool) -> Vec<Entry> {
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
pub(super) fn log_bounds(lo: f64, hi: f64) -> (f64, f64) {
    let lo = lo.max(1e-9);
    let hi = hi.max(lo * 1.0001);
    (lo / 1.6, hi * 1.6)
}

pub(super) fn reader_axis(v: &View) -> (f64, f64) {
    let lo = *v.cost.readers.first().unwrap_or(&1) as f64;
    let hi = *v.cost.readers.last().unwrap_or(&1) as f64;
    let pad = ((hi - lo) * 0.05).max(0.5);
    (lo - pad, hi + pad)
}

/// Tick values for a log axis over `lo..hi`: 1-2-5 per decade, or only powers of ten when
/// that would be more than 12 ticks, or 1..9 per decade when fewer than 3.
pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
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
pub(super) fn draw_y_ticks<DB: DrawingBackend>(
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
pub(super) fn draw_x_ticks<DB: DrawingBackend>(
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
pub(super) fn reader_ticks(v: &View) -> usize {
    let lo = *v.cost.readers.first().unwrap_or(&1);
    let hi = *v.cost.readers.last().unwrap_or(&1);
    (hi - lo + 1).clamp(2, 12)
}

pub(super) fn int_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-6 && *x >= 0.0 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

/// The slice a figure's points come from, for its subtitle.
pub(super) fn slice_label(slice: &crate::report::Slice) -> String {
    format!(
        "slice: {}{}",
        slice.name(),
        if slice.chosen { " (--slice)" } else { "" }
    )
}

/// Draw figure `k`; returns its title.
pub(super) fn draw<DB: DrawingBackend>(
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

/// A figure with one column per strategy and a log y axis; `values(strategy)` gives, per
/// mark, `(median, min, max)`; marks are offset horizontally and keyed by `marks`.
pub(super) fn strategy_columns<DB: DrawingBackend>(
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
