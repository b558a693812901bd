//! `swapref torture`: the torture checker for as long as you like (the tests run it for 2 s
//! per strategy). Prints one line per strategy; exits 1 on any violation.

use super::{parse_rcu, usage_error};
use std::process::ExitCode;
use std::time::Duration;
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
    /// Reader threads.
    #[arg(long, default_value_t = 3)]
    readers: usize,
    /// RCU flavour: `membarrier`, `fence`, or `auto`.
    #[arg(long, default_value = "auto")]
    rcu: String,
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
    let rcu = match parse_rcu(&args.rcu) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    if !(args.secs > 0.0 && args.secs.is_finite()) || args.readers == 0 {
        return usage_error("--secs and --readers must be positive");
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
    let names: Vec<&str> = infos.iter().filter(|i| i.churn).map(|i| i.name).collect();
    let mut failed = false;
    println!("# strategy cycles lookups_checked lookups_failed violations rcu");
    for n in names {
        let cfg = TortureConfig {
            readers: args.readers,
            duration: Duration::from_secs_f64(args.secs),
            strategy: StrategyConfig { rcu },
            ..TortureConfig::default()
        };
        let r = match strategy::visit(n, Run(cfg)).expect("names checked above") {
            Ok(r) => r,
            Err(e) => return usage_error(e),
        };
        println!(
            "{n} {} {} {} {} {}",
            r.cycles,
            r.lookups_checked,
            r.lookups_failed,
            r.violations,
            r.rcu_flavor.as_deref().unwrap_or("-")
        );
        if let Some(v) = r.first_violation {
            eprintln!("swapref: {n}: {v}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
