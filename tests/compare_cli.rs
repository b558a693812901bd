//! `swapref compare` as a user runs it: synthetic results files in, table, Markdown or JSON
//! out, exit 0 / 1 / 2.

// The library modules these tests use are not built under `--cfg loom` (src/lib.rs).
#![cfg(not(loom))]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use swapref::results::Results;
use swapref::results::fixtures::{point, results};

fn write(dir: &Path, name: &str, r: &Results) -> PathBuf {
    let p = dir.join(name);
    r.save(&p).unwrap();
    p
}

fn run(points: &[(&str, usize, &[f64])]) -> Results {
    results(points.iter().map(|(s, r, v)| point(s, *r, v)).collect())
}

fn compare(base: &str, new: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("swapref")
        .unwrap()
        .arg("compare")
        .arg(base)
        .arg(new)
        .args(extra)
        .assert()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

const BASE: [f64; 6] = [10.0, 10.1, 10.2, 10.0, 10.1, 10.2];
const SLOW: [f64; 6] = [13.0, 13.1, 13.2, 13.0, 13.1, 13.2];
const FAST: [f64; 6] = [8.0, 8.1, 8.2, 8.0, 8.1, 8.2];

#[test]
fn equal_runs_exit_0_without_warnings() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        &run(&[("unprotected", 1, &BASE), ("atomic", 1, &BASE)]),
    );
    let out = compare(s(&a), s(&a), &[]).code(0);
    let o = stdout(&out);
    assert!(o.contains("unchanged") && o.contains("0 regressed"), "{o}");
    // By default ns/lookup is judged divided by each repeat's floor, and the footer says so.
    assert!(o.contains("10.10x floor"), "{o}");
    assert!(o.contains("divided by each repeat's floor loop"), "{o}");
    assert!(stderr(&out).is_empty(), "no warnings: {}", stderr(&out));
    let out = compare(s(&a), s(&a), &["--normalize", "unprotected"]).code(0);
    assert!(
        stdout(&out).contains("1.000x unprotected"),
        "{}",
        stdout(&out)
    );
    // A run without unprotected is then judged as measured, and stderr says so.
    let b = write(d.path(), "b.json", &run(&[("atomic", 1, &BASE)]));
    let out = compare(s(&b), s(&b), &["--normalize", "unprotected"]).code(0);
    assert!(
        stderr(&out).contains("judged as measured"),
        "{}",
        stderr(&out)
    );
    let out = compare(s(&b), s(&b), &["--normalize", "none"]).code(0);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let out = compare(s(&b), s(&b), &["--normalize", "median"]).code(2);
    assert!(
        stderr(&out).contains("unknown --normalize 'median' (valid: floor, unprotected, none)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_improvement_exits_0_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.json", &run(&[("atomic", 1, &BASE)]));
    let b = write(d.path(), "b.json", &run(&[("atomic", 1, &FAST)]));
    let o = stdout(&compare(s(&a), s(&b), &[]).code(0));
    assert!(o.contains("improved (") && o.contains("1 improved"), "{o}");
}

#[test]
fn a_regression_exits_1_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        &run(&[("atomic", 1, &BASE), ("rwlock", 1, &BASE)]),
    );
    let b = write(
        d.path(),
        "b.json",
        &run(&[("atomic", 1, &SLOW), ("rwlock", 1, &BASE)]),
    );
    let o = stdout(&compare(s(&a), s(&b), &[]).code(1));
    assert!(o.contains("regressed (") && o.contains("1.297"), "{o}");
    let m = stdout(&compare(s(&a), s(&b), &["--format", "markdown"]).code(1));
    assert!(m.starts_with("### swapref compare"), "{m}");
    assert!(
        m.contains("| `atomic` | 1 | 1ms | ns/lookup |") && m.contains("**regressed"),
        "{m}"
    );
    let j = stdout(&compare(s(&a), s(&b), &["--format", "json"]).code(1));
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["rows"][0]["verdict"], "regressed");
    assert_eq!(v["rows"][1]["verdict"], "unchanged");
}

