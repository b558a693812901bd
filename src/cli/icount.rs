//! `swapref icount`: the deterministic CI gate. Counts instructions per op under callgrind
//! (see `swapref::icount` for the method) and compares them with `results/ci-baseline.json`.
//!
//! - `swapref icount check`: measure, print old/new/ratio per strategy and op, exit 1 when a
//!   count rose by more than `--threshold` (default 2 %) or a baseline entry is missing.
//! - `swapref icount refresh`: measure and rewrite the baseline.
//! - `swapref icount measure ...`: the worker that valgrind runs (one strategy, one op).
//!
//! RCU flavour: pinned, `fence` unless `--rcu qsbr` or `--rcu membarrier` is given, and
//! recorded in the baseline; `check` refuses a baseline made with another flavour. `auto` is not
//! offered: what it picks depends on the kernel and on seccomp, so `auto` would make the counts
//! depend on the CI machine. Valgrind (3.19 here) passes `membarrier(2)` through, and every
//! flavour counts deterministically; `fence` is the default because every machine has it. Each
//! flavour is one binary's monomorphised path: the count is exactly that flavour's read side.

use super::usage_error;
use std::path::PathBuf;
use std::process::ExitCode;
use swapref::icount::gate::{self, Inject, Plan, Tally};
use swapref::icount::{self, Counts, Op, worker};
use swapref::rcu::FlavorKind as Flavor;

/// Options of `swapref icount`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Measure and compare with the baseline; exit 1 on a regression.
    Check(Gate),
    /// Measure and rewrite the baseline.
    Refresh(Gate),
    /// (internal) The worker valgrind runs: one strategy, one op, N iterations.
    #[command(hide = true)]
    Measure(Measure),
}

#[derive(clap::Args)]
struct Gate {
    /// The baseline file.
    #[arg(long, default_value = "results/ci-baseline.json")]
    baseline: PathBuf,
    /// Fail when a count rises by more than this, in percent ("2" or "2%"; at most 2).
    #[arg(long, default_value = "2%")]
    threshold: String,
    /// Comma-separated strategies, or `all`.
    #[arg(long, default_value = "all")]
    strategies: String,
    /// Negative control: add N extra instructions' worth of work per op on one strategy's
    /// path, as `STRATEGY:OP:N` (for example `atomic:lookup:4`). The gate must then fail.
    #[arg(long)]
    inject: Option<String>,
    /// Measure every (strategy, op) twice and fail unless both runs agree exactly (refresh
    /// always does).
    #[arg(long)]
    determinism: bool,
    /// The valgrind binary.
    #[arg(long, default_value = "valgrind")]
    valgrind: String,
    /// RCU flavour of the RCU strategies: `qsbr`, `membarrier` or `fence` (must match the
    /// baseline's).
    #[arg(long, default_value = "fence")]
    rcu: String,
}

#[derive(clap::Args)]
struct Measure {
    #[arg(long)]
    strategy: String,
    #[arg(long)]
    op: String,
    #[arg(long)]
    iters: u64,
    #[arg(long, default_value_t = 0)]
    extra: u64,
    #[arg(long, default_value = "fence")]
    rcu: String,
}

/// Run it.
pub fn main(args: Args) -> ExitCode {
    match args.cmd {
        Cmd::Measure(m) => measure(m),
        Cmd::Check(g) => gate(g, false),
        Cmd::Refresh(g) => gate(g, true),
    }
}

fn gate(g: Gate, refresh: bool) -> ExitCode {
    let threshold = match super::compare::parse_percent(&g.threshold) {
        Ok(t) if t <= icount::DEFAULT_THRESHOLD => t,
        Ok(_) => {
            return usage_error(format!(
                "--threshold {} is above 2% (the counts are deterministic)",
                g.threshold
            ));
        }
        Err(e) => return usage_error(format!("--threshold {e}")),
    };
    let strategies = match super::parse_strategies(&g.strategies) {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    let Some(flavor) = Flavor::from_name(&g.rcu) else {
        return usage_error(format!(
            "unknown RCU flavour '{}' (valid: qsbr, membarrier, fence; never auto)",
            g.rcu
        ));
    };
    let inject = match g.inject.as_deref().map(str::parse::<Inject>).transpose() {
        Ok(i) => i,
        Err(e) => return usage_error(e),
    };
    if refresh && (inject.is_some() || g.strategies != "all") {
        return usage_error("refresh measures every strategy and takes no --inject");
    }
    let baseline = if refresh {
        None
    } else {
        match Counts::load(&g.baseline) {
            Ok(b) => Some(b),
            Err(e) => return usage_error(e),
        }
    };
    let version = match gate::valgrind_version(&g.valgrind) {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    if let Some(b) = &baseline {
        if b.rcu_flavor != flavor.name() {
            return usage_error(format!(
                "{}: baseline counted with --rcu {}, this run asks for --rcu {}",
                g.baseline.display(),
                b.rcu_flavor,
                flavor.name()
            ));
        }
        if b.valgrind != version {
            eprintln!(
                "swapref: warning: baseline made with {}, this run uses {version}",
                b.valgrind
            );
        }
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return usage_error(format!("cannot find the running binary: {e}")),
    };
    let names: Vec<&str> = strategies.iter().map(|i| i.name).collect();
    let plan = Plan {
        valgrind: g.valgrind.clone(),
        valgrind_version: version,
        worker: (exe, vec!["icount".into(), "measure".into()]),
        strategies: strategies.clone(),
        flavor,
        inject,
        determinism: g.determinism || refresh,
        threshold,
    };
    let measured = match gate::measure(&plan, |e| eprintln!("{e}")) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("swapref: {e}");
            return ExitCode::FAILURE;
        }
    };
    let new = measured.counts;
    if refresh {
        if measured.nondeterministic {
            eprintln!("swapref: counts differ between runs; baseline not written");
            return ExitCode::FAILURE;
        }
        if let Err(e) = new.save(&g.baseline) {
            eprintln!("swapref: {}: {e}", g.baseline.display());
            return ExitCode::FAILURE;
        }
        print!(
            "{}",
            icount::render(&icount::compare(&new, &new, threshold))
        );
        println!("wrote {}", g.baseline.display());
        return ExitCode::SUCCESS;
    }
    let mut baseline = baseline.expect("loaded above");
    if g.strategies != "all" {
        baseline.counts.retain(|s, _| names.contains(&s.as_str()));
        baseline.excluded.retain(|s, _| names.contains(&s.as_str()));
    }
    let rows = icount::compare(&baseline, &new, threshold);
    println!(
        "# instructions per op under callgrind; threshold {:.1} %",
        threshold * 100.0
    );
    print!("{}", icount::render(&rows));
    let Tally { failed, improved } = Tally::of(&rows);
    if improved > 0 {
        println!(
            "{improved} count(s) improved beyond the threshold: refresh the baseline with \
             `cargo run --release -- icount refresh` and commit it"
        );
    }
    if failed > 0 || measured.nondeterministic {
        println!("icount gate: FAILED ({failed} regressed or missing)");
        ExitCode::FAILURE
    } else {
        println!("icount gate: passed");
        ExitCode::SUCCESS
    }
}

fn measure(m: Measure) -> ExitCode {
    let Some(op) = Op::from_name(&m.op) else {
        return usage_error(format!("unknown op '{}' (valid: lookup, cycle)", m.op));
    };
    let Some(flavor) = Flavor::from_name(&m.rcu) else {
        return usage_error(format!("unknown RCU flavour '{}'", m.rcu));
    };
    match worker::work(&m.strategy, op, flavor, m.iters, m.extra) {
        Ok(w) => {
            println!("{w}");
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}
