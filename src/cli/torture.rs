//! `swapref torture`: the torture checker for as long as you like (the tests run it for 2 s
//! per strategy). Prints one line per strategy; exits 1 on any violation.

use super::{parse_percpu, parse_rcu, usage_error};
use std::process::ExitCode;
use std::time::Duration;
use swapref::percpu_ref::PercpuKind;
use swapref::rcu::FlavorKind;
use swapref::strategy::{self, Strategy, StrategyConfig, StrategyError, Visitor};
use swapref::torture::{self, TortureConfig, TortureReport};

/// Options of `swapref torture`.
#[derive(clap::Args)]
pub struct Args {
    /// Comma-separated strategy names, or `all` (every strategy that allows churn).
    #[arg(long, default_value = "all")]
    strategies: String,
    /// Seconds per strategy.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Reader threads (default 3; with --oversubscribe, two per CPU).
    #[arg(long)]
    readers: Option<usize>,
    /// RCU flavours, a comma list (each RCU-based strategy is tortured once per flavour):
    /// `qsbr`, `membarrier`, `fence`, `auto`.
    #[arg(long, default_value = "auto")]
    rcu: String,
    /// Counter backends of the percpu_ref strategies, a comma list (each is tortured once per
    /// backend): `cpu`, `cid`, `thread`, `auto`.
    #[arg(long, default_value = "auto")]
    percpu: String,
    /// Seconds a swapoff or swapon may take before the run is a stall (reported, exit 1).
    #[arg(long, default_value_t = 10.0)]
    stall_secs: f64,
    /// Leave the reader threads unpinned and start two per CPU (oversubscribed), unless
    /// --readers says otherwise: preempted readers are what grace periods wait for.
    #[arg(long)]
    oversubscribe: bool,
}

struct Run(TortureConfig);

impl Visitor for Run {
    type Output = Result<TortureReport, StrategyError>;
    fn visit<S: Strategy>(self) -> Self::Output {
        torture::run::<S>(&self.0)
    }
}

/// Run it.
pub fn main(args: Args) -> ExitCode {
    let flavors = match parse_rcu(&args.rcu) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let percpus = match parse_percpu(&args.percpu) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let positive = |x: f64| x > 0.0 && x.is_finite();
    if !positive(args.secs) || !positive(args.stall_secs) || args.readers == Some(0) {
        return usage_error("--secs, --stall-secs and --readers must be positive");
    }
    let infos = match super::parse_strategies(&args.strategies) {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    // `all` means every strategy that allows churn; a named one that refuses it is an error.
    let all = args.strategies.trim() == "all";
    if let Some(i) = infos.iter().find(|i| !i.churn && !all) {
        return usage_error(format!(
            "strategy {} refuses churn; nothing to torture",
            i.name
        ));
    }
    let readers = match (args.readers, args.oversubscribe) {
        (Some(n), _) => n,
        (None, true) => 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
        (None, false) => 3,
    };
    let mut failed = false;
    println!("# strategy cycles lookups_checked lookups_failed violations rcu percpu");
    for i in infos.iter().filter(|i| i.churn) {
        let n = i.name;
        let rcus: Vec<Option<FlavorKind>> = if i.rcu {
            flavors.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        let backends: Vec<Option<PercpuKind>> = if i.percpu {
            percpus.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        for (rcu, percpu) in rcus
            .iter()
            .flat_map(|&r| backends.iter().map(move |&b| (r, b)))
        {
            let cfg = TortureConfig {
                readers,
                duration: Duration::from_secs_f64(args.secs),
                stall_limit: Duration::from_secs_f64(args.stall_secs),
                strategy: StrategyConfig::with_rcu(rcu).with_percpu(percpu),
                ..TortureConfig::default()
            };
            let kinds = cfg.strategy.kinds();
            let r = match strategy::visit(n, kinds, Run(cfg)).expect("names checked above") {
                Ok(r) => r,
                Err(e) => return usage_error(e),
            };
            println!(
                "{n} {} {} {} {} {} {}",
                r.cycles,
                r.lookups_checked,
                r.lookups_failed,
                r.violations,
                r.rcu_flavor.as_deref().unwrap_or("-"),
                r.percpu.as_deref().unwrap_or("-")
            );
            if let Some(v) = r.first_violation {
                eprintln!("swapref: {n}: {v}");
                failed = true;
            }
            if let Some(s) = r.stall {
                eprintln!("swapref: {n}: {s}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
