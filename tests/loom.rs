//! Model checks of `percpu_ref` over the userspace RCU, and of the zoned counts (`rcuref`,
//! `file_ref`), with loom.
//!
//! Run (release: loom explores thousands of executions per model):
//!
//! ```sh
//! CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg loom" cargo test --release --test loom
//! ```
//!
//! Each model sets a default preemption bound (see [`builder`]); `LOOM_MAX_PREEMPTIONS=N`
//! overrides it for every model. `3` is a deeper run: all models but `kill_races_*` passed at
//! 3 in under 4 minutes on the 2-core dev VM; `kill_races_*` at 3 did not finish in 10. `1` is
//! a quick one (about a second), in which the switch-to-atomic models fail their coverage
//! check on purpose (no execution overlaps the reader with the switch, so a pass would be
//! empty); with `0` a reader never runs while the ref is live and most models fail that way.
//!
//! # What is modelled
//!
//! Everything in `percpu_ref` and `rcu` runs as written, on loom's atomics, mutexes, condvars
//! and threads (via `src/sync.rs`), except these things, all under `cfg(loom)`:
//!
//! - The grace period's barriers. Loom models `fence(SeqCst)` only in part, so under loom the
//!   RCU has no fences: every store of a reader's `ctr` (section entry and exit, quiescent
//!   state, online, offline) is an RMW (`swap(_, AcqRel)`), the writer's scan reads `ctr` with
//!   an `AcqRel` `fetch_add(0)`, and `gp` is advanced `AcqRel` (the switches are in
//!   `src/sync.rs`). The grace-period driver yields instead of parking. Two RMWs on one location are
//!   totally ordered and the later reads from the earlier, which gives the same "either the
//!   writer's scan sees the reader's `ctr`, or the reader's section sees everything before the
//!   writer's scan" guarantee as the store-buffering pair of `SeqCst` fences (Fence flavour) or
//!   `membarrier` (Membarrier flavour). So these models check `percpu_ref`'s logic and orderings
//!   **given** a correct grace period; they do not check the fence or membarrier argument of
//!   `rcu` itself. The Fence flavour is exercised under Miri (`cargo +nightly miri test
//!   --lib`); the Membarrier flavour rests on membarrier(2)'s documented semantics, which no
//!   Rust checker models. (The exit is an RMW only so that loom cannot livelock the scan: with a
//!   plain store, loom's RMWs may keep reading the scan's own earlier write forever.)
//! - `Rcu::call` spawns the callback worker as a loom thread when none is running, and the
//!   worker exits as soon as the queue is empty (no idle timeout), so a kill can cost a thread;
//!   loom allows 5 threads per execution, the main one included.
//! - `PERCPU_SLOTS` is 2.
//! - `sync::load_own` (loads of an atomic only the caller writes) is loom's `unsync_load`,
//!   which loom checks (a concurrent store is a causality violation). It is not there for the
//!   check: loom 0.7.3's partial-order reduction keeps one "last access" per object, so a plain
//!   load just before the caller's own store would hide the race between that store and other
//!   threads' earlier loads (tokio-rs/loom#392, #166). Before `load_own`, no execution of the
//!   swapon model let the reader see the ref live.
//!
//! That reduction can still skip interleavings elsewhere (an object loaded by two threads
//! before a third stores it), which is one more reason every model counts, across executions,
//! the events that make it meaningful and fails if one never happened; `--nocapture` prints the
//! counts.
//!
//! The percpu_ref models (1-6) use the `membarrier` read side (sections); 7 and 8 check the
//! `qsbr` protocol and the sharing of grace periods between callers; 9 checks `swapref::zoned`
//! (rcuref's and file_ref's get racing the last put, dead zone and revival at NOREF included,
//! with a relaxed put as negative control). The zone boundaries that need 2^31 references
//! (saturation) are unit-tested from raw values in `src/zoned.rs` instead.
//!
//! The last model checks `percpu_ref` with per-CPU counters **given rseq's guarantee**, which
//! loom cannot run: `percpu_ref::ModelCpu` makes each CPU a mutex that a section holds from its
//! mode load to its commit and that the kill's membarrier takes and releases once per CPU (the
//! section either committed before the membarrier visited its CPU, or restarts after it and
//! reads the new mode). Its negative control removes the membarrier's visits and must deadlock
//! (a section committed after the sum, so the release never comes). Whether the real assembly
//! keeps that guarantee is `tests/rseq_stress.rs`'s question.
//!
//! What the models do not cover: more than three user threads, reader records handed over
//! between threads (unregister/register), slot reuse by a second ref, `switch_to_percpu`
//! without a kill, and preemption depths beyond the bound each model names.
//!
//! Loom also checks, in every execution, that every `loom::sync::Arc` (the ref's shared data,
//! the RCU domain, the callbacks' captures) is dropped by the end: nothing leaks.

#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering::*};
use loom::sync::{Arc, Mutex};
use loom::thread;
use std::sync::atomic::{AtomicUsize as StdUsize, Ordering::Relaxed as StdRelaxed};
use swapref::completion::Completion;
use swapref::percpu_ref::Init;
use swapref::rcu::{Memb, Qsbr};

/// The percpu_ref models run over the PREEMPT_RCU-like read side (sections as RMWs under
/// loom); the qsbr models below name their flavour.
type Rcu = swapref::rcu::Rcu<Memb>;
type RcuReader = swapref::rcu::RcuReader<Memb>;
type PercpuRef = swapref::percpu_ref::PercpuRef<Memb>;

