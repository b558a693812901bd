use super::*;
use crate::results::fixtures::{point, results};
use crate::results::{Percentiles, Repeat};
use crate::stats::SplitMix64;
use std::path::Path;

fn run(points: &[(&str, usize, &[f64])]) -> Results {
    results(points.iter().map(|(s, r, v)| point(s, *r, v)).collect())
}

/// `n` samples around `centre`, spread ±`spread` (a fraction), reproducibly from `seed`.
fn noisy(centre: f64, spread: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut r = SplitMix64::new(seed);
    (0..n)
        .map(|_| centre * (1.0 + spread * ((r.next_u64() % 2001) as f64 / 1000.0 - 1.0)))
        .collect()
}

/// The verdict rule's tests judge ns/lookup as measured; the fixtures have no `unprotected`
/// point to divide by (its own tests are below).
fn raw() -> Options {
    Options {
        normalize: Normalize::None,
        ..Options::default()
    }
}

fn cmp(base: &Results, new: &Results) -> Comparison {
    compare(&[("base.json", base)], &[("new.json", new)], &raw()).unwrap()
}

fn ns(c: &Comparison, row: usize) -> &Judged {
    c.rows[row].get(Metric::NsPerLookup)
}

#[test]
fn equal_runs_are_unchanged_within_the_threshold() {
    let a = run(&[
        ("atomic", 1, &[10.0, 11.0, 12.0, 11.0, 10.5]),
        ("rwlock", 2, &[20.0, 21.0, 22.0, 21.0, 20.5]),
    ]);
    let c = cmp(&a, &a);
    for r in &c.rows {
        assert_eq!(r.verdict, Verdict::Unchanged);
        let j = r.get(Metric::NsPerLookup);
        assert!((j.ratio.unwrap() - 1.0).abs() < 1e-12);
    }
    assert!(!c.has_regression());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(render_table(&c).contains("a side has one run"));
}

#[test]
fn a_clear_slowdown_is_a_regression_and_a_clear_speedup_an_improvement() {
    let base = run(&[
        ("atomic", 1, &noisy(10.0, 0.02, 10, 1)),
        ("hazard", 1, &noisy(20.0, 0.02, 10, 2)),
    ]);
    let new = run(&[
        ("atomic", 1, &noisy(12.0, 0.02, 10, 3)),
        ("hazard", 1, &noisy(15.0, 0.02, 10, 4)),
    ]);
    let c = cmp(&base, &new);
    assert_eq!(c.rows[0].verdict, Verdict::Regressed);
    assert_eq!(c.rows[1].verdict, Verdict::Improved);
    let j = ns(&c, 0);
    let [lo, hi] = j.interval.unwrap();
    assert!(lo > 1.05 && lo <= j.ratio.unwrap() && j.ratio.unwrap() <= hi);
    assert!((j.ratio.unwrap() - 1.2).abs() < 0.03, "{j:?}");
    assert!(c.has_regression());
    assert_eq!(c.count(Verdict::Improved), 1);
}

#[test]
fn an_improvement_alone_is_not_a_regression() {
    let base = run(&[("atomic", 1, &noisy(10.0, 0.01, 8, 5))]);
    let new = run(&[("atomic", 1, &noisy(8.0, 0.01, 8, 6))]);
    let c = cmp(&base, &new);
    assert_eq!(c.rows[0].verdict, Verdict::Improved);
    assert!(!c.has_regression());
}

/// The median moved by 20 %, but the repeats spread ±40 %: noise, not a change.
#[test]
fn a_big_but_noisy_change_is_unchanged() {
    let base = run(&[("atomic", 1, &noisy(10.0, 0.4, 8, 7))]);
    let new = run(&[("atomic", 1, &noisy(12.0, 0.4, 8, 8))]);
    let c = cmp(&base, &new);
    let j = ns(&c, 0);
    assert_eq!(j.verdict, Verdict::Unchanged);
    assert!(j.why.contains("within noise"), "{}", j.why);
}

