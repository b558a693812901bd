//! The `swapoff_latency` figure: drain latency percentiles per strategy.

use super::*;

/// The point each strategy's latency figure uses: the churn slice's, most readers.
pub(super) fn latency_points<'a>(v: &View<'a>) -> Vec<(String, Percentiles, usize)> {
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

pub(super) fn swapoff_latency<DB: DrawingBackend>(
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
