use super::*;
use crate::completion::Completion;
use crate::rcu::{Flavor, Mb, Memb, Qsbr};
use std::sync::atomic::{AtomicBool, AtomicUsize as StdUsize, Ordering::SeqCst};

/// A ref whose release counts and completes, like swap's `swap_users_ref_free`.
struct Fixture<F: Flavor, C: Counters<F> = PerThread> {
    rcu: Rcu<F>,
    r: PercpuRef<F, C>,
    released: Arc<StdUsize>,
    comp: Arc<Completion>,
}

/// Whether the per-CPU backend's tests can run here; says loudly when not.
fn per_cpu_here() -> bool {
    match crate::rseq::available() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: per-CPU percpu_ref test (rseq unavailable: {e})");
            false
        }
    }
}

/// Whether the backend by concurrency ID can run here; says loudly when not.
fn per_cid_here() -> bool {
    match crate::rseq::cid_available() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: per-cid percpu_ref test (rseq mm_cid unavailable: {e})");
            false
        }
    }
}

fn fixture<F: Flavor>(rcu: &Rcu<F>, flags: Init) -> Fixture<F> {
    fixture_with(rcu, flags)
}

fn fixture_with<F: Flavor, C: Counters<F>>(rcu: &Rcu<F>, flags: Init) -> Fixture<F, C> {
    let released = Arc::new(StdUsize::new(0));
    let comp = Arc::new(Completion::new());
    let (rel, c) = (released.clone(), comp.clone());
    let r = PercpuRef::with_counters(
        rcu,
        move || {
            rel.fetch_add(1, SeqCst);
            c.complete();
        },
        flags,
    )
    .unwrap();
    Fixture {
        rcu: rcu.clone(),
        r,
        released,
        comp,
    }
}

/// Run `t` once per flavour this process can use (Miri: `qsbr` and `fence`), with per-thread
/// counters, then with per-CPU counters where rseq works (not under Miri), then by concurrency
/// ID where the kernel keeps `mm_cid` (`qsbr` and `fence`).
macro_rules! each_flavor {
    ($t:ident) => {{
        $t::<Qsbr, PerThread>();
        $t::<Mb, PerThread>();
        if Memb::available().is_ok() {
            $t::<Memb, PerThread>();
        }
        if !cfg!(miri) && per_cpu_here() {
            $t::<Qsbr, PerCpu>();
            $t::<Mb, PerCpu>();
            if Memb::available().is_ok() {
                $t::<Memb, PerCpu>();
            }
            if per_cid_here() {
                $t::<Qsbr, PerCid>();
                $t::<Mb, PerCid>();
            }
        }
    }};
}

fn releases_once_after_kill_and_last_put<F: Flavor, C: Counters<F>>() {
    {
        let rcu = Rcu::<F>::new();
        let f = fixture_with::<F, C>(&rcu, Init::LIVE);
        let mut reader = C::reader(&rcu);
        f.r.get(&reader);
        assert!(f.r.tryget_live_acquire(&reader));
        f.r.kill().unwrap();
        C::offline(&mut reader, || f.rcu.barrier());
        assert_eq!(f.released.load(SeqCst), 0, "two references still held");
        f.r.put(&reader);
        assert_eq!(f.released.load(SeqCst), 0, "one reference still held");
        f.r.put(&reader);
        assert_eq!(f.released.load(SeqCst), 1);
        assert!(f.r.is_zero());
        assert!(f.comp.is_done());
        assert_eq!(f.r.underflows(), 0);
    }
}

#[test]
fn live_ref_releases_once_after_kill_and_last_put() {
    each_flavor!(releases_once_after_kill_and_last_put);
}

