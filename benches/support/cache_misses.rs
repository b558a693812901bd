//! A criterion [`Measurement`] that counts hardware cache misses (`PERF_COUNT_HW_CACHE_MISSES`)
//! of the calling thread, user space only, with `perf_event_open(2)`.
//!
//! criterion-perf-events does not support criterion 0.8, and all this needs is one counter: open
//! it once (through the driver's `PerfSource`), read it before and after each sample, subtract.
//!
//! # Zero samples
//!
//! A hot lookup often misses nothing, so a sample's count can be 0, and criterion refuses to
//! analyse a benchmark with any zero sample ("took zero time per iteration"). [`to_f64`] therefore
//! reports every sample as `count + 1`. That constant lands in the intercept of criterion's
//! linear regression (total = slope × iters + intercept), so the slope — the per-lookup estimate
//! criterion prints first — is unchanged; the mean per iteration is biased by `1 / iters`, under
//! 0.001 misses per lookup at the iteration counts criterion picks for a nanosecond-scale
//! routine. The read(2) calls' own misses land in the same intercept.
//!
//! [`to_f64`]: Measurement::to_f64

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};
use std::sync::Mutex;
use swapref::measure::counters::{CounterSource, HwCounter, PerfSource};

/// Cache misses of the calling thread; see the module docs. The counter is the driver's
/// (`swapref::measure::counters::PerfSource`, `cache_misses`), so the bench and `swapref run`
/// count the same event the same way.
pub struct CacheMisses {
    counter: Mutex<Box<dyn HwCounter>>,
}

impl CacheMisses {
    /// Open the counter for the calling thread, or say why it cannot be opened (no PMU in a VM:
    /// `ENOENT`; `perf_event_paranoid` too high: `EACCES`).
    pub fn open() -> Result<CacheMisses, String> {
        Self::open_from(&PerfSource)
    }

    /// [`open`](Self::open) from any counter source (tests use the driver's fake).
    pub fn open_from(source: &dyn CounterSource) -> Result<CacheMisses, String> {
        let mut c = source
            .open("cache_misses")
            .map_err(|e| format!("perf_event_open(cache_misses): {e}"))?;
        // A counter that opens but cannot be started or read is as good as none.
        c.reset_and_enable()
            .and_then(|()| c.read())
            .map_err(|e| format!("perf counter: {e}"))?;
        Ok(CacheMisses {
            counter: Mutex::new(c),
        })
    }

    fn read(&self) -> u64 {
        let mut c = self.counter.lock().unwrap_or_else(|e| e.into_inner());
        // The raw count: it runs for the whole benchmark on this thread, so multiplexing
        // scaling would only add noise to a difference of two reads.
        c.read()
            .expect("perf counter read failed after a good open")
            .count
    }
}

impl Measurement for CacheMisses {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        self.read()
    }

    fn end(&self, start: u64) -> u64 {
        self.read().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, v: &u64) -> f64 {
        sample_value(*v)
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &MissFormatter
    }
}

/// The value criterion analyses for a sample that counted `count` misses: `count + 1`, never zero
/// (see the module docs).
pub fn sample_value(count: u64) -> f64 {
    count as f64 + 1.0
}

/// Formats per-iteration miss counts ("0.012 misses") and throughput as elements per miss.
pub struct MissFormatter;

impl ValueFormatter for MissFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "misses"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per = match *throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => n,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Bits(n) => n,
        } as f64;
        for v in values.iter_mut() {
            *v = if *v > 0.0 { per / *v } else { f64::INFINITY };
        }
        "elem/miss"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "misses"
    }
}
