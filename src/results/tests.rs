use super::fixtures::{point, results};
use super::*;

#[test]
fn a_results_file_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.json");
    let r = results(vec![
        point("atomic", 1, &[5.0, 6.0, 7.0]),
        point("rwlock", 2, &[9.0]),
    ]);
    r.save(&path).unwrap();
    assert_eq!(Results::load(&path).unwrap(), r);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

#[test]
fn stable_fields_have_their_documented_names() {
    let r = results(vec![point("atomic", 1, &[5.0, 6.0])]);
    let v = serde_json::to_value(&r).unwrap();
    let p = &v["points"][0];
    for k in ["median", "min", "max"] {
        assert!(p["ns_per_op"][k].is_number(), "ns_per_op.{k}");
    }
    for k in ["p50", "p99", "max"] {
        assert!(
            p["swapoff_latency_ns"][k].is_number(),
            "swapoff_latency_ns.{k}"
        );
    }
    assert_eq!(p["strategy"], "atomic");
    assert_eq!(p["readers"], 1);
    assert!(p["mops"].is_number());
    assert!(p["failed_lookup_rate"].is_number());
    assert!(p["counters"]["cycles"].is_null());
}

#[test]
fn wrong_schema_version_and_garbage_are_refused() {
    let p = Path::new("x.json");
    let good = serde_json::to_value(results(vec![point("atomic", 1, &[1.0])])).unwrap();
    let mut v = good.clone();
    v["schema_version"] = 99.into();
    assert!(matches!(
        Results::from_json(p, &v.to_string()),
        Err(ResultsError::Version(_, 99))
    ));
    let mut v = good.clone();
    v["schema"] = "something-else".into();
    assert!(matches!(
        Results::from_json(p, &v.to_string()),
        Err(ResultsError::NotResults(..))
    ));
    let mut v = good;
    v["points"][0]["readers"] = "two".into();
    assert!(matches!(
        Results::from_json(p, &v.to_string()),
        Err(ResultsError::Malformed(..))
    ));
    assert!(matches!(
        Results::from_json(p, "{not json"),
        Err(ResultsError::Malformed(..))
    ));
}

#[test]
fn spread_is_median_min_max() {
    let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
    assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
    assert_eq!(Spread::of(&[1.0, 4.0]).unwrap().median, 2.5);
    assert_eq!(Spread::of(&[]), None);
    assert_eq!(Spread::of(&[f64::NAN]), None);
}

#[test]
fn an_unwritable_path_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("r.json");
    let r = results(vec![]);
    assert!(matches!(r.save(&path), Err(ResultsError::Io(..))));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
