//! Instructions per (strategy, op, RCU flavour) under callgrind, with gungraun: what the CI gate
//! compares with the committed baselines (`results/icount/`).
//!
//! One group per RCU flavour (`fence`, `qsbr`, `membarrier`), in each a `lookup_<flavour>`
//! function (1000 × get_swap_device + read one byte + put, one reader, no churn) and a
//! `cycle_<flavour>` function (100 × swapoff + swapon, one idle registered reader), with one
//! bench per strategy, its id the strategy's module name. All generated from the registry
//! ([`swapref::for_each_strategy!`]); what each bench does is [`swapref::icount::Case`].
//!
//! The `cycle` functions leave out:
//! - the strategies of the registry's `percpu` kind: `percpu_ref_kill` hands the switch to
//!   atomic mode to the `call_rcu` worker thread, and valgrind serialises threads, so what the
//!   measured thread executes depends on how valgrind interleaves the two (it differed between
//!   identical runs);
//! - `unprotected`, which has no swapoff.
//!
//! A bench fails with that reason instead of counting when its set-up leaves a second thread
//! running, or when the library starts a thread during the counted ops (a new strategy whose
//! swapoff hands work to a thread).
//!
//! ```sh
//! cargo bench --bench icount                           # every bench, compared with the last run
//! cargo bench --bench icount -- 'icount::qsbr::*'      # one flavour
//! scripts/icount.sh check                              # the CI gate: against results/icount/
//! ```
use gungraun::prelude::*;
use gungraun::{Callgrind, EventKind};
use swapref::icount::{Case, INJECT_ENV, Op};
use swapref::rcu::FlavorKind as Flavor;

/// Iterations per bench: enough that the few dozen instructions of the call itself are below
/// the regression limit's resolution (2 % of 1000 × ~30).
fn iters(op: Op) -> u64 {
    match op {
        Op::Lookup => 1000,
        Op::Cycle => 100,
    }
}

/// The set-up gungraun runs before each bench, outside its count.
fn setup(module: &str, op: Op, flavor: Flavor) -> Case {
    let case = Case::from_env(module, op, flavor, iters(op)).unwrap_or_else(|e| panic!("{e}"));
    let threads = swapref::icount::threads();
    assert!(
        threads == 1,
        "{module} {op}: {threads} threads after the warm-up. {THREAD_STARTED}"
    );
    case
}

const THREAD_STARTED: &str = "valgrind serialises threads, so a count with a second thread \
    depends on its scheduling: leave this op of this strategy out of the benches (the registry \
    kinds and modules single_thread_swapoff! drops in benches/icount.rs)";

macro_rules! bench_fn {
    ($fn:ident, $op:ident, $flavor:ident; $($module:ident)*) => {
        #[library_benchmark]
        $(#[bench::$module(setup(stringify!($module), Op::$op, Flavor::$flavor))])*
        fn $fn(mut case: Case) -> Case {
            std::hint::black_box(case.run());
            // Inside the count, at a constant few instructions: a thread started during the
            // run would make the count depend on valgrind's scheduling.
            assert!(!case.started_a_thread(), "{}", THREAD_STARTED);
            // Returned, so that its drop (the table's teardown) is not counted.
            case
        }
    };
}

/// The registry's lines whose swapoff is a single-thread path (see the module docs), as
/// `$callback!(<args> ; <modules>)`.
macro_rules! single_thread_swapoff {
    ($cb:ident!($($args:tt)*) [$($keep:ident)*]) => {
        $cb!($($args)*; $($keep)*);
    };
    ($cb:ident!($($args:tt)*) [$($keep:ident)*] percpu $m:ident $t:ident, $($rest:tt)*) => {
        single_thread_swapoff!($cb!($($args)*) [$($keep)*] $($rest)*);
    };
    ($cb:ident!($($args:tt)*) [$($keep:ident)*] $k:ident unprotected $t:ident, $($rest:tt)*) => {
        single_thread_swapoff!($cb!($($args)*) [$($keep)*] $($rest)*);
    };
    ($cb:ident!($($args:tt)*) [$($keep:ident)*] $k:ident $m:ident $t:ident, $($rest:tt)*) => {
        single_thread_swapoff!($cb!($($args)*) [$($keep)* $m] $($rest)*);
    };
}

macro_rules! icount_benches {
    ($krate:tt; $($kind:ident $module:ident $ty:ident),* $(,)?) => {
        bench_fn!(lookup_fence, Lookup, Fence; $($module)*);
        bench_fn!(lookup_qsbr, Lookup, Qsbr; $($module)*);
        bench_fn!(lookup_membarrier, Lookup, Membarrier; $($module)*);
        single_thread_swapoff!(bench_fn!(cycle_fence, Cycle, Fence) [] $($kind $module $ty,)*);
        single_thread_swapoff!(bench_fn!(cycle_qsbr, Cycle, Qsbr) [] $($kind $module $ty,)*);
        single_thread_swapoff!(
            bench_fn!(cycle_membarrier, Cycle, Membarrier) [] $($kind $module $ty,)*
        );
    };
}
swapref::for_each_strategy!(icount_benches);

library_benchmark_group!(name = fence, benchmarks = [lookup_fence, cycle_fence]);
library_benchmark_group!(name = qsbr, benchmarks = [lookup_qsbr, cycle_qsbr]);
library_benchmark_group!(
    name = membarrier,
    benchmarks = [lookup_membarrier, cycle_membarrier]
);

main!(
    config = LibraryBenchmarkConfig::default()
        // The negative control's injected regression (`scripts/icount.sh`).
        .pass_through_env(INJECT_ENV)
        // The gate: an instruction count more than 2 % above its baseline fails the run.
        .tool(Callgrind::default().soft_limits([(EventKind::Ir, 2.0)]));
    library_benchmark_groups = fence, qsbr, membarrier
);