#[test]
fn runs_pool_as_a_comma_list_and_thresholds_are_options() {
    let d = tempfile::tempdir().unwrap();
    let a1 = write(d.path(), "a1.json", &run(&[("atomic", 1, &BASE)]));
    let a2 = write(d.path(), "a2.json", &run(&[("atomic", 1, &BASE)]));
    let c = write(
        d.path(),
        "c.json",
        &run(&[("atomic", 1, &BASE.map(|x| x * 1.06))]),
    );
    let both = format!("{},{}", s(&a1), s(&a2));
    let o = stdout(&compare(&both, s(&c), &[]).code(0));
    assert!(o.starts_with("base: 2 file(s)"), "{o}");
    // A clean 6 % slowdown, its interval straddling +5 %: unchanged at 5 %, regressed at 2 %.
    compare(&both, s(&c), &["--threshold", "2"]).code(1);
    compare(&both, s(&c), &["--threshold", "2%"]).code(1);
    compare(&both, s(&c), &["--normalize", "floor"]).code(0);
}

fn one_line_error(a: &assert_cmd::assert::Assert, needle: &str) {
    let e = stderr(a);
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    assert!(e.starts_with("swapref: ") && e.contains(needle), "{e}");
    assert!(stdout(a).is_empty(), "nothing on stdout: {}", stdout(a));
}

#[test]
fn malformed_files_exit_2_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.json", &run(&[("atomic", 1, &BASE)]));
    let bad = d.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"schema\": \"swapref-results\", \"schema_version\": 1,",
    )
    .unwrap();
    one_line_error(&compare(s(&a), s(&bad), &[]).code(2), "malformed");
    let nothing = d.path().join("nothing.json");
    one_line_error(&compare(s(&nothing), s(&a), &[]).code(2), "nothing.json");
}

#[test]
fn an_unknown_schema_version_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.json", &run(&[("atomic", 1, &BASE)]));
    let mut v = serde_json::to_value(run(&[("atomic", 1, &BASE)])).unwrap();
    v["schema_version"] = 4.into();
    let b = d.path().join("v4.json");
    std::fs::write(&b, v.to_string()).unwrap();
    one_line_error(&compare(s(&a), s(&b), &[]).code(2), "schema version 4");
}

#[test]
fn points_only_one_side_has_are_listed_and_nothing_shared_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        &run(&[("atomic", 1, &BASE), ("rwlock", 2, &BASE)]),
    );
    let b = write(d.path(), "b.json", &run(&[("atomic", 1, &BASE)]));
    let o = stdout(&compare(s(&a), s(&b), &[]).code(0));
    assert!(
        o.contains("only in base (not compared): rwlock/2r/1ms"),
        "{o}"
    );
    let c = write(d.path(), "c.json", &run(&[("hazard", 1, &BASE)]));
    one_line_error(&compare(s(&b), s(&c), &[]).code(2), "share no point");
}

#[test]
fn bad_options_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.json", &run(&[("atomic", 1, &BASE)]));
    for (args, needle) in [
        (["--threshold", "lots"], "--threshold"),
        (["--latency-threshold", "200"], "--latency-threshold"),
        (["--format", "html"], "unknown format"),
        (["--normalize", "cycles"], "unknown --normalize"),
    ] {
        one_line_error(&compare(s(&a), s(&a), &args).code(2), needle);
    }
}

#[test]
fn another_machine_is_warned_about_on_stderr() {
    let d = tempfile::tempdir().unwrap();
    let r = run(&[("atomic", 1, &BASE)]);
    let a = write(d.path(), "a.json", &r);
    let mut other = r.clone();
    other.environment.cpu_model = Some("Other CPU".into());
    let b = write(d.path(), "b.json", &other);
    let out = compare(s(&a), s(&b), &[]).code(0);
    let e = stderr(&out);
    assert!(
        e.contains("warning: CPU model differs") && e.contains("Other CPU"),
        "{e}"
    );
}
