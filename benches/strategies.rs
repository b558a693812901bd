//! criterion benches of every registered strategy. Groups:
//!
//! - `get_put/<strategy>`: one reader, no churn, one `get_swap_device` + one-byte read + put per
//!   iteration. `unprotected` is the floor; `scripts/bench_ratio.py` prints every strategy's
//!   ratio to it with a confidence interval. `get_put/counted-floor` is `unprotected` plus a
//!   plain increment and decrement of a counter the thread owns: the floor of any per-CPU
//!   refcount (`bench_ratio.py --floor counted-floor`). `get_put/rseq-floor` is `unprotected`
//!   inside the per-CPU backend's restartable sequences, on an area of its own: the floor of
//!   any percpu_ref on rseq (`--floor rseq-floor`; skipped where rseq is unavailable).
//! - `swapoff/<strategy>`: one swapoff + swapon cycle of one device while
//!   `SWAPREF_BENCH_IDLE_READERS` (default 4) reader handles are registered but idle: the
//!   writer's cost (grace periods, hazard scans, percpu sums).
//! - `churn/<strategy>/<readers>`: the driver's persistent pinned [`ReaderPool`] (threads made
//!   once per point, not per sample) through `iter_custom`: an iteration is one lookup by every
//!   reader, started together at a barrier (`run_exact(iters)`), while the driver's swapper
//!   cycles device 0 every `SWAPREF_BENCH_PERIOD_US` µs (default 1000). `Throughput::Elements`
//!   is the reader count, so criterion prints lookups/s. Reader counts: `SWAPREF_BENCH_READERS`
//!   (comma-separated; default 1 and every allowed CPU).
//! - `cache_misses/<strategy>`: the `get_put` loop measured in hardware cache misses per lookup,
//!   where `perf_event_open` offers the counter; skipped with a printed reason elsewhere.
//!
//! - `peers/<name>`: the peer crates' bare operations as their own benches measure them, beside
//!   swapref's strategy of the same design: `arc-swap-load` (`ArcSwapOption::load()` and drop),
//!   `arc-swap-bytes` (the same plus a one-byte read of a `Vec<u8>`), `arc-swap-map` (load, a
//!   read of a `SwapMap` byte, drop: what the strategy does, without the table),
//!   `haphazard-bytes` (`protect`, one byte, `reset_protection`), and `strategy-arc-swap` /
//!   `strategy-hazard` (the `get_put` loop). `scripts/bench_ratio.py --group peers --floor
//!   arc-swap-bytes` prints each one's ratio to the direct use.
//!
//! Strategies come from `swapref::strategy::ALL` through `strategy::visit`, so a new strategy is
//! benchmarked without touching this file. `SWAPREF_RCU=qsbr|membarrier|fence|auto` (default
//! `auto`) pins the RCU flavour of the strategies that use one, `SWAPREF_PERCPU=cpu|cid|thread|auto`
//! (default `auto`: `cpu` where rseq works) the counter backend of the `percpu-*` strategies;
//! both are printed at start. The benchmark names do not carry them: save criterion baselines
//! under names that do.

mod support;

use criterion::measurement::{Measurement, WallTime};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use criterion::{criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use support::cache_misses::CacheMisses;
use swapref::strategy::{self, Strategy, StrategyConfig, Visitor};
use swapref::swap::{SwapEntry, SwapMap, SwapTable, TableConfig};
use swapref::workload::{PoolConfig, ReaderPool};

/// Pages per device: small, so that swapon's allocation does not drown the protocol's cost.
const PAGES: usize = 64;
/// The entry every lookup asks for (device 0, a page inside it).
const ENTRY: SwapEntry = SwapEntry { ty: 0, offset: 7 };

fn table_config() -> TableConfig {
    let rcu = match std::env::var("SWAPREF_RCU").as_deref() {
        Err(_) | Ok("auto") => None,
        Ok(s) => Some(swapref::rcu::FlavorKind::from_name(s).unwrap_or_else(|| {
            panic!("SWAPREF_RCU={s}: expected auto, qsbr, membarrier or fence")
        })),
    };
    let percpu = match std::env::var("SWAPREF_PERCPU").as_deref() {
        Err(_) | Ok("auto") => None,
        Ok(s) => Some(
            swapref::percpu_ref::PercpuKind::from_name(s)
                .unwrap_or_else(|| panic!("SWAPREF_PERCPU={s}: expected auto, cpu, cid or thread")),
        ),
    };
    TableConfig {
        strategy: StrategyConfig {
            rcu,
            percpu,
            ..StrategyConfig::default()
        },
        checked: false,
    }
}

/// Run `f` with every reader of `readers` offline (`qsbr`): the bench thread itself waits for
/// grace periods, so its idle readers must not be online.
fn offline_all<S: Strategy, R>(readers: &mut [S::Reader], f: impl FnOnce() -> R) -> R {
    match readers.split_first_mut() {
        None => f(),
        Some((r, rest)) => S::offline(r, || offline_all::<S, R>(rest, f)),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Err(_) => default,
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("{name}={s}: expected a non-negative integer")),
    }
}

