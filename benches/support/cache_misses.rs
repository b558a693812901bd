//! A criterion [`Measurement`] that counts hardware cache misses (`PERF_COUNT_HW_CACHE_MISSES`)
//! of the calling thread, user space only, with `perf_event_open(2)`.
//!
//! criterion-perf-events does not support criterion 0.8, and all this needs is one counter: open
//! it once, `read(2)` it before and after each sample, subtract.
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

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER5` (112 bytes); only `type`, `size`,
/// `config` and the flag word are set, the rest is zero.
#[repr(C)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    /// sample_period, sample_type, read_format, then the flag bitfield at byte offset 40,
    /// then the fields this measurement leaves zero.
    rest: [u64; 12],
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_COUNT_HW_CACHE_MISSES: u64 = 3;
const FLAGS: usize = 3; // rest[3] is at byte offset 40
const EXCLUDE_KERNEL: u64 = 1 << 5;
const EXCLUDE_HV: u64 = 1 << 6;

/// Cache misses of the calling thread; see the module docs.
pub struct CacheMisses {
    fd: libc::c_int,
}

impl CacheMisses {
    /// Open the counter for the calling thread, or say why it cannot be opened (no PMU in a VM:
    /// `ENOENT`; `perf_event_paranoid` too high: `EACCES`).
    pub fn open() -> Result<CacheMisses, String> {
        let mut attr = PerfEventAttr {
            type_: PERF_TYPE_HARDWARE,
            size: std::mem::size_of::<PerfEventAttr>() as u32,
            config: PERF_COUNT_HW_CACHE_MISSES,
            rest: [0; 12],
        };
        attr.rest[FLAGS] = EXCLUDE_KERNEL | EXCLUDE_HV;
        // SAFETY: perf_event_open reads `attr.size` bytes from a valid, initialised
        // perf_event_attr that outlives the call; pid 0 / cpu -1 = this thread on any CPU.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &mut attr as *mut PerfEventAttr,
                0 as libc::pid_t,
                -1 as libc::c_int,
                -1 as libc::c_int,
                0 as libc::c_ulong,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("perf_event_open(cache-misses): {e}"));
        }
        let m = CacheMisses {
            fd: fd as libc::c_int,
        };
        // A counter that opens but cannot be read is as good as none.
        m.read()?;
        Ok(m)
    }

    fn read(&self) -> Result<u64, String> {
        let mut v = 0u64;
        // SAFETY: `fd` is an open perf event fd (owned by self until Drop) and `v` is 8 writable
        // bytes, the size of a read with read_format = 0.
        let n = unsafe { libc::read(self.fd, (&mut v as *mut u64).cast(), 8) };
        if n != 8 {
            return Err(format!(
                "read(perf fd): {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(v)
    }
}

impl Drop for CacheMisses {
    fn drop(&mut self) {
        // SAFETY: `fd` was opened by `open` and is closed exactly once, here.
        unsafe { libc::close(self.fd) };
    }
}

impl Measurement for CacheMisses {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        self.read()
            .expect("perf counter read failed after a good open")
    }

    fn end(&self, start: u64) -> u64 {
        let end = self
            .read()
            .expect("perf counter read failed after a good open");
        end.saturating_sub(start)
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
