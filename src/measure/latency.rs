//! Swapoff and swapon latency: an HDR histogram of nanoseconds, reported as percentiles.

use crate::results::Percentiles;
use hdrhistogram::Histogram;

/// Latencies in ns, 3 significant digits, from 1 ns to about an hour.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Latencies(
            Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("static bounds are valid"),
        )
    }
}

impl Latencies {
    /// Record one latency (clamped into the histogram's range).
    pub fn record(&mut self, ns: u64) {
        self.0.saturating_record(ns.max(1));
    }

    /// Add every sample of `other`.
    pub fn merge(&mut self, other: &Latencies) {
        self.0
            .add(&other.0)
            .expect("histograms with the same bounds always merge");
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Log-linear buckets of the samples, for CDFs and spreads drawn later: `[lower, count]`
    /// pairs in increasing order, `lower` the sample rounded down to two significant decimal
    /// digits (so 1234 ns counts in `[1200, n]`; 90 buckets per decade, 1 % to 10 % wide), empty
    /// buckets left out. `None` without samples.
    pub fn buckets(&self) -> Option<Vec<[u64; 2]>> {
        if self.0.is_empty() {
            return None;
        }
        let mut out: Vec<[u64; 2]> = Vec::new();
        for v in self.0.iter_recorded() {
            let lower = two_digits(self.0.lowest_equivalent(v.value_iterated_to()));
            match out.last_mut() {
                Some(last) if last[0] == lower => last[1] += v.count_at_value(),
                _ => out.push([lower, v.count_at_value()]),
            }
        }
        Some(out)
    }

    /// p50/p90/p99/max, or `None` without samples.
    pub fn percentiles(&self) -> Option<Percentiles> {
        if self.0.is_empty() {
            return None;
        }
        let q = |q| self.0.value_at_quantile(q);
        Some(Percentiles {
            count: self.0.len(),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            max: self.0.max(),
        })
    }
}

/// `ns` rounded down to two significant decimal digits.
fn two_digits(ns: u64) -> u64 {
    let mut scale = 1;
    while ns / scale >= 100 {
        scale *= 10;
    }
    ns / scale * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_thousand() {
        let mut l = Latencies::default();
        assert_eq!(l.percentiles(), None);
        for ns in 1..=1000 {
            l.record(ns);
        }
        let p = l.percentiles().unwrap();
        assert_eq!(p.count, 1000);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (500, 900, 990, 1000));
        let mut m = Latencies::default();
        m.record(5_000_000);
        m.merge(&l);
        let p = m.percentiles().unwrap();
        assert_eq!(p.count, 1001);
        // 3 significant digits: the max is reported within 0.1%.
        assert!(p.max.abs_diff(5_000_000) <= 5_000, "{p:?}");
    }

    #[test]
    fn buckets_round_down_to_two_digits_and_keep_every_sample() {
        assert_eq!(Latencies::default().buckets(), None);
        assert_eq!(
            (two_digits(7), two_digits(99), two_digits(1234)),
            (7, 99, 1200)
        );
        let mut l = Latencies::default();
        for ns in [5, 1200, 1234, 1299, 1300, 98_765_432] {
            l.record(ns);
        }
        let b = l.buckets().unwrap();
        assert_eq!(b[..3], [[5, 1], [1200, 3], [1300, 1]]);
        assert_eq!(b[3][1], 1);
        assert_eq!(b[3][0], 98_000_000);
        assert_eq!(b.iter().map(|x| x[1]).sum::<u64>(), l.count());
    }
}