/// A table of strategy `S` with device 0 on, or the reason it cannot be built here. Checks
/// that a lookup reads the byte swapon wrote, so a bench never times a lookup that fails.
fn table<S: Strategy>(cfg: &TableConfig) -> Result<SwapTable<S>, String> {
    let t = SwapTable::<S>::new(cfg).map_err(|e| e.to_string())?;
    let generation = t.swapon(ENTRY.ty, PAGES).map_err(|e| e.to_string())?;
    let mut r = t.reader();
    assert_eq!(
        lookup(&t, &mut r, ENTRY),
        Some(SwapMap::tag_for(generation)),
        "{}: a lookup of a device that is on must succeed",
        S::NAME
    );
    drop(r);
    Ok(t)
}

/// The measured lookup: `get_swap_device`, read the entry's `swap_map` byte, put (drop).
#[inline(always)]
fn lookup<S: Strategy>(t: &SwapTable<S>, r: &mut S::Reader, e: SwapEntry) -> Option<u8> {
    let dev = t.get_swap_device(r, e)?;
    Some(dev.read(e.offset))
}

/// `get_put/<strategy>` (and `cache_misses/<strategy>` with another measurement).
struct GetPut<'a, 'c, M: Measurement> {
    group: &'a mut BenchmarkGroup<'c, M>,
    cfg: &'a TableConfig,
}

impl<M: Measurement> Visitor for GetPut<'_, '_, M> {
    type Output = ();
    fn visit<S: Strategy>(self) {
        let t = match table::<S>(self.cfg) {
            Ok(t) => t,
            Err(e) => return eprintln!("get_put/{}: skipped: {e}", S::NAME),
        };
        // The reader handle is made once, outside the timed loop, as a reader thread would.
        let mut r = t.reader();
        self.group.bench_function(S::NAME, |b| {
            b.iter(|| lookup(black_box(&t), &mut r, black_box(ENTRY)))
        });
    }
}

fn get_put(c: &mut Criterion) {
    let cfg = table_config();
    let mut group = c.benchmark_group("get_put");
    for i in strategy::ALL {
        strategy::visit(
            i.name,
            cfg.strategy.kinds(),
            GetPut {
                group: &mut group,
                cfg: &cfg,
            },
        )
        .expect("names in ALL are registered");
    }
    strategy::visit(
        "unprotected",
        cfg.strategy.kinds(),
        Floors {
            group: &mut group,
            cfg: &cfg,
        },
    )
    .expect("unprotected is registered");
    group.finish();
}

/// The floors of `get_put`, each `unprotected`'s lookup (`S`) plus the least some refcount must
/// do around it; no mode of a ref, no RCU, no table of refs.
///
/// - `get_put/counted-floor`: a plain increment of a counter only this thread writes, and the
///   decrement after the read: the least any per-CPU (or per-thread) refcount adds. In this
///   tight loop the decrement of one iteration and the increment of the next are a dependency
///   chain through memory (store-to-load forwarding), which the percpu strategies cannot avoid
///   either: their ratio to this line is what percpu_ref adds over counting itself.
/// - `get_put/rseq-floor`: the lookup inside a get and a put of the per-CPU counter backend's
///   own restartable sequence (`swapref::rseq::CpuCounters::add_if_percpu`: arm the
///   descriptor, read the CPU, load and test a mode word, add to the CPU's counter), on an area
///   and a mode word of its own: the least a percpu_ref on rseq adds. The per-CPU strategies'
///   ratio to it (`bench_ratio.py --floor rseq-floor`) is what percpu_ref adds over the
///   section. Skipped, saying why, where rseq is unavailable.
struct Floors<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    cfg: &'a TableConfig,
}

