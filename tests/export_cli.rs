//! `swapref export` as a user runs it: a saved results file out as CSV, Markdown, a table or
//! JSON; bad input exits 2 with one line.

// The library modules these tests use are not built under `--cfg loom` (src/lib.rs).
#![cfg(not(loom))]

use assert_cmd::Command;
use swapref::results::Results;
use swapref::results::fixtures::{point, results};

fn export(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("swapref")
        .unwrap()
        .arg("export")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_format_of_a_saved_file() {
    let d = tempfile::tempdir().unwrap();
    let r = results(vec![
        point("atomic", 1, &[10.0, 10.5, 11.0]),
        point("rwlock", 2, &[20.0, 21.0, 22.0]),
    ]);
    let f = d.path().join("r.json");
    r.save(&f).unwrap();
    let f = f.to_str().unwrap();
    let csv = export(&[f]);
    assert!(csv.status.success());
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(
        csv.lines().count(),
        3,
        "a header and one row per point: {csv}"
    );
    assert!(csv.starts_with("strategy,readers,period_ns"), "{csv}");
    let md = String::from_utf8(export(&[f, "--format", "markdown"]).stdout).unwrap();
    assert!(md.contains("| atomic") || md.contains("| `atomic`"), "{md}");
    let table = String::from_utf8(export(&[f, "--format", "table"]).stdout).unwrap();
    assert!(table.contains("rwlock"), "{table}");
    // JSON round-trips, and --out writes the same bytes as stdout.
    let out = d.path().join("again.json");
    let o = export(&[f, "--format", "json", "--out", out.to_str().unwrap()]);
    assert!(o.status.success() && o.stdout.is_empty());
    assert_eq!(Results::load(&out).unwrap(), r);
    let stdout = export(&[f, "--format", "json"]).stdout;
    assert_eq!(std::fs::read(&out).unwrap(), stdout);
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("r.json");
    results(vec![point("atomic", 1, &[1.0])]).save(&f).unwrap();
    let f = f.to_str().unwrap();
    let missing = d.path().join("none.json");
    let nowhere = d.path().join("no/such/dir/x.csv");
    for (args, needle) in [
        (vec![f, "--format", "html"], "unknown format"),
        (vec![missing.to_str().unwrap()], "none.json"),
        (vec![f, "--out", nowhere.to_str().unwrap()], "cannot write"),
    ] {
        let o = export(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8(o.stderr).unwrap();
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.starts_with("swapref: ") && e.contains(needle), "{e}");
        assert!(o.stdout.is_empty());
    }
}
