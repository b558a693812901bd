//! The hold: work done while holding the reference, given as a time and calibrated into
//! iterations of a fixed spin.
//!
//! refscale's `readdelay` and liburcu's `-c` hold the read side for a given time or loop
//! count; how long a reader holds is what decides whether a strategy's cost per lookup matters
//! at all (a 2 ns get beside a 1 µs hold is noise) and how long a swapoff waits. `--hold 100ns`
//! asks for a time: at the start of a run [`calibrate`] times the very loop the reader runs
//! ([`spin`]) on the first reader's CPU, [`iterations`] turns each asked-for time into a count,
//! and both the time and the count are recorded per point. The count is fixed for the whole
//! run, so a slow phase of the machine lengthens the hold as it lengthens everything else,
//! and a comparison's floor division ([`crate::compare`]) covers both.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Iterations of [`spin`] per timed trial of [`calibrate`].
const TRIAL: u64 = 1 << 16;

/// How long [`calibrate`] spins before its trials.
const WARMUP: Duration = Duration::from_millis(20);

/// Trials of [`calibrate`]; their median is kept: the speed the spin typically runs at, as
/// the reader's holds run it, not its best case.
const TRIALS: usize = 33;

/// The hold itself: `n` iterations of a loop the compiler can neither remove nor shorten.
///
/// Never inlined, so that the reader and [`calibrate`] run the very same machine code: inlined
/// into each, the loop was compiled differently and the reader's holds fell well short of
/// their calibrated time (seen on the reference hold figure, where `unprotected` sat below
/// "unprotected + the hold"). The call costs the reader a few ns per lookup that holds, part
/// of its hold and not calibrated.
#[inline(never)]
pub fn spin(n: u64) {
    for i in 0..n {
        black_box(i);
    }
}

/// ns per iteration of [`spin`], on `cpu` (pinned there when the CPU is in this process's
/// allowed set; where the caller runs otherwise): the median of `TRIALS` (33) timed trials.
pub fn calibrate(cpu: Option<usize>) -> f64 {
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(c) = cpu {
                // Best effort: a CPU that cannot be pinned to calibrates where it runs.
                let _ = core_affinity::set_for_current(core_affinity::CoreId { id: c });
            }
            // Warm up first: a core that was idle runs the first trials slower (frequency,
            // caches), and the reader's holds run on a busy core.
            let t0 = Instant::now();
            while t0.elapsed() < WARMUP {
                spin(black_box(TRIAL));
            }
            let mut t: Vec<f64> = (0..TRIALS)
                .map(|_| {
                    let t0 = Instant::now();
                    spin(black_box(TRIAL));
                    t0.elapsed().as_nanos() as f64 / TRIAL as f64
                })
                .collect();
            crate::stats::median(&mut t)
                .unwrap_or(f64::MIN_POSITIVE)
                .max(f64::MIN_POSITIVE)
        })
        .join()
        .expect("the calibration loop does not panic")
    })
}

/// Iterations of [`spin`] that take `hold` at `ns_per_iteration`: rounded to the nearest,
/// and at least 1 for a hold above zero (a hold asked for is never silently dropped).
pub fn iterations(hold: Duration, ns_per_iteration: f64) -> u64 {
    if hold.is_zero() {
        return 0;
    }
    ((hold.as_nanos() as f64 / ns_per_iteration).round() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_is_a_positive_finite_ns_per_iteration() {
        let ns = calibrate(Some(0));
        assert!(ns.is_finite() && ns > 0.0, "{ns}");
        // Not a timing threshold: one iteration cannot take longer than a whole trial.
        assert!(ns < 1e6, "{ns}");
    }

    #[test]
    fn holds_become_iterations_rounded_and_never_zero_when_asked_for() {
        assert_eq!(iterations(Duration::ZERO, 0.5), 0);
        assert_eq!(iterations(Duration::from_nanos(100), 0.5), 200);
        assert_eq!(iterations(Duration::from_nanos(100), 0.3), 333);
        // Shorter than one iteration: one, not none.
        assert_eq!(iterations(Duration::from_nanos(1), 4.0), 1);
    }
}