impl Visitor for Floors<'_, '_> {
    type Output = ();
    fn visit<S: Strategy>(self) {
        use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
        let t = table::<S>(self.cfg).expect("strategy set-up");
        let mut r = t.reader();

        // Its own cache line, as a per-CPU counter would have; only this thread writes it, so
        // a Relaxed load and store (the `this_cpu_add` of the percpu strategies) suffice.
        let counter = crossbeam_utils::CachePadded::new(AtomicUsize::new(0));
        let counter = black_box(&counter);
        self.group.bench_function("counted-floor", |b| {
            b.iter(|| {
                counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
                let v = lookup(black_box(&t), &mut r, black_box(ENTRY));
                counter.store(counter.load(Relaxed).wrapping_sub(1), Relaxed);
                v
            })
        });
        assert_eq!(counter.load(Relaxed), 0, "every increment was matched");

        let rseq = match swapref::rseq::available() {
            Ok(rseq) => rseq,
            Err(e) => return eprintln!("get_put/rseq-floor: skipped: {e}"),
        };
        let area = swapref::rseq::CpuArea::new(rseq);
        let counters = area.counters();
        // Slot 0, flags clear: always per-CPU mode, as a live ref's mode word is.
        let mode = AtomicUsize::new(counters.slot_mode(0));
        // Sections that left without adding (a CPU number out of range): none are expected,
        // and the sum below would not balance if a get or a put alone left.
        let left = std::cell::Cell::new(0u64);
        self.group.bench_function("rseq-floor", |b| {
            b.iter(|| {
                // The strategies' shape: the put only after a get that counted.
                // SAFETY: (1) the mode word is `slot_mode(0)` of these counters (no flag); (2)
                // `area` is alive for the whole bench, and only these two calls add to its
                // counters.
                if unsafe { counters.add_if_percpu::<true, false>(&mode, 1) } {
                    let v = lookup(black_box(&t), &mut r, black_box(ENTRY));
                    // SAFETY: as above.
                    if !unsafe { counters.add_if_percpu::<false, false>(&mode, usize::MAX) } {
                        left.set(left.get() + 1);
                    }
                    v
                } else {
                    left.set(left.get() + 1);
                    None
                }
            })
        });
        assert_eq!(
            left.get(),
            0,
            "a section left without adding (CPU number out of range?)"
        );
        assert_eq!(area.sum(0), 0, "every add was matched");
    }
}

/// `swapoff/<strategy>`: one swapoff+swapon cycle with idle registered readers.
struct Swapoff<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    cfg: &'a TableConfig,
    idle: usize,
}

impl Visitor for Swapoff<'_, '_> {
    type Output = ();
    fn visit<S: Strategy>(self) {
        if !S::CHURN {
            return eprintln!("swapoff/{}: skipped: strategy refuses swapoff", S::NAME);
        }
        let t = match table::<S>(self.cfg) {
            Ok(t) => t,
            Err(e) => return eprintln!("swapoff/{}: skipped: {e}", S::NAME),
        };
        // Registered (RCU records, hazard pointers) but never inside a read-side section: the
        // writer scans them without waiting on any.
        // Under qsbr they are offline, as idle reader threads are (they would be blocked).
        let mut idle: Vec<S::Reader> = (0..self.idle).map(|_| t.reader()).collect();
        let group = &mut *self.group;
        offline_all::<S, _>(&mut idle, || {
            group.bench_function(S::NAME, |b| {
                b.iter(|| {
                    t.swapoff(ENTRY.ty).expect("device 0 is on");
                    t.swapon(ENTRY.ty, black_box(PAGES))
                        .expect("device 0 is off")
                })
            })
        });
        drop(idle);
    }
}