/// Tight repeats, 2 % slower: the interval excludes 1 but not the 5 % threshold.
#[test]
fn a_small_but_clean_change_is_below_the_threshold() {
    let base = run(&[("atomic", 1, &[10.00, 10.01, 10.02, 10.01])]);
    let new = run(&[("atomic", 1, &[10.20, 10.21, 10.22, 10.21])]);
    assert_eq!(cmp(&base, &new).rows[0].verdict, Verdict::Unchanged);
    let o = Options {
        threshold: 0.01,
        ..raw()
    };
    let c = compare(&[("b", &base)], &[("n", &new)], &o).unwrap();
    assert_eq!(c.rows[0].verdict, Verdict::Regressed);
}

/// Two runs a side whose levels disagree by 30 %: pooled, the interval spans the runs, so a
/// new side that sits inside that spread is not called.
#[test]
fn several_runs_a_side_widen_the_interval_by_their_spread() {
    let b1 = run(&[("atomic", 1, &noisy(10.0, 0.01, 6, 9))]);
    let b2 = run(&[("atomic", 1, &noisy(13.0, 0.01, 6, 10))]);
    let n1 = run(&[("atomic", 1, &noisy(12.5, 0.01, 6, 11))]);
    let n2 = run(&[("atomic", 1, &noisy(13.5, 0.01, 6, 12))]);
    // One run a side: 10 vs 12.5 looks like a clean 25 % regression ...
    assert_eq!(cmp(&b1, &n1).rows[0].verdict, Verdict::Regressed);
    // ... but the base build itself moves 10 -> 13 between runs.
    let c = compare(
        &[("b1", &b1), ("b2", &b2)],
        &[("n1", &n1), ("n2", &n2)],
        &raw(),
    )
    .unwrap();
    assert_eq!(c.rows[0].verdict, Verdict::Unchanged, "{:?}", c.rows[0]);
    assert_eq!(c.base.files, ["b1", "b2"]);
    assert_eq!(ns(&c, 0).n, [12, 12]);
    assert!(!render_table(&c).contains("a side has one run"));
}

#[test]
fn ns_per_lookup_counts_successful_lookups_only() {
    let base = run(&[("atomic", 1, &[10.0; 5])]);
    let mut new = base.clone();
    // Half the lookups fail: as many lookups, half of them successful: 20 ns per success.
    for r in &mut new.points[0].repeats {
        r.failed_lookups = r.lookups_per_reader[0] / 2;
    }
    let c = cmp(&base, &new);
    let j = ns(&c, 0);
    assert!((j.ratio.unwrap() - 2.0).abs() < 0.01, "{j:?}");
    assert_eq!(j.verdict, Verdict::Regressed);
    let f = c.rows[0].get(Metric::FailedRate);
    assert_eq!(f.verdict, Verdict::Regressed, "{f:?}");
    assert!((f.new.unwrap() - 0.5).abs() < 0.01);
}

#[test]
fn a_failed_rate_judged_with_its_offset() {
    let base = run(&[("atomic", 1, &[10.0; 6])]);
    let mut tiny = base.clone();
    // 0 -> 0.01 % is within the 0.1 % offset: (0.0001 + 0.001) / 0.001 = 1.1 < 1.25.
    for r in &mut tiny.points[0].repeats {
        r.failed_lookups = r.lookups_per_reader[0] / 10_000;
    }
    assert_eq!(
        cmp(&base, &tiny).rows[0].get(Metric::FailedRate).verdict,
        Verdict::Unchanged
    );
}

fn with_swapoff(mut r: Results, p50: &[u64], p99: &[u64]) -> Results {
    let reps: &mut Vec<Repeat> = &mut r.points[0].repeats;
    for (k, rep) in reps.iter_mut().enumerate() {
        rep.swapoff_latency_ns = Some(Percentiles {
            count: 10,
            p50: p50[k],
            p90: p99[k],
            p99: p99[k],
            max: p99[k],
        });
    }
    r
}

