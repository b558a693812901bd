//! `swapref compare` as a user runs it: synthetic results files in, table or Markdown out,
//! exit 0 / 1 / 2.

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

fn compare(base: &Path, new: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("swapref")
        .unwrap()
        .arg("compare")
        .arg(base)
        .arg(new)
        .args(extra)
        .assert()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn equal_runs_exit_0() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        &run(&[("atomic", 1, &[10.0, 10.5, 11.0])]),
    );
    let out = compare(&a, &a, &[]).code(0);
    let s = stdout(&out);
    assert!(s.contains("unchanged") && s.contains("0 regressed"), "{s}");
    assert!(stderr(&out).is_empty(), "no warnings: {}", stderr(&out));
}

#[test]
fn an_improvement_exits_0_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        &run(&[("atomic", 1, &[10.0, 10.5, 11.0])]),
    );
    let b = write(d.path(), "b.json", &run(&[("atomic", 1, &[8.0, 8.1, 8.2])]));
    let s = stdout(&compare(&a, &b, &[]).code(0));
    assert!(s.contains("improved") && s.contains("1 improved"), "{s}");
}

#[test]
fn a_regression_exits_1_in_both_formats() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        &run(&[
            ("atomic", 1, &[10.0, 10.5, 11.0]),
            ("rwlock", 1, &[5.0, 5.1, 5.2]),
        ]),
    );
    let b = write(
        d.path(),
        "b.json",
        &run(&[
            ("atomic", 1, &[13.0, 13.5, 14.0]),
            ("rwlock", 1, &[5.0, 5.1, 5.2]),
        ]),
    );
    let s = stdout(&compare(&a, &b, &[]).code(1));
    assert!(s.contains("regressed") && s.contains("1.286"), "{s}");
    let m = stdout(&compare(&a, &b, &["--format", "markdown"]).code(1));
    assert!(m.starts_with("### swapref compare"), "{m}");
    assert!(
        m.contains("| `atomic` | 1 | 1ms |") && m.contains("**regressed**"),
        "{m}"
    );
}

#[test]
fn a_noisy_change_is_unchanged_and_the_threshold_is_an_option() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        &run(&[("atomic", 1, &[8.0, 10.0, 15.0])]),
    );
    let b = write(
        d.path(),
        "b.json",
        &run(&[("atomic", 1, &[9.0, 12.0, 16.0])]),
    );
    let s = stdout(&compare(&a, &b, &[]).code(0));
    assert!(s.contains("within noise"), "{s}");
    // Clean 3 % slowdown: unchanged at 5 %, regressed at 2 %.
    let c = write(
        d.path(),
        "c.json",
        &run(&[("atomic", 1, &[10.0, 10.01, 10.02])]),
    );
    let e = write(
        d.path(),
        "e.json",
        &run(&[("atomic", 1, &[10.3, 10.31, 10.32])]),
    );
    compare(&c, &e, &[]).code(0);
    compare(&c, &e, &["--threshold", "2"]).code(1);
    compare(&c, &e, &["--threshold", "2%"]).code(1);
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
    let a = write(d.path(), "a.json", &run(&[("atomic", 1, &[1.0])]));
    let bad = d.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"schema\": \"swapref-results\", \"schema_version\": 1,",
    )
    .unwrap();
    one_line_error(&compare(&a, &bad, &[]).code(2), "malformed");
    let nothing = d.path().join("nothing.json");
    one_line_error(&compare(&nothing, &a, &[]).code(2), "nothing.json");
}

#[test]
fn a_wrong_schema_version_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.json", &run(&[("atomic", 1, &[1.0])]));
    let mut v = serde_json::to_value(run(&[("atomic", 1, &[1.0])])).unwrap();
    v["schema_version"] = 2.into();
    let b = d.path().join("v2.json");
    std::fs::write(&b, v.to_string()).unwrap();
    one_line_error(&compare(&a, &b, &[]).code(2), "schema version 2");
}

#[test]
fn a_missing_point_exits_2() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        &run(&[("atomic", 1, &[1.0, 1.1]), ("rwlock", 2, &[2.0, 2.1])]),
    );
    let b = write(d.path(), "b.json", &run(&[("atomic", 1, &[1.0, 1.1])]));
    one_line_error(
        &compare(&a, &b, &[]).code(2),
        "point rwlock/2r/1ms is missing in the new file",
    );
}

#[test]
fn bad_options_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.json", &run(&[("atomic", 1, &[1.0])]));
    one_line_error(
        &compare(&a, &a, &["--threshold", "lots"]).code(2),
        "--threshold",
    );
    one_line_error(
        &compare(&a, &a, &["--format", "html"]).code(2),
        "unknown format",
    );
}

#[test]
fn another_machine_is_warned_about_on_stderr() {
    let d = tempfile::tempdir().unwrap();
    let r = run(&[("atomic", 1, &[1.0, 1.1, 1.2])]);
    let a = write(d.path(), "a.json", &r);
    let mut other = r.clone();
    other.environment.cpu_model = Some("Other CPU".into());
    let b = write(d.path(), "b.json", &other);
    let out = compare(&a, &b, &[]).code(0);
    let e = stderr(&out);
    assert!(
        e.contains("warning: CPU model differs") && e.contains("Other CPU"),
        "{e}"
    );
}
