//! The `ns_per_lookup` figure: ns per lookup per strategy, at up to four reader counts.

use super::*;

pub(super) fn ns_per_lookup<DB: DrawingBackend>(
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