fn swapoff(c: &mut Criterion) {
    let cfg = table_config();
    let idle = env_usize("SWAPREF_BENCH_IDLE_READERS", 4);
    let mut group = c.benchmark_group("swapoff");
    for i in strategy::ALL {
        strategy::visit(
            i.name,
            cfg.strategy.kinds(),
            Swapoff {
                group: &mut group,
                cfg: &cfg,
                idle,
            },
        )
        .expect("names in ALL are registered");
    }
    group.finish();
}

/// `churn/<strategy>/<readers>`.
struct Churn<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    cfg: &'a TableConfig,
    readers: &'a [usize],
    period: Duration,
}

impl Visitor for Churn<'_, '_> {
    type Output = ();
    fn visit<S: Strategy>(self) {
        if !S::CHURN {
            return eprintln!("churn/{}: skipped: strategy refuses swapoff", S::NAME);
        }
        for &n in self.readers {
            let pool_cfg = PoolConfig::for_readers(n);
            let t = match table::<S>(self.cfg) {
                Ok(t) => Arc::new(t),
                Err(e) => return eprintln!("churn/{}: skipped: {e}", S::NAME),
            };
            let mut pool = match ReaderPool::new(t, pool_cfg.clone()) {
                Ok(p) => p,
                Err(e) => return eprintln!("churn/{}/{n}: skipped: {e}", S::NAME),
            };
            if let Err(e) = pool.start_swapper(pool_cfg.swapper(self.period)) {
                return eprintln!("churn/{}/{n}: skipped: {e}", S::NAME);
            }
            // One iteration = one lookup by each of the n readers.
            self.group.throughput(Throughput::Elements(n as u64));
            self.group
                .bench_function(BenchmarkId::new(S::NAME, n), |b| {
                    b.iter_custom(|iters| pool.run_exact(iters))
                });
            if let Err(e) = pool.stop_swapper() {
                panic!("churn/{}/{n}: the swapper failed: {e}", S::NAME);
            }
        }
    }
}

fn churn(c: &mut Criterion) {
    let cfg = table_config();
    let cpus = swapref::measure::topology::allowed_cpus().len().max(1);
    let readers: Vec<usize> = match std::env::var("SWAPREF_BENCH_READERS") {
        Err(_) => {
            let mut v = vec![1, cpus];
            v.dedup();
            v
        }
        Ok(s) => s
            .split(',')
            .map(|x| match x.trim().parse() {
                Ok(n) if n > 0 => n,
                _ => panic!("SWAPREF_BENCH_READERS={s}: expected positive integers, e.g. 1,2,4"),
            })
            .collect(),
    };
    let period = Duration::from_micros(env_usize("SWAPREF_BENCH_PERIOD_US", 1000) as u64);
    let mut group = c.benchmark_group("churn");
    for i in strategy::ALL {
        strategy::visit(
            i.name,
            cfg.strategy.kinds(),
            Churn {
                group: &mut group,
                cfg: &cfg,
                readers: &readers,
                period,
            },
        )
        .expect("names in ALL are registered");
    }
    group.finish();
}

fn cache_misses(_: &mut Criterion) {
    let m = match CacheMisses::open() {
        Ok(m) => m,
        Err(why) => return eprintln!("cache_misses: group skipped: {why}"),
    };
    let mut c = Criterion::default()
        .with_measurement(m)
        .configure_from_args();
    let cfg = table_config();
    let mut group = c.benchmark_group("cache_misses");
    for i in strategy::ALL {
        strategy::visit(
            i.name,
            cfg.strategy.kinds(),
            GetPut {
                group: &mut group,
                cfg: &cfg,
            },
        )
        .expect("names in ALL are registered");
    }
    group.finish();
}

fn announce(_: &mut Criterion) {
    let cfg = table_config();
    let flavor = match cfg.strategy.rcu {
        Some(f) => f.name().to_string(),
        None => swapref::strategy::auto_flavor().1.clone(),
    };
    eprintln!("swapref benches: RCU flavour {flavor}; SWAPREF_RCU=qsbr|membarrier|fence pins it");
    let percpu = match cfg.strategy.percpu {
        Some(k) => k.name().to_string(),
        None => swapref::strategy::auto_percpu().1.clone(),
    };
    eprintln!("swapref benches: percpu counters {percpu}; SWAPREF_PERCPU=cpu|cid|thread pins it");
    record_provenance(&flavor, &percpu);
    // criterion's HTML report draws with plotters, which (with the ab_glyph text layout this
    // package's figures use) knows only registered fonts.
    if let Err(e) = swapref::report::plot::fonts() {
        eprintln!("swapref benches: {e}: criterion's HTML report will lack its figures");
    }
}

