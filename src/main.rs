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
    /// Run the torture checker (the test suite runs it 2 s per strategy; use this to soak).
    Torture(cli::torture::Args),
}

#[cfg(not(loom))]
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::List) => cli::list::main(),
        Some(Command::Torture(a)) => cli::torture::main(a),
    }
}
