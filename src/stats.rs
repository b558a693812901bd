//! The statistics a run and a comparison share: a seeded generator, medians, trimmed means,
//! and a bootstrap interval for the ratio of two trimmed means.

/// splitmix64 (Steele, Lea, Flood 2014): a seeded, reproducible generator for shuffles and
/// resampling. Not for anything that needs unpredictability.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (`n > 0`; the modulo bias is below 2^-50 for the sizes used).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Median of `v` (mean of the two middle values for an even count); `None` when empty. Sorts
/// `v`.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The mean of `v` without its `cut` lowest and `cut` highest values (each `floor(cut × n)`
/// of them; `cut` in `[0, 0.5)`); `None` when empty. Sorts `v`.
///
/// Between the median (which throws away all but one or two values) and the mean (which one
/// preempted window drags): on values spread about evenly, as a benchmark's windows are, it
/// uses nearly all of them, and a few outliers at either end do not move it.
pub fn trimmed_mean(v: &mut [f64], cut: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let k = (v.len() as f64 * cut.clamp(0.0, 0.499)) as usize;
    let kept = &v[k..v.len() - k];
    Some(kept.iter().sum::<f64>() / kept.len() as f64)
}

/// Samples of one side of a comparison, grouped by the run (file) they came from.
pub type Clustered = [Vec<f64>];

/// One bootstrap resample of a side: with two runs or more, draw runs with replacement, then
/// repeats with replacement within each drawn run, so the spread between runs is part of the
/// interval; with one run, draw its repeats. Returns the pooled samples.
fn resample(side: &Clustered, rng: &mut SplitMix64, out: &mut Vec<f64>) {
    out.clear();
    for _ in 0..side.len() {
        let run = if side.len() == 1 {
            &side[0]
        } else {
            &side[rng.below(side.len())]
        };
        for _ in 0..run.len() {
            out.push(run[rng.below(run.len())]);
        }
    }
}

/// The ratio `(t(new) + offset) / (t(base) + offset)` of the pooled samples, where `t` is the
/// [`trimmed_mean`] cutting `cut` at each end, and its percentile-bootstrap interval at
/// `confidence` from `resamples` seeded resamples (see `resample`). `None` when a side has
/// no samples or a side's statistic plus offset is not positive.
pub fn ratio_interval(
    base: &Clustered,
    new: &Clustered,
    offset: f64,
    cut: f64,
    confidence: f64,
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64, f64)> {
    let pooled = |s: &Clustered| -> Vec<f64> { s.iter().flatten().copied().collect() };
    let stat = |v: &mut [f64]| trimmed_mean(v, cut);
    let mb = stat(&mut pooled(base))? + offset;
    let mn = stat(&mut pooled(new))? + offset;
    if mb <= 0.0 || mn < 0.0 {
        return None;
    }
    let ratio = mn / mb;
    let mut rng = SplitMix64::new(seed);
    let (mut b, mut n) = (Vec::new(), Vec::new());
    let mut ratios: Vec<f64> = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        resample(base, &mut rng, &mut b);
        resample(new, &mut rng, &mut n);
        let (Some(rb), Some(rn)) = (stat(&mut b), stat(&mut n)) else {
            return None;
        };
        if rb + offset > 0.0 {
            ratios.push((rn + offset) / (rb + offset));
        }
    }
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let at = |q: f64| ratios[((q * ratios.len() as f64) as usize).min(ratios.len() - 1)];
    Some((ratio, at(tail), at(1.0 - tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn trimmed_means_cut_each_end() {
        assert_eq!(trimmed_mean(&mut [], 0.1), None);
        // 10 values, 10 %: one off each end.
        let mut v = [100.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, -50.0];
        assert_eq!(trimmed_mean(&mut v, 0.1), Some(4.5));
        // Fewer than 10 values: nothing cut, the mean.
        assert_eq!(trimmed_mean(&mut [1.0, 2.0, 6.0], 0.1), Some(3.0));
        assert_eq!(trimmed_mean(&mut [1.0, 2.0, 6.0], 0.0), Some(3.0));
    }

    #[test]
    fn the_generator_is_reproducible_and_covers_its_range() {
        let a: Vec<u64> = {
            let mut r = SplitMix64::new(9);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = SplitMix64::new(9);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut seen = [false; 7];
        for _ in 0..200 {
            seen[r.below(7)] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn intervals_hold_the_ratio_and_widen_with_spread() {
        let tight = [vec![10.0, 10.1, 9.9, 10.0, 10.05]];
        let slow = [vec![12.0, 12.1, 11.9, 12.0, 12.05]];
        let (r, lo, hi) = ratio_interval(&tight, &slow, 0.0, 0.1, 0.99, 2000, 1).unwrap();
        assert!(
            (r - 1.2).abs() < 1e-3 && lo <= r && r <= hi,
            "{r} {lo} {hi}"
        );
        assert!(lo > 1.15, "{lo}");
        let wide = [vec![5.0, 15.0, 10.0, 7.0, 13.0]];
        let (_, lo2, hi2) = ratio_interval(&tight, &wide, 0.0, 0.1, 0.99, 2000, 1).unwrap();
        assert!(lo2 < 0.8 && hi2 > 1.2, "{lo2} {hi2}");
        // Two runs per side whose medians disagree: the interval covers the runs' spread.
        let runs = [vec![10.0; 5], vec![12.0; 5]];
        let (_, lo3, hi3) = ratio_interval(&runs, &runs, 0.0, 0.1, 0.99, 2000, 1).unwrap();
        assert!(lo3 < 0.9 && hi3 > 1.1, "{lo3} {hi3}");
        assert_eq!(
            ratio_interval(&[vec![]], &slow, 0.0, 0.1, 0.99, 100, 1),
            None
        );
        // An offset makes zero rates comparable.
        let zero = [vec![0.0; 5]];
        let (r0, ..) = ratio_interval(&zero, &zero, 0.001, 0.1, 0.99, 100, 1).unwrap();
        assert_eq!(r0, 1.0);
    }
}
