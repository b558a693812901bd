//! `swapref run`: pinned readers against periodic swapoff/swapon; prints a table (or JSON,
//! CSV, Markdown) and saves the results file after every window.
//!
//! Everything is validated before anything runs or is written: bad input is one line on stderr
//! and exit code 2. Exit codes otherwise: 0 done, 1 a point failed (saved, marked failed),
//! 130 interrupted by Ctrl-C (what finished is saved).

use super::export::{Format, parse_format, print};
use super::{parse_percpu, parse_rcu, usage_error};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime};
#[cfg(feature = "internal-test-hooks")]
use swapref::measure::counters::FakeSource;
use swapref::measure::counters::{CounterSource, PerfSource};
use swapref::measure::{env, topology};
use swapref::results::{COUNTERS, Results, RunConfig};
use swapref::workload::point::{self, duration_name};
use swapref::workload::run::{self, End, Observer};

/// Options of `swapref run`. Durations take a unit: `ns`, `us`, `ms`, `s` (`1.5ms` is fine).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Strategies to measure: a comma list (see `swapref list`), or `all`.
    #[arg(long, default_value = "all")]
    strategies: String,
    /// Reader counts to sweep, a comma list such as `1,2,4`. Default: the usable CPUs minus
    /// one for the swapper (at least 1); all of them when the period is `never`.
    #[arg(long)]
    readers: Option<String>,
    /// CPUs the readers and the swapper may use, a kernel CPU list such as `0-3,8`. Default:
    /// every CPU this process may run on. Placement orders them: one per physical core
    /// first, SMT siblings last.
    #[arg(long)]
    cores: Option<String>,
    /// Time between the starts of two swap cycles (e.g. `1ms`; `0` = back to back), or
    /// `never` for no swapper; a comma list sweeps. Strategies that refuse churn
    /// (`unprotected`) are always measured with `never`.
    #[arg(long, default_value = "1ms")]
    period: String,
    /// How long a device stays off between its swapoff and its swapon.
    #[arg(long, default_value = "0s")]
    off_time: String,
    /// Swap devices (types 0..devices) readers look up and the swapper cycles in turn (1-32).
    #[arg(long, default_value_t = 1)]
    devices: usize,
    /// Pages per device (bytes of its swap_map).
    #[arg(long, default_value_t = 1024)]
    pages: usize,
    /// How long each lookup holds its reference (refscale's readdelay, liburcu's -c), as a
    /// time (`0`, `50ns`, `1us`; at most 1ms); a comma list sweeps. Calibrated at the start
    /// into iterations of a fixed spin; both are recorded.
    #[arg(long, default_value = "0")]
    hold: String,
    /// Measured window of each repeat.
    #[arg(long, default_value = "500ms")]
    duration: String,
    /// Warm-up before each measured window (not counted).
    #[arg(long, default_value = "100ms")]
    warmup: String,
    /// Measured windows per point; the results give their median, min and max.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Results file (JSON, written atomically after every window). Default:
    /// `results/run-<UTC time>.json`; `none` writes no file.
    #[arg(long)]
    out: Option<String>,
    /// What to print on stdout: `table`, `json`, `csv` or `markdown`.
    #[arg(long, default_value = "table")]
    format: String,
    /// Hardware counters per lookup: a comma list of names, `all`, or `none`.
    #[arg(long, default_value = "all")]
    counters: String,
    /// Free-form label recorded with the machine, e.g. "c7i.metal, SMT off".
    #[arg(long)]
    label: Option<String>,
    /// Allow more readers than usable CPUs (they share CPUs round-robin).
    #[arg(long)]
    oversubscribe: bool,
    /// RCU flavours of the strategies that use RCU, a comma list that sweeps: `qsbr`
    /// (non-preemptible kernel), `membarrier` (PREEMPT_RCU), `fence` (its fallback), `auto`
    /// (the one that models the running kernel).
    #[arg(long, default_value = "auto")]
    rcu: String,
    /// Counter backend of the percpu_ref strategies, a comma list that sweeps: `cpu` (per-CPU
    /// counters in restartable sequences, as the kernel's), `cid` (the same, indexed by the
    /// thread's rseq concurrency ID, one counter per allowed CPU), `thread` (per registered
    /// thread), `auto` (cpu where rseq works).
    #[arg(long, default_value = "auto")]
    percpu: String,
    /// How long a swapoff/swapon may take before the point fails as stuck.
    #[arg(long, default_value = "10s")]
    watchdog: String,
    /// Seed of the order of the points within each round (the repeats are interleaved:
    /// round k measures repeat k of every point). Default: from the clock; recorded.
    #[arg(long)]
    seed: Option<u64>,
    /// Test hook for the A/B check: `STRATEGY:N` holds that strategy's references N spin
    /// iterations (an injected regression); recorded in the results.
    #[arg(long, hide = true)]
    inject: Option<String>,
    /// Test hook: a fake PMU, `all` counters available or `none` (`internal-test-hooks` builds
    /// only, which `cargo test` makes).
    #[cfg(feature = "internal-test-hooks")]
    #[arg(long, hide = true)]
    fake_counters: Option<String>,
}

