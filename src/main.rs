//! `swapref`: the command-line shell over the library. Every subcommand parses its arguments,
//! calls the library, and prints; bad input is one line on stderr and exit code 2.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;
use swapref::rcu::Flavor;
use swapref::strategy::{self, Strategy, StrategyConfig, Visitor};
use swapref::torture::{self, TortureConfig, TortureReport};

#[derive(Parser)]
#[command(
    version,
    about = "Refcount strategies for a hot-path device lookup racing swapoff/swapon"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the strategies: name, then a one-line description.
    List,
    /// Run the torture checker (the test suite runs it for 2 s per strategy; use this to soak).
    Torture {
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
    },
}

/// A one-line error and exit code 2.
fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("swapref: {msg}");
    ExitCode::from(2)
}

struct TortureVisit(TortureConfig);

impl Visitor for TortureVisit {
    type Output = Result<TortureReport, strategy::StrategyError>;
    fn visit<S: Strategy>(self) -> Self::Output {
        torture::run::<S>(&self.0)
    }
}

fn parse_rcu(s: &str) -> Result<Option<Flavor>, String> {
    match s {
        "auto" => Ok(None),
        _ => Flavor::from_name(s)
            .map(Some)
            .ok_or_else(|| format!("unknown RCU flavour '{s}' (valid: auto, membarrier, fence)")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::List) {
        Command::List => {
            let w = strategy::ALL
                .iter()
                .map(|i| i.name.len())
                .max()
                .unwrap_or(0);
            for i in strategy::ALL {
                println!("{:w$}  {}", i.name, i.summary);
            }
            ExitCode::SUCCESS
        }
        Command::Torture {
            strategies,
            secs,
            readers,
            rcu,
        } => {
            let rcu = match parse_rcu(&rcu) {
                Ok(r) => r,
                Err(e) => return usage_error(e),
            };
            if !(secs > 0.0 && secs.is_finite()) || readers == 0 {
                return usage_error("--secs and --readers must be positive");
            }
            let names: Vec<&str> = if strategies == "all" {
                strategy::ALL
                    .iter()
                    .filter(|i| i.churn)
                    .map(|i| i.name)
                    .collect()
            } else {
                strategies.split(',').map(str::trim).collect()
            };
            for n in &names {
                match strategy::info(n) {
                    Err(e) => return usage_error(e),
                    Ok(i) if !i.churn => {
                        return usage_error(format!(
                            "strategy {n} refuses churn; nothing to torture"
                        ));
                    }
                    Ok(_) => {}
                }
            }
            let mut failed = false;
            println!("# strategy cycles lookups_checked lookups_failed violations rcu");
            for n in names {
                let cfg = TortureConfig {
                    readers,
                    duration: Duration::from_secs_f64(secs),
                    strategy: StrategyConfig { rcu },
                    ..TortureConfig::default()
                };
                let r = match strategy::visit(n, TortureVisit(cfg)).expect("checked above") {
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
    }
}