#[test]
fn swapoff_latency_is_judged_per_percentile() {
    let ns_ = [10.0; 5];
    let base = with_swapoff(
        run(&[("atomic", 1, &ns_)]),
        &[1000, 1010, 990, 1000, 1005],
        &[5000, 5100, 4900, 5000, 5050],
    );
    let new = with_swapoff(
        run(&[("atomic", 1, &ns_)]),
        &[1000, 1010, 990, 1000, 1005],
        &[9000, 9100, 8900, 9000, 9050],
    );
    let c = cmp(&base, &new);
    assert_eq!(
        c.rows[0].get(Metric::SwapoffP50).verdict,
        Verdict::Unchanged
    );
    assert_eq!(
        c.rows[0].get(Metric::SwapoffP99).verdict,
        Verdict::Regressed
    );
    assert_eq!(c.rows[0].verdict, Verdict::Regressed, "the worst metric's");
    assert!(render_table(&c).contains("swapoff p99"));
}

#[test]
fn a_failed_point_fails() {
    let base = run(&[("atomic", 1, &[10.0, 10.1, 10.2])]);
    let mut new = base.clone();
    new.points[0].status = crate::results::Status::Failed;
    let c = cmp(&base, &new);
    assert_eq!(c.rows[0].verdict, Verdict::Failed);
    assert!(c.has_regression());
}

#[test]
fn partial_overlap_compares_what_is_shared_and_lists_the_rest() {
    let two = run(&[
        ("atomic", 1, &[1.0, 1.1, 1.2]),
        ("rwlock", 1, &[2.0, 2.1, 2.2]),
    ]);
    let one = run(&[("atomic", 1, &[1.0, 1.1, 1.2]), ("hazard", 1, &[3.0; 3])]);
    let c = cmp(&two, &one);
    assert_eq!(c.rows.len(), 1);
    assert_eq!(c.rows[0].strategy, "atomic");
    assert_eq!(c.only_base, ["rwlock/1r/1ms"]);
    assert_eq!(c.only_new, ["hazard/1r/1ms"]);
    let t = render_table(&c);
    assert!(
        t.contains("only in base (not compared): rwlock/1r/1ms"),
        "{t}"
    );
    assert!(
        t.contains("only in new (not compared): hazard/1r/1ms"),
        "{t}"
    );
    // Readers and period are part of a point: nothing shared is an error.
    let mut other = run(&[("atomic", 2, &[1.0, 1.1, 1.2])]);
    let e = compare(&[("b", &one)], &[("n", &other)], &Options::default()).unwrap_err();
    assert!(matches!(e, CompareError::NothingShared), "{e}");
    other.points[0].readers = 1;
    other.points[0].period_ns = None;
    assert!(compare(&[("b", &one)], &[("n", &other)], &Options::default()).is_err());
}

#[test]
fn too_few_repeats_get_no_verdict() {
    let a = run(&[("atomic", 1, &[1.0, 1.0])]);
    let b = run(&[("atomic", 1, &[5.0, 5.0])]);
    let c = cmp(&a, &b);
    assert_eq!(ns(&c, 0).verdict, Verdict::NotApplicable);
    assert!(c.warnings.iter().any(|w| w.contains("fewer than 3")));
    assert!(!c.has_regression());
}

#[test]
fn malformed_input_is_an_error() {
    let dup = run(&[("atomic", 1, &[1.0]), ("atomic", 1, &[2.0])]);
    let ok = run(&[("atomic", 1, &[1.0])]);
    let e = compare(&[("dup.json", &dup)], &[("ok", &ok)], &Options::default()).unwrap_err();
    assert!(e.to_string().contains("twice in dup.json"), "{e}");
    let bad = Options {
        latency_threshold: 1.5,
        ..Options::default()
    };
    assert!(matches!(
        compare(&[("a", &ok)], &[("b", &ok)], &bad),
        Err(CompareError::BadThreshold(_))
    ));
    assert!(matches!(
        compare(&[], &[("b", &ok)], &Options::default()),
        Err(CompareError::NoFiles("base"))
    ));
    let p = Path::new("x.json");
    let good = serde_json::to_value(&ok).unwrap();
    let mut v = good.clone();
    v["schema_version"] = 7.into();
    let e: CompareError = Results::from_json(p, &v.to_string()).unwrap_err().into();
    assert!(e.to_string().contains("version 7"), "{e}");
    let e: CompareError = Results::from_json(p, "{\"schema\": ").unwrap_err().into();
    assert!(e.to_string().contains("malformed"), "{e}");
}

