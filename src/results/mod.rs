//! The results file: what `swapref run` writes and `compare`, `plot` and `report` read.
//!
//! One JSON document per run, versioned ([`SCHEMA`], [`SCHEMA_VERSION`]); `results/README.md`
//! documents every field. The fields marked *stable* below are the contract other tools rely
//! on: they keep their name, type and meaning within a schema version.
//!
//! Files are written atomically ([`write_atomic`]): a reader sees the previous complete file or
//! the new complete file, never a half-written one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

pub mod export;

/// The `schema` field of every results file.
pub const SCHEMA: &str = "swapref-results";
/// The version this build writes.
///
/// Version 2 added, per repeat, the round it ran in, the floor measured before it and its
/// own swapoff/swapon percentiles, and the run's shuffle seed. Version 3 gave the hold as a
/// time: each point's `hold_ns` (part of its identity) and `hold_iterations`, the run's
/// `holds_ns` and `spin_ns_per_iteration`, in place of one `hold` in iterations. Versions 1 and
/// 2 are still read ([`OLDEST_READ`]): fields they lack are absent, their `hold` becomes each
/// point's `hold_iterations` (with `hold_ns` 0: unknown), and `compare` says it judges
/// absolute ns where a file has no floors.
pub const SCHEMA_VERSION: u32 = 3;
/// The oldest version this build reads.
pub const OLDEST_READ: u32 = 1;

/// Names of the hardware counters a run can record, in report order.
pub const COUNTERS: &[&str] = &[
    "cache_misses",
    "l1d_read_misses",
    "llc_read_misses",
    "cycles",
    "instructions",
];

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    /// What produced the file.
    pub tool: Tool,
    /// When the run started, RFC 3339 UTC.
    pub started: String,
    /// Whether every planned point was attempted. False while a run is in progress and after
    /// an interrupt; `interrupted` then says why.
    pub complete: bool,
    /// Why the run stopped early (`"SIGINT"`, a watchdog message), if it did.
    pub interrupted: Option<String>,
    /// The machine.
    pub environment: Environment,
    /// The configuration, as resolved (defaults filled in).
    pub config: RunConfig,
    /// One entry per measured point, in the order they finished.
    pub points: Vec<Point>,
}

/// The program that wrote the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// `swapref`.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// `git rev-parse HEAD` of the source tree at build time, if known.
    pub git_commit: Option<String>,
    /// Whether the tree had uncommitted changes at build time, if known.
    pub git_dirty: Option<bool>,
    /// `rustc --version` at build time, if known.
    pub rustc: Option<String>,
    /// Cargo profile (`release`, `debug`, `bench`).
    pub profile: String,
}

/// The machine a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Free-form label the user gave (`--label`), e.g. "2-core VM, no PMU".
    pub label: Option<String>,
    /// `uname -n`.
    pub hostname: Option<String>,
    /// `uname -m`.
    pub arch: String,
    /// `uname -r`.
    pub kernel: Option<String>,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: Option<String>,
    /// Online CPUs as sysfs describes them.
    pub topology: Vec<CpuTopology>,
    /// The process's allowed CPU set at start-up (`sched_getaffinity`).
    pub allowed_cpus: Vec<usize>,
    /// cpufreq governor per distinct value, e.g. `{"performance": [0,1]}`; empty if unreadable.
    pub governors: BTreeMap<String, Vec<usize>>,
    /// /proc/sys/kernel/perf_event_paranoid, if readable.
    pub perf_event_paranoid: Option<i32>,
    /// Whether `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` is usable, and why not if not.
    pub membarrier: Availability,
}

/// One online CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuTopology {
    /// Logical CPU number.
    pub cpu: usize,
    /// `topology/core_id`.
    pub core: Option<usize>,
    /// `topology/physical_package_id`.
    pub package: Option<usize>,
    /// NUMA node, if any.
    pub node: Option<usize>,
    /// `topology/thread_siblings_list` (includes `cpu`).
    pub siblings: Vec<usize>,
}

/// Whether something is available, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// Usable.
    pub available: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

