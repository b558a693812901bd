use super::writeup::{Inputs, WITHIN_NOISE, finding_lines, render};
use super::*;
use crate::results::fixtures::{point, results};
use crate::results::{Percentiles, Status};

fn p(s: &str, readers: usize, ns: &[f64]) -> Point {
    point(s, readers, ns)
}

fn view_of(r: &Results) -> View<'_> {
    View::new(r, Path::new("r.json")).expect("reportable")
}

#[test]
fn empty_all_failed_and_inconsistent_results_are_refused() {
    let r = results(vec![]);
    assert!(matches!(
        View::new(&r, Path::new("x")),
        Err(ReportError::Empty(..))
    ));
    let mut f = p("atomic", 1, &[5.0]);
    f.status = Status::Failed;
    let r = results(vec![f]);
    let e = View::new(&r, Path::new("x")).unwrap_err().to_string();
    assert!(e.contains("all 1 points failed"), "{e}");
    let mut bad = p("atomic", 1, &[5.0]);
    bad.ns_per_op.min = 9.0; // min above median
    let r = results(vec![bad]);
    assert!(matches!(
        View::new(&r, Path::new("x")),
        Err(ReportError::Empty(..))
    ));
    let mut bad = p("atomic", 1, &[5.0]);
    bad.failed_lookup_rate = 1.5;
    let r = results(vec![bad]);
    assert!(View::new(&r, Path::new("x")).is_err());
}

#[test]
fn strategies_follow_the_registry_and_colours_do_not_depend_on_what_was_run() {
    let all = results(vec![
        p("unprotected", 1, &[1.0]),
        p("zeta-new", 1, &[2.0]),
        p("atomic", 1, &[5.0]),
        p("percpu-acquire", 1, &[3.0]),
    ]);
    let v = view_of(&all);
    assert_eq!(
        v.strategies,
        ["percpu-acquire", "atomic", "unprotected", "zeta-new"]
    );
    let few = results(vec![p("atomic", 1, &[5.0])]);
    let w = view_of(&few);
    assert_eq!(v.colour("atomic"), w.colour("atomic"));
    assert_ne!(v.colour("atomic"), v.colour("unprotected"));
    assert_ne!(v.colour("zeta-new"), v.colour("percpu-acquire"));
    // Every series this build can measure has a colour of its own.
    let mut series: Vec<String> = Vec::new();
    for i in crate::strategy::ALL {
        if i.rcu {
            for f in crate::rcu::FlavorKind::ALL {
                series.push(format!("{}@{f}", i.name));
            }
        } else {
            series.push(i.name.to_owned());
        }
        if i.percpu {
            for f in crate::rcu::FlavorKind::ALL {
                series.push(format!("{}@{f}/cpu", i.name));
                series.push(format!("{}@{f}/cid", i.name));
            }
        }
    }
    let mut colours: Vec<_> = series.iter().map(|s| v.colour(s)).collect();
    colours.sort_unstable();
    colours.dedup();
    assert_eq!(colours.len(), series.len(), "{series:?}");
}

#[test]
fn series_past_the_palette_get_colours_of_their_own() {
    // A registry that outgrows the palette (adding a strategy is one line) and files naming
    // strategies this build does not know: no two series may share a colour.
    let extra: Vec<String> = (0..200).map(|i| format!("new-{i:03}")).collect();
    let r = results(extra.iter().map(|s| p(s, 1, &[1.0])).collect());
    let v = view_of(&r);
    let mut colours: Vec<_> = crate::strategy::ALL
        .iter()
        .map(|i| i.name.to_owned())
        .chain(extra.iter().cloned())
        .map(|s| v.colour(&s))
        .collect();
    let n = colours.len();
    colours.sort_unstable();
    colours.dedup();
    assert_eq!(colours.len(), n);
}

