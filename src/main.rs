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
    /// Draw the figures of a results file (SVG and PNG).
    Plot(cli::plot::Args),
    /// Write a Markdown report of a results file, with its figures.
    Report(cli::report::Args),
    /// Cut hot-path listings out of `--emit asm` output (used by scripts/codegen.sh).
    Listings(cli::listings::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::List) => cli::list::main(),
        Some(Command::Torture(a)) => cli::torture::main(a),
        Some(Command::Plot(a)) => cli::plot::main(a),
        Some(Command::Report(a)) => cli::report::main(a),
        Some(Command::Listings(a)) => cli::listings::main(a),
    }
}