/// A `confirm` that panics still lets the switch finish: the switch's reference is dropped (so
/// the release comes) and the next switch does not wait for it forever. Per-thread the panic is
/// the callback runner's (counted in `callback_panics`); per-CPU it reaches the caller of
/// `kill_and_confirm`.
fn panicking_confirm_still_finishes_the_switch<F: Flavor, C: Counters<F>>() {
    let rcu = Rcu::<F>::new();
    let f = fixture_with::<F, C>(&rcu, Init::LIVE);
    let mut reader = C::reader(&rcu);
    let kill = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f.r.kill_and_confirm(|| panic!("confirm panics on purpose"))
    }));
    C::offline(&mut reader, || f.rcu.barrier());
    let panicked = u64::from(kill.is_err()) + f.rcu.callback_panics();
    assert_eq!(
        panicked,
        1,
        "{:?}: the confirm ran (and panicked) once",
        C::KIND
    );
    assert_eq!(
        f.released.load(SeqCst),
        1,
        "{:?}: the switch's reference was not dropped (no release)",
        C::KIND
    );
    assert!(f.r.is_zero());
    // The next switch waits for no switch in progress: a second life, killed, released again.
    f.r.resurrect().unwrap();
    f.r.kill().unwrap();
    C::offline(&mut reader, || f.rcu.barrier());
    assert_eq!(f.released.load(SeqCst), 2, "{:?}", C::KIND);
    // A ref already in atomic mode confirms at once, on the caller's thread: the panic reaches
    // the caller, after the kill dropped the initial reference.
    f.r.resurrect().unwrap();
    C::offline(&mut reader, || f.r.switch_to_atomic_sync());
    C::offline(&mut reader, || f.rcu.barrier());
    let kill = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f.r.kill_and_confirm(|| panic!("confirm panics on purpose, in atomic mode"))
    }));
    assert!(kill.is_err(), "{:?}: the confirm ran at once", C::KIND);
    assert_eq!(
        f.released.load(SeqCst),
        3,
        "{:?}: the kill of an atomic ref did not drop its initial reference",
        C::KIND
    );
}

#[test]
fn a_panicking_confirm_still_finishes_the_switch() {
    each_flavor!(panicking_confirm_still_finishes_the_switch);
}

#[test]
fn dead_ref_refuses_tryget_live_until_resurrected() {
    let rcu = Rcu::<Mb>::new();
    let f = fixture(&rcu, Init::DEAD);
    let reader = rcu.register();
    assert!(f.r.is_dying());
    assert!(f.r.is_zero());
    assert!(!f.r.tryget_live_acquire(&reader));
    assert!(!f.r.tryget_live_fence(&reader));
    assert!(!f.r.tryget_live_relaxed(&reader));
    assert!(!f.r.tryget(&reader), "tryget fails on a zero count");
    f.r.resurrect().unwrap();
    assert!(!f.r.is_dying());
    assert!(f.r.tryget_live_fence(&reader));
    f.r.put(&reader);
    f.r.kill().unwrap();
    f.comp.wait();
    assert_eq!(f.released.load(SeqCst), 1);
}

#[test]
fn release_waits_for_a_reference_held_on_another_thread() {
    let rcu = Rcu::<Mb>::new();
    let f = Arc::new(fixture(&rcu, Init::DEAD));
    f.r.resurrect().unwrap();
    let got = Arc::new(Completion::new());
    let go = Arc::new(Completion::new());
    let (f2, got2, go2) = (f.clone(), got.clone(), go.clone());
    let t = std::thread::spawn(move || {
        let reader = f2.rcu.register();
        assert!(f2.r.tryget_live_acquire(&reader));
        got2.complete();
        go2.wait();
        f2.r.put(&reader);
    });
    got.wait();
    f.r.kill().unwrap();
    f.rcu.barrier();
    assert!(
        !f.comp.is_done(),
        "released while a reader holds a reference"
    );
    go.complete();
    f.comp.wait();
    t.join().unwrap();
    assert_eq!(f.released.load(SeqCst), 1);
}

#[test]
fn tryget_live_fails_once_the_kill_is_confirmed() {
    let rcu = Rcu::<Mb>::new();
    let f = fixture(&rcu, Init::LIVE);
    let reader = rcu.register();
    let confirmed = Arc::new(Completion::new());
    let c = confirmed.clone();
    f.r.kill_and_confirm(move || c.complete()).unwrap();
    confirmed.wait();
    assert!(!f.r.tryget_live_acquire(&reader));
    assert!(!f.r.tryget_live_fence(&reader));
    assert!(!f.r.tryget_live_relaxed(&reader));
    f.comp.wait();
}