/// The run's configuration, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Strategy names, in run order.
    pub strategies: Vec<String>,
    /// Reader counts swept.
    pub readers: Vec<usize>,
    /// Swap periods swept, in ns between the starts of two swap cycles; `None` = never.
    pub periods_ns: Vec<Option<u64>>,
    /// How long a device stays off in a cycle, ns.
    pub off_time_ns: u64,
    /// Devices readers look up (swap types `0..devices`).
    pub devices: usize,
    /// Pages per device.
    pub pages: usize,
    /// Versions 1 and 2 only: work done while holding the reference, in iterations of a
    /// fixed spin, the same for every point. Version 3 writes none; each point has its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<u64>,
    /// Holds swept (`--hold`), ns, in the order given; empty in older files.
    #[serde(default)]
    pub holds_ns: Vec<u64>,
    /// ns per iteration of the hold's spin ([`crate::measure::hold::calibrate`]), timed at the
    /// start of the run on the first reader's CPU; `None` in older files.
    #[serde(default)]
    pub spin_ns_per_iteration: Option<f64>,
    /// Measured window per repeat, ns.
    pub duration_ns: u64,
    /// Warm-up before each measured window, ns.
    pub warmup_ns: u64,
    /// Repeats per point.
    pub repeats: usize,
    /// CPUs readers and swapper may use, in placement order.
    pub cpus: Vec<usize>,
    /// Whether more readers than CPUs was allowed.
    pub oversubscribe: bool,
    /// Counters asked for.
    pub counters: Vec<String>,
    /// RCU flavours asked for, as given to `--rcu` (`auto`, `qsbr`, a comma list ...).
    pub rcu: String,
    /// `percpu_ref` counter backends asked for, as given to `--percpu`; absent in files from
    /// before the backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percpu: Option<String>,
    /// Seed of the order the points run in within each round (the repeats are interleaved:
    /// round `k` measures repeat `k` of every point, in an order shuffled by this seed and
    /// `k`). `None` in version 1 files, whose points ran one after another.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Test hook only (`run --inject`, for the A/B check of `scripts/aa-compare.sh`):
    /// `STRATEGY:N`, that strategy's lookups held for N spin iterations. Absent in real runs;
    /// `compare` warns when either side has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject: Option<String>,
    /// What the run's build said of each strategy it measured (by name), so that a report of
    /// the file reads the same whichever build draws it. Empty in files from before it; reports
    /// then ask their own build.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub strategy_facts: BTreeMap<String, StrategyFacts>,
}

/// A strategy as the build that measured it described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyFacts {
    /// One line (`Strategy::SUMMARY`).
    pub summary: String,
    /// Whether it allows swapoff under readers (`Strategy::CHURN`; `unprotected` does not,
    /// and is measured without a swapper).
    pub churn: bool,
    /// Whether its swapon or swapoff waits for an RCU grace period (`Strategy::GRACE_PERIODS`).
    pub grace_periods: bool,
    /// Its source file's module documentation, as Markdown (what kernel code it models, what
    /// its reader and swapoff cost).
    pub notes: String,
}

impl StrategyFacts {
    /// The facts of a registry entry.
    pub fn of(info: &crate::strategy::Info) -> StrategyFacts {
        StrategyFacts {
            summary: info.summary.to_owned(),
            churn: info.churn,
            grace_periods: info.grace_periods,
            notes: info.doc_markdown(),
        }
    }
}

/// `{median, min, max}` over repeats. *Stable*.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Median (mean of the two middle values for an even count).
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `samples`; `None` when empty or any sample is not finite.
    pub fn of(samples: &[f64]) -> Option<Spread> {
        if samples.is_empty() || samples.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

/// Latency percentiles in ns. `p50`, `p99`, `max` are *stable*.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

/// Outcome of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured.
    Ok,
    /// A reader panicked, an invariant broke, or the watchdog fired; see `error`.
    Failed,
}

