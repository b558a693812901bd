//! The same points as text: an aligned table for terminals, CSV for spreadsheets and scripts,
//! Markdown for issues and mailing-list posts. All three are built from a [`Results`] alone.

use super::{Point, Results, Status};
use crate::format::{cell, cell_us, cpu_list};
use std::fmt::Write;

/// Whether `p`'s strategy refused churn while the run asked for some: it was measured with
/// period never instead (the table flags it). Read from the file: the build that ran says so
/// (`config.strategy_facts`); in a file from before those, the points do (no point of the
/// strategy has a swap period, [`Results::churns`]).
fn no_churn(r: &Results, p: &Point) -> bool {
    let refused = match r.config.strategy_facts.get(&p.strategy) {
        Some(f) => !f.churn,
        None => !r.churns(&p.strategy),
    };
    p.period_ns.is_none() && r.config.periods_ns.iter().any(Option::is_some) && refused
}

use crate::format::period_ns as period;

fn cycles(p: &Point) -> u64 {
    p.repeats.iter().map(|r| r.swap_cycles).sum()
}

fn note(r: &Results, p: &Point) -> String {
    let mut n = Vec::new();
    if p.status == Status::Failed {
        n.push(format!(
            "FAILED: {}",
            p.error.as_deref().unwrap_or("unknown error")
        ));
    }
    if no_churn(r, p) {
        n.push("no churn (refuses swapoff under readers)".into());
    }
    if p.swapper_shares_cpu {
        n.push(format!(
            "swapper shares CPU {}",
            p.swapper_cpu.map_or("?".into(), |c| c.to_string())
        ));
    }
    if let Some(reader) = r.swapper_smt_sibling(p) {
        n.push(format!("swapper on an SMT sibling of reader CPU {reader}"));
    }
    n.join("; ")
}

/// Counters that have a value in at least one point, in [`COUNTERS`](super::COUNTERS) order.
fn counters_with_values(r: &Results) -> Vec<String> {
    r.config
        .counters
        .iter()
        .filter(|c| {
            r.points
                .iter()
                .any(|p| p.counters.get(*c).is_some_and(Option::is_some))
        })
        .cloned()
        .collect()
}