/// A model builder with `preemptions` as the default bound; `LOOM_MAX_PREEMPTIONS` overrides it.
fn builder(preemptions: usize) -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(preemptions);
    }
    // A kill runs a whole grace period (scan loops included) on the callback thread.
    if std::env::var("LOOM_MAX_BRANCHES").is_err() {
        b.max_branches = 100_000;
    }
    b
}

/// Tallies kept outside the model (std atomics outlive each execution): how many executions
/// ran, and in how many each named event happened. [`Tally::require_all`] asserts that every
/// event happened at least once, so that a passing model is not an empty one.
struct Tally {
    model: String,
    runs: StdUsize,
    events: Vec<(&'static str, StdUsize)>,
}

impl Tally {
    fn new(model: impl Into<String>, events: &[&'static str]) -> std::sync::Arc<Tally> {
        std::sync::Arc::new(Tally {
            model: model.into(),
            runs: StdUsize::new(0),
            events: events.iter().map(|e| (*e, StdUsize::new(0))).collect(),
        })
    }

    fn run(&self) {
        self.runs.fetch_add(1, StdRelaxed);
    }

    fn hit(&self, event: usize) {
        self.events[event].1.fetch_add(1, StdRelaxed);
    }

    /// Print the tallies (visible with `--nocapture`) and require every event.
    fn require_all(&self) {
        let runs = self.runs.load(StdRelaxed);
        let mut line = format!("loom model {}: {runs} executions", self.model);
        for (name, n) in &self.events {
            line += &format!("; {name}: {}", n.load(StdRelaxed));
        }
        eprintln!("{line}");
        for (name, n) in &self.events {
            assert!(
                n.load(StdRelaxed) > 0,
                "{}: '{name}' never happened in {runs} executions; \
                 the model proved nothing about it",
                self.model
            );
        }
    }
}

/// Join a model thread and fail with what it found. Threads other than the main one report
/// violations by returning them instead of panicking: under loom a panicking thread leaves the
/// others waiting (for a release, a completion), and loom then reports a deadlock instead of
/// the violation.
fn join(h: thread::JoinHandle<Result<(), String>>) {
    match h.join() {
        Ok(Ok(())) => {}
        Ok(Err(why)) => panic!("{why}"),
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// The three live checks of the thread.
#[derive(Clone, Copy, Debug)]
enum Live {
    Relaxed,
    Acquire,
    Fence,
}

impl Live {
    fn tryget(self, users: &PercpuRef, r: &RcuReader) -> bool {
        match self {
            Live::Relaxed => users.tryget_live_relaxed(r),
            Live::Acquire => users.tryget_live_acquire(r),
            Live::Fence => users.tryget_live_fence(r),
        }
    }
}

/// What a ref's release callback leaves behind: how many times it ran, what its checks found,
/// and the completion it completes (swap's `swap_users_ref_free` completing `si->comp`).
struct Released {
    count: Arc<AtomicUsize>,
    errors: Arc<Mutex<Vec<String>>>,
    comp: Arc<Completion>,
}

impl Released {
    /// Wait for the release (`wait_for_completion`), then fail on anything its checks found.
    fn wait(&self) {
        self.comp.wait();
        let errors = self.errors.lock().unwrap();
        assert!(errors.is_empty(), "release callback: {}", errors.join("; "));
    }

    fn count(&self) -> usize {
        // Relaxed: read after `comp` was seen complete, whose mutex orders the increment.
        self.count.load(Relaxed)
    }
}

/// A ref whose release callback counts itself and runs `check(n)` with its own 1-based number
/// `n`. What `check` reports is handed to the thread that waits (a panic in the callback would
/// leave that thread waiting forever, reported by loom as a deadlock).
fn new_ref(
    rcu: &Rcu,
    flags: Init,
    check: impl Fn(usize) -> Result<(), String> + Send + Sync + 'static,
) -> (Arc<PercpuRef>, Released) {
    let count = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let comp = Arc::new(Completion::new());
    let (c, e, k) = (count.clone(), errors.clone(), comp.clone());
    let users = PercpuRef::new(
        rcu,
        move || {
            // Relaxed: an RMW, so two releases always see each other's increment.
            let n = c.fetch_add(1, Relaxed) + 1;
            if let Err(why) = check(n) {
                e.lock().unwrap().push(why);
            }
            k.complete();
        },
        flags,
    )
    .expect("a fresh domain has free slots");
    (
        Arc::new(users),
        Released {
            count,
            errors,
            comp,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// 1. swapon-style message passing through resurrect → tryget_live
// ---------------------------------------------------------------------------------------------

/// swapon: the writer sets up a field of the device (a `Relaxed` store), then resurrects the
/// `INIT_DEAD` ref; the reader takes the ref with `live` and, on success, reads the field.
/// Property: a reader that got the ref reads the set-up value. Also asserts that some
/// execution really got the ref, so a pass is not empty.
fn swapon_publishes_setup(live: Live) {
    let tally = Tally::new(format!("swapon/{live:?}"), &["the reader got the ref"]);
    let t = tally.clone();
    builder(3).check(move || {
        t.run();
        let rcu = Rcu::new();
        let (users, _released) = new_ref(&rcu, Init::DEAD, |_| Ok(()));
        let field = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (users, field) = (users.clone(), field.clone());
            thread::spawn(move || {
                // Relaxed: the set-up is published by resurrect (what is under test).
                field.store(1, Relaxed);
                users.resurrect().unwrap();
                Ok(())
            })
        };
        let reader = rcu.register();
        if live.tryget(&users, &reader) {
            t.hit(0);
            // Relaxed: any ordering must come from the live check.
            let v = field.load(Relaxed);
            users.put(&reader);
            assert_eq!(
                v, 1,
                "stale field: {live:?} reader saw the ref live but not the set-up"
            );
        }
        join(writer);
        assert_eq!(users.underflows(), 0);
    });
    tally.require_all();
}

/// Negative control: the kernel's `percpu_ref_tryget_live` (a `READ_ONCE`, here `Relaxed`)
/// does not order the reader's later reads, so loom finds an execution where the reader sees
/// the ref live and the field not yet set up.
#[test]
#[should_panic(expected = "stale field")]
fn swapon_relaxed_reader_sees_stale_field() {
    swapon_publishes_setup(Live::Relaxed);
}

/// `tryget_live_acquire` (`percpu-acquire`): the reader always sees the set-up.
#[test]
fn swapon_acquire_reader_sees_setup() {
    swapon_publishes_setup(Live::Acquire);
}

/// `tryget_live_fence` (`percpu-fence`, `smp_rmb()` after the check): the reader always sees
/// the set-up.
#[test]
fn swapon_fence_reader_sees_setup() {
    swapon_publishes_setup(Live::Fence);
}

// ---------------------------------------------------------------------------------------------
// 2. kill racing tryget_live / get / put
// ---------------------------------------------------------------------------------------------

/// A reader's reference, as the release callback should find it.
const NONE: usize = 0;
const HOLDING: usize = 1;
const PUT: usize = 2;

/// swapoff's `percpu_ref_kill` races two readers of a live ref in percpu mode: reader A does
/// `tryget_live` + put (the kernel's relaxed check: what is checked here needs no ordering from
/// the live check, so the weakest variant covers the other two); reader B was handed a
/// reference and does get + put + put. Properties:
///
/// - the release runs exactly once (the main thread waits for it; a second run is reported
///   by the callback), and only after the last put: the callback finds neither reader holding
///   a reference, reading marks the readers wrote just before their puts, which only the
///   put → release ordering can make visible;
/// - the count never underflows (`underflows() == 0`) and ends at zero;
/// - no `tryget_live` succeeds once the kill is confirmed: reader A reads the flag set by the
///   confirm callback before trying, and must fail if it saw it.
#[test]
fn kill_races_tryget_live_get_and_put() {
    const A_GOT: usize = 0;
    const A_FAILED_BEFORE_CONFIRM_SEEN: usize = 1;
    const A_SAW_CONFIRM: usize = 2;
    let tally = Tally::new(
        "kill-races",
        &[
            "reader A got the ref",
            "reader A failed without having seen the confirmation",
            "reader A saw the confirmation (and failed)",
        ],
    );
    let t = tally.clone();
    builder(2).check(move || {
        t.run();
        let rcu = Rcu::new();
        let a_state = Arc::new(AtomicUsize::new(NONE));
        let b_state = Arc::new(AtomicUsize::new(HOLDING));
        let (users, released) = {
            let (a_state, b_state) = (a_state.clone(), b_state.clone());
            new_ref(&rcu, Init::LIVE, move |n| {
                // Relaxed: only the put → release ordering under test can make these loads see
                // the readers' marks; a release that is early or unordered may read HOLDING.
                let (a, b) = (a_state.load(Relaxed), b_state.load(Relaxed));
                if n != 1 {
                    Err(format!("released {n} times"))
                } else if a == HOLDING {
                    Err("released before reader A's put".into())
                } else if b != PUT {
                    Err("released before reader B's last put".into())
                } else {
                    Ok(())
                }
            })
        };
        let confirmed = Arc::new(AtomicUsize::new(0));
        // The main thread takes the reference it hands to reader B (percpu mode: its own slot).
        let main_reader = rcu.register();
        users.get(&main_reader);
        let a = {
            let (rcu, users, confirmed, a_state, t) = (
                rcu.clone(),
                users.clone(),
                confirmed.clone(),
                a_state.clone(),
                t.clone(),
            );
            thread::spawn(move || {
                let r = rcu.register();
                // Acquire: pairs with the Release store in the confirm callback.
                let saw_confirm = confirmed.load(Acquire) == 1;
                if users.tryget_live_relaxed(&r) {
                    t.hit(A_GOT);
                    // Relaxed: published to the release callback by the put (under test).
                    a_state.store(HOLDING, Relaxed);
                    a_state.store(PUT, Relaxed);
                    users.put(&r);
                    if saw_confirm {
                        return Err("tryget_live succeeded after the kill was confirmed".into());
                    }
                } else if saw_confirm {
                    t.hit(A_SAW_CONFIRM);
                } else {
                    t.hit(A_FAILED_BEFORE_CONFIRM_SEEN);
                }
                Ok(())
            })
        };
        let b = {
            let (rcu, users, b_state) = (rcu.clone(), users.clone(), b_state.clone());
            thread::spawn(move || {
                let r = rcu.register();
                users.get(&r);
                users.put(&r);
                // Relaxed: published to the release callback by the put (under test).
                b_state.store(PUT, Relaxed);
                users.put(&r);
                Ok(())
            })
        };
        let c = confirmed.clone();
        users
            .kill_and_confirm(move || {
                // Release: pairs with reader A's Acquire load.
                c.store(1, Release);
            })
            .unwrap();
        released.wait();
        join(a);
        join(b);
        assert_eq!(released.count(), 1);
        assert_eq!(users.underflows(), 0, "the count went below zero");
        assert!(users.is_zero());
    });
    tally.require_all();
}

// ---------------------------------------------------------------------------------------------
// 3. resurrect after release, then a second kill cycle
// ---------------------------------------------------------------------------------------------

/// Two swapoff/swapon cycles on one ref, the swap case the thread is about: `INIT_DEAD`,
/// resurrect, kill, wait for the release, tear the device down (field = 0), set it up again
/// (field = 2), resurrect — "0 → live" on the same object — kill, wait for the release. A
/// reader does `live` + read the field + put once, anywhere in that history. Properties:
///
/// - the release runs once per cycle, the second only after the resurrect (counts 1 then 2),
///   the count never underflows and ends at zero, and the ref ends dead;
/// - a reader that got the ref never reads the torn-down field: not before the first release
///   (the put → release ordering) and not after the second resurrect (the live check's
///   ordering: the relaxed check fails here, the negative control below).
///
/// Also asserts that executions had the reader get the ref in each cycle.
fn two_cycles(live: Live) {
    const GOT_FIRST: usize = 0;
    const GOT_SECOND: usize = 1;
    let tally = Tally::new(
        format!("two-cycles/{live:?}"),
        &[
            "the reader got the ref in cycle 1",
            "the reader got the ref in cycle 2",
        ],
    );
    let t = tally.clone();
    builder(2).check(move || {
        t.run();
        let rcu = Rcu::new();
        // Set up before the first swapon (and before the reader exists).
        let field = Arc::new(AtomicUsize::new(1));
        let (users, released) = new_ref(&rcu, Init::DEAD, |_| Ok(()));
        let reader = {
            let (rcu, users, field, t) = (rcu.clone(), users.clone(), field.clone(), t.clone());
            thread::spawn(move || {
                let r = rcu.register();
                if live.tryget(&users, &r) {
                    // Relaxed: any ordering must come from the live check (or the put).
                    let v = field.load(Relaxed);
                    users.put(&r);
                    if v == 0 {
                        return Err(format!(
                            "stale field: {live:?} reader got the ref but read the torn-down device"
                        ));
                    }
                    t.hit(if v == 1 { GOT_FIRST } else { GOT_SECOND });
                }
                Ok(())
            })
        };
        users.resurrect().unwrap();
        users.kill().unwrap();
        released.wait();
        released.comp.reinit();
        assert_eq!(released.count(), 1);
        // swapoff's teardown, then swapon's set-up, on the same object. Relaxed: the put →
        // release ordering protects the teardown, the live check's ordering the set-up.
        field.store(0, Relaxed);
        field.store(2, Relaxed);
        users.resurrect().unwrap();
        users.kill().unwrap();
        released.wait();
        join(reader);
        assert_eq!(released.count(), 2);
        assert_eq!(users.underflows(), 0, "the count went below zero");
        assert!(users.is_zero());
        assert!(users.is_dying());
    });
    tally.require_all();
}

/// Negative control: the relaxed live check lets the reader of the second cycle see the ref
/// live and still read the device as torn down ("0 → live").
#[test]
#[should_panic(expected = "stale field")]
fn two_cycles_relaxed_reader_sees_torn_down_field() {
    two_cycles(Live::Relaxed);
}

/// Two cycles with `tryget_live_acquire`.
#[test]
fn two_cycles_acquire() {
    two_cycles(Live::Acquire);
}

/// Two cycles with `tryget_live_fence`.
#[test]
fn two_cycles_fence() {
    two_cycles(Live::Fence);
}

// ---------------------------------------------------------------------------------------------
// 4. a later switch to atomic mode keeps the set-up published
// ---------------------------------------------------------------------------------------------

/// swapon, then `percpu_ref_switch_to_atomic` on the live ref (not something swap does, but the
/// API allows it). A reader that sees the ref live may read the mode word the switch wrote,
/// not the one resurrect wrote; the set-up must still be visible to it.
fn switch_to_atomic_keeps_setup_published(live: Live) {
    let tally = Tally::new(
        format!("switch-to-atomic/{live:?}"),
        &[
            "the reader got the ref",
            "the reader then read the count as folded by the switch",
        ],
    );
    let t = tally.clone();
    builder(3).check(move || {
        t.run();
        let rcu = Rcu::new();
        let (users, _released) = new_ref(&rcu, Init::DEAD, |_| Ok(()));
        let field = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (users, field) = (users.clone(), field.clone());
            thread::spawn(move || {
                // Relaxed: published by resurrect (under test).
                field.store(1, Relaxed);
                users.resurrect().unwrap();
                users.switch_to_atomic(|| {});
                Ok(())
            })
        };
        let reader = rcu.register();
        if live.tryget(&users, &reader) {
            t.hit(0);
            // Relaxed: any ordering must come from the live check.
            let v = field.load(Relaxed);
            // The reader overlapped the switch: the bias is gone only after its grace period.
            if users.atomic_count() < swapref::percpu_ref::PERCPU_COUNT_BIAS {
                t.hit(1);
            }
            users.put(&reader);
            assert_eq!(v, 1, "stale field after switch_to_atomic ({live:?} reader)");
        }
        join(writer);
    });
    tally.require_all();
}

/// `switch_to_atomic` after resurrect, `tryget_live_acquire` reader.
#[test]
fn switch_to_atomic_after_resurrect_acquire() {
    switch_to_atomic_keeps_setup_published(Live::Acquire);
}

/// `switch_to_atomic` after resurrect, `tryget_live_fence` reader.
#[test]
fn switch_to_atomic_after_resurrect_fence() {
    switch_to_atomic_keeps_setup_published(Live::Fence);
}

// ---------------------------------------------------------------------------------------------
// 5. a put is never lost to a stale read of the count
// ---------------------------------------------------------------------------------------------

/// `percpu_ref_tryget` (not a live check: it reads the mode `Relaxed` and orders nothing)
/// racing swapon and swapoff: resurrect, kill, wait for the release. A reader that got a
/// reference must have its put counted, whatever mode each of its two operations saw, so that
/// the release comes and swapoff's wait returns (loom reports a lost put as a deadlock of the
/// waiting main thread), with no underflow reported.
#[test]
fn tryget_then_put_across_a_kill_is_never_lost() {
    let tally = Tally::new(
        "tryget-put-across-kill",
        &[
            "the reader got a reference",
            "its put went to the atomic count",
        ],
    );
    let t = tally.clone();
    builder(2).check(move || {
        t.run();
        let rcu = Rcu::new();
        let (users, released) = new_ref(&rcu, Init::DEAD, |n| {
            if n == 1 {
                Ok(())
            } else {
                Err(format!("released {n} times"))
            }
        });
        let reader = {
            let (rcu, users, t) = (rcu.clone(), users.clone(), t.clone());
            thread::spawn(move || {
                let r = rcu.register();
                if users.tryget(&r) {
                    t.hit(0);
                    if users.is_dying() {
                        t.hit(1);
                    }
                    users.put(&r);
                }
                Ok(())
            })
        };
        users.resurrect().unwrap();
        users.kill().unwrap();
        released.wait();
        join(reader);
        assert_eq!(released.count(), 1);
        assert_eq!(users.underflows(), 0, "a put was refused as an underflow");
        assert!(users.is_zero());
    });
    tally.require_all();
}

// ---------------------------------------------------------------------------------------------
// 6. a grace period does not wait on a reader that is waiting for it
// ---------------------------------------------------------------------------------------------

/// A reader registers another reader (or creates a ref: both take the domain's registry lock)
/// from inside a read-side section while another thread runs a grace period. The grace period
/// must wait for the section, and the section must be able to finish: loom reports a
/// deadlock otherwise.
#[test]
fn registering_inside_a_section_does_not_deadlock_a_grace_period() {
    let tally = Tally::new(
        "register-in-section",
        &["the grace period began while the section was open"],
    );
    let t = tally.clone();
    builder(3).check(move || {
        t.run();
        let rcu = Rcu::new();
        let in_section = Arc::new(AtomicUsize::new(0));
        let reader = {
            let (rcu, in_section) = (rcu.clone(), in_section.clone());
            thread::spawn(move || {
                let r = rcu.register();
                let section = r.read_lock();
                // Relaxed: only counted, below.
                in_section.store(1, Relaxed);
                let other = rcu.register();
                drop(other);
                in_section.store(2, Relaxed);
                drop(section);
                Ok(())
            })
        };
        // Relaxed: a tally of the interleaving, nothing is ordered by it.
        if in_section.load(Relaxed) == 1 {
            t.hit(0);
        }
        rcu.synchronize();
        join(reader);
    });
    tally.require_all();
}

// ---------------------------------------------------------------------------------------------
// 7. qsbr: quiescent states and offline readers
// ---------------------------------------------------------------------------------------------

/// The qsbr lookup pattern: the reader loads the current object, uses it, announces a
/// quiescent state, and does it again; the writer publishes a new object, waits for a grace
/// period, and frees the old one. Property: no use of an object after it was freed, i.e. the
/// grace period waits for an online reader that has not announced, and a reader announcing
/// between two lookups never straddles one. `broken` makes the grace periods return without
/// waiting (the negative control below).
fn qsbr_lookups(broken: bool) {
    let tally = Tally::new(
        format!("qsbr-lookups (broken: {broken})"),
        &[
            "a lookup overlapped the grace period",
            "a lookup saw the new object",
        ],
    );
    let t = tally.clone();
    builder(2).check(move || {
        t.run();
        let rcu = swapref::rcu::Rcu::<Qsbr>::new();
        if broken {
            rcu.break_grace_periods_for_tests();
        }
        // Which object is current (0 or 1), and whether each has been freed.
        let current = Arc::new(AtomicUsize::new(0));
        let freed = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let gp_running = Arc::new(AtomicUsize::new(0));
        // Registered (online) before the writer starts: a grace period must wait for it.
        let mut r = rcu.register();
        let reader = {
            let (current, freed, gp_running, t) = (
                current.clone(),
                freed.clone(),
                gp_running.clone(),
                t.clone(),
            );
            thread::spawn(move || {
                for _ in 0..2 {
                    // Acquire: pairs with the writer's Release publication of the new object.
                    let i = current.load(Acquire);
                    // Relaxed: a tally only.
                    if gp_running.load(Relaxed) == 1 {
                        t.hit(0);
                    }
                    if i == 1 {
                        t.hit(1);
                    }
                    // Relaxed: what orders the free after this use is the grace period.
                    if freed[i].load(Relaxed) != 0 {
                        return Err(format!("object {i} used after it was freed"));
                    }
                    r.quiescent_state();
                }
                drop(r);
                Ok(())
            })
        };
        // Release: publishes object 1 (whose set-up would be here) to the reader's Acquire.
        current.store(1, Release);
        gp_running.store(1, Relaxed);
        rcu.synchronize();
        gp_running.store(2, Relaxed);
        // Relaxed: the grace period must order it after the reader's uses of object 0.
        freed[0].store(1, Relaxed);
        join(reader);
    });
    tally.require_all();
}

#[test]
fn qsbr_grace_period_waits_for_online_readers() {
    qsbr_lookups(false);
}

/// Negative control (the mutation the proof must catch): with grace periods that return
/// without waiting, the model finds a use after free.
#[test]
#[should_panic(expected = "used after it was freed")]
fn qsbr_without_waiting_is_caught() {
    qsbr_lookups(true);
}

/// An offline reader does not hold a grace period up: the reader waits, offline, for
/// something the writer does only after its grace period. Were offline readers waited for,
/// loom would report the deadlock.
#[test]
fn qsbr_offline_readers_are_skipped() {
    builder(3).check(|| {
        let rcu = swapref::rcu::Rcu::<Qsbr>::new();
        let after_gp = Arc::new(Completion::new());
        let mut r = rcu.register();
        let reader = {
            let after_gp = after_gp.clone();
            thread::spawn(move || {
                r.offline(|| after_gp.wait());
                r.quiescent_state();
                drop(r);
                Ok(())
            })
        };
        rcu.synchronize();
        after_gp.complete();
        join(reader);
    });
}

// ---------------------------------------------------------------------------------------------
// 8. shared grace periods
// ---------------------------------------------------------------------------------------------

/// Two `synchronize()` callers and one `call()` callback share grace periods. Property: each
/// returns (the callback runs) only after a grace period that began after it was called: a
/// read-side section that was open when it was called has ended by then.
#[test]
fn shared_grace_periods_each_wait_for_sections_open_when_called() {
    let tally = Tally::new(
        "shared-grace-periods",
        &[
            "a caller found the section open",
            "the callback was queued while the section was open",
        ],
    );
    let t = tally.clone();
    builder(2).check(move || {
        t.run();
        let rcu = Rcu::new();
        // 1: inside the section, 2: left it (set inside, before the section ends).
        let state = Arc::new(AtomicUsize::new(0));
        let reader = {
            let (rcu, state) = (rcu.clone(), state.clone());
            thread::spawn(move || {
                let r = rcu.register();
                let g = r.read_lock();
                // SeqCst: the callers read it to know the section is open; only the grace
                // period may order the `2` before their checks.
                state.store(1, SeqCst);
                state.store(2, Relaxed);
                drop(g);
                Ok(())
            })
        };
        let caller = {
            let (rcu, state, t) = (rcu.clone(), state.clone(), t.clone());
            thread::spawn(move || {
                // SeqCst: see the reader.
                let open = state.load(SeqCst) == 1;
                rcu.synchronize();
                if open {
                    t.hit(0);
                    // Relaxed: the grace period orders the section's store before this.
                    if state.load(Relaxed) != 2 {
                        return Err("synchronize returned before a section open at its call".into());
                    }
                }
                Ok(())
            })
        };
        let cb_err = Arc::new(Mutex::new(None));
        {
            let (state2, cb_err2) = (state.clone(), cb_err.clone());
            // SeqCst: see the reader.
            let open = state.load(SeqCst) == 1;
            if open {
                t.hit(1);
            }
            rcu.call(move || {
                // Relaxed: the grace period orders the section's store before this.
                if open && state2.load(Relaxed) != 2 {
                    *cb_err2.lock().unwrap() =
                        Some("a callback ran before a section open at its call");
                }
            });
        }
        // SeqCst: see the reader.
        let open = state.load(SeqCst) == 1;
        rcu.synchronize();
        if open && state.load(Relaxed) != 2 {
            panic!("synchronize returned before a section open at its call");
        }
        rcu.barrier();
        if let Some(e) = *cb_err.lock().unwrap() {
            panic!("{e}");
        }
        join(reader);
        join(caller);
    });
    tally.require_all();
}

/// `rcu_barrier()`: `barrier` returns only after every callback queued before it has finished
/// running, even one that another thread (a `synchronize` caller that ran the grace period) took
/// from the queue and has not finished: the barrier's own callback may run first, on the
/// barrier's caller or the worker.
/// Before the fix that counts callbacks in flight, an execution where `barrier` returned while
/// the other thread had taken but not yet run the callback failed this model.
#[test]
fn barrier_waits_for_a_callback_another_thread_is_running() {
    let tally = Tally::new(
        "barrier",
        &[
            "the synchronize caller ran the callback",
            "the barrier's caller or the worker ran it",
        ],
    );
    let t = tally.clone();
    builder(2).check(move || {
        t.run();
        let rcu = Rcu::new();
        // 0: queued, 1: running (on whichever thread), 2: finished, +10 if the caller ran it.
        let state = Arc::new(AtomicUsize::new(0));
        let caller = {
            let rcu = rcu.clone();
            thread::spawn(move || {
                rcu.synchronize();
                Ok(())
            })
        };
        {
            let state = state.clone();
            let caller_id = caller.thread().id();
            rcu.call(move || {
                // Relaxed, both: `barrier` must order the callback's end before its return;
                // that is what the model checks.
                state.store(1, Relaxed);
                let by_caller = thread::current().id() == caller_id;
                state.store(if by_caller { 12 } else { 2 }, Relaxed);
            });
        }
        rcu.barrier();
        match state.load(Relaxed) {
            2 => t.hit(1),
            12 => t.hit(0),
            s => panic!("barrier returned before a callback queued before it had finished ({s})"),
        }
        join(caller);
    });
    tally.require_all();
}

// ---- 9. Zoned counts (rcuref, file_ref): get racing the last put ---------------------------

/// What the models need of a zoned count, including the broken put of the negative control.
trait ModelRef: swapref::zoned::Zoned {
    /// get, and whether its add found the count at NOREF (the last put's decrement done, its
    /// compare-and-swap not yet).
    fn get_traced(&self) -> (bool, bool);
    fn put_relaxed(&self) -> bool;
    fn dead_value(&self) -> bool;
}

impl ModelRef for swapref::zoned::RcuRef {
    fn get_traced(&self) -> (bool, bool) {
        let (ok, before) = self.get_traced_for_tests();
        (ok, before == Self::NOREF)
    }
    fn put_relaxed(&self) -> bool {
        self.put_relaxed_for_tests()
    }
    fn dead_value(&self) -> bool {
        self.raw() == Self::DEAD
    }
}

impl ModelRef for swapref::zoned::FileRef {
    fn get_traced(&self) -> (bool, bool) {
        let (ok, before) = self.get_traced_for_tests();
        (ok, before == Self::NOREF)
    }
    fn put_relaxed(&self) -> bool {
        self.put_relaxed_for_tests()
    }
    fn dead_value(&self) -> bool {
        // file_ref's failed gets leave their adds in the dead zone.
        self.raw() >= Self::DEAD
    }
}

/// The object a zoned count guards: its payload is 1 while it lives; the releaser writes 0
/// (the free). Loom checks every access of the cell for a race, so a holder's read that is not
/// ordered before the releaser's write fails the model even when the value read is right.
struct Object<Z> {
    count: Z,
    payload: loom::cell::UnsafeCell<u32>,
    releases: AtomicUsize,
}

/// What one reader's lookup did.
#[derive(Clone, Copy, Default)]
struct Lookup {
    got: bool,
    revived: bool,
    released: bool,
}

impl<Z: ModelRef> Object<Z> {
    /// The releaser's side of a put that returned true: count it and free the payload.
    fn release(&self) {
        // Relaxed: only counted; the joins order it before the main thread's check.
        self.releases.fetch_add(1, Relaxed);
        // SAFETY (of the model): the release is what the count grants exclusive access for;
        // loom reports a race here if any holder's read is not ordered before it.
        self.payload.with_mut(|p| unsafe { *p = 0 });
    }

    /// A reader found the object under RCU: get, read, put (a holder that may be the last).
    fn lookup(&self, relaxed_put: bool) -> Result<Lookup, String> {
        let (got, revived) = self.count.get_traced();
        if !got {
            return Ok(Lookup::default());
        }
        // SAFETY (of the model): a successful get means the object is not released.
        let v = self.payload.with(|p| unsafe { *p });
        if v != 1 {
            return Err(format!(
                "a holder read payload {v}: used after it was freed"
            ));
        }
        let released = if relaxed_put {
            self.count.put_relaxed()
        } else {
            self.count.put()
        };
        if released {
            self.release();
        }
        Ok(Lookup {
            got,
            revived,
            released,
        })
    }
}

/// The owner (swapoff) drops the initial reference while two readers, which found the object
/// before it was unpublished, each get, read and put. Exactly one put releases; no holder reads
/// a freed payload (and loom finds no race on it); the count ends dead. Events: the owner
/// released (no reader held it), a reader released (it was the last holder), a reader's get
/// failed (dead zone), and a reader revived the count at NOREF (the owner's decrement had
/// reached NOREF, the get brought it back, so the owner's compare-and-swap had to fail).
fn zoned_get_races_last_put<Z: ModelRef>(name: &str, relaxed_put: bool) {
    let tally = Tally::new(
        name,
        &[
            "owner released",
            "reader released",
            "get failed (dead)",
            "revived at NOREF",
        ],
    );
    let t = tally.clone();
    builder(2).check(move || {
        t.run();
        let obj = Arc::new(Object {
            count: Z::one(),
            payload: loom::cell::UnsafeCell::new(1),
            releases: AtomicUsize::new(0),
        });
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let obj = obj.clone();
                thread::spawn(move || obj.lookup(relaxed_put))
            })
            .collect();
        let owner_released = obj.count.put();
        if owner_released {
            obj.release();
        }
        let mut seen = Vec::new();
        for h in readers {
            match h.join() {
                Ok(Ok(l)) => seen.push(l),
                Ok(Err(why)) => panic!("{why}"),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        // Relaxed: after the joins.
        let releases = obj.releases.load(Relaxed);
        assert_eq!(releases, 1, "exactly one release, not {releases}");
        assert!(obj.count.is_dead() && obj.count.dead_value());
        if owner_released {
            t.hit(0);
        }
        if seen.iter().any(|l| l.released) {
            t.hit(1);
        }
        if seen.iter().any(|l| !l.got) {
            t.hit(2);
        }
        if seen.iter().any(|l| l.revived) {
            t.hit(3);
        }
    });
    tally.require_all();
}

#[test]
fn rcuref_get_races_the_last_put() {
    zoned_get_races_last_put::<swapref::zoned::RcuRef>("rcuref", false);
}

#[test]
fn file_ref_get_races_the_last_put() {
    zoned_get_races_last_put::<swapref::zoned::FileRef>("file_ref", false);
}

/// Negative control: rcuref's put without its release ordering. The releaser's acquire fence
/// then does not order the other holder's read of the payload before the free: loom must
/// report the race on the cell.
#[test]
#[should_panic(expected = "Causality violation")]
fn rcuref_put_without_release_is_caught() {
    zoned_get_races_last_put::<swapref::zoned::RcuRef>("rcuref relaxed put", true);
}

// ---------------------------------------------------------------------------------------------
// Per-CPU counters, given rseq's guarantee
// ---------------------------------------------------------------------------------------------

type CpuRef = swapref::percpu_ref::PercpuRef<Memb, swapref::percpu_ref::ModelCpu>;
use swapref::percpu_ref::ModelCpuReader as OnCpu;

/// The kill race of `kill_races_tryget_live_get_and_put` with per-CPU counters
/// (`percpu_ref::ModelCpu`: each CPU's sections exclusive with one another and with the
/// membarrier's visit of that CPU, a restarted section reading the mode again). Reader A, on
/// CPU 0, does `tryget_live` + put; reader B, on CPU 1, drops a reference the main thread took
/// on CPU 0 (a get and a put on different CPUs, so no CPU's counter balances by itself); the
/// main thread kills. Properties: one release, after both puts; no underflow; no `tryget_live`
/// after the confirmation. With `broken`, the kill's membarrier visits no CPU, and the model
/// must find the sum missing a section that committed after it.
fn per_cpu_kill_races(broken: bool) {
    // The hook is process-wide: the two tests of this model must not overlap.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    swapref::percpu_ref::break_model_membarrier(broken);
    let tally = Tally::new(
        format!("per-cpu-kill-races{}", if broken { "/broken" } else { "" }),
        &["reader A got the ref", "reader A failed"],
    );
    let t = tally.clone();
    builder(2).check(move || {
        t.run();
        let rcu = Rcu::new();
        let a_state = Arc::new(AtomicUsize::new(NONE));
        let b_state = Arc::new(AtomicUsize::new(HOLDING));
        let count = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(Mutex::new(Vec::<String>::new()));
        let comp = Arc::new(Completion::new());
        let users = {
            let (a_state, b_state, c, e, k) = (
                a_state.clone(),
                b_state.clone(),
                count.clone(),
                errors.clone(),
                comp.clone(),
            );
            Arc::new(
                CpuRef::with_counters(
                    &rcu,
                    move || {
                        // Relaxed: an RMW, so two releases see each other.
                        let n = c.fetch_add(1, Relaxed) + 1;
                        // Relaxed: only the put → release ordering can make these visible.
                        let (a, b) = (a_state.load(Relaxed), b_state.load(Relaxed));
                        let why = if n != 1 {
                            Some(format!("released {n} times"))
                        } else if a == HOLDING {
                            Some("released before reader A's put".into())
                        } else if b != PUT {
                            Some("released before reader B's put".into())
                        } else {
                            None
                        };
                        if let Some(w) = why {
                            e.lock().unwrap().push(w);
                        }
                        k.complete();
                    },
                    Init::LIVE,
                )
                .expect("a fresh domain has free slots"),
            )
        };
        let confirmed = Arc::new(AtomicUsize::new(0));
        users.get(&OnCpu(0));
        let a = {
            let (users, confirmed, a_state, t) =
                (users.clone(), confirmed.clone(), a_state.clone(), t.clone());
            thread::spawn(move || {
                let r = OnCpu(0);
                // Acquire: pairs with the Release store in the confirm callback.
                let saw_confirm = confirmed.load(Acquire) == 1;
                if users.tryget_live_relaxed(&r) {
                    t.hit(0);
                    // Relaxed: published to the release callback by the put (under test).
                    a_state.store(HOLDING, Relaxed);
                    a_state.store(PUT, Relaxed);
                    users.put(&r);
                    if saw_confirm {
                        return Err("tryget_live succeeded after the kill was confirmed".into());
                    }
                } else {
                    t.hit(1);
                }
                Ok(())
            })
        };
        let b = {
            let (users, b_state) = (users.clone(), b_state.clone());
            thread::spawn(move || {
                // Relaxed: published to the release callback by the put (under test).
                b_state.store(PUT, Relaxed);
                users.put(&OnCpu(1));
                Ok(())
            })
        };
        let c = confirmed.clone();
        users
            .kill_and_confirm(move || {
                // Release: pairs with reader A's Acquire load.
                c.store(1, Release);
            })
            .unwrap();
        // A lost section leaves the count above zero: no release would ever come, which
        // loom reports as a deadlock; the sum's underflow check sees it first.
        if users.underflows() != 0 {
            panic!("the count went below zero (a section committed after the sum)");
        }
        comp.wait();
        join(a);
        join(b);
        let errors = errors.lock().unwrap();
        assert!(errors.is_empty(), "release callback: {}", errors.join("; "));
        // Relaxed: read after `comp` was seen complete.
        assert_eq!(count.load(Relaxed), 1);
        assert_eq!(users.underflows(), 0, "the count went below zero");
        assert!(users.is_zero());
    });
    swapref::percpu_ref::break_model_membarrier(false);
    tally.require_all();
}

#[test]
fn per_cpu_kill_races_tryget_live_and_a_put_on_another_cpu() {
    per_cpu_kill_races(false);
}

/// Mutation: a kill whose membarrier visits no CPU must be caught (loom finds the execution in
/// which reader A's section commits after the sum: the count never reaches zero, the release
/// never comes, and loom reports the main thread's wait as a deadlock).
#[test]
#[should_panic(expected = "deadlock")]
fn per_cpu_kill_without_the_membarrier_is_caught() {
    per_cpu_kill_races(true);
}
