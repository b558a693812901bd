//! The floor: a fixed loop, timed on a reader's CPU just before each repeat.
//!
//! A shared machine has slow phases (another tenant, frequency, steal time) that last from
//! milliseconds to minutes. Interleaving the repeats of a run spreads them over every point;
//! what remains between two runs is the machine's speed *then*. Each repeat therefore records
//! how fast this loop ran just before it, on the CPU of its first reader, and
//! [`crate::compare`] judges ns/lookup divided by it. The loop is the unprotected lookup's
//! work without the table — load an index, read one byte of a 1 KiB array, add — so it slows
//! down with the same things a lookup slows down with (the core's speed, its L1), and with
//! nothing a strategy does.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long the floor loop runs.
pub const FLOOR_WINDOW: Duration = Duration::from_millis(10);

/// Iterations between two reads of the clock.
const BATCH: u64 = 4096;

/// ns per iteration of the floor loop, run for about `window` on `cpu` (pinned there when the
/// CPU is in this process's allowed set; on the calling thread's CPUs otherwise).
pub fn measure(cpu: Option<usize>, window: Duration) -> f64 {
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(c) = cpu {
                // Best effort: a CPU that cannot be pinned to measures where it runs.
                let _ = core_affinity::set_for_current(core_affinity::CoreId { id: c });
            }
            spin(window)
        })
        .join()
        .expect("the floor loop does not panic")
    })
}

fn spin(window: Duration) -> f64 {
    let bytes = [1u8; 1024];
    let mut sum = 0u64;
    let mut iters = 0u64;
    let t0 = Instant::now();
    let mut idx = 0usize;
    loop {
        for _ in 0..BATCH {
            // The index through black_box: the compiler can neither hoist the load nor
            // vectorise the loop, as it cannot in a lookup.
            idx = black_box(idx.wrapping_add(1)) & 1023;
            sum = sum.wrapping_add(u64::from(black_box(&bytes)[idx]));
        }
        iters += BATCH;
        let e = t0.elapsed();
        if e >= window {
            black_box(sum);
            return e.as_nanos() as f64 / iters as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_a_positive_finite_ns_per_iteration() {
        let f = measure(Some(0), Duration::from_millis(2));
        assert!(f.is_finite() && f > 0.0, "{f}");
        // Not a timing threshold: one iteration cannot take longer than the whole window.
        assert!(f < 2e6, "{f}");
    }
}
