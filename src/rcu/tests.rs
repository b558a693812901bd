use super::*;
use std::sync::atomic::{AtomicBool as StdBool, AtomicU64 as StdU64, Ordering::SeqCst};
use std::time::Duration;

/// Run `t` once per flavour this process can use (Miri: `qsbr` and `fence`).
macro_rules! each_flavor {
    ($t:ident) => {{
        $t::<Qsbr>();
        $t::<Mb>();
        if Memb::available().is_ok() {
            $t::<Memb>();
        }
    }};
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(if cfg!(miri) { 1 } else { n })
}

/// Run `f` on a thread and fail (instead of hanging) if it has not returned within `limit`.
fn within(limit: Duration, what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    assert!(
        rx.recv_timeout(limit).is_ok(),
        "{what}: did not return within {limit:?} (a stall)"
    );
}

fn synchronize_waits_for_a_section_that_began_before_it<F: Flavor>() {
    let rcu = Rcu::<F>::new();
    let in_section = Arc::new(StdBool::new(false));
    let left = Arc::new(StdBool::new(false));
    let (r2, in2, left2) = (rcu.clone(), in_section.clone(), left.clone());
    let t = std::thread::spawn(move || {
        let reader = r2.register();
        let g = reader.read_lock();
        // SeqCst (Release would do): tells the main thread the section has begun.
        in2.store(true, SeqCst);
        std::thread::sleep(ms(50));
        // SeqCst, but inside the section: only the grace period may order it before the check.
        left2.store(true, SeqCst);
        drop(g);
        // (qsbr: the reader's drop takes it offline, its first quiescent state after the store.)
    });
    // SeqCst (Acquire would do): pairs with `in2.store`, so synchronize starts while the reader
    // is inside its section.
    while !in_section.load(SeqCst) {
        std::thread::yield_now();
    }
    rcu.synchronize();
    // SeqCst does not wait: had synchronize not waited for the section, `left` would be false.
    assert!(
        left.load(SeqCst),
        "{}: grace period ended before the section",
        F::KIND
    );
    t.join().unwrap();
}

#[test]
fn a_grace_period_waits_for_a_section_that_began_before_it() {
    each_flavor!(synchronize_waits_for_a_section_that_began_before_it);
}

#[test]
fn nested_sections_hold_the_grace_period_until_the_outermost_ends() {
    let rcu = Rcu::<Mb>::new();
    let reader = rcu.register();
    let outer = reader.read_lock();
    let inner = reader.read_lock();
    drop(inner);
    assert!(reader.in_section());
    drop(outer);
    assert!(!reader.in_section());
    rcu.synchronize();
    assert_eq!(rcu.grace_periods(), 1);
}

fn callbacks_run_after_a_grace_period<F: Flavor>() {
    let rcu = Rcu::<F>::new();
    let ran = Arc::new(StdU64::new(0));
    for _ in 0..3 {
        let r = ran.clone();
        rcu.call(move || {
            r.fetch_add(1, SeqCst);
        });
    }
    rcu.barrier();
    // SeqCst, here and in the callbacks, is more than needed: the completion that barrier()
    // waits for orders every callback before this load.
    assert_eq!(ran.load(SeqCst), 3);
    assert!(rcu.grace_periods() >= 1);
}

#[test]
fn callbacks_run_after_a_grace_period_and_barrier_waits_for_them() {
    each_flavor!(callbacks_run_after_a_grace_period);
}

/// `call` does not wake the worker: with no `synchronize` and no `barrier` to run it, a
/// callback still runs, found by the worker's own looks at the queue, both right after the
/// worker starts and after it has backed off to its longest sleep. (A liveness check: the limit
/// only turns a lost callback into a failure instead of a hang.)
#[test]
fn a_lazy_callback_runs_with_no_synchronize_to_run_it() {
    let rcu = Rcu::<Mb>::new();
    for pause in [ms(0), ms(40)] {
        std::thread::sleep(pause);
        let done = Arc::new(crate::completion::Completion::new());
        let d = done.clone();
        rcu.call(move || d.complete());
        assert!(
            done.wait_timeout(Duration::from_secs(20)),
            "a callback queued after {pause:?} never ran: the lazy worker lost it"
        );
    }
}

