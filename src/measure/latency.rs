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
}
