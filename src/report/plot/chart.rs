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
    // A long subtitle (a slice with many reader counts) is set smaller rather than cut off.
    let size = fitting_size(subtitle, 15, 10, w.saturating_sub(24));
    root.draw_text(
        subtitle,
        &TextStyle::from((FONT, size).into_font())
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
    let x0 = 12;
    let (w, h) = area.dim_in_pixel();
    // Entries closer together, and their text smaller, when there are many, so the last is
    // not drawn off the figure (markers overlap beyond about 30 entries; text stays apart).
    let step = (h.saturating_sub(48) / entries.len().max(1) as u32).min(24);
    let largest = step.saturating_sub(1).clamp(6, 15);
    let mut y = 40;
    let step = step as i32;
    for e in entries {
        // A label too long for the column is set smaller rather than cut off.
        let size = fitting_size(
            &e.label,
            largest,
            largest.min(10),
            w.saturating_sub(x0 as u32 + 42),
        );
        let style =
            TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
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
        y += step;
    }
    Ok(())
}

/// The largest font size from `size` down to `min` at which `text` is at most `width` pixels
/// wide, or `min` where none is.
pub(super) fn fitting_size(text: &str, size: u32, min: u32, width: u32) -> u32 {
    (min..=size)
        .rev()
        .find(|&s| {
            (FONT, s)
                .into_font()
                .box_size(text)
                .is_ok_and(|(w, _)| w <= width)
        })
        .unwrap_or(min)
}

/// Rows of staggered column labels (`name` over `@flavour`) needed so that two labels in one
/// row, `rows` columns apart, keep `LABEL_GAP` pixels between them; at most `MAX_LABEL_ROWS`.
pub(super) fn label_rows(widest: u32, column: f64) -> usize {
    let rows = ((f64::from(widest + LABEL_GAP)) / column.max(1.0)).ceil() as usize;
    rows.clamp(1, MAX_LABEL_ROWS)
}
/// The width of one column of a column figure whose plot area (legend excluded) is `plot_w`
/// pixels wide: less the y label area (80) and the chart's margins (10 each side).
pub(super) fn column_width(plot_w: u32, n: usize) -> f64 {
    f64::from(plot_w.saturating_sub(80 + 20)) / n.max(1) as f64
}
const LABEL_GAP: u32 = 8;
const MAX_LABEL_ROWS: usize = 6;
/// One row of column labels: two lines of 13 px text and the space under them.
const LABEL_ROW_H: u32 = 34;
const LABEL_FONT: u32 = 13;

/// The widest line of any column label, in pixels.
pub(super) fn widest_label(names: &[String]) -> u32 {
    names
        .iter()
        .flat_map(|s| {
            let (name, flavour) = label_lines(s);
            [Some(name.to_owned()), flavour]
        })
        .flatten()
        .filter_map(|t| (FONT, LABEL_FONT).into_font().box_size(&t).ok())
        .map(|(w, _)| w)
        .max()
        .unwrap_or(0)
}

/// How far below the x axis column `i`'s label starts, with labels staggered over `rows` rows.
pub(super) fn label_offset(i: usize, rows: usize) -> i32 {
    6 + (i % rows.max(1)) as i32 * LABEL_ROW_H as i32
}

/// The two lines of a column label: the strategy, then `@flavour` (with its counter backend).
pub(super) fn label_lines(s: &str) -> (&str, Option<String>) {
    match s.split_once('@') {
        Some((n, f)) => (n, Some(format!("@{f}"))),
        None => (s, None),
    }
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
    // Labels of two lines (`name` over `@flavour`), staggered over as many rows as the widest
    // needs at this column width (the plot's width less the y label area and margins).
    let rows = label_rows(
        widest_label(names),
        column_width(plot.dim_in_pixel().0, names.len()),
    );
    let mut chart = ChartBuilder::on(plot)
        .margin(10)
        .x_label_area_size(32 + rows as u32 * LABEL_ROW_H)
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
        TextStyle::from((FONT, LABEL_FONT).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
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
        let row = label_offset(i, rows);
        let (name, flavour) = label_lines(s);
        root.draw_text(name, &label_style, (lx, ly + row))
            .map_err(err)?;
        if let Some(f) = flavour {
            root.draw_text(&f, &label_style, (lx, ly + row + 15))
                .map_err(err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strategy names as long as the registry's longest, both counter backends.
    fn names(n: usize) -> Vec<String> {
        let base = [
            "percpu-acquire@membarrier/cpu",
            "percpu-fence@membarrier/cpu",
            "rcu-valid@membarrier",
            "file-ref@membarrier",
            "arc-swap",
        ];
        (0..n).map(|i| base[i % base.len()].to_owned()).collect()
    }

    /// Pairs of columns whose labels start on one line and leave less than `LABEL_GAP` pixels
    /// between them, with labels centred on columns `column` pixels apart.
    fn touching(n: usize, column: f64, widest: u32, offset: impl Fn(usize) -> i32) -> usize {
        let mut pairs = 0;
        for i in 0..n {
            for j in i + 1..n {
                if offset(i) == offset(j)
                    && ((j - i) as f64) * column < f64::from(widest + LABEL_GAP)
                {
                    pairs += 1;
                }
            }
        }
        pairs
    }

    #[test]
    fn column_labels_in_one_row_never_touch_up_to_thirty_columns() {
        super::super::fonts().unwrap();
        // The plot area of a figure: the frame's margins and the legend column taken off.
        let plot_w = W - 12 - LEGEND_W;
        for n in 1..=30 {
            let names = names(n);
            let (w, column) = (widest_label(&names), column_width(plot_w, n));
            let rows = label_rows(w, column);
            assert_eq!(
                touching(n, column, w, |i| label_offset(i, rows)),
                0,
                "{n} columns, {rows} rows"
            );
            if rows > 1 {
                let fewer = touching(n, column, w, |i| label_offset(i, rows - 1));
                assert!(
                    fewer > 0,
                    "{n} columns: {rows} rows where {} would do",
                    rows - 1
                );
            }
        }
        // The negative control: the old layout (two rows, whatever the count) at the default
        // run's 21 columns.
        let names = names(21);
        let (w, column) = (widest_label(&names), column_width(plot_w, 21));
        assert!(touching(21, column, w, |i| 6 + (i % 2) as i32 * 34) > 0);
        // Past what six rows can hold, six rows: crowded, but drawn.
        assert_eq!(label_rows(w, 1.0), MAX_LABEL_ROWS);
    }

    #[test]
    fn a_long_text_is_set_smaller_to_fit_and_a_short_one_is_not() {
        super::super::fonts().unwrap();
        let long = "total successful + failed lookups per second, all readers; median of 3 repeats, \
                    whiskers min–max; slice: swap period 1ms, 1, 2, 4, 8, 15 readers, the swapper \
                    on its own CPU";
        let size = fitting_size(long, 15, 10, W - 24);
        assert!(size < 15);
        let w = (FONT, size).into_font().box_size(long).unwrap().0;
        assert!(w <= W - 24, "{w} px at {size} px does not fit {}", W - 24);
        assert_eq!(fitting_size("1 reader", 15, 10, 200), 15);
        // Nothing fits: the smallest size, not a panic or zero.
        assert_eq!(fitting_size(long, 15, 10, 5), 10);
    }
}