/// One repeat of a point, raw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repeat {
    /// Measured window, ns (wall clock, same for all readers).
    pub window_ns: u64,
    /// Successful plus failed lookups per reader, in reader order.
    pub lookups_per_reader: Vec<u64>,
    /// Lookups that found the device off.
    pub failed_lookups: u64,
    /// Swap cycles completed in the window.
    pub swap_cycles: u64,
    /// Round of the run this repeat was measured in (0-based); every point has one repeat
    /// per round. `None` in version 1 files.
    #[serde(default)]
    pub round: Option<u32>,
    /// The floor measured just before this repeat on its first reader's CPU: ns per
    /// iteration of a fixed loop that reads one byte of a 1 KiB array
    /// ([`crate::measure::floor`]). `compare` divides ns/lookup by it, so a machine that is
    /// slower for a while is slower for the floor too. `None` in version 1 files.
    #[serde(default)]
    pub floor_ns: Option<f64>,
    /// This repeat's swapoff latency (the point's `swapoff_latency_ns` merges all repeats);
    /// `None` without cycles or in version 1 files.
    #[serde(default)]
    pub swapoff_latency_ns: Option<Percentiles>,
    /// This repeat's swapon latency, likewise.
    #[serde(default)]
    pub swapon_latency_ns: Option<Percentiles>,
    /// This repeat's swapoff latencies as log-linear buckets `[lower_ns, count]`
    /// ([`crate::measure::latency::Latencies::buckets`]): a CDF or a spread over repeats can
    /// be drawn from them. `None` without cycles or in version 1 files.
    #[serde(default)]
    pub swapoff_buckets: Option<Vec<[u64; 2]>>,
    /// This repeat's swapon latencies, likewise.
    #[serde(default)]
    pub swapon_buckets: Option<Vec<[u64; 2]>>,
}

/// What identifies a point: series, readers, period (ns; `None` = never), hold (ns).
pub type PointKey = (String, usize, Option<u64>, u64);

/// One measured point: a strategy at a reader count and configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Strategy name. *Stable*.
    pub strategy: String,
    /// Reader threads. *Stable*.
    pub readers: usize,
    /// Swap period of this point, ns; `None` = never. Part of the point's identity.
    pub period_ns: Option<u64>,
    /// How long each lookup holds its reference, ns, as asked for (`--hold`). Part of the
    /// point's identity. 0 in older files (which gave the hold in iterations only).
    #[serde(default)]
    pub hold_ns: u64,
    /// Iterations of the hold's spin that `hold_ns` was calibrated to (plus an injected
    /// test cost, if any).
    #[serde(default)]
    pub hold_iterations: u64,
    /// `ok` or `failed`.
    pub status: Status,
    /// What failed, for failed points.
    pub error: Option<String>,
    /// CPUs the readers were pinned to, in reader order.
    pub reader_cpus: Vec<usize>,
    /// CPU the swapper was pinned to; `None` when there was no swapper (`period` never).
    pub swapper_cpu: Option<usize>,
    /// Whether the swapper shares its CPU with a reader.
    pub swapper_shares_cpu: bool,
    /// RCU flavour the strategy used, for those that use RCU.
    pub rcu_flavor: Option<String>,
    /// `percpu_ref` counter backend (`thread`, `cpu` or `cid`), for the strategies over it; absent in
    /// files from before the backends (which counted per thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percpu: Option<String>,
    /// Raw per-repeat data.
    pub repeats: Vec<Repeat>,
    /// Nanoseconds per lookup per reader (window × readers / lookups), over repeats. *Stable*.
    pub ns_per_op: Spread,
    /// Median total lookups per second over repeats, in millions. *Stable*.
    pub mops: f64,
    /// Lookups that found the device off, over all lookups. *Stable*.
    pub failed_lookup_rate: f64,
    /// swapoff drain latency (from the strategy's unpublish until no reader can hold the map;
    /// the teardown after it is not included), over all repeats; `None`
    /// without cycles. *Stable* (`p50`, `p99`, `max`).
    pub swapoff_latency_ns: Option<Percentiles>,
    /// swapon latency, over all repeats; `None` without cycles.
    pub swapon_latency_ns: Option<Percentiles>,
    /// Bytes per device the strategy allocates for its protection (per-thread slots included).
    pub device_bytes: usize,
    /// Per-lookup hardware counter values, `null` where the counter could not be read.
    /// Keys are [`COUNTERS`] names that were asked for. *Stable*.
    pub counters: BTreeMap<String, Option<f64>>,
    /// Why a counter is `null` (`"ENOENT: ..."`) or how it was scaled (`"multiplexed: 62%
    /// running"`).
    pub counter_notes: BTreeMap<String, String>,
}

impl Point {
    /// What identifies a point across two runs: strategy and RCU flavour ([`series`]),
    /// readers, period, hold.
    ///
    /// [`series`]: Self::series
    pub fn key(&self) -> PointKey {
        (self.series(), self.readers, self.period_ns, self.hold_ns)
    }