#[test]
fn the_churn_slice_is_the_most_measured_period_and_unprotected_falls_back_to_never() {
    let mut pts = vec![p("atomic", 1, &[5.0]), p("atomic", 2, &[9.0])];
    let mut u = p("unprotected", 1, &[1.0]);
    u.period_ns = None;
    pts.push(u);
    let mut other = p("atomic", 2, &[7.0]);
    other.period_ns = Some(5_000_000);
    pts.push(other);
    let r = results(pts);
    let v = view_of(&r);
    let churn = v.churn.clone().unwrap();
    assert_eq!(
        (churn.period, churn.readers.clone()),
        (Some(1_000_000), vec![1, 2])
    );
    // No churning point without a swapper: costs come from the churn slice.
    assert_eq!(v.cost, churn);
    assert_eq!(v.cost_at("unprotected", 1).unwrap().ns_per_op.median, 1.0);
    assert_eq!(v.cost_at("atomic", 2).unwrap().ns_per_op.median, 9.0);
    assert!(v.cost_at("atomic", 3).is_none());
    assert_eq!(
        churn.name(),
        "swap period 1ms, 1, 2 readers, the swapper on its own CPU"
    );
}

/// In a sweep where every period has as many points, `never` (which `unprotected` adds to) must
/// not win, and the tie goes to the longest swap period.
#[test]
fn in_a_period_sweep_the_churn_slice_is_the_longest_churning_period() {
    let mut pts = Vec::new();
    for per in [Some(100_000), Some(10_000_000), None] {
        for s in ["atomic", "rwlock"] {
            let mut q = p(s, 1, &[5.0]);
            q.period_ns = per;
            pts.push(q);
        }
    }
    let mut u = p("unprotected", 1, &[1.0]);
    u.period_ns = None;
    pts.push(u);
    let r = results(pts);
    let v = view_of(&r);
    assert_eq!(v.churn.as_ref().unwrap().period, Some(10_000_000));
    assert_eq!(
        v.cost.period, None,
        "costs from the points without a swapper"
    );
    // Without churn at all, `never` is the only slice.
    let mut q = p("atomic", 1, &[5.0]);
    q.period_ns = None;
    let r = results(vec![q]);
    let v = view_of(&r);
    assert_eq!((v.cost.period, v.churn.is_none()), (None, true));
    assert_eq!(v.cost.name(), "no swapper, 1 reader");
}

/// Churn claims come from reader counts whose swapper had its own CPU; a run where every
/// point's swapper shared one says so in the slice's name instead of hiding it.
#[test]
fn the_churn_slice_leaves_out_readers_that_share_the_swappers_cpu() {
    let one = p("atomic", 1, &[5.0]);
    let mut two = p("atomic", 2, &[4.0]);
    two.swapper_shares_cpu = true;
    let r = results(vec![one, two.clone()]);
    let v = view_of(&r);
    let c = v.churn.as_ref().unwrap();
    assert_eq!((c.readers.clone(), c.swapper_shares), (vec![1], false));
    assert_eq!(v.churn_series("atomic").len(), 1);
    assert!(v.in_slice(c, "atomic", 2).is_none());
    let r = results(vec![two]);
    let v = view_of(&r);
    let c = v.churn.as_ref().unwrap();
    assert_eq!((c.readers.clone(), c.swapper_shares), (vec![2], true));
    assert!(
        c.name()
            .ends_with("the swapper sharing a CPU with a reader"),
        "{}",
        c.name()
    );
}

#[test]
fn a_chosen_slice_replaces_both_and_a_missing_one_is_refused_naming_what_was_measured() {
    let mut quiet = p("atomic", 1, &[6.0]);
    quiet.period_ns = None;
    let r = results(vec![p("atomic", 1, &[5.0]), p("atomic", 2, &[4.0]), quiet]);
    let choice = SliceChoice {
        period: Some(1_000_000),
        readers: Some(vec![2]),
        hold_ns: None,
    };
    let v = View::with_slice(&r, Path::new("r.json"), Some(&choice)).unwrap();
    assert_eq!(
        (v.cost.period, v.cost.readers.clone(), v.cost.chosen),
        (Some(1_000_000), vec![2], true)
    );
    assert_eq!(v.churn.as_ref(), Some(&v.cost));
    let f = finding_lines(&v).join("\n");
    assert!(f.contains("(--slice)"), "{f}");
    let never = SliceChoice {
        period: None,
        readers: None,
        hold_ns: None,
    };
    let v = View::with_slice(&r, Path::new("r.json"), Some(&never)).unwrap();
    assert!(v.churn.is_none() && v.cost.period.is_none());
    let bad = SliceChoice {
        period: Some(1_000_000),
        readers: Some(vec![4]),
        hold_ns: None,
    };
    let e = View::with_slice(&r, Path::new("r.json"), Some(&bad))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--slice 1ms:4: no successful point there (measured: 1ms at 1,2; never at 1)"),
        "{e}"
    );
}