#[test]
fn version_1_files_are_compared_with_a_warning() {
    let a = run(&[("atomic", 1, &[10.0; 4])]);
    let mut v = serde_json::to_value(&a).unwrap();
    v["schema_version"] = 1.into();
    for r in v["points"][0]["repeats"].as_array_mut().unwrap() {
        let r = r.as_object_mut().unwrap();
        for f in [
            "round",
            "floor_ns",
            "swapoff_latency_ns",
            "swapon_latency_ns",
        ] {
            r.remove(f);
        }
    }
    let old = Results::from_json(Path::new("old.json"), &v.to_string()).unwrap();
    let c = compare(&[("old.json", &old)], &[("new", &a)], &raw()).unwrap();
    assert_eq!(c.rows[0].verdict, Verdict::Unchanged);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("old.json is a version 1 file"))
    );
    // By default ns is divided by the floor, which a version 1 file has not: judged as
    // measured, and said, rather than in two units.
    let c = compare(&[("old.json", &old)], &[("new", &a)], &Options::default()).unwrap();
    assert_eq!(c.rows[0].divided_by, Normalize::None);
    assert_eq!(ns(&c, 0).verdict, Verdict::Unchanged);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("not divided by floor, for atomic/1r/1ms")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn different_machines_configs_and_injections_are_warned_about() {
    let base = run(&[("atomic", 1, &[1.0, 1.1, 1.2])]);
    let mut new = base.clone();
    new.environment.hostname = Some("other-box".into());
    new.config.pages = 128;
    new.config.inject = Some("atomic:5".into());
    let c = cmp(&base, &new);
    let w = c.warnings.join("\n");
    assert!(w.contains("hostname") && w.contains("other-box"), "{w}");
    assert!(w.contains("pages"), "{w}");
    assert!(w.contains("injected cost (atomic:5)"), "{w}");
    assert_eq!(c.new.machines, ["other-box (Fixture CPU), fixture"]);
}

#[test]
fn table_markdown_and_json_name_both_sides_and_every_verdict() {
    let base = run(&[
        ("atomic", 1, &noisy(10.0, 0.01, 6, 13)),
        ("hazard", 1, &noisy(20.0, 0.01, 6, 14)),
    ]);
    let mut new = run(&[
        ("atomic", 1, &noisy(12.0, 0.01, 6, 15)),
        ("hazard", 1, &noisy(20.0, 0.01, 6, 16)),
    ]);
    new.tool.git_commit = Some("feedfacecafe0000".into());
    let c = cmp(&base, &new);
    let t = render_table(&c);
    assert!(t.starts_with("base: 1 file(s), commit "), "{t}");
    assert!(t.contains("new:  1 file(s), commit feedfacecafe"), "{t}");
    assert!(t.contains("regressed (all of the interval > +5%)"), "{t}");
    assert!(
        t.contains("2 point(s): 1 regressed, 0 improved, 1 unchanged"),
        "{t}"
    );
    // Nothing failed on either side: no failed-lookup rows.
    assert!(!t.contains(" failed  "), "{t}");
    let m = render_markdown(&c);
    assert!(m.contains("| `atomic` | 1 | 1ms | ns/lookup |"), "{m}");
    assert!(m.contains("**regressed"), "{m}");
    assert!(
        m.contains("a side has one run") && !m.contains("**Warnings**"),
        "{m}"
    );
    let j: serde_json::Value = serde_json::from_str(&render_json(&c)).unwrap();
    assert_eq!(j["rows"][0]["verdict"], "regressed");
    assert_eq!(j["rows"][0]["metrics"][0]["metric"], "ns_per_lookup");
    assert_eq!(j["new"]["commits"][0], "feedfacecafe0000");
    assert_eq!(j["options"]["threshold"], 0.05);
}

/// `n` values around `centre` (±1 %), the first `slow` of them in a phase where the whole
/// machine ran `factor` slower: what a shared VM does to every point of a round alike.
fn drifting(centre: f64, n: usize, slow: usize, factor: f64, seed: u64) -> Vec<f64> {
    let mut v = noisy(centre, 0.01, n, seed);
    for x in &mut v[..slow] {
        *x *= factor;
    }
    v
}

