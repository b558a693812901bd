//! `swapref`: the command-line shell over the library. Every subcommand parses its arguments,
//! calls the library, and prints; bad input is one line on stderr and exit code 2.

// Under `--cfg loom` the library builds only its model-checked core (rcu, percpu_ref,
// completion), which the CLI does not run on; the loom suite still compiles this target
// (cargo builds a package's binaries for its integration tests), so it is an empty program there.
#[cfg(loom)]
fn main() {}

#[cfg(not(loom))]
mod cli;

#[cfg(not(loom))]
use clap::{Parser, Subcommand};
#[cfg(not(loom))]
use std::process::ExitCode;

#[cfg(not(loom))]
#[derive(Parser)]
#[command(
    version,
    about = "Refcount strategies for a hot-path device lookup racing swapoff/swapon"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[cfg(not(loom))]
#[derive(Subcommand)]
enum Command {
    /// List the strategies: name, then a one-line description.
    List,
    /// Measure: pinned readers against periodic swapoff/swapon (the default command).
    Run(Box<cli::run::Args>),
    /// Run the torture checker (the test suite runs it 2 s per strategy; use this to soak).
    Torture(cli::torture::Args),
    /// Compare runs: per shared point cost, failed lookups and swapoff latency, each a ratio
    /// with a bootstrap interval and a verdict.
    Compare(cli::compare::Args),
    /// Print a saved results file as a table, Markdown, CSV or JSON.
    Export(cli::export::Args),
    /// Draw the figures of a results file (SVG and PNG).
    Plot(cli::plot::Args),
    /// Write a Markdown report of a results file, with its figures.
    Report(cli::report::Args),
    /// Cut hot-path listings out of `--emit asm` output (used by scripts/codegen.sh).
    Listings(cli::listings::Args),
}

#[cfg(not(loom))]
fn main() -> ExitCode {
    // Before any thread is pinned: the set the results record and placement draws from.
    let allowed = swapref::measure::topology::allowed_cpus();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("bad arguments");
            return cli::usage_error(first.trim_start_matches("error: "));
        }
    };
    match cli.command {
        None => match Cli::parse_from(["swapref", "run"]).command {
            Some(Command::Run(a)) => cli::run::main(*a, allowed),
            _ => unreachable!("`run` parses as the run command"),
        },
        Some(Command::Run(a)) => cli::run::main(*a, allowed),
        Some(Command::List) => cli::list::main(),
        Some(Command::Torture(a)) => cli::torture::main(a),
        Some(Command::Compare(a)) => cli::compare::main(a),
        Some(Command::Export(a)) => cli::export::main(a),
        Some(Command::Plot(a)) => cli::plot::main(a),
        Some(Command::Report(a)) => cli::report::main(a),
        Some(Command::Listings(a)) => cli::listings::main(a),
    }
}
