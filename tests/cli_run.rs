//! `swapref run` end to end: good input (tiny windows), every kind of bad input (exit 2, one
//! line, nothing written), the results file round trip, the exports, Ctrl-C and the watchdog.

// The library modules these tests use are not built under `--cfg loom` (src/lib.rs).
#![cfg(not(loom))]

use assert_cmd::Command;
use std::path::Path;
use std::time::{Duration, Instant};
use swapref::results::{COUNTERS, Results, Status};

/// Short windows: each point costs about 2 × (5 + 20) ms.
const TINY: &[&str] = &["--duration", "20ms", "--warmup", "5ms", "--repeats", "2"];

fn swapref() -> Command {
    Command::cargo_bin("swapref").unwrap()
}

fn run(args: &[&str]) -> std::process::Output {
    swapref().arg("run").args(args).output().unwrap()
}

/// Concatenate argument groups of different lengths.
fn cat<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.concat()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_tiny_run_writes_results_that_round_trip_and_match_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = run(&cat(&[
        &["--strategies", "atomic,unprotected", "--format", "json"],
        TINY,
        &["--out", out.to_str().unwrap(), "--label", "cli test"],
    ]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let file = Results::load(&out).unwrap();
    let printed = Results::from_json(Path::new("stdout"), &text(&o.stdout)).unwrap();
    assert_eq!(file, printed);
    assert!(file.complete && file.interrupted.is_none());
    assert_eq!(file.environment.label.as_deref(), Some("cli test"));
    assert!(!file.environment.allowed_cpus.is_empty());
    assert!(!file.environment.topology.is_empty());
    assert_eq!(file.config.strategies, ["atomic", "unprotected"]);
    // What this build says of each measured strategy travels with the file (the reports read
    // it from there), and only of those.
    let facts: Vec<_> = file.config.strategy_facts.keys().collect();
    assert_eq!(facts, ["atomic", "unprotected"]);
    let unprotected = &file.config.strategy_facts["unprotected"];
    assert_eq!(
        unprotected.summary,
        swapref::strategy::info("unprotected").unwrap().summary
    );
    assert!(!unprotected.grace_periods && !unprotected.notes.is_empty());
    assert_eq!(file.config.periods_ns, [Some(1_000_000)]);
    assert_eq!(file.points.len(), 2);
    let (a, u) = (&file.points[0], &file.points[1]);
    assert_eq!((a.strategy.as_str(), a.status), ("atomic", Status::Ok));
    assert_eq!(a.period_ns, Some(1_000_000));
    assert_eq!(a.repeats.len(), 2);
    assert!(a.ns_per_op.median > 0.0 && a.mops > 0.0);
    // unprotected refuses churn: measured with period never, no swapper.
    assert_eq!((u.strategy.as_str(), u.period_ns), ("unprotected", None));
    assert_eq!(u.swapper_cpu, None);
    assert_eq!(u.swapoff_latency_ns, None);
    // Every counter is present: a number, or null with a reason.
    for p in &file.points {
        for c in COUNTERS {
            match p.counters[*c] {
                Some(v) => assert!(v.is_finite() && v >= 0.0),
                None => assert!(!p.counter_notes[*c].is_empty()),
            }
        }
    }
    assert!(text(&o.stderr).contains("2 of 2 point(s) in"));
    // Nothing but the results file is left behind (no temp or probe files).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn the_table_flags_unprotected_and_csv_markdown_have_one_row_per_point() {
    let base = cat(&[
        &["--strategies", "rwlock,unprotected", "--out", "none"],
        TINY,
    ]);
    let o = run(&cat(&[&base, &["--format", "table"]]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t = text(&o.stdout);
    assert!(t.lines().next().unwrap().starts_with("# swapref "), "{t}");
    assert!(t.contains("no churn"), "{t}");
    let o = run(&cat(&[&base, &["--format", "csv"]]));
    let csv = text(&o.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with(
            "strategy,readers,period_ns,hold_ns,hold_iterations,status,ns_per_op_median"
        )
    );
    assert!(lines[1].starts_with("rwlock,") && lines[2].starts_with("unprotected,"));
    let o = run(&cat(&[&base, &["--format", "markdown"]]));
    let md = text(&o.stdout);
    assert_eq!(md.lines().filter(|l| l.starts_with('|')).count(), 4, "{md}");
}

#[test]
fn fake_counters_are_numbers_per_lookup() {
    let o = run(&cat(&[
        &[
            "--strategies",
            "percpu-fence",
            "--format",
            "json",
            "--out",
            "none",
        ],
        TINY,
        &[
            "--fake-counters",
            "all",
            "--counters",
            "cycles,instructions",
        ],
    ]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let r = Results::from_json(Path::new("stdout"), &text(&o.stdout)).unwrap();
    let p = &r.points[0];
    assert_eq!(p.counters.len(), 2);
    assert!(p.counters["cycles"].unwrap() > 0.0);
    assert!(p.counter_notes["cycles"].starts_with("multiplexed"));
    let o = run(&cat(&[
        &[
            "--strategies",
            "percpu-fence",
            "--format",
            "table",
            "--out",
            "none",
        ],
        TINY,
        &["--fake-counters", "all", "--counters", "cycles"],
    ]));
    assert!(text(&o.stdout).contains("cycles/op"));
}

#[test]
fn sweeps_oversubscribe_and_period_never() {
    let o = run(&cat(&[
        &[
            "--strategies",
            "hazard",
            "--readers",
            "1,3",
            "--oversubscribe",
        ],
        &[
            "--period",
            "never,500us",
            "--format",
            "json",
            "--out",
            "none",
        ],
        &[
            "--devices",
            "2",
            "--pages",
            "16",
            "--hold",
            "0,20ns",
            "--counters",
            "none",
        ],
        TINY,
    ]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let r = Results::from_json(Path::new("stdout"), &text(&o.stdout)).unwrap();
    let keys: Vec<_> = r
        .points
        .iter()
        .map(|p| (p.readers, p.period_ns, p.hold_ns))
        .collect();
    assert_eq!(
        keys,
        [
            (1, None, 0),
            (1, None, 20),
            (1, Some(500_000), 0),
            (1, Some(500_000), 20),
            (3, None, 0),
            (3, None, 20),
            (3, Some(500_000), 0),
            (3, Some(500_000), 20)
        ]
    );
    // The hold is calibrated into spin iterations, recorded with the calibration.
    let spin = r.config.spin_ns_per_iteration.unwrap();
    assert!(spin > 0.0 && spin.is_finite(), "{spin}");
    assert_eq!(r.config.holds_ns, [0, 20]);
    assert_eq!(r.config.hold, None);
    for p in &r.points {
        let want = if p.hold_ns == 0 {
            0
        } else {
            ((20.0 / spin).round() as u64).max(1)
        };
        assert_eq!(p.hold_iterations, want, "{p:?}");
    }
    assert!(r.points[4].counters.is_empty());
    assert_eq!(r.points[4].reader_cpus.len(), 3);
    assert!(r.points[6].swapper_shares_cpu || r.environment.allowed_cpus.len() > 3);
}

/// Every bad input: exit 2, exactly one line on stderr naming the problem, no file.
#[test]
fn bad_input_is_one_line_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let out = out.to_str().unwrap();
    let a_dir = dir.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--strategies", "nope"],
            "unknown strategy 'nope' (valid: percpu-acquire,",
        ),
        (&["--strategies", "atomic,"], "unknown strategy ''"),
        (&["--cores", ""], "--cores: empty CPU list"),
        (&["--cores", "0-x"], "invalid CPU number 'x'"),
        (&["--cores", "1-0"], "reversed range"),
        (
            &["--cores", "0,100000"],
            "CPU 100000 is not in this process's allowed set",
        ),
        (&["--readers", "100000"], "100000 readers but only"),
        (&["--readers", "0"], "at least 1"),
        (&["--duration", "0"], "--duration must be longer than zero"),
        (
            &["--duration", "0ms"],
            "--duration must be longer than zero",
        ),
        (&["--period", "5xs"], "invalid duration '5xs' for --period"),
        (&["--warmup", "10"], "invalid duration '10' for --warmup"),
        (
            &["--off-time", "soon"],
            "invalid duration 'soon' for --off-time",
        ),
        (&["--repeats", "0"], "--repeats must be at least 1"),
        (&["--devices", "33"], "--devices must be between 1 and 32"),
        (&["--pages", "0"], "--pages must be between"),
        (&["--counters", "bogus"], "unknown counter 'bogus'"),
        (&["--format", "xml"], "unknown format 'xml'"),
        (&["--rcu", "srcu"], "unknown RCU flavour 'srcu'"),
        (&["--hold", "lots"], "invalid duration 'lots' for --hold"),
        (&["--hold", "10"], "invalid duration '10' for --hold"),
        (&["--hold", "0,2ms"], "--hold 2ms: at most 1ms"),
        (&["--frobnicate"], "unexpected argument '--frobnicate'"),
    ];
    for (args, want) in cases {
        let o = run(&cat(&[&["--out", out], args]));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("swapref: "), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?}"
        );
    }
    // Unwritable outputs.
    let missing = dir.path().join("no-such-dir").join("r.json");
    for (o_arg, want) in [
        (missing.to_str().unwrap(), "does not exist"),
        (a_dir, "is a directory"),
    ] {
        let o = run(&["--out", o_arg]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

/// Ctrl-C: the run stops at once, keeps every finished point, says so, exits 130.
#[test]
fn ctrl_c_keeps_what_finished() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_swapref"))
        .args([
            "run",
            "--strategies",
            "atomic,rwlock,hazard",
            "--repeats",
            "1",
        ])
        .args(["--duration", "100ms", "--warmup", "0", "--readers", "1,1"])
        .args(["--period", "1ms,2ms,3ms,4ms,5ms,6ms,7ms,8ms,9ms,10ms"])
        .args(["--out", out.to_str().unwrap(), "--format", "csv"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until at least one point is saved, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no point was saved");
        if let Ok(r) = Results::load(&out)
            && !r.points.is_empty()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    let r = Results::load(&out).unwrap();
    assert!(!r.complete);
    assert_eq!(r.interrupted.as_deref(), Some("SIGINT"));
    assert!(!r.points.is_empty() && r.points.len() < 30);
    assert!(r.points.iter().all(|p| p.status == Status::Ok));
    assert!(
        err.contains(&format!(
            "interrupted: kept {} of 30 point(s)",
            r.points.len()
        )),
        "{err}"
    );
    // stdout has the kept points too (CSV: header + one line each).
    assert_eq!(text(&o.stdout).lines().count(), 1 + r.points.len());
}

/// A watchdog limit nothing can meet: the swapper (back to back cycles) is always caught in a
/// swapoff or swapon, so the point fails as stuck, is saved as failed, and the run exits 1.
#[test]
fn the_watchdog_fails_the_point_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = run(&[
        "--strategies",
        "rcu-valid,atomic",
        "--period",
        "0",
        "--watchdog",
        "1ns",
        "--duration",
        "5s",
        "--warmup",
        "0",
        "--repeats",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let r = Results::load(&out).unwrap();
    assert!(!r.complete);
    assert_eq!(r.points.len(), 1, "the run stops at the failed point");
    let p = &r.points[0];
    assert_eq!(p.status, Status::Failed);
    let e = p.error.as_deref().unwrap();
    assert!(e.starts_with("watchdog: swap"), "{e}");
    // The round's order is shuffled: whichever point ran first failed, and is named.
    let named = format!("strategy {}, 1 reader(s), period 0", p.strategy);
    assert!(e.contains(&named), "{e}");
    assert_eq!(r.interrupted.as_deref(), Some(e));
    assert!(err.contains("point failed: watchdog"), "{err}");
    assert!(text(&o.stdout).contains("FAILED: watchdog"));
}

/// `--percpu cid` sizes its area by the CPUs the process may run on, `cpu` by the possible
/// CPUs: run confined to one CPU, a `cid` point's `bytes/dev` is smaller by the share of the
/// CPUs it may not use (`(possible - 1) × PERCPU_SLOTS × 8 / MAX_SWAPFILES`), and both rows
/// are labelled.
#[test]
fn cid_counters_reserve_memory_for_the_allowed_cpus_only() {
    if let Err(e) = swapref::rseq::cid_available() {
        eprintln!("!!!!! SKIPPED: --percpu cid end to end (unavailable: {e}) !!!!!");
        return;
    }
    let possible = swapref::rseq::available().unwrap().cpus();
    if possible < 2 {
        eprintln!(
            "!!!!! SKIPPED: --percpu cid end to end (one possible CPU: nothing to save) !!!!!"
        );
        return;
    }
    // The first CPU this test may run on: the child is confined to it.
    let cpu = swapref::measure::topology::allowed_cpus()[0];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("swapref"));
    cmd.arg("run").args(cat(&[
        &[
            "--strategies",
            "percpu-acquire",
            "--percpu",
            "cpu,cid",
            "--rcu",
            "qsbr",
        ],
        &["--readers", "1", "--period", "never"],
        TINY,
        &["--out", out.to_str().unwrap()],
    ]));
    // SAFETY: between fork and exec the closure only calls sched_setaffinity on a cpu_set_t
    // on its own stack (async-signal-safe; no allocation, no lock).
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let file = Results::load(&out).unwrap();
    let bytes = |k: &str| {
        let p = file
            .points
            .iter()
            .find(|p| p.percpu.as_deref() == Some(k))
            .unwrap_or_else(|| panic!("no {k} point"));
        assert_eq!(p.series(), format!("percpu-acquire@qsbr/{k}"));
        p.device_bytes
    };
    let share = swapref::rcu::PERCPU_SLOTS * 8 / swapref::swap::map::MAX_SWAPFILES;
    assert_eq!(bytes("cpu") - bytes("cid"), (possible - 1) as usize * share);
    assert!(text(&o.stdout).contains("percpu-acquire@qsbr/cid"));
}