#[test]
fn dividing_by_the_same_rounds_unprotected_cancels_a_slow_phase() {
    let base = run(&[
        ("unprotected", 1, &drifting(1.0, 8, 0, 1.0, 20)),
        ("atomic", 1, &drifting(10.0, 8, 0, 1.0, 21)),
    ]);
    // The new run ran in a phase 30 % slow for both points, every round of it. (A phase over
    // some rounds only moves the median by less than the bootstrap can tell from noise.)
    let new = run(&[
        ("unprotected", 1, &drifting(1.0, 8, 8, 1.3, 22)),
        ("atomic", 1, &drifting(10.0, 8, 8, 1.3, 23)),
    ]);
    // As measured, the slow phase reads as a regression of atomic (and of unprotected) ...
    assert_eq!(cmp(&base, &new).rows[1].verdict, Verdict::Regressed);
    // ... divided by the same round's unprotected, it cancels.
    let o = Options {
        normalize: Normalize::Unprotected,
        ..Options::default()
    };
    let c = compare(&[("b", &base)], &[("n", &new)], &o).unwrap();
    let (u, a) = (&c.rows[0], &c.rows[1]);
    assert_eq!(
        (u.divided_by, a.divided_by),
        (Normalize::None, Normalize::Unprotected)
    );
    let j = a.get(Metric::NsPerLookup);
    assert_eq!(j.verdict, Verdict::Unchanged, "{j:?}");
    assert!((j.base.unwrap() - 10.0).abs() < 0.5, "{j:?}");
    // The reference itself has no verdict on its cost under this rule.
    let r = u.get(Metric::NsPerLookup);
    assert_eq!(r.verdict, Verdict::NotApplicable);
    assert!(r.why.contains("reference"), "{}", r.why);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert!(render_table(&c).contains("x unprotected"));
    // A real +20 % on atomic during the same slow phase is still caught.
    let mut slower = new.clone();
    for rep in &mut slower.points[1].repeats {
        rep.lookups_per_reader[0] = (rep.lookups_per_reader[0] as f64 / 1.2) as u64;
    }
    let c = compare(&[("b", &base)], &[("n", &slower)], &o).unwrap();
    assert_eq!(c.rows[1].verdict, Verdict::Regressed, "{:?}", c.rows[1]);
}

fn by_unprotected() -> Options {
    Options {
        normalize: Normalize::Unprotected,
        ..Options::default()
    }
}

#[test]
fn unprotected_pairs_repeats_by_round_not_by_position() {
    let base = run(&[
        ("unprotected", 1, &[1.0, 1.0, 1.0, 1.0]),
        ("atomic", 1, &[10.0, 10.0, 10.0, 10.0]),
    ]);
    // The new run's atomic repeats are stored in another order than its unprotected ones:
    // round 0 was the slow one for both.
    let mut new = run(&[
        ("unprotected", 1, &[2.0, 1.0, 1.0, 1.0]),
        ("atomic", 1, &[10.0, 10.0, 10.0, 20.0]),
    ]);
    for (k, rep) in new.points[1].repeats.iter_mut().enumerate() {
        rep.round = Some([1, 2, 3, 0][k]);
    }
    let c = compare(&[("b", &base)], &[("n", &new)], &by_unprotected()).unwrap();
    let j = c.rows[1].get(Metric::NsPerLookup);
    assert!((j.ratio.unwrap() - 1.0).abs() < 1e-9, "{j:?}");
    assert_eq!(j.verdict, Verdict::Unchanged);
}

