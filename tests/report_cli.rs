//! `swapref plot` and `swapref report` as a user runs them: good input writes what it says;
//! malformed or empty input is one line on stderr, exit code 2, nothing written.

// The library modules these tests use are not built under `--cfg loom` (src/lib.rs).
#![cfg(not(loom))]

use std::path::Path;
use std::process::{Command, Output};
use swapref::results::fixtures::{point, results};

fn swapref(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swapref"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run swapref")
}

fn one_line_error(o: &Output) {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("swapref: "), "{err}");
}

#[test]
fn plot_and_report_write_figures_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    // Three reader counts: the scaling figure needs them.
    let r = results(vec![
        point("percpu-acquire", 1, &[5.0, 5.2, 5.4]),
        point("unprotected", 1, &[1.5, 1.6, 1.7]),
        point("percpu-acquire", 2, &[5.1, 5.3, 5.5]),
        point("unprotected", 2, &[1.5, 1.6, 1.7]),
        point("percpu-acquire", 4, &[5.3, 5.5, 5.7]),
        point("unprotected", 4, &[1.6, 1.7, 1.8]),
    ]);
    r.save(&dir.path().join("r.json")).unwrap();
    let o = swapref(&["plot", "r.json", "--out", "figs"], dir.path());
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("note: cache misses per lookup: omitted"),
        "{out}"
    );
    for f in ["throughput", "ns_per_lookup", "swapoff_latency"] {
        assert!(dir.path().join(format!("figs/{f}.png")).is_file(), "{f}");
        assert!(dir.path().join(format!("figs/{f}.svg")).is_file(), "{f}");
    }
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let o = swapref(&["report", "r.json", "--out", "out/report.md"], dir.path());
    assert!(o.status.success(), "{o:?}");
    let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(md.contains("![Lookup throughput against readers](plots/throughput.png)"));
    assert!(
        md.contains("`percpu-acquire` 3.25× (5.2 vs 1.6 ns, +3.6 ns)"),
        "{md}"
    );
    assert!(dir.path().join("out/plots/throughput.png").is_file());
}

#[test]
fn malformed_empty_and_unwritable_are_one_line_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("garbage.json"), "{not json").unwrap();
    results(vec![]).save(&d.join("empty.json")).unwrap();
    results(vec![point("atomic", 1, &[5.0])])
        .save(&d.join("ok.json"))
        .unwrap();
    for args in [
        &["plot", "garbage.json", "--out", "p1"][..],
        &["plot", "empty.json", "--out", "p2"],
        &["plot", "missing.json", "--out", "p3"],
        &["report", "garbage.json", "--out", "r1.md"],
        &["report", "empty.json", "--out", "r2.md"],
        &["report", "ok.json", "--out", "no-such-dir/r3.md"],
        &[
            "report",
            "ok.json",
            "--out",
            "r4.md",
            "--codegen",
            "no-such-codegen",
        ],
        &["plot", "ok.json", "--out", "p4", "--slice", "5ms"],
        &["plot", "ok.json", "--out", "p5", "--slice", "1ms:x"],
        &[
            "report",
            "ok.json",
            "--out",
            "r5.md",
            "--slice",
            "1ms:1:7ns",
        ],
    ] {
        let o = swapref(args, d);
        one_line_error(&o);
    }
    let mut left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["empty.json", "garbage.json", "ok.json"],
        "nothing written"
    );
}
