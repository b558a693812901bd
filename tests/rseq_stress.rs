//! The per-CPU backend under the conditions that make restartable sequences abort, in the style
//! of the kernel's `tools/testing/selftests/rseq/param_test.c`: more unpinned threads than CPUs,
//! yields, signals at a high rate, affinity changes that force migrations, and (for the raw
//! counter) a delay loop inside the section so that aborts are common. Loom and Miri cannot run
//! rseq; this is the native half of its proof (the other half is the loom model of `percpu_ref`
//! given rseq's guarantee).
//!
//! Checked: exact sums of the per-CPU counters; with `percpu_ref`, exactly one release per
//! kill cycle, no underflow, no successful `tryget_live` after a kill was confirmed, and no
//! reader that sees the device torn down under its reference. The abort count is printed and
//! must be nonzero where the test says the sections were stressed. Two negative controls must
//! lose updates: the same counter without the restartable sequence, and with the section
//! indexed by `node_id` (which CPUs share) instead of a CPU or concurrency ID.
//!
//! Threads are only ever pinned to CPUs the process was allowed when the test began: pinning
//! one elsewhere (possible under `taskset`, which a thread may widen) would let the kernel hand
//! out concurrency IDs past an area sized by that set.

#![cfg(not(any(miri, loom)))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};
use swapref::completion::Completion;
use swapref::percpu_ref::{Counters, CpuReader, Init, PerCid, PerCpu, PercpuKind, PercpuRef};
use swapref::rcu::{Qsbr, Rcu};
use swapref::rseq::{self, CpuArea};

/// The tests of this file run one at a time: the abort count is process-wide, and each test's
/// claim that aborts happened must be its own.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Where rseq (with `cid`: its concurrency IDs) is unavailable the test says so loudly and
/// checks nothing else. Holds the file's lock for as long as the test keeps the guard.
fn rseq_here(cid: bool) -> Option<std::sync::MutexGuard<'static, ()>> {
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let why = match (rseq::available(), cid) {
        (Err(e), _) => e,
        (Ok(_), false) => return Some(serial),
        (Ok(_), true) => match rseq::cid_available() {
            Ok(_) => return Some(serial),
            Err(e) => e,
        },
    };
    let what = if cid {
        "rseq mm_cid stress test"
    } else {
        "rseq stress test"
    };
    eprintln!("!!!!! SKIPPED: {what} (unavailable: {why}) !!!!!");
    None
}

extern "C" fn on_signal(_: libc::c_int) {}

/// Install a no-op SIGUSR1 handler (SA_RESTART), so that signals only interrupt.
fn install_handler() {
    // SAFETY: a zeroed sigaction with a handler that does nothing, for a signal nobody else in
    // this test process uses.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

/// Move the calling thread, on its `step`th affinity change: pinned to one of `allowed` (the
/// CPUs the process had when the test began), in turn, or every third step free to run on all
/// of them. Best effort.
fn move_thread(step: usize, allowed: &[usize]) {
    let one = [allowed[step % allowed.len()]];
    let set = if step % 3 == 2 { allowed } else { &one[..] };
    // SAFETY: a cpu_set_t on the stack, filled with CPU_SET below its capacity; the call reads it.
    unsafe {
        let mut mask: libc::cpu_set_t = std::mem::zeroed();
        for &c in set.iter().filter(|&&c| c < libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(c, &mut mask);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mask);
    }
}

/// Threads to run: two per CPU we may use, at least four.
fn threads() -> usize {
    (2 * std::thread::available_parallelism().map_or(2, |n| n.get())).max(4)
}

/// Signal every thread in `targets` (pthread ids) every `every` until `stop`.
fn chaos(
    targets: Vec<libc::pthread_t>,
    stop: Arc<AtomicBool>,
    every: Duration,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut sent = 0u64;
        while !stop.load(Relaxed) {
            for &t in &targets {
                // SAFETY: `t` is a thread of this process that is joined only after `stop` is
                // set and this thread has returned (`stop_chaos_then`), so its id is valid.
                unsafe { libc::pthread_kill(t, libc::SIGUSR1) };
                sent += 1;
            }
            std::thread::sleep(every);
        }
        sent
    })
}

