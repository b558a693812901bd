//! The shell scripts' argument handling and parsing, where it is cheap to check: syntax of
//! every script, `sweep.sh --dry-run` building the `swapref run` command the driver expects,
//! bad arguments refused with exit 2, and `check-machine.sh` reading a fake /sys and /proc.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

fn bash(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new("bash");
    c.args(args).stdin(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("bash runs")
}

#[test]
fn every_shell_script_parses() {
    let mut checked = 0;
    for e in std::fs::read_dir(script("")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "sh") {
            continue; // Python helpers have their own self-test in .ci/run
        }
        checked += 1;
        let o = bash(&["-n", p.to_str().unwrap()], &[]);
        assert!(o.status.success(), "{}: {o:?}", p.display());
    }
    assert!(checked >= 3, "expected the shell scripts under scripts/");
}

#[test]
fn sweep_dry_run_builds_the_driver_command_and_refuses_bad_arguments() {
    let s = script("sweep.sh");
    let s = s.to_str().unwrap();
    let o = bash(
        &[
            s,
            "--dry-run",
            "--out",
            "/nonexistent/sweep",
            "--readers",
            "1,2,4",
            "--periods",
            "1ms,10ms",
            "--repeats",
            "3",
            "--label",
            "box",
            "--swapref",
            "/bin/sr",
            "--",
            "--hold",
            "10",
        ],
        &[],
    );
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    let run = out
        .lines()
        .find(|l| l.contains(" run "))
        .expect("a run line");
    for want in [
        "--strategies all",
        "--readers 1\\,2\\,4",
        "--period 1ms\\,10ms",
        "--duration 1s",
        "--repeats 3",
        "--label box",
        "--out /nonexistent/sweep/results.json",
        "--hold 10",
    ] {
        assert!(run.contains(want), "{want} in {run}");
    }
    assert!(
        out.contains(
            "/bin/sr report /nonexistent/sweep/results.json --out /nonexistent/sweep/report.md"
        ),
        "{out}"
    );
    assert!(
        !Path::new("/nonexistent/sweep").exists(),
        "dry run writes nothing"
    );
    for bad in [
        &["--dry-run"][..],
        &["--dry-run", "--out", "x", "--readers", "0,2"],
        &["--dry-run", "--out", "x", "--repeats", "many"],
        &["--dry-run", "--out", "x", "--bogus"],
    ] {
        let mut a = vec![s];
        a.extend_from_slice(bad);
        let o = bash(&a, &[]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {o:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).starts_with("sweep.sh: "),
            "{bad:?}"
        );
    }
}

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn check_machine_reports_a_noisy_machine_and_a_quiet_one() {
    let s = script("check-machine.sh");
    let s = s.to_str().unwrap();
    let noisy = tempfile::tempdir().unwrap();
    let r = noisy.path();
    put(
        r,
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
        "powersave\n",
    );
    put(
        r,
        "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor",
        "powersave\n",
    );
    put(r, "sys/devices/system/cpu/intel_pstate/no_turbo", "0\n");
    put(r, "sys/devices/system/cpu/smt/control", "on\n");
    put(r, "proc/sys/kernel/perf_event_paranoid", "3\n");
    put(
        r,
        "sys/kernel/mm/transparent_hugepage/enabled",
        "[always] madvise never\n",
    );
    put(r, "proc/cpuinfo", "flags : fpu hypervisor\n");
    let o = bash(&[s, "--strict"], &[("SWAPREF_SYSROOT", r)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "--strict with warnings: {out}");
    for want in [
        "WARN  governor               powersave×2",
        "WARN  turbo",
        "INFO  smt",
        "WARN  perf_event_paranoid    3",
        "WARN  counters",
        "WARN  thp",
        "INFO  virtualisation",
        "-- 5 warning(s)",
    ] {
        assert!(out.contains(want), "{want} in\n{out}");
    }

    let quiet = tempfile::tempdir().unwrap();
    let r = quiet.path();
    put(
        r,
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
        "performance\n",
    );
    put(r, "sys/devices/system/cpu/intel_pstate/no_turbo", "1\n");
    put(r, "sys/devices/system/cpu/smt/control", "off\n");
    put(r, "proc/sys/kernel/perf_event_paranoid", "1\n");
    put(r, "sys/bus/event_source/devices/cpu/type", "4\n");
    put(r, "sys/devices/system/cpu/isolated", "2-7\n");
    put(
        r,
        "sys/kernel/mm/transparent_hugepage/enabled",
        "always [madvise] never\n",
    );
    let o = bash(&[s, "--strict"], &[("SWAPREF_SYSROOT", r)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("-- 0 warning(s)"), "{out}");
    assert!(
        out.contains("OK    isolated_cpus          isolated: 2-7"),
        "{out}"
    );

    let o = bash(&[s, "--yes"], &[]);
    assert_eq!(o.status.code(), Some(2), "--yes without --fix: {o:?}");
}

/// Each of `bad` makes `name` exit 2 with one line on stderr that names the script, before it
/// builds or runs anything.
fn refuses_each(name: &str, bad: &[&[&str]]) {
    let s = script(name);
    let s = s.to_str().unwrap();
    for bad in bad {
        let mut a = vec![s];
        a.extend_from_slice(bad);
        let o = bash(&a, &[]);
        assert_eq!(o.status.code(), Some(2), "{name} {bad:?}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.starts_with(&format!("{name}: ")) && err.lines().count() == 1,
            "{name} {bad:?}: {err}"
        );
    }
}

#[test]
fn rseq_parts_refuses_bad_arguments_before_building_anything() {
    refuses_each(
        "rseq-parts.sh",
        &[
            &["0"][..],
            &["07"],
            &["x1"],
            &["--dir"],
            &["--dir", "../elsewhere"],
            &["--dir", "a/b"],
            &["--bin"],
            &["--bin", "/nonexistent/rseq_parts"],
            &["--bogus"],
        ],
    );
}

/// What both A/B scripts refuse through `scripts/ab-common.sh`'s checks (`ab_check`) or their
/// own option loop: no or too many revisions, a bad round count, a missing value, an unknown
/// commit or option.
const AB_REFUSALS: &[&[&str]] = &[
    &[],
    &["HEAD"],
    &["HEAD", ".", "HEAD"],
    &["--rounds", "0", "HEAD", "."],
    &["--rounds", "x", "HEAD", "."],
    &["--rounds"],
    &["no-such-commit-xyz", "."],
    &["HEAD", "no-such-commit-xyz"],
    &["--bogus", "HEAD", "."],
];

#[test]
fn get_put_ab_refuses_bad_arguments_before_building_anything() {
    refuses_each("get-put-ab.sh", AB_REFUSALS);
    refuses_each(
        "get-put-ab.sh",
        &[
            &["--new-env", "SWAPREF_PERCPU", ".", "."],
            &["--base-env", "=cpu", ".", "."],
            &["--new-env"],
            &["--control"],
            &["--control", "rcu valid", "HEAD", "."],
        ],
    );
}

#[test]
fn swapoff_ab_refuses_bad_arguments_before_building_anything() {
    refuses_each("swapoff-ab.sh", AB_REFUSALS);
    refuses_each(
        "swapoff-ab.sh",
        &[
            &["HEAD", ".", "--", "--out", "x.json"],
            &["HEAD", ".", "--", "--format=csv"],
        ],
    );
}

/// `ab_ranges.py` (get-put-ab.sh's last table) says which strategies' ranges lie apart, and
/// raises a loud line only when a control's do; one whose ranges overlap raises none.
#[test]
fn ab_ranges_flags_a_control_that_moved_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.txt");
    // bench_ratio.py's rows: name, estimate kind, ns, [lo,, hi], ratio (6th field), ...
    let row = |s: &str, r: f64| format!("{s:<18}slope 1.0 [1.0, 1.0] {r:.3} [{r:.3}, {r:.3}]\n");
    let mut text = String::new();
    for (side, pc, rv) in [
        ("base", 1.9, 1.15),
        ("new", 1.8, 1.16),
        ("base", 1.95, 1.17),
        ("new", 1.82, 1.15),
    ] {
        text += &format!("## round 1, {side}\n");
        text += &row("unprotected", 1.0);
        text += &row("percpu-acquire", pc);
        text += &row("rcu-valid", rv);
    }
    std::fs::write(&report, &text).unwrap();
    let run = |controls: &str| {
        let o = std::process::Command::new("python3")
            .arg(script("ab_ranges.py"))
            .arg(&report)
            .arg(controls)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let out = run("rcu-valid");
    assert!(
        out.contains("percpu-acquire") && out.contains("apart\n"),
        "{out}"
    );
    assert!(out.contains("overlap (control)"), "{out}");
    assert!(!out.contains("CONTROL MOVED"), "{out}");
    // The same table with percpu-acquire named a control: its ranges lie apart.
    let out = run("percpu-acquire,rcu-valid");
    assert!(out.contains("apart (control)"), "{out}");
    assert!(out.contains("# CONTROL MOVED: percpu-acquire:"), "{out}");
    assert!(run("counted-floor").contains("# control counted-floor: not measured"));
}

/// `swapoff_ab.py` (swapoff-ab.sh's tables) takes each point's p50 as the median of its windows'
/// p50s, divides it by `rcu-valid`'s of the same run and flavour, says whose ranges lie apart,
/// and raises a loud line only when the control's (`rcu-valid`'s own p50) do.
#[test]
fn swapoff_ab_takes_ratios_within_a_run_and_flags_a_control_that_moved() {
    let dir = tempfile::tempdir().unwrap();
    // One results file: each point's windows' swapoff p50s (ns; 0: a window with no swapoff
    // cycle). A strategy named `failed:NAME` is point NAME with status failed.
    let results = |name: &str, points: &[(&str, &str, &[u64])]| {
        let points: Vec<String> = points
            .iter()
            .map(|(s, flavor, p50s)| {
                let reps: Vec<String> = p50s
                    .iter()
                    .map(|&p| match p {
                        0 => r#"{"swapoff_latency_ns":null}"#.to_owned(),
                        p => format!(r#"{{"swapoff_latency_ns":{{"count":10,"p50":{p}}}}}"#),
                    })
                    .collect();
                let (s, status) = match s.strip_prefix("failed:") {
                    Some(s) => (s, "failed"),
                    None => (*s, "ok"),
                };
                format!(
                    concat!(
                        r#"{{"strategy":"{}","rcu_flavor":"{}","#,
                        r#""percpu":"thread","status":"{}","repeats":[{}]}}"#
                    ),
                    s,
                    flavor,
                    status,
                    reps.join(",")
                )
            })
            .collect();
        let path = dir.path().join(name);
        std::fs::write(&path, format!(r#"{{"points":[{}]}}"#, points.join(","))).unwrap();
        path
    };
    let run = |args: &[(&str, std::path::PathBuf)]| {
        let o = std::process::Command::new("python3")
            .arg(script("swapoff_ab.py"))
            .args(args.iter().map(|(rs, p)| format!("{rs}:{}", p.display())))
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    // percpu: windows 2000, 2600, 3000 (and one with no cycle, left out) -> median 2600 over
    // rcu-valid's median 1300: 2.00. percpu-fence failed: listed, left out of the ranges.
    let b1 = results(
        "b1.json",
        &[
            ("percpu-acquire", "qsbr", &[3000, 0, 2000, 2600]),
            ("rcu-valid", "qsbr", &[1300, 1200, 1400]),
            ("failed:percpu-fence", "qsbr", &[1000]),
            ("rcuref", "qsbr", &[0, 0]),
        ],
    );
    let n1 = results(
        "n1.json",
        &[
            ("percpu-acquire", "qsbr", &[1600, 1700, 1800]),
            ("rcu-valid", "qsbr", &[1300, 1250, 1350]),
        ],
    );
    let b2 = results(
        "b2.json",
        &[
            ("percpu-acquire", "qsbr", &[2500]),
            ("rcu-valid", "qsbr", &[1250]),
        ],
    );
    let n2 = results(
        "n2.json",
        &[
            ("percpu-acquire", "qsbr", &[1500]),
            ("rcu-valid", "qsbr", &[1280]),
        ],
    );
    let out = run(&[
        ("1:base", b1.clone()),
        ("1:new", n1.clone()),
        ("2:new", n2.clone()),
        ("2:base", b2.clone()),
    ]);
    let row = |name: &str| {
        out.lines()
            .rev()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}: {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // Round 1, base: the median of the windows, over rcu-valid's of the same run.
    let first = out
        .lines()
        .find(|l| l.starts_with("percpu-acquire@qsbr"))
        .unwrap();
    assert_eq!(
        first.split_whitespace().collect::<Vec<_>>(),
        ["percpu-acquire@qsbr", "2.60", "2.00", "3/4"],
        "{out}"
    );
    let failed = out
        .lines()
        .find(|l| l.starts_with("percpu-fence@qsbr"))
        .unwrap();
    assert!(failed.ends_with("1/1  left out: status failed"), "{out}");
    let idle = out.lines().find(|l| l.starts_with("rcuref@qsbr")).unwrap();
    assert!(idle.ends_with("0/2  left out: no swapoff cycle"), "{out}");
    assert_eq!(
        row("percpu-fence@qsbr")[1..],
        ["-", "-", "-", "-", "-", "-"],
        "{out}"
    );
    assert_eq!(
        row("percpu-acquire@qsbr"),
        [
            "percpu-acquire@qsbr",
            "2.50-2.60",
            "1.50-1.70",
            "apart",
            "2.00-2.00",
            "1.17-1.31",
            "apart"
        ],
        "{out}"
    );
    assert_eq!(
        row("rcu-valid@qsbr")[3..],
        ["overlap", "(control)"],
        "{out}"
    );
    assert!(!out.contains("CONTROL MOVED"), "{out}");
    // The control's p50 moved (1.30 and 1.25 against 2.00): flagged.
    let n3 = results(
        "n3.json",
        &[
            ("percpu-acquire", "qsbr", &[3000]),
            ("rcu-valid", "qsbr", &[2000]),
        ],
    );
    let out = run(&[("1:base", b1), ("1:new", n3), ("2:base", b2)]);
    assert!(out.contains("# CONTROL MOVED: rcu-valid@qsbr:"), "{out}");
    // Two points of one name (a sweep of readers, say) would hide one: refused, exit 2.
    let dup = results(
        "dup.json",
        &[
            ("rcu-valid", "qsbr", &[1300]),
            ("rcu-valid", "qsbr", &[1400]),
        ],
    );
    let o = std::process::Command::new("python3")
        .arg(script("swapoff_ab.py"))
        .arg(format!("1:base:{}", dup.display()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("two points named rcu-valid@qsbr"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `percpu-backends.sh` keeps the backends a probe runs, drops one that swapref itself refuses
/// (exit 2 and "is not available here") with a loud line, and stops with exit 1 on any other
/// failure of a probe (a crash, or exit 2 for another reason), so that a broken binary is never
/// read as a missing backend. A fake swapref plays each part; no argument is exit 2.
#[test]
fn percpu_backends_drops_a_backend_only_on_swapref_s_own_refusal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("swapref");
    // FAKE_CID says what the fake does when asked for `--percpu cid`; `cpu` always works.
    std::fs::write(
        &fake,
        "#!/bin/sh\n\
         case \"$*\" in *'--percpu cid'*) ;; *) exit 0 ;; esac\n\
         case \"$FAKE_CID\" in\n\
         ok) exit 0 ;;\n\
         refused) echo 'swapref: --percpu cid: cid is not available here: no mm_cid' >&2; exit 2 ;;\n\
         usage) echo \"swapref: unknown option '--percpu'\" >&2; exit 2 ;;\n\
         crash) echo 'thread main panicked' >&2; exit 101 ;;\n\
         esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = script("percpu-backends.sh");
    let probe = |mode: &str| {
        let mut c = Command::new("bash");
        c.arg(&s).arg(&fake).env("FAKE_CID", mode);
        c.stdin(std::process::Stdio::null()).output().unwrap()
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    let o = probe("ok");
    assert!(o.status.success(), "{o:?}");
    assert_eq!(text(&o.stdout).trim(), "thread,cpu,cid");

    let o = probe("refused");
    assert!(o.status.success(), "{o:?}");
    assert_eq!(text(&o.stdout).trim(), "thread,cpu");
    assert!(
        text(&o.stderr).contains("!!!!! percpu-backends.sh: measured without --percpu cid"),
        "the drop is said loudly: {}",
        text(&o.stderr)
    );

    for mode in ["usage", "crash"] {
        let o = probe(mode);
        assert_eq!(o.status.code(), Some(1), "{mode}: {o:?}");
        assert!(text(&o.stdout).is_empty(), "{mode}: no list on failure");
        assert!(
            text(&o.stderr).contains("the probe of --percpu cid failed"),
            "{mode}: {}",
            text(&o.stderr)
        );
    }

    let o = bash(&[s.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert_eq!(text(&o.stderr).lines().count(), 1, "one line: {o:?}");
}