/// Header and cells of the human-readable views (table, Markdown).
fn human_rows(r: &Results) -> (Vec<String>, Vec<Vec<String>>) {
    let counters = counters_with_values(r);
    let mut head: Vec<String> = [
        "strategy",
        "readers",
        "period",
        "ns/op",
        "(min-max)",
        "Mops/s",
        "failed",
        "cycles",
        "swapoff p50/p99/max us",
        "swapon p50 us",
        "bytes/dev",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    head.extend(counters.iter().map(|c| format!("{c}/op")));
    head.push("note".into());
    // A hold column only when some point held its reference.
    let held = r.points.iter().any(|p| p.hold_ns > 0);
    if held {
        head.insert(3, "hold".into());
    }
    let rows = r
        .points
        .iter()
        .map(|p| {
            let mut row = vec![
                p.series(),
                p.readers.to_string(),
                period(p.period_ns),
                cell(p.ns_per_op.median),
                format!("({}-{})", cell(p.ns_per_op.min), cell(p.ns_per_op.max)),
                format!("{:.1}", p.mops),
                format!("{:.3}%", p.failed_lookup_rate * 100.0),
                cycles(p).to_string(),
                p.swapoff_latency_ns.map_or("-".into(), |l| {
                    format!("{}/{}/{}", cell_us(l.p50), cell_us(l.p99), cell_us(l.max))
                }),
                p.swapon_latency_ns.map_or("-".into(), |l| cell_us(l.p50)),
                p.device_bytes.to_string(),
            ];
            for c in &counters {
                row.push(match p.counters.get(c).copied().flatten() {
                    Some(v) => format!("{v:.2}"),
                    None => "-".into(),
                });
            }
            row.push(note(r, p));
            if held {
                row.insert(3, period(Some(p.hold_ns)));
            }
            row
        })
        .collect();
    (head, rows)
}

/// The holds of a run as `config:` lines show them: `0`, `0,100ns (0.31 ns/iteration)`, or
/// an older file's `500 iterations`.
pub fn holds(c: &crate::results::RunConfig) -> String {
    if let Some(h) = c.hold {
        return format!("{h} iterations");
    }
    let list: Vec<String> = c.holds_ns.iter().map(|&h| period(Some(h))).collect();
    match c.spin_ns_per_iteration {
        Some(x) if c.holds_ns.iter().any(|&h| h > 0) => {
            format!(
                "{} ({} ns/iteration)",
                list.join(","),
                crate::format::sig3(x)
            )
        }
        _ => list.join(","),
    }
}

/// One line describing the machine and build, one describing the configuration.
pub fn describe(r: &Results) -> Vec<String> {
    let e = &r.environment;
    let t = &r.tool;
    let c = &r.config;
    let commit = match (&t.git_commit, t.git_dirty) {
        (Some(h), Some(true)) => format!(" {}-dirty", &h[..h.len().min(12)]),
        (Some(h), _) => format!(" {}", &h[..h.len().min(12)]),
        _ => String::new(),
    };
    let periods: Vec<String> = c.periods_ns.iter().map(|&p| period(p)).collect();
    let readers: Vec<String> = c.readers.iter().map(usize::to_string).collect();
    let rcu_used: Vec<&str> = {
        let mut v: Vec<&str> = r
            .points
            .iter()
            .filter_map(|p| p.rcu_flavor.as_deref())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let percpu_used: Vec<&str> = {
        let mut v: Vec<&str> = r
            .points
            .iter()
            .filter_map(|p| p.percpu.as_deref())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let percpu = match (&c.percpu, percpu_used.is_empty()) {
        (Some(asked), false) => format!(" | percpu {asked} (used: {})", percpu_used.join(",")),
        (Some(asked), true) => format!(" | percpu {asked}"),
        (None, _) => String::new(),
    };
    vec![
        format!(
            "swapref {}{commit} ({}) on {} ({}, {} {}, {} CPU(s) allowed: {}){}",
            t.version,
            t.profile,
            e.hostname.as_deref().unwrap_or("?"),
            e.cpu_model.as_deref().unwrap_or("unknown CPU"),
            e.arch,
            e.kernel.as_deref().unwrap_or("?"),
            e.allowed_cpus.len(),
            cpu_list(&e.allowed_cpus),
            e.label
                .as_deref()
                .map_or(String::new(), |l| format!(" [{l}]"))
        ),
        format!(
            "config: readers {} | period {} | off-time {} | {} device(s) x {} pages | hold {} | \
             {} x {} window (+{} warm-up) | CPUs {} | rcu {}{}{percpu}",
            readers.join(","),
            periods.join(","),
            period(Some(c.off_time_ns)),
            c.devices,
            c.pages,
            holds(c),
            c.repeats,
            period(Some(c.duration_ns)),
            period(Some(c.warmup_ns)),
            cpu_list(&c.cpus),
            c.rcu,
            if rcu_used.is_empty() {
                String::new()
            } else {
                format!(" (used: {})", rcu_used.join(","))
            }
        ),
    ]
}

/// Counters that are null everywhere, grouped by reason: one line each.
fn unavailable(r: &Results) -> Vec<String> {
    let have = counters_with_values(r);
    let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
    for c in r.config.counters.iter().filter(|c| !have.contains(c)) {
        let why = r
            .points
            .iter()
            .find_map(|p| p.counter_notes.get(c))
            .cloned()
            .unwrap_or_else(|| "not measured".into());
        match by_reason.iter_mut().find(|(w, _)| *w == why) {
            Some((_, v)) => v.push(c.clone()),
            None => by_reason.push((why, vec![c.clone()])),
        }
    }
    by_reason
        .into_iter()
        .map(|(why, cs)| format!("counters unavailable ({}): {why}", cs.join(", ")))
        .collect()
}

/// An aligned plain-text table with `#` comment lines above and below.
pub fn table(r: &Results) -> String {
    let (head, rows) = human_rows(r);
    let mut w: Vec<usize> = head.iter().map(String::len).collect();
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for l in describe(r) {
        let _ = writeln!(out, "# {l}");
    }
    let line = |cells: &[String]| {
        let n = cells.len();
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i + 1 == n {
                    c.clone()
                } else {
                    format!("{c:<w$}", w = w[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let _ = writeln!(out, "{}", line(&head));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row));
    }
    for l in unavailable(r) {
        let _ = writeln!(out, "# {l}");
    }
    if !r.complete {
        let _ = writeln!(
            out,
            "# INCOMPLETE: {}",
            r.interrupted.as_deref().unwrap_or("run still in progress")
        );
    }
    out
}

/// A GitHub-flavoured Markdown table, with the description as a paragraph above it.
pub fn markdown(r: &Results) -> String {
    let (head, rows) = human_rows(r);
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    for l in describe(r) {
        let _ = writeln!(out, "{}  ", esc(&l));
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "| {} |",
        head.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}",
        head.iter()
            .enumerate()
            .map(|(i, _)| if (1..head.len() - 1).contains(&i) && i != 2 {
                " ---: |"
            } else {
                " --- |"
            })
            .collect::<String>()
    );
    for row in &rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    let extra: Vec<String> = unavailable(r)
        .into_iter()
        .chain((!r.complete).then(|| {
            format!(
                "INCOMPLETE: {}",
                r.interrupted.as_deref().unwrap_or("run still in progress")
            )
        }))
        .collect();
    if !extra.is_empty() {
        out.push('\n');
        for l in extra {
            let _ = writeln!(out, "{}  ", esc(&l));
        }
    }
    out
}

/// The CSV header: one column per stable number, then one `<counter>_per_op` per counter asked
/// for, then `error`.
pub fn csv_header(r: &Results) -> Vec<String> {
    let mut h: Vec<String> = [
        "strategy",
        "readers",
        "period_ns",
        "hold_ns",
        "hold_iterations",
        "status",
        "ns_per_op_median",
        "ns_per_op_min",
        "ns_per_op_max",
        "mops",
        "failed_lookup_rate",
        "swap_cycles",
        "swapoff_p50_ns",
        "swapoff_p90_ns",
        "swapoff_p99_ns",
        "swapoff_max_ns",
        "swapon_p50_ns",
        "swapon_p90_ns",
        "swapon_p99_ns",
        "swapon_max_ns",
        "device_bytes",
        "reader_cpus",
        "swapper_cpu",
        "swapper_shares_cpu",
        "rcu_flavor",
        "percpu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.extend(r.config.counters.iter().map(|c| format!("{c}_per_op")));
    h.push("error".into());
    h
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// RFC 4180 CSV, one row per point; empty cells for `null`.
pub fn csv(r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", csv_header(r).join(","));
    let opt = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    for p in &r.points {
        let off = p.swapoff_latency_ns;
        let on = p.swapon_latency_ns;
        let mut row = vec![
            p.strategy.clone(),
            p.readers.to_string(),
            opt(p.period_ns),
            p.hold_ns.to_string(),
            p.hold_iterations.to_string(),
            match p.status {
                Status::Ok => "ok".into(),
                Status::Failed => "failed".into(),
            },
            p.ns_per_op.median.to_string(),
            p.ns_per_op.min.to_string(),
            p.ns_per_op.max.to_string(),
            p.mops.to_string(),
            p.failed_lookup_rate.to_string(),
            cycles(p).to_string(),
            opt(off.map(|l| l.p50)),
            opt(off.map(|l| l.p90)),
            opt(off.map(|l| l.p99)),
            opt(off.map(|l| l.max)),
            opt(on.map(|l| l.p50)),
            opt(on.map(|l| l.p90)),
            opt(on.map(|l| l.p99)),
            opt(on.map(|l| l.max)),
            p.device_bytes.to_string(),
            cpu_list(&p.reader_cpus),
            p.swapper_cpu.map_or(String::new(), |c| c.to_string()),
            p.swapper_shares_cpu.to_string(),
            p.rcu_flavor.clone().unwrap_or_default(),
            p.percpu.clone().unwrap_or_default(),
        ];
        for c in &r.config.counters {
            row.push(
                p.counters
                    .get(c)
                    .copied()
                    .flatten()
                    .map_or(String::new(), |v| v.to_string()),
            );
        }
        row.push(p.error.clone().unwrap_or_default());
        let _ = writeln!(
            out,
            "{}",
            row.iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{point, results};
    use super::*;

    #[test]
    fn csv_has_one_row_per_point_and_quotes_what_needs_it() {
        let mut p = point("atomic", 2, &[5.0, 7.0]);
        p.reader_cpus = vec![0, 2];
        p.error = Some("said \"no\", twice".into());
        p.status = Status::Failed;
        let r = results(vec![p, point("rwlock", 1, &[9.0])]);
        let text = csv(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let h = csv_header(&r);
        assert_eq!(lines[0], h.join(","));
        assert!(lines[0].ends_with("cycles_per_op,instructions_per_op,error"));
        assert!(lines[1].starts_with("atomic,2,1000000,0,0,failed,6,5,7,"));
        assert!(lines[1].contains(",\"0,2\","));
        assert!(lines[1].ends_with(",\"said \"\"no\"\", twice\""));
        // Null counters are empty cells: the row has as many cells as the header.
        assert!(lines[2].starts_with("rwlock,1,1000000,0,0,ok,9,9,9,"));
        assert_eq!(lines[2].split(',').count(), h.len());
    }

    #[test]
    fn a_swapper_on_a_readers_smt_sibling_is_flagged_from_the_topology() {
        use crate::results::CpuTopology;
        // 2 cores x 2 threads: CPUs 0,2 are core 0; CPUs 1,3 are core 1.
        let t = |cpu, core, siblings: Vec<usize>| CpuTopology {
            cpu,
            core: Some(core),
            package: Some(0),
            node: Some(0),
            siblings,
        };
        let topo = vec![
            t(0, 0, vec![0, 2]),
            t(1, 1, vec![1, 3]),
            t(2, 0, vec![0, 2]),
            t(3, 1, vec![1, 3]),
        ];
        let mut sib = point("atomic", 2, &[5.0]);
        sib.reader_cpus = vec![0, 1];
        sib.swapper_cpu = Some(2);
        let mut apart = point("rwlock", 1, &[5.0]);
        apart.reader_cpus = vec![0];
        apart.swapper_cpu = Some(1);
        let mut r = results(vec![sib.clone(), apart.clone()]);
        r.environment.topology = topo;
        assert_eq!(r.swapper_smt_sibling(&sib), Some(0));
        assert_eq!(r.swapper_smt_sibling(&apart), None);
        let tab = table(&r);
        let row = |s: &str| tab.lines().find(|l| l.starts_with(s)).unwrap().to_owned();
        assert!(
            row("atomic").contains("swapper on an SMT sibling of reader CPU 0"),
            "{tab}"
        );
        assert!(!row("rwlock").contains("SMT sibling"), "{tab}");
        // Without topology (or without SMT) nothing is claimed.
        r.environment.topology.clear();
        assert_eq!(r.swapper_smt_sibling(&sib), None);
    }

    #[test]
    fn whether_a_strategy_refused_churn_is_read_from_the_file() {
        // A strategy this build does not know, measured only without a swapper in a run that
        // asked for one: flagged (the registry would not know it refuses churn).
        let mut unknown = point("zeta-new", 1, &[1.0]);
        unknown.period_ns = None;
        // atomic measured both with a swapper and without (`--period 1ms,never`): its point
        // without one is what was asked, not a refusal.
        let churned = point("atomic", 1, &[2.0]);
        let mut never = point("atomic", 1, &[2.0]);
        never.period_ns = None;
        let r = results(vec![unknown.clone(), churned, never.clone()]);
        assert!(no_churn(&r, &unknown));
        assert!(!no_churn(&r, &never));
        // With the churned point gone (an interrupted run), the points say atomic refused
        // churn; a file that carries what the build said knows better.
        let mut r = results(vec![unknown, never.clone()]);
        assert!(no_churn(&r, &never));
        r.config.strategy_facts.insert(
            "atomic".into(),
            crate::results::StrategyFacts::of(&crate::strategy::info("atomic").unwrap()),
        );
        assert!(!no_churn(&r, &never));
    }

    #[test]
    fn table_and_markdown_show_every_point_and_flag_what_needs_flagging() {
        let mut np = point("unprotected", 1, &[1.0]);
        np.period_ns = None;
        np.swapoff_latency_ns = None;
        np.swapon_latency_ns = None;
        let mut shared = point("atomic", 2, &[5.0]);
        shared.swapper_shares_cpu = true;
        shared.swapper_cpu = Some(1);
        let mut r = results(vec![shared, np]);
        r.complete = false;
        r.interrupted = Some("SIGINT".into());
        let t = table(&r);
        assert!(t.contains("no churn"), "{t}");
        assert!(t.contains("swapper shares CPU 1"), "{t}");
        assert!(!t.contains("SMT sibling"), "{t}");
        assert!(t.contains("# INCOMPLETE: SIGINT"), "{t}");
        assert!(
            t.contains("counters unavailable (cache_misses, l1d_read_misses"),
            "{t}"
        );
        let rows: Vec<&str> = t.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(rows.len(), 3, "{t}");
        assert!(rows[1].starts_with("atomic ") && rows[2].starts_with("unprotected "));
        assert!(rows[2].contains(" never "));
        let m = markdown(&r);
        let mrows: Vec<&str> = m.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(mrows.len(), 4, "{m}");
        assert!(mrows[1].contains("---:"));
        assert_eq!(
            mrows[0].matches(" | ").count(),
            mrows[2].matches(" | ").count()
        );
    }

    #[test]
    fn counters_with_values_get_columns() {
        let mut p = point("atomic", 1, &[5.0]);
        p.counters.insert("cycles".into(), Some(12.5));
        let r = results(vec![p]);
        let t = table(&r);
        assert!(t.contains("cycles/op"), "{t}");
        assert!(t.contains("12.50"), "{t}");
        assert!(!t.contains(
            "counters unavailable (cache_misses, l1d_read_misses, llc_read_misses, cycles"
        ));
    }
}
