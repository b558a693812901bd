//! `swapref`: the command-line shell over the library. Every subcommand parses its arguments,
//! calls the library, and prints; bad input is one line on stderr and exit code 2.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Run the torture checker (the test suite runs it 2 s per strategy; use this to soak).
    Torture(cli::torture::Args),
    /// Compare two results files: per point the ratio of medians and a noise-aware verdict.
    Compare(cli::compare::Args),
    /// The CI gate: instructions per op under callgrind against results/ci-baseline.json.
    Icount(cli::icount::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::List) => cli::list::main(),
        Some(Command::Torture(a)) => cli::torture::main(a),
        Some(Command::Icount(a)) => cli::icount::main(a),
        Some(Command::Compare(a)) => cli::compare::main(a),
    }
}