/// Wait until every thread in `threads` has finished (not joined: a joined thread's pthread id
/// may be reused, and the chaos thread still signals it), stop the chaos thread and return how
/// many signals it sent.
fn stop_chaos_then<T>(
    threads: &[std::thread::JoinHandle<T>],
    stop: &AtomicBool,
    signaller: std::thread::JoinHandle<u64>,
) -> u64 {
    while !threads.iter().all(|t| t.is_finished()) {
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Relaxed);
    signaller.join().unwrap()
}

/// How the stress test's threads add.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Add {
    /// The section, indexed by `cpu_id`.
    ByCpu,
    /// The section, indexed by `mm_cid`.
    ByCid,
    /// The section, indexed by `node_id`: the wrong index, a negative control.
    ByNode,
    /// No section: a load and a store of this CPU's counter, a negative control.
    Unprotected,
}

/// What [`run_counter`] saw.
struct Counted {
    /// The area's sum.
    sum: usize,
    /// Adds the threads made that committed, or that were refused (the section left without
    /// writing: an index past the area, which the threads' affinity should prevent).
    want: usize,
    refused: usize,
    /// Chunks (CPUs or IDs) whose counter is not 0.
    chunks_used: usize,
    aborts: u64,
    signals: u64,
}

/// The raw per-CPU counter: every thread adds 1, `per_thread` times, with a delay loop inside
/// the section; yields, migrations and signals around it. A refused add is counted, never
/// retried (a thread that kept an index past the area would otherwise spin).
fn run_counter(how: Add, per_thread: usize) -> Counted {
    let area = Arc::new(match how {
        Add::ByCpu | Add::Unprotected => {
            CpuArea::new(rseq::available().expect("checked by the caller"))
        }
        Add::ByCid | Add::ByNode => {
            let (r, n) = rseq::cid_available().expect("checked by the caller");
            CpuArea::with_chunks(r, n)
        }
    });
    let allowed = Arc::new(swapref::measure::topology::allowed_cpus());
    assert!(!allowed.is_empty(), "no allowed CPU");
    let n = threads();
    let slot = 7;
    let mode = Arc::new(AtomicUsize::new(area.counters().slot_mode(slot)));
    let start = Arc::new(std::sync::Barrier::new(n + 1));
    let aborts0 = rseq::aborts();
    let workers: Vec<_> = (0..n)
        .map(|i| {
            let (area, mode, start, allowed) =
                (area.clone(), mode.clone(), start.clone(), allowed.clone());
            std::thread::spawn(move || {
                let c = area.counters();
                let mut refused = 0usize;
                start.wait();
                for k in 0..per_thread {
                    // SAFETY: (add_if_percpu_delayed and _by_node: 1) the mode word is
                    // `slot_mode(slot)` of this area's counters; (2) `area` is alive (this thread
                    // holds it) and is added to only here, by one index. (add_unprotected_delayed:
                    // 1) `area` is alive.
                    let added = unsafe {
                        match how {
                            Add::ByCpu => c.add_if_percpu_delayed::<false>(&mode, 1),
                            Add::ByCid => c.add_if_percpu_delayed::<true>(&mode, 1),
                            Add::ByNode => c.add_if_percpu_delayed_by_node(&mode, 1),
                            Add::Unprotected => {
                                c.add_unprotected_delayed(slot, 1);
                                true
                            }
                        }
                    };
                    refused += usize::from(!added);
                    if k % 1024 == 0 {
                        std::thread::yield_now();
                    }
                    if k % 4096 == 0 {
                        move_thread(k / 4096 + i, &allowed);
                    }
                }
                refused
            })
        })
        .collect();
    // The workers' pthread ids, for the signals (read after they started: each is alive
    // until joined below, after the chaos thread stopped).
    let ids: Vec<libc::pthread_t> = workers
        .iter()
        .map(|w| {
            use std::os::unix::thread::JoinHandleExt;
            w.as_pthread_t() as libc::pthread_t
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let signaller = chaos(ids, stop.clone(), Duration::from_micros(50));
    start.wait();
    let signals = stop_chaos_then(&workers, &stop, signaller);
    let refused = workers.into_iter().map(|w| w.join().unwrap()).sum();
    Counted {
        sum: area.sum(slot),
        want: n * per_thread,
        refused,
        chunks_used: area.chunk_values(slot).iter().filter(|&&v| v != 0).count(),
        aborts: rseq::aborts() - aborts0,
        signals,
    }
}

/// The sum of [`run_counter`] is exact, sections were aborted, and the adds landed in more
/// than one chunk where more than one CPU is allowed.
fn counter_sums_exactly(how: Add) {
    let Some(_serial) = rseq_here(how == Add::ByCid) else {
        return;
    };
    install_handler();
    let c = run_counter(how, 200_000);
    eprintln!(
        "rseq counter {how:?}: {} of {} adds ({} refused), {} chunks used, {} aborts, {} signals \
         sent",
        c.sum, c.want, c.refused, c.chunks_used, c.aborts, c.signals
    );
    assert_eq!(
        c.sum + c.refused,
        c.want,
        "the per-CPU sum lost or gained updates"
    );
    assert!(
        c.refused <= c.want / 100,
        "{} of {} adds refused: the sections mostly left instead of committing",
        c.refused,
        c.want
    );
    assert!(
        c.aborts > 0,
        "no section was ever aborted: the test stressed nothing"
    );
    if swapref::measure::topology::allowed_cpus().len() > 1 {
        assert!(
            c.chunks_used > 1,
            "every add landed in one chunk: the test exercised one index only"
        );
    }
}

#[test]
fn per_cpu_counter_sums_exactly_under_aborts_and_migrations() {
    counter_sums_exactly(Add::ByCpu);
}

/// The same, indexed by concurrency ID: more threads than CPUs share the IDs, which the kernel
/// hands over only between sections.
#[test]
fn per_cid_counter_sums_exactly_under_aborts_and_migrations() {
    counter_sums_exactly(Add::ByCid);
}

/// The negative control: the same adds without the restartable sequence lose updates, so the
/// exact sum above is evidence, not luck.
#[test]
fn without_the_restartable_sequence_the_counter_loses_updates() {
    let Some(_serial) = rseq_here(false) else {
        return;
    };
    install_handler();
    let c = run_counter(Add::Unprotected, 200_000);
    eprintln!("unprotected counter: {} of {} adds", c.sum, c.want);
    assert_ne!(
        c.sum, c.want,
        "no update was lost without rseq: the stress cannot tell"
    );
}

/// The second negative control: the section itself, but indexed by `node_id`, which every CPU
/// of a node shares (all of them here). rseq excludes sections on one CPU only, so sections on
/// two CPUs add to one counter at once and updates are lost: the exact sums above need an index
/// that one running thread holds at a time, and the test would catch the wrong field. Needs two
/// allowed CPUs of one node (a machine whose allowed CPUs each sit on a node of their own
/// cannot show it).
#[test]
fn indexed_by_node_id_the_counter_loses_updates() {
    let Some(_serial) = rseq_here(true) else {
        return;
    };
    if swapref::measure::topology::allowed_cpus().len() < 2 {
        eprintln!("!!!!! SKIPPED: the node_id control needs two allowed CPUs !!!!!");
        return;
    }
    install_handler();
    let c = run_counter(Add::ByNode, 200_000);
    eprintln!(
        "counter by node_id: {} of {} adds ({} refused), {} aborts",
        c.sum, c.want, c.refused, c.aborts
    );
    assert_eq!(
        c.refused, 0,
        "node_id out of range: the control checks nothing"
    );
    assert_ne!(
        c.sum, c.want,
        "no update was lost by node_id: the stress cannot tell a wrong index"
    );
}

#[test]
fn percpu_ref_cycles_release_once_each_under_aborts_and_migrations() {
    percpu_ref_cycles::<PerCpu>();
}

#[test]
fn percpu_ref_on_cids_cycles_release_once_each_under_aborts_and_migrations() {
    percpu_ref_cycles::<PerCid>();
}

/// `percpu_ref` on backend `C` (per CPU or per concurrency ID) through kill/resurrect cycles,
/// with readers doing tryget_live / get_many / put_many under signals, yields and migrations.
fn percpu_ref_cycles<C: Counters<Qsbr, Reader = CpuReader>>() {
    let Some(_serial) = rseq_here(C::KIND == PercpuKind::Cid) else {
        return;
    };
    install_handler();
    let allowed = Arc::new(swapref::measure::topology::allowed_cpus());
    assert!(!allowed.is_empty(), "no allowed CPU");
    let rcu = Rcu::<Qsbr>::new();
    let released = Arc::new(AtomicU64::new(0));
    let comp = Arc::new(Completion::new());
    let (rel, c) = (released.clone(), comp.clone());
    let users = Arc::new(
        PercpuRef::<Qsbr, C>::with_counters(
            &rcu,
            move || {
                rel.fetch_add(1, SeqCst);
                c.complete();
            },
            Init::DEAD,
        )
        .unwrap(),
    );
    // The "device": its generation while live, 0 once torn down after the release.
    let device = Arc::new(AtomicU64::new(0));
    // Odd: the last kill is confirmed. Even: live or dying.
    let epoch = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let aborts0 = rseq::aborts();
    let readers: Vec<_> = (0..threads())
        .map(|i| {
            let (users, device, epoch, stop, allowed) = (
                users.clone(),
                device.clone(),
                epoch.clone(),
                stop.clone(),
                allowed.clone(),
            );
            std::thread::spawn(move || {
                let r = CpuReader;
                let (mut ok, mut late, mut torn) = (0u64, 0u64, 0u64);
                let mut k = 0usize;
                while !stop.load(Relaxed) {
                    k += 1;
                    // Acquire: pairs with the Release increment in the confirm callback.
                    let before = epoch.load(Acquire);
                    if users.tryget_live_acquire(&r) {
                        ok += 1;
                        if before % 2 == 1 && epoch.load(Relaxed) == before {
                            late += 1;
                        }
                        let extra = k % 3;
                        users.get_many(&r, extra);
                        // Relaxed: the live check's Acquire ordered us after the publication.
                        if device.load(Relaxed) == 0 {
                            torn += 1;
                        }
                        if k.is_multiple_of(64) {
                            std::thread::yield_now();
                        }
                        users.put_many(&r, extra);
                        users.put(&r);
                    }
                    if k.is_multiple_of(8192) {
                        move_thread(k / 8192 + i, &allowed);
                    }
                }
                (ok, late, torn)
            })
        })
        .collect();
    let ids: Vec<libc::pthread_t> = readers
        .iter()
        .map(|w| {
            use std::os::unix::thread::JoinHandleExt;
            w.as_pthread_t() as libc::pthread_t
        })
        .collect();
    let chaos_stop = Arc::new(AtomicBool::new(false));
    let signaller = chaos(ids, chaos_stop.clone(), Duration::from_micros(100));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut cycles = 0u64;
    while Instant::now() < deadline {
        cycles += 1;
        epoch.fetch_add(1, SeqCst);
        device.store(cycles, Relaxed);
        comp.reinit();
        // Release (inside): publishes the device store above to readers whose live check passes.
        users.resurrect().unwrap();
        std::thread::sleep(Duration::from_micros(200));
        let e = epoch.clone();
        users
            .kill_and_confirm(move || {
                e.fetch_add(1, Release);
            })
            .unwrap();
        // A watchdog, not a timing claim: a lost put would leave the count above zero
        // forever, and the checker must report that rather than hang.
        if !comp.wait_timeout(Duration::from_secs(20)) {
            stop.store(true, Relaxed);
            panic!(
                "stall: cycle {cycles}: no release 20 s after the kill (count {}, {} underflows): \
                 a reference was lost or never put",
                users.atomic_count(),
                users.underflows()
            );
        }
        device.store(0, Relaxed);
    }
    stop.store(true, Relaxed);
    let signals = stop_chaos_then(&readers, &chaos_stop, signaller);
    let (mut ok, mut late, mut torn) = (0, 0, 0);
    for t in readers {
        let (o, l, t) = t.join().unwrap();
        ok += o;
        late += l;
        torn += t;
    }
    let aborts = rseq::aborts() - aborts0;
    eprintln!(
        "percpu_ref/{}: {cycles} kill cycles, {ok} references taken, {aborts} aborts, {signals} signals",
        C::KIND
    );
    assert_eq!(released.load(SeqCst), cycles, "one release per cycle");
    assert_eq!(users.underflows(), 0);
    assert!(users.is_zero());
    assert_eq!(
        late, 0,
        "tryget_live succeeded after the kill was confirmed"
    );
    assert_eq!(
        torn, 0,
        "a reader saw the device torn down under its reference"
    );
    assert!(
        ok > 0,
        "readers never got a reference: the test proved nothing"
    );
}