/// Parse `500ms`, `2s`, `1.5ms`, `250us`, `10ns` (also `µs`).
pub fn parse_duration(flag: &str, s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{s}' for --{flag} (use e.g. 250us, 1ms, 2s)");
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let x: f64 = num.parse().map_err(|_| bad())?;
    let per_ns = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return Err(bad()),
    };
    let ns = x * per_ns;
    if !ns.is_finite() || ns > 1e15 {
        return Err(format!("duration '{s}' for --{flag} is too long"));
    }
    Ok(Duration::from_nanos(ns.round() as u64))
}

fn parse_periods(s: &str) -> Result<Vec<Option<Duration>>, String> {
    let mut v = Vec::new();
    for p in s.split(',') {
        let p = p.trim();
        let d = if p == "never" {
            None
        } else {
            Some(parse_duration("period", p)?)
        };
        if !v.contains(&d) {
            v.push(d);
        }
    }
    Ok(v)
}

/// The longest `--hold`: a lookup that holds longer is no hot-path lookup any more.
const MAX_HOLD: Duration = Duration::from_millis(1);

fn parse_holds(s: &str) -> Result<Vec<Duration>, String> {
    let mut v = Vec::new();
    for h in s.split(',') {
        let d = parse_duration("hold", h.trim())?;
        if d > MAX_HOLD {
            return Err(format!(
                "--hold {}: at most {} (a lookup that holds longer is no hot-path lookup)",
                h.trim(),
                swapref::format::ns(MAX_HOLD.as_nanos() as f64)
            ));
        }
        if !v.contains(&d) {
            v.push(d);
        }
    }
    Ok(v)
}

fn parse_readers(s: &str) -> Result<Vec<usize>, String> {
    let mut v = Vec::new();
    for r in s.split(',') {
        let n: usize = r
            .trim()
            .parse()
            .map_err(|_| format!("invalid reader count '{}' in --readers", r.trim()))?;
        if n == 0 {
            return Err("--readers: the reader count must be at least 1".into());
        }
        if !v.contains(&n) {
            v.push(n);
        }
    }
    Ok(v)
}

fn parse_counters(s: &str) -> Result<Vec<String>, String> {
    match s.trim() {
        "none" => return Ok(Vec::new()),
        "all" => return Ok(COUNTERS.iter().map(|c| c.to_string()).collect()),
        _ => {}
    }
    let mut v: Vec<String> = Vec::new();
    for c in s.split(',').map(str::trim) {
        if !COUNTERS.contains(&c) {
            return Err(format!(
                "unknown counter '{c}' (valid: {}, or all, none)",
                COUNTERS.join(", ")
            ));
        }
        if !v.iter().any(|x| x == c) {
            v.push(c.to_owned());
        }
    }
    Ok(v)
}