#[test]
fn without_an_unprotected_point_ns_is_judged_as_measured_and_said() {
    let with = run(&[
        ("unprotected", 1, &[1.0; 4]),
        ("atomic", 1, &[10.0; 4]),
        ("atomic", 2, &[10.0; 4]),
    ]);
    let without = run(&[("atomic", 1, &[12.0; 4]), ("atomic", 2, &[12.0; 4])]);
    let c = compare(&[("b", &with)], &[("n.json", &without)], &by_unprotected()).unwrap();
    assert!(c.rows.iter().all(|r| r.divided_by == Normalize::None));
    assert_eq!(
        c.rows[0].verdict,
        Verdict::Regressed,
        "as measured, 10 -> 12"
    );
    let w = c.warnings.join("\n");
    assert!(
        w.contains(
            "judged as measured, not divided by unprotected, for atomic/1r/1ms, atomic/2r/1ms"
        ),
        "{w}"
    );
    // Within one file the reference is found per reader count: 2 readers have none here.
    let c = compare(&[("b", &with)], &[("n", &with)], &by_unprotected()).unwrap();
    let by: Vec<_> = c.rows.iter().map(|r| (r.readers, r.divided_by)).collect();
    assert_eq!(
        by,
        [
            (1, Normalize::None),
            (1, Normalize::Unprotected),
            (2, Normalize::None)
        ]
    );
}

/// The default: each repeat divided by its own floor, which slows down in the same phases.
#[test]
fn dividing_by_each_repeats_floor_cancels_a_slow_phase_unprotected_does_not_see() {
    let base = run(&[
        ("unprotected", 1, &drifting(1.0, 8, 0, 1.0, 30)),
        ("atomic", 1, &drifting(6.0, 8, 0, 1.0, 31)),
    ]);
    // The new run ran in a slow phase: atomic 1.6x slower, unprotected barely (1.05x), the
    // floor 1.6x.
    let mut new = run(&[
        ("unprotected", 1, &drifting(1.0, 8, 8, 1.05, 32)),
        ("atomic", 1, &drifting(6.0, 8, 8, 1.6, 33)),
    ]);
    for p in &mut new.points {
        for r in &mut p.repeats {
            r.floor_ns = Some(1.6 * r.floor_ns.unwrap());
        }
    }
    let o = Options::default();
    assert_eq!(o.normalize, Normalize::Floor, "the default");
    let c = compare(&[("b", &base)], &[("n", &new)], &o).unwrap();
    assert_eq!(c.rows[1].divided_by, Normalize::Floor);
    assert_eq!(c.rows[1].verdict, Verdict::Unchanged, "{:?}", c.rows[1]);
    assert!(render_table(&c).contains("x floor"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // Divided by unprotected, the phase stays and reads as a regression.
    let c = compare(&[("b", &base)], &[("n", &new)], &by_unprotected()).unwrap();
    assert_eq!(c.rows[1].verdict, Verdict::Regressed, "{:?}", c.rows[1]);
}

/// The hold is part of a point's identity: the same strategy at two holds is two rows, each
/// judged against its own hold, and tables name the hold.
#[test]
fn points_at_different_holds_are_different_points() {
    let held = |ns: &[f64], h: u64| {
        let mut p = point("atomic", 1, ns);
        p.hold_ns = h;
        p
    };
    let base = results(vec![held(&[10.0; 5], 0), held(&[110.0; 5], 100)]);
    // Only the 100 ns hold got slower.
    let new = results(vec![held(&[10.0; 5], 0), held(&[140.0; 5], 100)]);
    let c = cmp(&base, &new);
    let got: Vec<_> = c.rows.iter().map(|r| (r.hold_ns, r.verdict)).collect();
    assert_eq!(
        got,
        [(0, Verdict::Unchanged), (100, Verdict::Regressed)],
        "{:?}",
        c.rows
    );
    assert!(
        render_table(&c).contains("1ms/hold 100ns"),
        "{}",
        render_table(&c)
    );
    // A hold one side lacks is listed, not judged.
    let c = cmp(&base, &results(vec![held(&[10.0; 5], 0)]));
    assert_eq!(c.rows.len(), 1);
    assert!(
        c.only_base
            .iter()
            .any(|p| p.contains("atomic/1r/1ms/hold 100ns")),
        "{:?}",
        c.only_base
    );
}

#[test]
fn periods_read_as_humans_write_them() {
    assert_eq!(period(None), "never");
    assert_eq!(period(Some(2_000_000_000)), "2s");
    assert_eq!(period(Some(1_000_000)), "1ms");
    assert_eq!(period(Some(250_000)), "250us");
    assert_eq!(period(Some(1_500)), "1500ns");
    assert_eq!(period(Some(0)), "0");
}