/// With no callback worker (the system refused the thread), `call` still returns and its
/// callbacks still run: `barrier` runs the grace period and the due callbacks itself, and so
/// does a `synchronize` that runs a grace period. Before, the refused spawn panicked inside
/// `call` (under percpu_ref's switch lock, midway through a kill) and left the domain believing
/// it had a worker, so a later `barrier` waited forever.
#[test]
fn callbacks_run_without_a_worker() {
    within(Duration::from_secs(20), "callbacks with no worker", || {
        let rcu = Rcu::<Mb>::new();
        rcu.refuse_worker_for_tests();
        let ran = Arc::new(StdU64::new(0));
        let r = ran.clone();
        rcu.call(move || {
            r.fetch_add(1, SeqCst);
        });
        rcu.barrier();
        assert_eq!(ran.load(SeqCst), 1, "barrier ran the callback");
        let r = ran.clone();
        rcu.call(move || {
            r.fetch_add(1, SeqCst);
        });
        rcu.synchronize();
        assert_eq!(ran.load(SeqCst), 2, "synchronize ran the callback");
        assert!(
            !lock(&rcu.inner.calls).worker,
            "no worker is believed to run"
        );
    });
}

#[test]
fn a_panicking_callback_is_counted_and_the_worker_goes_on() {
    let rcu = Rcu::<Mb>::new();
    let ran = Arc::new(StdBool::new(false));
    rcu.call(|| panic!("callback panics on purpose"));
    let r = ran.clone();
    rcu.call(move || r.store(true, SeqCst));
    rcu.barrier();
    assert!(ran.load(SeqCst), "the callback after the panicking one ran");
    assert_eq!(rcu.callback_panics(), 1);
}

/// A callback whose panic payload panics again when dropped: the runner still counts it done,
/// so `barrier` returns (before, the second panic unwound out of the runner with the callback
/// still counted in flight, and every later `barrier` waited forever).
#[test]
fn a_callback_whose_panic_payload_panics_when_dropped_still_lets_barrier_return() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("the panic payload's drop panics on purpose");
        }
    }
    within(
        Duration::from_secs(20),
        "barrier after a payload that panics",
        || {
            let rcu = Rcu::<Mb>::new();
            rcu.call(|| std::panic::panic_any(Bomb));
            // synchronize runs the due callback on this thread; the runner must not unwind.
            rcu.synchronize();
            rcu.barrier();
            assert_eq!(rcu.callback_panics(), 1);
        },
    );
}

#[test]
fn records_are_reused_and_keep_their_counts() {
    let rcu = Rcu::<Mb>::new();
    let slot = rcu.alloc_slot().unwrap();
    let a = rcu.register();
    // Relaxed, here and below: one thread; the registry lock orders the handover to `b`.
    a.this_cpu(slot).store(5, Relaxed);
    drop(a);
    let b = rcu.register();
    assert_eq!(
        rcu.records(),
        1,
        "the freed record is handed to the next thread"
    );
    assert_eq!(b.this_cpu(slot).load(Relaxed), 5);
    assert_eq!(rcu.sum_slot(slot), 5);
}