/// A hold sweep: every slice is at the shortest hold unless `--slice` names another, the
/// slice's name gives its hold, a hold nobody measured is refused, and the hold figure is
/// drawn (it is omitted, with a note, for one hold).
#[test]
fn slices_are_at_one_hold_and_a_hold_sweep_gets_its_figure() {
    let held = |s: &str, h: u64, ns: f64| {
        let mut q = p(s, 1, &[ns, ns * 1.01, ns * 0.99]);
        q.period_ns = None;
        q.hold_ns = h;
        q
    };
    let mut pts = Vec::new();
    for (h, extra) in [(0, 0.0), (100, 100.0), (400, 400.0)] {
        pts.push(held("atomic", h, 6.0 + extra * 1.1));
        pts.push(held("unprotected", h, 2.0 + extra));
    }
    let r = results(pts);
    let v = view_of(&r);
    assert_eq!((v.holds.clone(), v.hold_ns), (vec![0, 100, 400], 0));
    assert_eq!(v.cost.name(), "no swapper, 1 reader, hold 0");
    assert_eq!(v.cost_at("atomic", 1).unwrap().ns_per_op.median, 6.0);
    let choice = SliceChoice {
        period: None,
        readers: None,
        hold_ns: Some(100),
    };
    let v100 = View::with_slice(&r, Path::new("r.json"), Some(&choice)).unwrap();
    assert_eq!(v100.cost_at("atomic", 1).unwrap().hold_ns, 100);
    assert!(
        v100.cost.name().ends_with("hold 100ns"),
        "{}",
        v100.cost.name()
    );
    let bad = SliceChoice {
        hold_ns: Some(50),
        ..choice
    };
    let e = View::with_slice(&r, Path::new("r.json"), Some(&bad))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no successful point holds 50ns (measured holds: 0, 100ns, 400ns)"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let plots = plot::plot_all(&v, dir.path()).unwrap();
    assert!(plots.figures.iter().any(|f| f.name == "hold"));
    assert!(dir.path().join("hold.png").is_file());
    // One hold: no hold figure, and a note says why.
    let r1 = results(vec![held("atomic", 0, 6.0)]);
    let v1 = view_of(&r1);
    assert_eq!(v1.cost.name(), "no swapper, 1 reader");
    let plots = plot::plot_all(&v1, dir.path()).unwrap();
    assert!(plots.figures.iter().all(|f| f.name != "hold"));
    assert!(
        plots
            .omitted
            .iter()
            .any(|o| o.contains("against hold: omitted")),
        "{:?}",
        plots.omitted
    );
}

/// Cost comparisons use the points without a swapper when the run has them (every lookup
/// succeeds there, as for `unprotected`), and say so; otherwise they name the period and the
/// strategies whose cheap failed lookups are mixed into ns per lookup.
#[test]
fn cost_findings_prefer_points_without_churn_and_flag_failed_lookups() {
    let mut churn = p("atomic", 1, &[2.5]); // churning point: cheap failed lookups
    churn.failed_lookup_rate = 0.4;
    let mut quiet = p("atomic", 1, &[6.0]);
    quiet.period_ns = None;
    let mut u = p("unprotected", 1, &[2.0]);
    u.period_ns = None;
    let with_never = results(vec![churn.clone(), quiet, u.clone()]);
    let v = view_of(&with_never);
    assert_eq!(
        (v.churn.as_ref().unwrap().period, v.cost.period),
        (Some(1_000_000), None)
    );
    let f = finding_lines(&v).join("\n");
    assert!(
        f.contains("(slice: no swapper, 1 reader; every lookup succeeds")
            && f.contains("`atomic` 3× (6 vs 2 ns"),
        "{f}"
    );
    let only_churn = results(vec![churn, u]);
    let v = view_of(&only_churn);
    assert_eq!(v.cost.period, Some(1_000_000));
    let f = finding_lines(&v).join("\n");
    assert!(
        f.contains("failed more than 1%: `atomic` 40%")
            && f.contains("`atomic` 1.25× (2.5 vs 2 ns"),
        "{f}"
    );
}

