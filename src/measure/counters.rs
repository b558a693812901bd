//! Hardware counters per lookup, opened inside each reader thread.
//!
//! A [`CounterSource`] opens counters by their name in [`COUNTERS`](crate::results::COUNTERS);
//! each reader thread opens its own (a perf event with `pid = 0, cpu = -1` counts the calling
//! thread wherever it runs), enables them just before it waits for the window's start signal
//! and disables them when it sees the stop flag (so a few microseconds of spinning on the
//! signal and of overrun past the window are counted too: negligible against the ~10^8
//! lookups one reader does in the default 500 ms window, about 200 Mops/s on the reference
//! VM, but not zero), and reads `count`, `time_enabled` and `time_running`.
//! Per-lookup values divide by every lookup, failed ones included. When the PMU has more events than registers the
//! kernel multiplexes them; a [`Reading`] is scaled by `time_enabled / time_running`, the
//! estimate `perf stat` prints, and the results note how much of the window it ran.
//!
//! A counter that cannot be opened (`ENOENT` in a VM without a PMU, `EACCES` under a strict
//! `perf_event_paranoid`) is recorded as `null` with its reason and the run goes on.
//!
//! Counters are opened one by one rather than as a `perf_event` group: a group is scheduled
//! all-or-nothing, so one event the PMU lacks, or one too many for its registers, would lose
//! every other; separately opened events each get their own scaling instead.
//!
//! [`PerfSource`] is the real thing; `FakeSource` (with the `internal-test-hooks` feature, which
//! only tests turn on) stands in for a PMU, so the "available" path (scaling, per-op division,
//! notes) runs in CI on machines that have none.

#[cfg(feature = "internal-test-hooks")]
use std::collections::BTreeMap;
use std::io;

/// One read of a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Raw count while the counter ran.
    pub count: u64,
    /// How long it was enabled, ns.
    pub enabled_ns: u64,
    /// How long it actually ran on the PMU, ns (less than enabled when multiplexed).
    pub running_ns: u64,
}

impl Reading {
    /// The count scaled for multiplexing (`count × enabled / running`); `None` if it never ran.
    pub fn scaled(&self) -> Option<f64> {
        if self.running_ns == 0 {
            return None;
        }
        Some(self.count as f64 * self.enabled_ns as f64 / self.running_ns as f64)
    }
}

/// One open counter of the calling thread.
pub trait HwCounter {
    /// Zero it and start counting.
    fn reset_and_enable(&mut self) -> io::Result<()>;
    /// Stop counting.
    fn disable(&mut self) -> io::Result<()>;
    /// Read count and times.
    fn read(&mut self) -> io::Result<Reading>;
}

/// Opens counters for the calling thread.
pub trait CounterSource: Send + Sync {
    /// Open counter `name` (one of [`COUNTERS`](crate::results::COUNTERS)) for the calling
    /// thread, or say why not, e.g. `"ENOENT: no such event on this CPU (a VM without a PMU?)"`.
    fn open(&self, name: &str) -> Result<Box<dyn HwCounter>, String>;
}

/// A human reason for a `perf_event_open` failure: errno name, what it means here.
pub fn reason(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) => "ENOENT: no such event on this CPU (a VM without a PMU?)".into(),
        Some(libc::EOPNOTSUPP) => "EOPNOTSUPP: the PMU does not support this event".into(),
        Some(libc::ENODEV) => "ENODEV: no PMU for this event".into(),
        Some(libc::EACCES) | Some(libc::EPERM) => {
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unreadable".into());
            format!(
                "{}: not permitted (perf_event_paranoid = {paranoid}; needs <= 2 for user-space \
                 counting, or CAP_PERFMON)",
                if e.raw_os_error() == Some(libc::EACCES) {
                    "EACCES"
                } else {
                    "EPERM"
                }
            )
        }
        Some(libc::EINVAL) => "EINVAL: the kernel rejected the event".into(),
        Some(libc::EMFILE) => "EMFILE: out of file descriptors".into(),
        Some(n) => format!("errno {n}: {e}"),
        None => e.to_string(),
    }
}