#[test]
fn misuse_is_refused_and_leaves_the_count_alone() {
    let rcu = Rcu::<Mb>::new();
    let f = fixture(&rcu, Init::DEAD);
    let reader = rcu.register();
    assert_eq!(
        f.r.kill(),
        Err(Misuse::KilledTwice),
        "INIT_DEAD is already dead"
    );
    f.r.resurrect().unwrap();
    assert_eq!(f.r.resurrect(), Err(Misuse::ResurrectLive));
    assert_eq!(f.r.reinit(), Err(Misuse::ReinitNonZero));
    f.r.get(&reader);
    f.r.kill().unwrap();
    assert_eq!(f.r.kill(), Err(Misuse::KilledTwice));
    f.rcu.barrier();
    assert_eq!(f.r.atomic_count(), 1, "only our get is left");
    assert_eq!(f.r.reinit(), Err(Misuse::ReinitNonZero));
    f.r.put(&reader);
    assert_eq!(f.released.load(SeqCst), 1);
    // A put too many in atomic mode: refused, counted, no second release.
    f.r.put(&reader);
    assert_eq!(f.r.underflows(), 1);
    assert_eq!(f.r.atomic_count(), 0);
    assert_eq!(f.released.load(SeqCst), 1);
    f.r.reinit().unwrap();
    assert!(f.r.tryget_live_acquire(&reader));
    f.r.put(&reader);
}

#[test]
fn a_put_too_many_in_percpu_mode_is_caught_when_the_counters_are_summed() {
    let rcu = Rcu::<Mb>::new();
    let f = fixture(&rcu, Init::LIVE);
    let reader = rcu.register();
    f.r.put(&reader); // drops the initial reference early: invisible in percpu mode
    f.r.kill().unwrap(); // kill's own put of the initial reference is then one too many
    f.rcu.barrier();
    assert!(f.r.underflows() >= 1, "underflow not reported");
    assert_eq!(f.released.load(SeqCst), 0, "released on a negative count");
}

fn switch_keeps_the_count<F: Flavor, C: Counters<F>>() {
    {
        let rcu = Rcu::<F>::new();
        let f = fixture_with::<F, C>(&rcu, Init::ALLOW_REINIT);
        let mut reader = C::reader(&rcu);
        for _ in 0..3 {
            f.r.get(&reader); // percpu mode
        }
        C::offline(&mut reader, || f.r.switch_to_atomic_sync());
        // As in the kernel, the switch's own reference is dropped just after the waiters wake.
        C::offline(&mut reader, || f.rcu.barrier());
        assert_eq!(f.r.atomic_count(), 4, "initial ref + 3 gets, bias removed");
        f.r.put(&reader); // atomic mode
        f.r.switch_to_percpu().unwrap();
        assert_eq!(f.r.atomic_count(), 3usize.wrapping_add(PERCPU_COUNT_BIAS));
        f.r.put(&reader); // percpu mode
        f.r.kill().unwrap();
        C::offline(&mut reader, || f.rcu.barrier());
        assert_eq!(
            f.r.atomic_count(),
            1,
            "one get left after the kill dropped the initial ref"
        );
        assert!(!f.comp.is_done());
        f.r.put(&reader); // atomic mode, the last one
        C::offline(&mut reader, || f.comp.wait());
        assert_eq!(f.r.underflows(), 0);
    }
}

#[test]
fn switch_to_atomic_and_back_keeps_the_count() {
    each_flavor!(switch_keeps_the_count);
}

#[test]
fn without_allow_reinit_a_live_ref_stays_atomic() {
    let rcu = Rcu::<Mb>::new();
    let f = fixture(&rcu, Init::LIVE);
    f.r.switch_to_atomic_sync();
    assert_eq!(f.r.switch_to_percpu(), Err(Misuse::ReinitNotAllowed));
    let g = fixture(&rcu, Init::ALLOW_REINIT);
    g.r.switch_to_atomic_sync();
    assert_eq!(g.r.switch_to_percpu(), Ok(()));
}