/// Findings carry the numbers of the data: change the data, the text changes with it.
#[test]
fn findings_are_computed_from_the_data() {
    let make = |percpu: f64| {
        results(vec![
            p("percpu-acquire", 1, &[percpu * 0.99, percpu, percpu * 1.01]),
            p("percpu-acquire", 2, &[percpu * 0.99, percpu, percpu * 1.01]),
            p("unprotected", 1, &[1.95, 2.0, 2.05]),
            p("unprotected", 2, &[1.95, 2.0, 2.05]),
        ])
    };
    let a = make(6.4);
    let b = make(10.0);
    let fa = finding_lines(&view_of(&a)).join("\n");
    let fb = finding_lines(&view_of(&b)).join("\n");
    assert!(
        fa.contains("`percpu-acquire` 3.2× (6.4 vs 2 ns, +4.4 ns)"),
        "{fa}"
    );
    assert!(
        fb.contains("`percpu-acquire` 5× (10 vs 2 ns, +8 ns)"),
        "{fb}"
    );
    assert!(
        fa.contains(
            "from 1 to 2 readers (slice: swap period 1ms, 1, 2 readers, the swapper on its own \
             CPU) (ideal 2×)"
        ),
        "{fa}"
    );
    assert!(fa.contains("`percpu-acquire` 2× (100% of ideal)"), "{fa}");
    assert_ne!(fa, fb);
}

#[test]
fn overlapping_ranges_are_called_noise_and_separate_ones_are_not() {
    let close = results(vec![
        p("percpu-acquire", 1, &[4.8, 5.0, 5.3]),
        p("percpu-fence", 1, &[4.9, 5.1, 5.4]),
    ]);
    let f = finding_lines(&view_of(&close)).join("\n");
    let line = f
        .lines()
        .find(|l| l.starts_with("`percpu-fence` vs"))
        .unwrap();
    assert!(line.contains(WITHIN_NOISE), "{line}");
    assert!(f.contains("{`percpu-acquire` ≈ `percpu-fence`}"), "{f}");

    let apart = results(vec![
        p("percpu-acquire", 1, &[4.8, 5.0, 5.1]),
        p("percpu-fence", 1, &[6.0, 6.2, 6.4]),
    ]);
    let f = finding_lines(&view_of(&apart)).join("\n");
    let line = f
        .lines()
        .find(|l| l.starts_with("`percpu-fence` vs"))
        .unwrap();
    assert!(!line.contains(WITHIN_NOISE), "{line}");
    assert!(
        line.contains("outside the noise") && line.contains("+24%"),
        "{line}"
    );
    assert!(f.contains("`percpu-acquire` < `percpu-fence`"), "{f}");
}

#[test]
fn swapoff_latency_and_period_sweep_findings() {
    let mut fast = p("atomic", 2, &[5.0]);
    fast.swapoff_latency_ns = Some(Percentiles {
        count: 50,
        p50: 3_000,
        p90: 4_000,
        p99: 9_000,
        max: 20_000,
    });
    let slow = p("percpu-acquire", 2, &[5.0]); // fixture: p50 20us
    let mut swept = p("atomic", 2, &[5.0]);
    swept.period_ns = Some(4_000_000);
    swept.failed_lookup_rate = 0.01;
    let mut r = results(vec![fast, slow, swept]);
    r.config.off_time_ns = 100_000;
    r.config.periods_ns = vec![Some(1_000_000), Some(4_000_000)];
    let f = finding_lines(&view_of(&r)).join("\n");
    assert!(f.contains("fastest median `atomic` p50 3us"), "{f}");
    assert!(f.contains("`percpu-acquire` p50 20us (6.67×)"), "{f}");
    // unavailable = swapoff p50 20us + off 100us + swapon p50 2us = 122us of 4ms
    assert!(
        f.contains("4ms: 1% (median share of time unavailable ≈ 3.05%)"),
        "{f}"
    );
    assert!(!f.contains("shared a CPU"), "{f}");
    let mut shared = r.clone();
    for q in &mut shared.points {
        q.swapper_shares_cpu = true;
    }
    let f = finding_lines(&view_of(&shared)).join("\n");
    assert!(
        f.contains("The swapper shared a CPU with a reader here"),
        "{f}"
    );
}