/// Counters through `perf_event_open(2)`, with the `perf-event2` crate.
///
/// Why `perf-event2` rather than `perf-event`: it is the maintained fork, and its `Builder`
/// sets `read_format = TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING` and exposes both times on every
/// read (`read_full`), which is exactly what scaling for multiplexing needs; it also defaults to
/// user-space only counting (`exclude_kernel`), which `perf_event_paranoid = 2` allows.
#[derive(Debug, Default, Clone, Copy)]
pub struct PerfSource;

struct PerfCounter(perf_event::Counter);

impl HwCounter for PerfCounter {
    fn reset_and_enable(&mut self) -> io::Result<()> {
        self.0.reset()?;
        self.0.enable()
    }
    fn disable(&mut self) -> io::Result<()> {
        self.0.disable()
    }
    fn read(&mut self) -> io::Result<Reading> {
        let d = self.0.read_full()?;
        let ns = |t: Option<std::time::Duration>| t.map_or(0, |t| t.as_nanos() as u64);
        Ok(Reading {
            count: d.count(),
            enabled_ns: ns(d.time_enabled()),
            running_ns: ns(d.time_running()),
        })
    }
}

impl CounterSource for PerfSource {
    fn open(&self, name: &str) -> Result<Box<dyn HwCounter>, String> {
        use perf_event::Builder;
        use perf_event::events::{Cache, CacheId, CacheOp, CacheResult, Hardware};
        let read_miss = |which| Cache {
            which,
            operation: CacheOp::READ,
            result: CacheResult::MISS,
        };
        let b = match name {
            "cache_misses" => Builder::new(Hardware::CACHE_MISSES),
            "l1d_read_misses" => Builder::new(read_miss(CacheId::L1D)),
            "llc_read_misses" => Builder::new(read_miss(CacheId::LL)),
            "cycles" => Builder::new(Hardware::CPU_CYCLES),
            "instructions" => Builder::new(Hardware::INSTRUCTIONS),
            other => return Err(format!("unknown counter '{other}'")),
        };
        b.build()
            .map(|c| Box::new(PerfCounter(c)) as Box<dyn HwCounter>)
            .map_err(|e| reason(&e))
    }
}

/// A stand-in PMU for tests: counters in `available` open and read fixed values; the others
/// fail with `ENOENT`, exactly like the real source here.
///
/// Each read returns `count = per_read`, `enabled_ns = 2_000_000`, `running_ns =
/// running_ns`, so a test can check scaling (`per_read × 2_000_000 / running_ns`) and the
/// per-lookup division.
#[cfg(feature = "internal-test-hooks")]
#[derive(Debug, Clone)]
pub struct FakeSource {
    /// Counters that open, with the raw count each read returns.
    pub available: BTreeMap<String, u64>,
    /// Running time of every read, ns (of 2 ms enabled): below 2 ms means "multiplexed".
    pub running_ns: u64,
}

#[cfg(feature = "internal-test-hooks")]
impl FakeSource {
    /// Every counter of [`COUNTERS`](crate::results::COUNTERS) available: the i-th reads
    /// `1000 × (i + 1)`, running half the time it was enabled.
    pub fn all() -> FakeSource {
        FakeSource {
            available: crate::results::COUNTERS
                .iter()
                .enumerate()
                .map(|(i, c)| (c.to_string(), 1000 * (i as u64 + 1)))
                .collect(),
            running_ns: 1_000_000,
        }
    }

    /// Nothing available: every counter fails with `ENOENT`.
    pub fn none() -> FakeSource {
        FakeSource {
            available: BTreeMap::new(),
            running_ns: 2_000_000,
        }
    }
}

#[cfg(feature = "internal-test-hooks")]
struct FakeCounter {
    per_read: u64,
    running_ns: u64,
}