#[test]
fn a_reused_slot_starts_from_the_counts_its_previous_owner_left() {
    let rcu = Rcu::<Mb>::new();
    let a = rcu.register();
    let b = rcu.register();
    let f = fixture(&rcu, Init::LIVE);
    let slot = f.r.data.slot;
    // A get on one thread and the put on another leave +1 / -1 in two records.
    f.r.get(&a);
    f.r.put(&b);
    f.r.get(&a);
    f.r.put(&b);
    drop(f);
    let g = fixture(&rcu, Init::LIVE);
    assert_eq!(g.r.data.slot, slot, "the slot is reused");
    g.r.get(&a);
    g.r.kill().unwrap();
    g.rcu.barrier();
    assert_eq!(
        g.r.atomic_count(),
        1,
        "the old owner's residue must not leak in"
    );
    g.r.put(&b);
    assert_eq!(g.released.load(SeqCst), 1);
}

/// The swap cycle, many times, with readers on other threads doing tryget_live/put as fast as
/// they can: one release per cycle, never an underflow, and no successful tryget_live between
/// the confirmation of a kill and the next resurrect.
fn kill_resurrect_cycles<F: Flavor, C: Counters<F>>() {
    use std::sync::atomic::AtomicU64 as StdU64;
    let cycles = if cfg!(miri) { 3 } else { 300 };
    {
        let rcu = Rcu::<F>::new();
        let f = Arc::new(fixture_with::<F, C>(&rcu, Init::DEAD));
        // Odd: the last kill is confirmed (INIT_DEAD counts as confirmed). Even: live or dying.
        let epoch = Arc::new(StdU64::new(1));
        let stop = Arc::new(AtomicBool::new(false));
        let got = Arc::new(StdU64::new(0));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (f, epoch, stop, got) = (f.clone(), epoch.clone(), stop.clone(), got.clone());
                std::thread::spawn(move || {
                    let mut reader = C::reader(&f.rcu);
                    let (mut ok, mut late) = (0u64, 0u64);
                    while !stop.load(Relaxed) {
                        // Acquire: pairs with the Release increment in the confirm callback.
                        let before = epoch.load(Acquire);
                        if f.r.tryget_live_acquire(&reader) {
                            ok += 1;
                            got.fetch_add(1, Relaxed);
                            // A resurrect in between would be visible here: its epoch increment
                            // precedes the Release that our Acquire live check read from.
                            if before % 2 == 1 && epoch.load(Relaxed) == before {
                                late += 1;
                            }
                            f.r.put(&reader);
                        }
                        C::quiescent(&mut reader);
                    }
                    (ok, late)
                })
            })
            .collect();
        for _ in 0..cycles {
            epoch.fetch_add(1, SeqCst);
            f.comp.reinit();
            f.r.resurrect().unwrap();
            // Keep the device live until some reader used it (bounded, so a stuck reader
            // cannot hang the test; the final assertion catches a run where none ever did).
            let seen = got.load(Relaxed);
            for _ in 0..10_000 {
                if got.load(Relaxed) != seen {
                    break;
                }
                std::thread::yield_now();
            }
            let e = epoch.clone();
            f.r.kill_and_confirm(move || {
                e.fetch_add(1, Release);
            })
            .unwrap();
            f.comp.wait();
        }
        stop.store(true, Relaxed);
        let mut total = 0;
        for t in readers {
            let (ok, late) = t.join().unwrap();
            total += ok;
            assert_eq!(
                late, 0,
                "tryget_live succeeded after the kill was confirmed"
            );
        }
        assert_eq!(f.released.load(SeqCst) as u64, cycles);
        assert_eq!(f.r.underflows(), 0);
        assert!(f.r.is_zero());
        if !cfg!(miri) {
            assert!(
                total > 0,
                "readers never got a reference: the test proved nothing"
            );
        }
    }
}

#[test]
fn kill_resurrect_cycles_under_concurrent_readers() {
    each_flavor!(kill_resurrect_cycles);
}

/// A reader of another domain is refused, in release builds too: its count would land in that
/// domain's records, which this ref's sum never reads (a use-after-free for swap).
#[test]
#[should_panic(expected = "another domain")]
fn a_reader_of_another_domain_is_refused() {
    let a = Rcu::<Qsbr>::new();
    let b = Rcu::<Qsbr>::new();
    let f = fixture(&a, Init::LIVE);
    let wrong = b.register();
    let _ = f.r.tryget_live_acquire(&wrong);
}