/// Write what produced this `cargo bench` run (commit, toolchain, machine, RCU flavour, start
/// time) to `<criterion dir>/swapref-run.json`, where `scripts/bench_ratio.py` prints it
/// beside the estimates: criterion's own files do not say which code they measured.
fn record_provenance(flavor: &str, percpu: &str) {
    use swapref::measure::{env, topology};
    let dir = std::env::var_os("CRITERION_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into()),
            )
            .join("criterion")
        });
    let doc = serde_json::json!({
        "started": env::rfc3339(std::time::SystemTime::now()),
        "tool": env::tool(),
        "environment": env::environment(None, topology::allowed_cpus()),
        "rcu_flavor": flavor,
        "percpu": percpu,
    });
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        swapref::results::write_atomic(
            &dir.join("swapref-run.json"),
            &serde_json::to_vec_pretty(&doc).expect("plain JSON values"),
        )
    });
    if let Err(e) = written {
        eprintln!(
            "swapref benches: cannot record provenance in {}: {e}",
            dir.display()
        );
    }
}

/// `peers/*`: see the module docs.
fn peers(c: &mut Criterion) {
    use arc_swap::ArcSwapOption;
    let mut group = c.benchmark_group("peers");
    let bytes = ArcSwapOption::from_pointee(vec![7u8; PAGES]);
    group.bench_function("arc-swap-load", |b| {
        b.iter(|| drop(black_box(&bytes).load()))
    });
    group.bench_function("arc-swap-bytes", |b| {
        b.iter(|| {
            black_box(&bytes)
                .load()
                .as_ref()
                .map(|v| v[black_box(ENTRY.offset)])
        })
    });
    let map = ArcSwapOption::from_pointee(SwapMap::new(1, PAGES));
    group.bench_function("arc-swap-map", |b| {
        b.iter(|| {
            black_box(&map)
                .load()
                .as_ref()
                .map(|m| m.read(black_box(ENTRY.offset)))
        })
    });
    let hp_bytes = haphazard::AtomicPtr::from(Box::new(vec![7u8; PAGES]));
    let mut hp = haphazard::HazardPointer::new();
    group.bench_function("haphazard-bytes", |b| {
        b.iter(|| {
            // SAFETY: (load) the hazard pointer and the value are of the same domain (both
            // `Global`, the default), and the value is never retired while this runs.
            let v =
                unsafe { black_box(&hp_bytes).load(&mut hp) }.map(|v| v[black_box(ENTRY.offset)]);
            hp.reset_protection();
            v
        })
    });
    let cfg = table_config();
    for (label, name) in [
        ("strategy-arc-swap", "arc-swap"),
        ("strategy-hazard", "hazard"),
    ] {
        strategy::visit(
            name,
            cfg.strategy.kinds(),
            Peer {
                group: &mut group,
                cfg: &cfg,
                label,
            },
        )
        .expect("a registered strategy");
    }
    group.finish();
    // `hp_bytes` is never retired: haphazard's AtomicPtr leaks its value on drop, a few bytes
    // once per bench run.
}

/// `peers/strategy-<name>`: the `get_put` loop under another label, in the `peers` group.
struct Peer<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    cfg: &'a TableConfig,
    label: &'static str,
}

impl Visitor for Peer<'_, '_> {
    type Output = ();
    fn visit<S: Strategy>(self) {
        let t = table::<S>(self.cfg).expect("strategy set-up");
        let mut r = t.reader();
        self.group.bench_function(self.label, |b| {
            b.iter(|| lookup(black_box(&t), &mut r, black_box(ENTRY)))
        });
    }
}

criterion_group!(
    benches,
    announce,
    get_put,
    swapoff,
    churn,
    cache_misses,
    peers
);
criterion_main!(benches);