/// Threads that count and exit, many times over: records come back and are reused, the domain
/// keeps no more records than threads alive at once, and the sum over records stays exact.
#[test]
fn records_of_exited_threads_are_reused_with_every_count_correct() {
    let rcu = Rcu::<Qsbr>::new();
    let slot = rcu.alloc_slot().unwrap();
    let rounds = if cfg!(miri) { 3 } else { 50 };
    for round in 0..rounds {
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let rcu = rcu.clone();
                std::thread::spawn(move || {
                    let r = rcu.register();
                    let c = r.this_cpu(slot);
                    // Relaxed: only this thread writes its counter; handovers go through the
                    // registry lock.
                    c.store(c.load(Relaxed).wrapping_add(1 + i), Relaxed);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(rcu.sum_slot(slot), 3 * (round + 1));
    }
    assert!(
        (1..=2).contains(&rcu.records()),
        "records of exited threads are reused: {} records for at most 2 threads at once",
        rcu.records()
    );
    rcu.synchronize();
}

/// The per-thread mode word's encoding: `counter_at(counter_offset(s))` is the record's
/// counter of slot `s`, for every slot.
#[test]
fn counter_offsets_name_each_slots_counter() {
    let r = Record::new();
    for s in 0..PERCPU_SLOTS {
        // SAFETY: (1) the offset is `counter_offset(s)` with `s < PERCPU_SLOTS`.
        let c = unsafe { r.counter_at(Record::counter_offset(s)) };
        assert!(std::ptr::eq(c, &r.area[s]), "slot {s}");
    }
}

#[test]
fn slots_run_out_and_come_back() {
    let rcu = Rcu::<Mb>::new();
    let slots: Vec<_> = (0..PERCPU_SLOTS)
        .map(|_| rcu.alloc_slot().unwrap())
        .collect();
    assert_eq!(rcu.alloc_slot(), None);
    rcu.free_slot(slots[3]);
    assert_eq!(rcu.alloc_slot(), Some(slots[3]));
}

#[test]
#[should_panic(expected = "another domain")]
fn a_reader_of_another_domain_is_refused() {
    let a = Rcu::<Qsbr>::new();
    let b = Rcu::<Qsbr>::new();
    let reader = a.register();
    b.check_reader(&reader);
}

/// qsbr: a grace period waits for an online reader that has not announced a quiescent state,
/// and ends once it does; an offline reader does not hold it up.
#[test]
fn qsbr_waits_for_online_readers_and_skips_offline_ones() {
    let rcu = Rcu::<Qsbr>::new();
    let mut idle = rcu.register();
    let announced = Arc::new(StdBool::new(false));
    let registered = Arc::new(StdBool::new(false));
    let (r2, a2, reg2) = (rcu.clone(), announced.clone(), registered.clone());
    let t = std::thread::spawn(move || {
        let mut reader = r2.register();
        // SeqCst: a flag between test threads (the grace period must see this reader).
        reg2.store(true, SeqCst);
        std::thread::sleep(ms(50));
        // SeqCst: set before the announcement that lets the grace period end.
        a2.store(true, SeqCst);
        reader.quiescent_state();
        reader.offline(|| std::thread::sleep(ms(10)));
    });
    while !registered.load(SeqCst) {
        std::thread::yield_now();
    }
    // The main thread's own reader is offline while it waits, as every waiting qsbr thread is.
    idle.offline(|| rcu.synchronize());
    assert!(
        announced.load(SeqCst),
        "qsbr: the grace period ended before the online reader announced a quiescent state"
    );
    t.join().unwrap();
    assert_eq!(rcu.grace_periods(), 1);
}

/// Concurrent synchronize callers share grace periods: four callers that all arrive while a
/// reader holds the first one up need only one more.
fn grace_periods_are_shared<F: Flavor>() {
    let rcu = Rcu::<F>::new();
    let go = Arc::new(StdBool::new(false));
    let inside = Arc::new(StdBool::new(false));
    let started = Arc::new(StdU64::new(0));
    let holder = {
        let (rcu, go, inside) = (rcu.clone(), go.clone(), inside.clone());
        std::thread::spawn(move || {
            let mut reader = rcu.register();
            {
                let _g = reader.read_lock();
                // SeqCst: flags between test threads.
                inside.store(true, SeqCst);
                // SeqCst: a flag between test threads.
                while !go.load(SeqCst) {
                    std::thread::yield_now();
                }
                std::thread::sleep(ms(50));
            }
            reader.quiescent_state();
            reader.offline(|| ());
        })
    };
    // The holder is registered and inside its section before any caller starts.
    while !inside.load(SeqCst) {
        std::thread::yield_now();
    }
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (rcu, started) = (rcu.clone(), started.clone());
            std::thread::spawn(move || {
                started.fetch_add(1, SeqCst);
                rcu.synchronize();
            })
        })
        .collect();
    while started.load(SeqCst) < 4 {
        std::thread::yield_now();
    }
    std::thread::sleep(ms(20));
    go.store(true, SeqCst);
    for c in callers {
        c.join().unwrap();
    }
    holder.join().unwrap();
    let n = rcu.grace_periods();
    assert!(
        (1..4).contains(&n),
        "{}: 4 concurrent callers ran {n} grace periods (they must share)",
        F::KIND
    );
}

#[test]
fn concurrent_callers_share_grace_periods() {
    each_flavor!(grace_periods_are_shared);
}

/// With the driver's safety-net limit set to an hour, only the reader's wake-up can end its
/// park: a grace period held up by a reader that sleeps inside its section must still end soon
/// after the reader leaves it, or the wake-up was lost.
fn the_reader_wakes_the_driver<F: Flavor>() {
    let rcu = Rcu::<F>::new();
    rcu.set_park_limit_for_tests(Duration::from_secs(3600));
    let in_section = Arc::new(StdBool::new(false));
    let (r2, in2) = (rcu.clone(), in_section.clone());
    let t = std::thread::spawn(move || {
        let mut reader = r2.register();
        {
            let _g = reader.read_lock();
            in2.store(true, SeqCst);
            // Long enough for the driver to stop spinning and park.
            std::thread::sleep(ms(30));
        }
        reader.quiescent_state();
        reader.offline(|| std::thread::sleep(ms(5)));
    });
    while !in_section.load(SeqCst) {
        std::thread::yield_now();
    }
    let r3 = rcu.clone();
    within(Duration::from_secs(60), F::KIND.name(), move || {
        r3.synchronize()
    });
    t.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "parks for real time; Miri's clock makes it minutes")]
fn a_reader_wakes_the_grace_period_driver() {
    each_flavor!(the_reader_wakes_the_driver);
}