/// Check that `path` can be written (atomically: a temporary file beside it, then a rename)
/// without leaving anything behind. The default location's directory is created.
fn check_writable(path: &Path, create_dir: bool) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("--out {shown} is a directory"));
    }
    let name = path
        .file_name()
        .ok_or_else(|| format!("--out {shown} has no file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        if create_dir {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        } else {
            return Err(format!(
                "cannot write --out {shown}: directory {} does not exist",
                dir.display()
            ));
        }
    }
    let probe = dir.join(format!(
        ".{}.probe.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::File::create(&probe).map_err(|e| format!("cannot write --out {shown}: {e}"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Everything the run needs, validated.
struct Plan {
    cfg: RunConfig,
    run: run::Plan,
    out: Option<PathBuf>,
    format: Format,
    label: Option<String>,
}

/// The PMU: the real one, or with `internal-test-hooks` the fake `--fake-counters` names.
fn counter_source(args: &Args) -> Result<Arc<dyn CounterSource>, String> {
    #[cfg(feature = "internal-test-hooks")]
    match args.fake_counters.as_deref() {
        None => {}
        Some("all") => return Ok(Arc::new(FakeSource::all())),
        Some("none") => return Ok(Arc::new(FakeSource::none())),
        Some(o) => return Err(format!("--fake-counters: '{o}' (valid: all, none)")),
    }
    let _ = args;
    Ok(Arc::new(PerfSource))
}

fn validate(args: &Args, allowed: &[usize]) -> Result<Plan, String> {
    let strategies = super::parse_strategies(&args.strategies)?;
    let periods = parse_periods(&args.period)?;
    let holds = parse_holds(&args.hold)?;
    let off_time = parse_duration("off-time", &args.off_time)?;
    let duration = parse_duration("duration", &args.duration)?;
    if duration.is_zero() {
        return Err("--duration must be longer than zero".into());
    }
    let warmup = parse_duration("warmup", &args.warmup)?;
    let watchdog = parse_duration("watchdog", &args.watchdog)?;
    if watchdog.is_zero() {
        return Err("--watchdog must be longer than zero".into());
    }
    if args.repeats == 0 {
        return Err("--repeats must be at least 1".into());
    }
    if !(1..=swapref::swap::MAX_SWAPFILES).contains(&args.devices) {
        return Err(format!(
            "--devices must be between 1 and {} (MAX_SWAPFILES)",
            swapref::swap::MAX_SWAPFILES
        ));
    }
    if args.pages == 0 || args.pages > u32::MAX as usize {
        return Err("--pages must be between 1 and 4294967295".into());
    }
    let counters = parse_counters(&args.counters)?;
    let format = parse_format(&args.format)?;
    let flavors = parse_rcu(&args.rcu)?;
    let percpus = parse_percpu(&args.percpu)?;
    let cpus = match &args.cores {
        None => allowed.to_vec(),
        Some(list) => {
            let cpus = topology::parse_cpu_list(list).map_err(|e| format!("--cores: {e}"))?;
            if let Some(c) = cpus.iter().find(|c| !allowed.contains(c)) {
                return Err(format!(
                    "--cores: CPU {c} is not in this process's allowed set {}",
                    swapref::format::cpu_list(allowed)
                ));
            }
            cpus
        }
    };
    let readers = args.readers.as_deref().map(parse_readers).transpose()?;
    let counter_source = counter_source(args)?;
    let out = match args.out.as_deref() {
        Some("none") => None,
        Some(p) => {
            let p = PathBuf::from(p);
            check_writable(&p, false)?;
            Some(p)
        }
        None => {
            let stamp = env::rfc3339(SystemTime::now()).replace([':', '-'], "");
            let p = PathBuf::from(format!("results/run-{stamp}.json"));
            check_writable(&p, true)?;
            Some(p)
        }
    };
    let inject = match args.inject.as_deref() {
        None => None,
        Some(i) => {
            let bad = || format!("--inject '{i}': expected STRATEGY:N, e.g. atomic:20");
            let (name, n) = i.split_once(':').ok_or_else(bad)?;
            let n: u64 = n.parse().map_err(|_| bad())?;
            if !strategies.iter().any(|s| s.name == name) {
                return Err(format!(
                    "--inject: strategy '{name}' is not in --strategies"
                ));
            }
            Some((name.to_owned(), n))
        }
    };
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let (run, cfg) = run::Request {
        strategies,
        readers,
        periods,
        holds,
        flavors,
        rcu: args.rcu.clone(),
        percpus,
        percpu: args.percpu.clone(),
        cpus,
        oversubscribe: args.oversubscribe,
        off_time,
        duration,
        warmup,
        watchdog,
        repeats: args.repeats,
        devices: args.devices,
        pages: args.pages,
        counters,
        counter_source,
        seed,
        inject,
        inject_text: args.inject.clone(),
    }
    .plan()?;
    Ok(Plan {
        cfg,
        run,
        out,
        format,
        label: args.label.clone(),
    })
}

// Set by the Ctrl-C handler. Relaxed everywhere: a flag that carries no data, only polled.
static CANCEL: AtomicBool = AtomicBool::new(false);

/// Run it. `allowed` is the process's allowed CPU set captured at start-up.
pub fn main(args: Args, allowed: Vec<usize>) -> ExitCode {
    let plan = match validate(&args, &allowed) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let mut results = run::begin(plan.cfg.clone(), plan.label.clone(), allowed);
    let mut obs = Progress {
        out: plan.out.as_deref(),
        bar: ProgressBar::hidden(),
    };
    if let Err(e) = obs.save(&results) {
        return usage_error(e);
    }
    if let Err(e) = ctrlc::set_handler(|| {
        // Relaxed: the RMW alone tells a second Ctrl-C from the first; it carries no data.
        if CANCEL.swap(true, Relaxed) {
            eprintln!("\nswapref: second Ctrl-C, aborting without saving the current window");
            std::process::exit(130);
        }
        eprintln!("\nswapref: Ctrl-C, stopping after saving what finished (again to abort)");
    }) {
        eprintln!("swapref: warning: cannot catch Ctrl-C ({e}); it will end the run unsaved");
    }

    if args.rcu.split(',').any(|f| f.trim() == "auto") {
        eprintln!("swapref run: --rcu {}", swapref::strategy::auto_flavor().1);
    }
    if args.percpu.split(',').any(|f| f.trim() == "auto") {
        eprintln!(
            "swapref run: --percpu {}",
            swapref::strategy::auto_percpu().1
        );
    }
    let total = plan.run.windows();
    let spec = &plan.run.spec;
    let per_window = spec.warmup + spec.duration + swapref::measure::floor::FLOOR_WINDOW;
    eprintln!(
        "swapref run: {} point(s) x {} round(s), interleaved (seed {}), about {:.0} s{}",
        plan.run.points.len(),
        spec.repeats,
        plan.run.seed,
        (per_window * total as u32).as_secs_f64(),
        plan.out
            .as_ref()
            .map_or(String::new(), |p| format!("; saving to {}", p.display()))
    );
    if std::io::stderr().is_terminal() {
        obs.bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(s) = ProgressStyle::with_template(
            "{bar:30} {pos}/{len} windows  {msg}  [{elapsed_precise}, ~{eta} left]",
        ) {
            obs.bar.set_style(s);
        }
    }
    let t0 = Instant::now();
    let end = run::run(&plan.run, &mut results, &CANCEL, &mut obs);
    obs.bar.finish_and_clear();
    if let End::SaveFailed(e) = &end {
        eprintln!("swapref: cannot save results: {e}");
        return ExitCode::FAILURE;
    }
    print(&results, plan.format);
    let kept = format!(
        "{} of {} point(s){}",
        results.points.len(),
        plan.run.points.len(),
        plan.out
            .as_ref()
            .map_or(" (no file: --out none)".into(), |p| format!(
                " in {}",
                p.display()
            ))
    );
    match end {
        End::Cancelled => {
            eprintln!("swapref: interrupted: kept {kept}");
            ExitCode::from(130)
        }
        End::Failed(e) => {
            eprintln!("swapref: point failed: {e}");
            eprintln!("swapref: stopped at a failed point: kept {kept}");
            ExitCode::FAILURE
        }
        End::Complete | End::SaveFailed(_) => {
            eprintln!(
                "swapref: done in {}: {kept}",
                duration_name(Duration::from_millis(t0.elapsed().as_millis() as u64))
            );
            ExitCode::SUCCESS
        }
    }
}

/// The CLI's side of a run: a progress bar, and the results file written after every window.
struct Progress<'a> {
    out: Option<&'a Path>,
    bar: ProgressBar,
}

impl Observer for Progress<'_> {
    fn window_started(&mut self, p: &point::Planned, round: u32) {
        self.bar.set_message(format!(
            "round {} {}{} readers={} period={}",
            round + 1,
            p.strategy,
            p.rcu.map(|f| format!("@{f}")).unwrap_or_default()
                + &p.percpu.map(point::percpu_suffix).unwrap_or_default(),
            p.readers,
            point::period_name(p.period)
        ));
    }
    fn window_done(&mut self) {
        self.bar.inc(1);
    }
    fn save(&mut self, r: &Results) -> Result<(), String> {
        match self.out {
            Some(p) => r.save(p).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        let d = |s| parse_duration("x", s);
        assert_eq!(d("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(d("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(d("1.5ms"), Ok(Duration::from_micros(1500)));
        assert_eq!(d("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(d("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(d("10ns"), Ok(Duration::from_nanos(10)));
        assert_eq!(d("0"), Ok(Duration::ZERO));
        for bad in ["5xs", "5", "ms", "", "-1ms", "1e3ms", "1..2s", "1 s"] {
            assert!(d(bad).is_err(), "{bad:?} accepted");
        }
        assert!(d("5xs").unwrap_err().contains("'5xs' for --x"));
    }

    #[test]
    fn periods_readers_counters_parse() {
        assert_eq!(
            parse_periods("1ms,never,1ms").unwrap(),
            vec![Some(Duration::from_millis(1)), None]
        );
        assert_eq!(parse_readers("1,2,2,4").unwrap(), vec![1, 2, 4]);
        assert!(parse_readers("0").is_err());
        assert!(parse_readers("1,,2").is_err());
        assert_eq!(parse_counters("none").unwrap(), Vec::<String>::new());
        assert_eq!(parse_counters("all").unwrap().len(), COUNTERS.len());
        assert!(
            parse_counters("cycles,bogus")
                .unwrap_err()
                .contains("bogus")
        );
        assert!(
            super::super::parse_strategies("atomic,nope")
                .unwrap_err()
                .contains("valid:")
        );
    }
}