#[test]
fn counters_unavailable_are_said_and_available_ones_reported() {
    let r = results(vec![p("atomic", 1, &[5.0])]);
    let f = finding_lines(&view_of(&r)).join("\n");
    assert!(
        f.contains("not available (ENOENT: no PMU (fixture))"),
        "{f}"
    );
    let mut q = p("atomic", 1, &[5.0]);
    q.counters.insert("cache_misses".into(), Some(0.25));
    let r = results(vec![q]);
    let f = finding_lines(&view_of(&r)).join("\n");
    assert!(
        f.contains(
            "Cache misses per lookup at 1 reader (slice: swap period 1ms, 1 reader, the swapper \
             on its own CPU): `atomic` 0.25"
        ),
        "{f}"
    );
}

#[test]
fn plots_are_written_and_omitted_ones_explained() {
    let dir = tempfile::tempdir().unwrap();
    let mut pts = vec![];
    for s in ["percpu-acquire", "atomic", "unprotected"] {
        for r in [1, 2] {
            pts.push(p(s, r, &[4.0, 5.0, 6.0]));
        }
    }
    let res = results(pts.clone());
    let v = view_of(&res);
    let out = dir.path().join("plots");
    let made = plot::plot_all(&v, &out).unwrap();
    let names: Vec<&str> = made.figures.iter().map(|f| f.name).collect();
    // Two reader counts: no scaling figure, and the note says why.
    assert_eq!(names, ["ns_per_lookup", "swapoff_latency"]);
    assert!(
        made.omitted
            .iter()
            .any(|o| o.starts_with("throughput against readers: omitted")
                && o.contains("has 2 reader counts (a scaling figure needs 3 or more)")),
        "{:?}",
        made.omitted
    );
    for f in &made.figures {
        let png = std::fs::read(&f.png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{}", f.png.display());
        let svg = std::fs::read_to_string(&f.svg).unwrap();
        assert!(
            svg.contains(&f.title) && svg.contains("fixture"),
            "title and caption in {}",
            f.svg.display()
        );
        // Each subtitle names its slice.
        assert!(
            svg.contains("slice: swap period 1ms, 1, 2 readers, the swapper on its own CPU"),
            "{}",
            f.svg.display()
        );
    }
    // Three reader counts: the throughput figure, log2 readers and the ideal line.
    let mut three = pts.clone();
    for s in ["percpu-acquire", "atomic", "unprotected"] {
        three.push(p(s, 4, &[4.0, 5.0, 6.0]));
    }
    let res3 = results(three);
    let made3 = plot::plot_all(&view_of(&res3), &dir.path().join("three")).unwrap();
    let t = made3
        .figures
        .iter()
        .find(|f| f.name == "throughput")
        .unwrap();
    let svg = std::fs::read_to_string(&t.svg).unwrap();
    assert!(
        svg.contains("log2 scale") && svg.contains("ideal (× readers, from unprotected at 1)"),
        "{svg}"
    );
    assert!(made.omitted.iter().any(|o| o.starts_with("cache misses")));
    assert!(made.omitted.iter().any(|o| o.starts_with("failed lookups")));
    let leftovers = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(leftovers, 0, "no temporary files");

    // With counters and a period sweep, those figures appear.
    for q in &mut pts {
        q.counters.insert("cache_misses".into(), Some(0.5));
    }
    let mut swept = p("atomic", 2, &[5.0]);
    swept.period_ns = Some(10_000_000);
    pts.push(swept);
    let mut res = results(pts);
    res.config.periods_ns = vec![Some(1_000_000), Some(10_000_000)];
    let made = plot::plot_all(&view_of(&res), &out).unwrap();
    let names: Vec<&str> = made.figures.iter().map(|f| f.name).collect();
    assert!(
        names.contains(&"cache_misses") && names.contains(&"failed_lookups"),
        "{names:?}"
    );
}

#[test]
fn the_writeup_links_figures_relative_to_itself_and_has_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let res = results(vec![
        p("percpu-fence", 1, &[5.0, 5.5]),
        p("unprotected", 1, &[1.0, 1.1]),
    ]);
    let v = view_of(&res);
    let plots = plot::plot_all(&v, &dir.path().join("figs")).unwrap();
    let md = render(
        &v,
        &Inputs {
            plots: Some(plots),
            ..Inputs::default()
        },
        dir.path(),
    );
    for h in [
        "## Environment",
        "## Method",
        "## Summary",
        "## Findings",
        "## Figures",
        "## Hot-path listings",
        "## Strategies",
    ] {
        assert!(md.contains(h), "{h}");
    }
    assert!(md.contains("](figs/ns_per_lookup.png)"), "{md}");
    // One reader count: no scaling figure, and the write-up says why.
    assert!(!md.contains("](figs/throughput.png)"), "{md}");
    assert!(
        md.contains("throughput against readers: omitted, the cost slice"),
        "{md}"
    );
    assert!(
        md.contains("| `percpu-fence` | 1 | 5.25 [5–5.5] | 5× |"),
        "{md}"
    );
    assert!(
        md.contains("With fewer than 3 repeats"),
        "two repeats: noise caveat"
    );
    assert!(
        md.contains("smp_rmb()"),
        "strategy notes come from the strategy docs"
    );
}