/// A writer-side removal is seen by every section that begins after synchronize returns,
/// and no section that began before it is still running: checked with a value that the
/// writer "frees" (sets to a poison) only after the grace period.
fn removal_then_free_is_never_observed<F: Flavor>() {
    const POISON: u64 = u64::MAX;
    let rounds = if cfg!(miri) { 20 } else { 2000 };
    let rcu = Rcu::<F>::new();
    let slots: Arc<[StdU64; 2]> = Arc::new([StdU64::new(1), StdU64::new(POISON)]);
    let current = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(StdBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (rcu, slots, current, stop) =
                (rcu.clone(), slots.clone(), current.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reader = rcu.register();
                let mut bad = 0u64;
                // Relaxed: a stop flag that carries no data; `bad` travels through join().
                while !stop.load(Relaxed) {
                    {
                        let _g = reader.read_lock();
                        // Acquire: pairs with the writer's Release store of `current`.
                        let i = current.load(std::sync::atomic::Ordering::Acquire);
                        // Relaxed: what orders it before the poisoning is the grace period
                        // under test.
                        if slots[i].load(Relaxed) == POISON {
                            bad += 1;
                        }
                    }
                    reader.quiescent_state();
                }
                bad
            })
        })
        .collect();
    for round in 0..rounds {
        let old = round % 2;
        let new = 1 - old;
        // Relaxed, then Release: the Release store of `current` publishes slots[new] to the
        // readers' Acquire load.
        slots[new].store(round as u64 + 2, Relaxed);
        current.store(new, std::sync::atomic::Ordering::Release);
        rcu.synchronize();
        // Relaxed: the grace period just waited for must order it after every reader of `old`
        // (the property under test).
        slots[old].store(POISON, Relaxed);
    }
    // Relaxed: a stop flag that carries no data; results travel through join().
    stop.store(true, Relaxed);
    let bad: u64 = readers.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(bad, 0, "{}: a reader saw a freed slot", F::KIND);
}

#[test]
fn removal_then_grace_period_then_free_is_never_observed_by_a_reader() {
    each_flavor!(removal_then_free_is_never_observed);
}

/// The negative control of the test above: with grace periods broken (they return without
/// waiting), readers do see freed slots, so that test can fail.
#[test]
#[cfg_attr(miri, ignore = "needs many rounds to show the race")]
fn with_grace_periods_broken_readers_see_freed_slots() {
    const POISON: u64 = u64::MAX;
    // How long the writer keeps trying before the control reports that it caught nothing:
    // a bound so that it never hangs, not a timing claim. On a loaded 2-CPU machine the reader
    // may run for a while only after the writer started, so the writer goes on until the
    // reader has seen a freed slot, not for a fixed number of rounds.
    const GIVE_UP: std::time::Duration = std::time::Duration::from_secs(30);
    let rcu = Rcu::<Mb>::new();
    rcu.break_grace_periods_for_tests();
    let slots: Arc<[StdU64; 2]> = Arc::new([StdU64::new(1), StdU64::new(POISON)]);
    let current = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(StdBool::new(false));
    // Relaxed: a counter read after join() or only polled as "caught yet?"; it orders nothing.
    let bad = Arc::new(StdU64::new(0));
    let reader = {
        let (rcu, slots, current, stop, bad) = (
            rcu.clone(),
            slots.clone(),
            current.clone(),
            stop.clone(),
            bad.clone(),
        );
        std::thread::spawn(move || {
            let reader = rcu.register();
            while !stop.load(Relaxed) {
                let _g = reader.read_lock();
                let i = current.load(std::sync::atomic::Ordering::Acquire);
                // A delay inside the section widens the window a correct grace period covers.
                for k in 0..2000 {
                    std::hint::black_box(k);
                }
                if slots[i].load(Relaxed) == POISON {
                    bad.fetch_add(1, Relaxed);
                }
            }
        })
    };
    let t0 = std::time::Instant::now();
    let mut round = 0u64;
    while bad.load(Relaxed) == 0 && t0.elapsed() < GIVE_UP {
        let old = (round % 2) as usize;
        slots[1 - old].store(round + 2, Relaxed);
        current.store(1 - old, std::sync::atomic::Ordering::Release);
        rcu.synchronize();
        slots[old].store(POISON, Relaxed);
        // Keep the poison there a while, so that a reader the grace period skipped reads it.
        for k in 0..2000 {
            std::hint::black_box(k);
        }
        round += 1;
    }
    stop.store(true, Relaxed);
    reader.join().unwrap();
    assert!(
        bad.load(Relaxed) > 0,
        "a broken grace period went unnoticed in {round} rounds ({GIVE_UP:?}): the test above \
         could not fail"
    );
}
