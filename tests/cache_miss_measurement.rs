//! The cache-miss `Measurement` of the benches, tested without a PMU: the zero fix-up, the
//! formatter, and that opening the counter either works or says why.

// The library modules these tests use are not built under `--cfg loom` (src/lib.rs).
#![cfg(not(loom))]

#[path = "../benches/support/cache_misses.rs"]
#[allow(dead_code)]
mod cache_misses;

use cache_misses::{CacheMisses, MissFormatter, sample_value};
use criterion::Throughput;
use criterion::measurement::ValueFormatter;

/// Criterion refuses any zero sample; a sample that counted nothing must not be zero.
#[test]
fn a_sample_with_no_miss_is_not_zero() {
    assert!(sample_value(0) > 0.0);
    assert_eq!(sample_value(41), 42.0);
}

/// The fix-up is a constant per sample, so criterion's regression slope (per-lookup misses) is
/// the same with and without it: fit total = slope × iters + intercept on both.
#[test]
fn the_fix_up_leaves_the_regression_slope_alone() {
    let iters = [1000.0, 2000.0, 3000.0, 4000.0];
    let counts = [5u64, 9, 16, 20];
    let slope = |ys: &[f64]| {
        let n = iters.len() as f64;
        let mx = iters.iter().sum::<f64>() / n;
        let my = ys.iter().sum::<f64>() / n;
        let sxy: f64 = iters.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = iters.iter().map(|x| (x - mx) * (x - mx)).sum();
        sxy / sxx
    };
    let raw: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let fixed: Vec<f64> = counts.iter().map(|&c| sample_value(c)).collect();
    assert!((slope(&raw) - slope(&fixed)).abs() < 1e-15);
    assert!(slope(&raw) > 0.0);
}

#[test]
fn the_formatter_names_misses_and_inverts_throughput() {
    let f = MissFormatter;
    let mut v = [0.25, 2.0];
    assert_eq!(f.scale_values(0.25, &mut v), "misses");
    assert_eq!(v, [0.25, 2.0], "miss counts are not rescaled");
    assert!(f.format_value(0.5).contains("misses"));
    let mut t = [0.5, 0.0];
    let unit = f.scale_throughputs(0.5, &Throughput::Elements(1), &mut t);
    assert_eq!(unit, "elem/miss");
    assert_eq!(t[0], 2.0);
    assert!(
        t[1].is_infinite(),
        "no miss at all: infinitely many lookups per miss"
    );
}

/// Here (a VM without a PMU) the open fails with a reason; on bare metal it opens and counts.
#[test]
fn opening_the_counter_works_or_says_why() {
    match CacheMisses::open() {
        Ok(m) => {
            use criterion::measurement::Measurement;
            // 256 MiB, larger than any last-level cache swapref's users run on: touch it once
            // (the page faults), then a measured second pass must miss.
            let mut v = vec![0u8; 256 << 20];
            for b in v.iter_mut().step_by(4096) {
                *b = 1;
            }
            let s = m.start();
            let mut sum = 0u64;
            for b in v.iter().step_by(64) {
                sum += u64::from(*b);
            }
            std::hint::black_box(sum);
            let misses = m.end(s);
            assert!(misses > 0, "a 256 MiB pass counted no cache miss");
        }
        Err(why) => assert!(
            why.starts_with("perf_event_open(cache_misses): "),
            "reason names the call: {why}"
        ),
    }
}

/// Both paths without hardware: the driver's fake PMU opens (and the measurement reads it), and
/// an unavailable counter gives the same kind of reason the real one does here.
#[test]
fn the_measurement_opens_through_the_drivers_counter_source() {
    use criterion::measurement::Measurement;
    use swapref::measure::counters::FakeSource;
    let m = CacheMisses::open_from(&FakeSource::all()).expect("the fake opens");
    let s = m.start();
    // The fake returns the same count on every read: a sample of it counts nothing.
    assert_eq!(m.end(s), 0);
    let why = CacheMisses::open_from(&FakeSource::none())
        .err()
        .expect("the fake without counters refuses");
    assert!(
        why.starts_with("perf_event_open(cache_misses): ENOENT"),
        "{why}"
    );
}