#[test]
fn number_formatting() {
    assert_eq!(sig3(4.56789), "4.57");
    assert_eq!(sig3(1234.0), "1234");
    assert_eq!(sig3(0.012345), "0.0123");
    assert_eq!(sig3(5.0), "5");
    assert_eq!(fmt_ns(1_500_000.0), "1.5ms");
    assert_eq!(fmt_period(None), "never");
    assert!(overlaps(
        &Spread {
            median: 2.0,
            min: 1.0,
            max: 3.0
        },
        &Spread {
            median: 3.5,
            min: 3.0,
            max: 4.0
        }
    ));
    assert!(!overlaps(
        &Spread {
            median: 2.0,
            min: 1.0,
            max: 2.9
        },
        &Spread {
            median: 3.5,
            min: 3.0,
            max: 4.0
        }
    ));
}

#[test]
fn the_placement_line_names_a_swapper_on_a_readers_smt_sibling() {
    let dir = tempfile::tempdir().unwrap();
    let mut q = p("atomic", 1, &[5.0]);
    q.reader_cpus = vec![0];
    q.swapper_cpu = Some(2);
    let mut res = results(vec![q]);
    let md = |res: &Results| render(&view_of(res), &Inputs::default(), dir.path());
    let text = md(&res);
    assert!(
        text.contains("Placement: 1 → CPUs [0], swapper on CPU 2.\n"),
        "{text}"
    );
    res.environment.topology = [(0, vec![0, 2]), (2, vec![0, 2])]
        .into_iter()
        .map(|(cpu, siblings)| crate::results::CpuTopology {
            cpu,
            core: Some(0),
            package: Some(0),
            node: Some(0),
            siblings,
        })
        .collect();
    let text = md(&res);
    assert!(
        text.contains("swapper on CPU 2 (an SMT sibling of reader CPU 0)"),
        "{text}"
    );
}

#[test]
fn the_swapoff_cdf_is_drawn_from_the_repeats_buckets_and_omitted_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut pts = vec![
        p("atomic", 1, &[4.0, 5.0, 6.0]),
        p("rwlock", 1, &[4.0, 5.0, 6.0]),
    ];
    let res = results(pts.clone());
    let made = plot::plot_all(&view_of(&res), &dir.path().join("none")).unwrap();
    assert!(made.figures.iter().all(|f| f.name != "swapoff_cdf"));
    assert!(
        made.omitted
            .iter()
            .any(|o| o.starts_with("swapoff latency CDF"))
    );
    for (k, pt) in pts.iter_mut().enumerate() {
        for r in &mut pt.repeats {
            r.swapoff_buckets = Some(vec![[900, 3], [1200 * (k as u64 + 1), 5], [40_000, 1]]);
        }
    }
    let res = results(pts);
    let out = dir.path().join("with");
    let made = plot::plot_all(&view_of(&res), &out).unwrap();
    let f = made
        .figures
        .iter()
        .find(|f| f.name == "swapoff_cdf")
        .unwrap();
    let svg = std::fs::read_to_string(&f.svg).unwrap();
    assert!(
        svg.contains("swapoff latency CDF") && svg.contains("≥ 27 cycles each"),
        "{svg}"
    );
    assert!(
        !made
            .omitted
            .iter()
            .any(|o| o.starts_with("swapoff latency CDF"))
    );
}

