//! The committed instruction-count baselines (`results/icount/`) cover exactly the benches
//! `benches/icount.rs` generates from the registry, checked without valgrind: where CI cannot
//! run the gate, a strategy added without `scripts/refresh.sh` still fails here.

// The library modules these tests use are not built under `--cfg loom` (src/lib.rs).
#![cfg(not(loom))]

use std::collections::BTreeSet;
use std::path::Path;
use swapref::rcu::FlavorKind;

/// `<function>.<module>` directories under `results/icount/swapref/icount/<flavour>/` that hold
/// a committed baseline file.
fn committed(flavour: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("results/icount/swapref/icount")
        .join(flavour);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|d| {
            std::fs::read_dir(d).unwrap().any(|f| {
                f.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".out.base@committed")
            })
        })
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_bench_has_a_committed_baseline_and_every_baseline_a_bench() {
    for flavour in FlavorKind::ALL {
        let f = flavour.name();
        let mut expected = BTreeSet::new();
        for i in swapref::strategy::ALL {
            expected.insert(format!("lookup_{f}.{}", i.module));
            // As benches/icount.rs's single_thread_swapoff!: a swapoff that hands work to the
            // call_rcu worker (the percpu kind) or none at all (no churn) is not counted.
            if i.churn && !i.percpu {
                expected.insert(format!("cycle_{f}.{}", i.module));
            }
        }
        let have = committed(f);
        let missing: Vec<_> = expected.difference(&have).collect();
        let stale: Vec<_> = have.difference(&expected).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "results/icount/ is out of step with the registry (run scripts/icount.sh refresh): \
             no baseline for {missing:?}, no bench for {stale:?}"
        );
    }
}
