//! Write a synthetic results file, to preview `swapref plot` / `swapref report` without a run.
//!
//! `cargo run --release --example synthetic_results -- OUT.json [--sweep]`: every strategy at
//! 1 and 2 readers (with `--sweep`: 1–16 readers, four swap periods and, at 1 reader and the
//! first period, holds of 0, 100 and 400 ns). The numbers are
//! invented and the file's label says so; never publish them as measurements.

use swapref::results::fixtures::{point, results};
use swapref::results::{Percentiles, Point};

/// An invented shape per registered strategy, from its place in the registry and its kind:
/// (ns per lookup at 1 reader, growth per extra reader, swapoff p50 in µs).
fn shape(i: usize, info: &swapref::strategy::Info) -> (f64, f64, f64) {
    let base = 2.0 + 3.0 * i as f64;
    match (info.churn, info.rcu) {
        (false, _) => (1.6, 0.0, 0.0),
        (true, true) => (base, 0.0, 20.0 + 10.0 * i as f64),
        (true, false) => (base, 0.1 * (i % 3) as f64, 2.5 + 20.0 * (i % 4) as f64),
    }
}

fn make(s: &str, readers: usize, base: f64, grow: f64, lat_us: f64, period: Option<u64>) -> Point {
    let ns = base * (1.0 + grow * (readers as f64 - 1.0));
    let mut p = point(s, readers, &[ns * 0.97, ns, ns * 1.04]);
    p.period_ns = period;
    let info = swapref::strategy::info(s).expect("a registered strategy");
    p.rcu_flavor = info.rcu.then(|| "membarrier".to_owned());
    if !info.churn || period.is_none() {
        p.swapoff_latency_ns = None;
        p.swapon_latency_ns = None;
        p.swapper_cpu = None;
    } else {
        let l = (lat_us * 1e3) as u64;
        p.swapoff_latency_ns = Some(Percentiles {
            count: 300,
            p50: l,
            p90: l * 3 / 2,
            p99: l * 3,
            max: l * 8,
        });
        let per = period.unwrap_or(1) as f64;
        p.failed_lookup_rate = ((100_000.0 + lat_us * 1e3 * 0.5) / per).min(1.0);
    }
    p
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: synthetic_results OUT.json [--sweep]");
        std::process::exit(2);
    };
    let sweep = args.iter().any(|a| a == "--sweep");
    let readers: &[usize] = if sweep { &[1, 2, 4, 8, 16] } else { &[1, 2] };
    let periods: &[Option<u64>] = if sweep {
        &[
            Some(1_000_000),
            Some(2_000_000),
            Some(5_000_000),
            Some(20_000_000),
        ]
    } else {
        &[Some(1_000_000)]
    };
    let mut pts = Vec::new();
    for &per in periods {
        for (i, info) in swapref::strategy::ALL.iter().enumerate() {
            let (s, (base, grow, lat)) = (info.name, shape(i, info));
            for &r in readers {
                if per != periods[0] && r != *readers.last().unwrap_or(&1) {
                    continue;
                }
                pts.push(make(s, r, base, grow, lat, per));
            }
            // A hold sweep at the fewest readers and the first period: the hold adds its own
            // time, and a little more for the strategies that grow with readers.
            if sweep && per == periods[0] {
                for h in [100u64, 400] {
                    let extra = h as f64 * (1.0 + grow);
                    let mut p = make(s, readers[0], base + extra, grow, lat, per);
                    p.hold_ns = h;
                    p.hold_iterations = h * 4;
                    pts.push(p);
                }
            }
        }
    }
    let mut res = results(pts);
    res.config.periods_ns = periods.to_vec();
    if sweep {
        res.config.holds_ns = vec![0, 100, 400];
    }
    res.config.off_time_ns = 100_000;
    res.environment.label = Some("SYNTHETIC DATA (examples/synthetic_results.rs)".into());
    res.environment.cpu_model = Some("no CPU: invented numbers".into());
    if let Err(e) = res.save(std::path::Path::new(out)) {
        eprintln!("synthetic_results: {e}");
        std::process::exit(2);
    }
}