/// Whether a strategy churned is read from the results, not from this build's registry: a
/// strategy this build does not know churns if it has points with a swap period, and
/// `unprotected` (which this build says refuses churn) is taken as churning if a file says so.
#[test]
fn churn_is_read_from_the_points_not_the_build() {
    let at = |s: &str, period: Option<u64>| {
        let mut q = p(s, 1, &[4.0]);
        q.period_ns = period;
        q
    };
    let mut r = results(vec![
        at("zeta-new", Some(1_000_000)),
        at("zeta-new", None),
        at("unprotected", Some(1_000_000)),
        at("atomic", None),
    ]);
    r.config.periods_ns = vec![Some(1_000_000), None];
    let v = view_of(&r);
    assert!(
        v.churns("zeta-new"),
        "unknown to the build, churned in the file"
    );
    assert!(
        v.churns("unprotected"),
        "the file, not the registry, decides"
    );
    assert!(!v.churns("atomic"), "measured without a swapper only");
    assert!(!v.churns("percpu-acquire@qsbr"), "not in the file at all");
}

#[test]
fn strategy_notes_come_from_the_file_and_from_this_build_only_for_older_files() {
    let dir = tempfile::tempdir().unwrap();
    let md = |res: &Results| render(&view_of(res), &Inputs::default(), dir.path());
    // A file from before the facts: this build's notes, said to be so.
    let mut res = results(vec![p("atomic", 1, &[5.0]), p("zeta-new", 1, &[6.0])]);
    let text = md(&res);
    let atomic = crate::strategy::info("atomic").unwrap();
    assert!(text.contains(&format!("{}.\n", atomic.summary)), "{text}");
    assert!(
        text.contains("notes of the build that drew this report"),
        "{text}"
    );
    assert!(
        text.contains("### `zeta-new`\n\nNot known to this build."),
        "{text}"
    );
    // A file that carries them: the file's, even where this build says otherwise or knows
    // nothing, and no caveat.
    let facts = |summary: &str, grace_periods| crate::results::StrategyFacts {
        summary: summary.into(),
        churn: true,
        grace_periods,
        notes: format!("Notes of {summary}."),
    };
    res.config.strategy_facts = [
        ("atomic".to_string(), facts("atomic as measured", true)),
        ("zeta-new".to_string(), facts("zeta as measured", false)),
    ]
    .into_iter()
    .collect();
    let text = md(&res);
    assert!(
        text.contains("### `atomic`\n\natomic as measured.\n\nNotes of atomic as measured."),
        "{text}"
    );
    assert!(
        text.contains("### `zeta-new`\n\nzeta as measured."),
        "{text}"
    );
    assert!(!text.contains(atomic.summary), "{text}");
    assert!(!text.contains("notes of the build"), "{text}");
    let v = view_of(&res);
    assert_eq!(
        v.facts("atomic@qsbr")
            .map(|(f, ours)| (f.grace_periods, ours)),
        Some((true, false))
    );
}

#[test]
fn the_qsbr_grace_period_finding_follows_what_the_file_says_of_grace_periods() {
    let mut q = p("rcu-valid", 1, &[5.0]);
    q.rcu_flavor = Some("qsbr".into());
    let mut res = results(vec![q]);
    let said = |res: &Results| {
        finding_lines(&view_of(res))
            .iter()
            .any(|l| l.starts_with("`rcu-valid@qsbr`: readers announce a quiescent state"))
    };
    // Without facts in the file, this build's registry: rcu-valid waits for grace periods.
    assert!(crate::strategy::info("rcu-valid").unwrap().grace_periods);
    assert!(said(&res));
    // The file's word decides, even against this build's.
    let mut facts = crate::results::StrategyFacts::of(&crate::strategy::info("rcu-valid").unwrap());
    facts.grace_periods = false;
    res.config.strategy_facts.insert("rcu-valid".into(), facts);
    assert!(!said(&res));
}