    /// The strategy as tables, figures and reports name it: `percpu-acquire@qsbr` for a
    /// strategy over the RCU (one series per flavour), `percpu-acquire@qsbr/cpu` for one
    /// counting per CPU and `…/cid` per concurrency ID (per-thread counters, the older layout,
    /// carry no suffix), the bare name for the others.
    pub fn series(&self) -> String {
        // From the recorded name rather than `workload::point::percpu_suffix`: a file may name
        // a backend this build does not know, and its series must still differ.
        let cpu = match self.percpu.as_deref() {
            None | Some("thread") => String::new(),
            Some(k) => format!("/{k}"),
        };
        match &self.rcu_flavor {
            Some(f) => format!("{}@{f}{cpu}", self.strategy),
            None => format!("{}{cpu}", self.strategy),
        }
    }
}

/// Why a results file could not be read or written.
#[derive(Debug)]
pub enum ResultsError {
    /// Reading or writing failed.
    Io(PathBuf, std::io::Error),
    /// Not JSON, or not this schema's shape.
    Malformed(PathBuf, String),
    /// `schema` is not [`SCHEMA`].
    NotResults(PathBuf, String),
    /// A schema version this build does not know.
    Version(PathBuf, u32),
}

impl fmt::Display for ResultsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResultsError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            ResultsError::Malformed(p, e) => write!(f, "{}: malformed results: {e}", p.display()),
            ResultsError::NotResults(p, s) => write!(
                f,
                "{}: not a swapref results file (schema '{s}', expected '{SCHEMA}')",
                p.display()
            ),
            ResultsError::Version(p, v) => write!(
                f,
                "{}: results schema version {v} is not supported (this build reads {OLDEST_READ} to {SCHEMA_VERSION})",
                p.display()
            ),
        }
    }
}

impl std::error::Error for ResultsError {}

impl Results {
    /// Whether `strategy` (a name, or a series such as `percpu-acquire@qsbr`) ran with a
    /// swapper in this run, read from the points rather than from a build's registry: a
    /// strategy that refuses churn (`unprotected`) has only points without a swap period.
    pub fn churns(&self, strategy: &str) -> bool {
        let base = strategy.split('@').next().unwrap_or(strategy);
        self.points
            .iter()
            .any(|p| p.strategy == base && p.period_ns.is_some())
    }

    /// The reader CPU that is an SMT sibling of `p`'s swapper CPU (another hardware thread of
    /// the same core, per `environment.topology`). The swapper then competes with that reader
    /// for the core's execution units, though neither preempts the other. `None` when the
    /// point has no swapper, when the swapper shares a CPU outright (`swapper_shares_cpu`),
    /// or when no reader runs on the swapper's core.
    pub fn swapper_smt_sibling(&self, p: &Point) -> Option<usize> {
        let swapper = p.swapper_cpu?;
        if p.swapper_shares_cpu {
            return None;
        }
        let t = self
            .environment
            .topology
            .iter()
            .find(|t| t.cpu == swapper)?;
        p.reader_cpus
            .iter()
            .copied()
            .find(|&c| c != swapper && t.siblings.contains(&c))
    }

    /// Parse and validate a results document.
    pub fn from_json(path: &Path, text: &str) -> Result<Results, ResultsError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ResultsError::Malformed(path.into(), e.to_string()))?;
        let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
        if schema != SCHEMA {
            return Err(ResultsError::NotResults(path.into(), schema.to_owned()));
        }
        let version = value
            .get("schema_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| ResultsError::Malformed(path.into(), "no schema_version".into()))?;
        if !(u64::from(OLDEST_READ)..=u64::from(SCHEMA_VERSION)).contains(&version) {
            return Err(ResultsError::Version(
                path.into(),
                u32::try_from(version).unwrap_or(u32::MAX),
            ));
        }
        let mut r: Results = serde_json::from_value(value)
            .map_err(|e| ResultsError::Malformed(path.into(), e.to_string()))?;
        // Before version 3 the one hold of the run was in the configuration.
        if let Some(h) = r.config.hold {
            for p in &mut r.points {
                p.hold_iterations = h;
            }
        }
        Ok(r)
    }

    /// Read and validate a results file.
    pub fn load(path: &Path) -> Result<Results, ResultsError> {
        let text = std::fs::read_to_string(path).map_err(|e| ResultsError::Io(path.into(), e))?;
        Self::from_json(path, &text)
    }

    /// Write as pretty JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<(), ResultsError> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| ResultsError::Malformed(path.into(), e.to_string()))?;
        text.push('\n');
        write_atomic(path, text.as_bytes()).map_err(|e| ResultsError::Io(path.into(), e))
    }
}

