use super::*;
use crate::results::fixtures::{point, results};
use std::path::Path;

fn run(points: &[(&str, usize, &[f64])]) -> Results {
    results(points.iter().map(|(s, r, v)| point(s, *r, v)).collect())
}

fn verdicts(c: &Comparison) -> Vec<(String, Verdict)> {
    c.rows
        .iter()
        .map(|r| (r.strategy.clone(), r.verdict))
        .collect()
}

#[test]
fn equal_runs_are_unchanged() {
    let a = run(&[
        ("atomic", 1, &[10.0, 11.0, 12.0]),
        ("rwlock", 2, &[20.0, 21.0, 22.0]),
    ]);
    let c = compare(&a, &a, DEFAULT_THRESHOLD).unwrap();
    assert!(
        c.rows
            .iter()
            .all(|r| r.verdict == Verdict::Unchanged && r.ratio == 1.0)
    );
    assert!(!c.has_regression());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn a_clear_slowdown_is_a_regression_and_a_clear_speedup_an_improvement() {
    let base = run(&[
        ("atomic", 1, &[10.0, 10.2, 10.4]),
        ("hazard", 1, &[20.0, 20.5, 21.0]),
    ]);
    let new = run(&[
        ("atomic", 1, &[12.0, 12.1, 12.3]),
        ("hazard", 1, &[15.0, 15.5, 16.0]),
    ]);
    let c = compare(&base, &new, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(
        verdicts(&c),
        vec![
            ("atomic".into(), Verdict::Regressed),
            ("hazard".into(), Verdict::Improved)
        ]
    );
    assert!((c.rows[0].ratio - 12.1 / 10.2).abs() < 1e-12);
    assert!(c.has_regression());
    assert_eq!(c.count(Verdict::Improved), 1);
}

#[test]
fn an_improvement_alone_is_not_a_regression() {
    let base = run(&[("atomic", 1, &[10.0, 10.2, 10.4])]);
    let new = run(&[("atomic", 1, &[8.0, 8.1, 8.2])]);
    let c = compare(&base, &new, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(c.rows[0].verdict, Verdict::Improved);
    assert!(!c.has_regression());
}

/// The median moved by 20 %, but the repeats overlap: noise, not a change.
#[test]
fn a_big_but_noisy_change_is_unchanged() {
    let base = run(&[("atomic", 1, &[8.0, 10.0, 15.0])]);
    let new = run(&[("atomic", 1, &[9.0, 12.0, 16.0])]);
    let c = compare(&base, &new, DEFAULT_THRESHOLD).unwrap();
    assert!(c.rows[0].ratio > 1.05);
    assert_eq!(c.rows[0].verdict, Verdict::Unchanged);
    assert!(c.rows[0].why.contains("within noise"), "{}", c.rows[0].why);
}

/// Tight repeats, ranges apart, but only 2 % slower: below the threshold.
#[test]
fn a_small_but_clean_change_is_unchanged() {
    let base = run(&[("atomic", 1, &[10.00, 10.01, 10.02])]);
    let new = run(&[("atomic", 1, &[10.20, 10.21, 10.22])]);
    let c = compare(&base, &new, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(c.rows[0].verdict, Verdict::Unchanged);
    // ... and with a 1 % threshold it is a regression.
    let c = compare(&base, &new, 0.01).unwrap();
    assert_eq!(c.rows[0].verdict, Verdict::Regressed);
}

#[test]
fn a_failed_point_fails() {
    let base = run(&[("atomic", 1, &[10.0, 10.1, 10.2])]);
    let mut new = base.clone();
    new.points[0].status = crate::results::Status::Failed;
    let c = compare(&base, &new, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(c.rows[0].verdict, Verdict::Failed);
    assert!(c.has_regression());
}

#[test]
fn a_missing_point_is_an_error_either_way() {
    let two = run(&[
        ("atomic", 1, &[1.0, 1.1, 1.2]),
        ("rwlock", 1, &[2.0, 2.1, 2.2]),
    ]);
    let one = run(&[("atomic", 1, &[1.0, 1.1, 1.2])]);
    let e = compare(&two, &one, DEFAULT_THRESHOLD).unwrap_err();
    assert!(
        matches!(&e, CompareError::MissingPoint { missing_in: "new", point } if point == "rwlock/1r/1ms"),
        "{e}"
    );
    let e = compare(&one, &two, DEFAULT_THRESHOLD).unwrap_err();
    assert!(matches!(
        e,
        CompareError::MissingPoint {
            missing_in: "base",
            ..
        }
    ));
}

#[test]
fn points_match_by_readers_and_period_too() {
    let base = run(&[("atomic", 1, &[1.0, 1.1, 1.2])]);
    let mut new = run(&[("atomic", 2, &[1.0, 1.1, 1.2])]);
    assert!(compare(&base, &new, DEFAULT_THRESHOLD).is_err());
    new.points[0].readers = 1;
    new.points[0].period_ns = None;
    let e = compare(&base, &new, DEFAULT_THRESHOLD).unwrap_err();
    assert!(e.to_string().contains("atomic/1r/1ms"), "{e}");
}

#[test]
fn duplicate_points_and_bad_values_are_errors() {
    let dup = run(&[("atomic", 1, &[1.0]), ("atomic", 1, &[2.0])]);
    let ok = run(&[("atomic", 1, &[1.0])]);
    assert!(matches!(
        compare(&dup, &ok, DEFAULT_THRESHOLD),
        Err(CompareError::DuplicatePoint { file: "base", .. })
    ));
    let mut zero = ok.clone();
    zero.points[0].ns_per_op.median = 0.0;
    assert!(matches!(
        compare(&ok, &zero, DEFAULT_THRESHOLD),
        Err(CompareError::BadValue { file: "new", .. })
    ));
    assert!(matches!(
        compare(&ok, &ok, 1.5),
        Err(CompareError::BadThreshold(_))
    ));
}

#[test]
fn different_machines_and_configs_are_warned_about() {
    let base = run(&[("atomic", 1, &[1.0, 1.1, 1.2])]);
    let mut new = base.clone();
    new.environment.hostname = Some("other-box".into());
    new.config.pages = 128;
    let c = compare(&base, &new, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("hostname") && c.warnings[0].contains("other-box"));
    assert!(c.warnings[1].contains("pages"));
}

#[test]
fn single_repeats_are_warned_about() {
    let a = run(&[("atomic", 1, &[1.0])]);
    let c = compare(&a, &a, DEFAULT_THRESHOLD).unwrap();
    assert!(c.warnings.iter().any(|w| w.contains("single repeat")));
}

#[test]
fn malformed_and_unknown_version_files_are_refused_by_load() {
    let p = Path::new("x.json");
    let good = serde_json::to_value(run(&[("atomic", 1, &[1.0])])).unwrap();
    let mut v = good.clone();
    v["schema_version"] = 7.into();
    let e: CompareError = Results::from_json(p, &v.to_string()).unwrap_err().into();
    assert!(e.to_string().contains("version 7"), "{e}");
    let e: CompareError = Results::from_json(p, "{\"schema\": ").unwrap_err().into();
    assert!(e.to_string().contains("malformed"), "{e}");
}

#[test]
fn table_and_markdown_show_every_point_and_the_verdicts() {
    let base = run(&[
        ("atomic", 1, &[10.0, 10.2, 10.4]),
        ("hazard", 1, &[20.0, 20.5, 21.0]),
    ]);
    let new = run(&[
        ("atomic", 1, &[12.0, 12.1, 12.3]),
        ("hazard", 1, &[20.1, 20.4, 21.1]),
    ]);
    let c = compare(&base, &new, DEFAULT_THRESHOLD).unwrap();
    let t = render_table(&c);
    assert_eq!(t.lines().count(), 4, "{t}");
    assert!(
        t.contains("atomic") && t.contains("regressed") && t.contains("1.186"),
        "{t}"
    );
    assert!(t.contains("1 regressed, 0 improved, 1 unchanged"), "{t}");
    let m = render_markdown(&c);
    assert!(m.contains("| `atomic` | 1 | 1ms | 10.20 (10.00–10.40) | 12.10 (12.00–12.30) | 1.186 | **regressed**"), "{m}");
    assert!(m.contains("| `hazard` |"), "{m}");
    assert!(!m.contains("Warnings"));
}

#[test]
fn periods_read_as_humans_write_them() {
    assert_eq!(period(None), "never");
    assert_eq!(period(Some(2_000_000_000)), "2s");
    assert_eq!(period(Some(1_000_000)), "1ms");
    assert_eq!(period(Some(250_000)), "250us");
    assert_eq!(period(Some(1_500)), "1500ns");
    assert_eq!(
        period(Some(0)),
        "0",
        "the same as the table and the CLI write it"
    );
}