/// A release callback that panics on the reader's put unwinds out of `put`, but leaves no
/// section open: later grace periods still end (the membarrier/fence flavours would otherwise
/// wait for this reader's `ctr` forever).
fn panicking_release_leaves_no_section_open<F: Flavor>() {
    let rcu = Rcu::<F>::new();
    let r = PercpuRef::new(&rcu, || panic!("release panics on purpose"), Init::LIVE).unwrap();
    let mut reader = rcu.register();
    r.get(&reader);
    reader.offline(|| {
        r.kill().unwrap();
        rcu.barrier();
    });
    // The kill's put was not the last; ours is, in atomic mode: the callback runs and panics.
    let put = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.put(&reader)));
    assert!(put.is_err(), "the release callback ran (and panicked)");
    assert!(!reader.in_section());
    reader.quiescent_state();
    let (tx, rx) = std::sync::mpsc::channel();
    let rcu2 = rcu.clone();
    std::thread::spawn(move || {
        rcu2.synchronize();
        let _ = tx.send(());
    });
    // Offline while we wait (qsbr): the grace period must not wait for this thread.
    let ended = reader.offline(|| rx.recv_timeout(std::time::Duration::from_secs(60)).is_ok());
    assert!(
        ended,
        "{}: a grace period after the panicking release did not end (a section left open)",
        F::KIND
    );
    drop(reader);
}

#[test]
fn a_panicking_release_callback_leaves_no_section_open() {
    // Per-thread only: the per-CPU backend has no read-side section to leave open.
    panicking_release_leaves_no_section_open::<Qsbr>();
    panicking_release_leaves_no_section_open::<Mb>();
    if Memb::available().is_ok() {
        panicking_release_leaves_no_section_open::<Memb>();
    }
}

/// Per-CPU counters: a put too many is caught by the sum after the membarrier, as by the sum
/// after the grace period.
#[test]
fn per_cpu_a_put_too_many_is_caught_when_the_counters_are_summed() {
    if cfg!(miri) || !per_cpu_here() {
        return;
    }
    let rcu = Rcu::<Qsbr>::new();
    let f = fixture_with::<Qsbr, PerCpu>(&rcu, Init::LIVE);
    f.r.put(&CpuReader);
    f.r.kill().unwrap();
    assert!(f.r.underflows() >= 1, "underflow not reported");
    assert_eq!(f.released.load(SeqCst), 0, "released on a negative count");
}

/// Per-CPU counters: the kill needs no grace period (it returns with the switch confirmed,
/// even while a `qsbr` reader of the domain stays online and never announces), and the memory
/// reserved does not grow with the threads that use the ref; per-thread's does.
#[test]
fn per_cpu_kill_waits_for_no_reader_and_its_memory_does_not_grow_with_threads() {
    if cfg!(miri) || !per_cpu_here() {
        return;
    }
    let rcu = Rcu::<Qsbr>::new();
    let _online_forever = rcu.register();
    let f = fixture_with::<Qsbr, PerCpu>(&rcu, Init::LIVE);
    let t = fixture(&rcu, Init::LIVE);
    let (cpu0, thread0) = (f.r.reserved_bytes(), t.r.reserved_bytes());
    let readers: Vec<_> = (0..3).map(|_| rcu.register()).collect();
    assert_eq!(f.r.reserved_bytes(), cpu0);
    assert_eq!(t.r.reserved_bytes(), thread0 + 3 * crate::rcu::RECORD_BYTES);
    drop(readers);
    f.r.get(&CpuReader);
    let confirmed = Arc::new(AtomicBool::new(false));
    let c = confirmed.clone();
    f.r.kill_and_confirm(move || c.store(true, SeqCst)).unwrap();
    assert!(
        confirmed.load(SeqCst),
        "the switch was not confirmed when kill returned"
    );
    assert_eq!(
        f.r.atomic_count(),
        1,
        "our get, summed; the initial ref dropped"
    );
    f.r.put(&CpuReader);
    assert_eq!(f.released.load(SeqCst), 1);
    assert_eq!(f.r.counters(), PercpuKind::Cpu);
}