/// Write `bytes` to `path` so that readers see either the old or the new file: write a
/// temporary file in the same directory, flush it to disk, rename it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests;

/// Synthetic results for tests and examples: plausible, small, and fully specified
/// (`internal-test-hooks` only).
#[cfg(feature = "internal-test-hooks")]
pub mod fixtures {
    use super::*;

    /// A point with the given ns/op samples (one per repeat) and nothing else remarkable.
    pub fn point(strategy: &str, readers: usize, ns_per_op: &[f64]) -> Point {
        let window_ns = 100_000_000u64;
        let repeats: Vec<Repeat> = ns_per_op
            .iter()
            .enumerate()
            .map(|(k, ns)| Repeat {
                window_ns,
                lookups_per_reader: vec![(window_ns as f64 / ns) as u64; readers],
                failed_lookups: 0,
                swap_cycles: 10,
                round: Some(k as u32),
                floor_ns: Some(1.0),
                swapoff_latency_ns: None,
                swapon_latency_ns: None,
                swapoff_buckets: None,
                swapon_buckets: None,
            })
            .collect();
        let spread = Spread::of(ns_per_op).expect("finite samples");
        Point {
            strategy: strategy.into(),
            readers,
            period_ns: Some(1_000_000),
            hold_ns: 0,
            hold_iterations: 0,
            status: Status::Ok,
            error: None,
            reader_cpus: (0..readers).collect(),
            swapper_cpu: Some(readers),
            swapper_shares_cpu: false,
            rcu_flavor: None,
            percpu: None,
            repeats,
            ns_per_op: spread,
            mops: readers as f64 * 1e3 / spread.median,
            failed_lookup_rate: 0.0,
            swapoff_latency_ns: Some(Percentiles {
                count: 10 * ns_per_op.len() as u64,
                p50: 20_000,
                p90: 30_000,
                p99: 40_000,
                max: 50_000,
            }),
            swapon_latency_ns: Some(Percentiles {
                count: 10 * ns_per_op.len() as u64,
                p50: 2_000,
                p90: 3_000,
                p99: 4_000,
                max: 5_000,
            }),
            device_bytes: 128,
            counters: COUNTERS.iter().map(|c| (c.to_string(), None)).collect(),
            counter_notes: COUNTERS
                .iter()
                .map(|c| (c.to_string(), "ENOENT: no PMU (fixture)".to_string()))
                .collect(),
        }
    }

    /// A complete run holding `points`.
    pub fn results(points: Vec<Point>) -> Results {
        let mut strategies: Vec<String> = Vec::new();
        let mut readers: Vec<usize> = Vec::new();
        for p in &points {
            if !strategies.contains(&p.strategy) {
                strategies.push(p.strategy.clone());
            }
            if !readers.contains(&p.readers) {
                readers.push(p.readers);
            }
        }
        Results {
            schema: SCHEMA.into(),
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "swapref".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                git_commit: Some("0000000000000000000000000000000000000000".into()),
                git_dirty: Some(false),
                rustc: Some("rustc (fixture)".into()),
                profile: "release".into(),
            },
            started: "2026-01-01T00:00:00Z".into(),
            complete: true,
            interrupted: None,
            environment: Environment {
                label: Some("fixture".into()),
                hostname: Some("fixture".into()),
                arch: "x86_64".into(),
                kernel: Some("6.0.0".into()),
                cpu_model: Some("Fixture CPU".into()),
                topology: vec![],
                allowed_cpus: vec![0, 1],
                governors: BTreeMap::new(),
                perf_event_paranoid: Some(2),
                membarrier: Availability {
                    available: true,
                    reason: None,
                },
            },
            config: RunConfig {
                strategies,
                readers,
                periods_ns: vec![Some(1_000_000)],
                off_time_ns: 0,
                devices: 1,
                pages: 64,
                hold: None,
                holds_ns: vec![0],
                spin_ns_per_iteration: Some(0.25),
                duration_ns: 100_000_000,
                warmup_ns: 10_000_000,
                repeats: points.first().map_or(0, |p| p.repeats.len()),
                cpus: vec![0, 1],
                oversubscribe: false,
                counters: COUNTERS.iter().map(|c| c.to_string()).collect(),
                rcu: "auto".into(),
                percpu: None,
                seed: Some(1),
                inject: None,
                strategy_facts: BTreeMap::new(),
            },
            points,
        }
    }
}