#[cfg(feature = "internal-test-hooks")]
impl HwCounter for FakeCounter {
    fn reset_and_enable(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn disable(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn read(&mut self) -> io::Result<Reading> {
        Ok(Reading {
            count: self.per_read,
            enabled_ns: 2_000_000,
            running_ns: self.running_ns,
        })
    }
}

#[cfg(feature = "internal-test-hooks")]
impl CounterSource for FakeSource {
    fn open(&self, name: &str) -> Result<Box<dyn HwCounter>, String> {
        match self.available.get(name) {
            Some(&per_read) => Ok(Box::new(FakeCounter {
                per_read,
                running_ns: self.running_ns,
            })),
            None => Err(reason(&io::Error::from_raw_os_error(libc::ENOENT))),
        }
    }
}

/// What one reader's counters read over one window: per counter, a reading or why not.
pub type ReaderCounts = Vec<Result<Reading, String>>;

/// Per-lookup values of one window: each counter's scaled counts summed over readers, divided
/// by the window's total lookups. `names[i]` goes with `per_reader[r][i]`.
///
/// Returns, per counter, the value or the reason it is `None`, and the smallest fraction of
/// the window any reader's counter actually ran (1.0 = not multiplexed).
pub fn per_lookup(
    names: &[String],
    per_reader: &[ReaderCounts],
    lookups: u64,
) -> Vec<(Result<f64, String>, f64)> {
    names
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let mut sum = 0.0;
            let mut frac = 1.0f64;
            for r in per_reader {
                match r.get(i) {
                    Some(Ok(reading)) => match reading.scaled() {
                        Some(v) => {
                            sum += v;
                            if reading.enabled_ns > 0 {
                                frac =
                                    frac.min(reading.running_ns as f64 / reading.enabled_ns as f64);
                            }
                        }
                        None => {
                            return (
                                Err("never scheduled on the PMU (multiplexed out)".into()),
                                0.0,
                            );
                        }
                    },
                    Some(Err(why)) => return (Err(why.clone()), 0.0),
                    None => return (Err("not opened".into()), 0.0),
                }
            }
            if lookups == 0 {
                return (Err("no lookups in the window".into()), frac);
            }
            (Ok(sum / lookups as f64), frac)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_divides_by_the_running_fraction() {
        let r = Reading {
            count: 300,
            enabled_ns: 100,
            running_ns: 25,
        };
        assert_eq!(r.scaled(), Some(1200.0));
        let never = Reading { running_ns: 0, ..r };
        assert_eq!(never.scaled(), None);
    }

    #[test]
    fn per_lookup_sums_readers_and_reports_the_worst_fraction() {
        let names = vec!["cycles".to_string(), "instructions".to_string()];
        let rd = |count, running_ns| {
            Ok(Reading {
                count,
                enabled_ns: 100,
                running_ns,
            })
        };
        let per_reader = vec![
            vec![rd(100, 100), Err("ENOENT: x".to_string())],
            vec![rd(100, 50), Err("ENOENT: x".to_string())],
        ];
        let v = per_lookup(&names, &per_reader, 30);
        // (100 + 200) / 30 lookups.
        assert_eq!(v[0].0, Ok(10.0));
        assert_eq!(v[0].1, 0.5);
        assert_eq!(v[1].0, Err("ENOENT: x".to_string()));
    }

    #[test]
    fn the_fake_is_unavailable_exactly_like_enoent() {
        let e = FakeSource::none().open("cycles").err().unwrap();
        assert!(e.starts_with("ENOENT"), "{e}");
        let mut c = FakeSource::all().open("instructions").unwrap();
        c.reset_and_enable().unwrap();
        c.disable().unwrap();
        assert_eq!(c.read().unwrap().scaled(), Some(10_000.0));
    }

    #[test]
    fn the_real_source_either_counts_or_says_why() {
        // Here (no PMU) every hardware event fails with ENOENT; on a server it counts. Both
        // are fine; what is not is an empty reason or a counter that reads garbage.
        for name in crate::results::COUNTERS {
            match PerfSource.open(name) {
                Ok(mut c) => {
                    c.reset_and_enable().unwrap();
                    let mut x = 0u64;
                    for i in 0..10_000u64 {
                        x = std::hint::black_box(x.wrapping_add(i));
                    }
                    c.disable().unwrap();
                    let r = c.read().unwrap();
                    assert!(r.enabled_ns >= r.running_ns, "{name}: {r:?}");
                    // 10 000 additions ran: a working instructions or cycles counter saw them.
                    if matches!(*name, "instructions" | "cycles") && r.running_ns > 0 {
                        assert!(r.count > 0, "{name}: {r:?}");
                    }
                }
                Err(why) => assert!(why.contains(':') && why.len() > 8, "{name}: {why}"),
            }
        }
        assert!(PerfSource.open("bogus").is_err());
    }
}
