//! Subcommands of the `swapref` binary. Each file parses its own arguments (a `clap::Args`
//! struct) and calls the library; the library never prints.

pub mod compare;
pub mod icount;
pub mod list;
pub mod listings;
pub mod plot;
pub mod report;
pub mod run;
pub mod torture;

use std::process::ExitCode;

/// A one-line error on stderr and exit code 2: bad input, nothing written.
pub fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("swapref: {msg}");
    ExitCode::from(2)
}

/// Parse an `--rcu` value: `auto`, `membarrier` or `fence`.
pub fn parse_rcu(s: &str) -> Result<Option<swapref::rcu::Flavor>, String> {
    match s {
        "auto" => Ok(None),
        _ => swapref::rcu::Flavor::from_name(s)
            .map(Some)
            .ok_or_else(|| format!("unknown RCU flavour '{s}' (valid: auto, membarrier, fence)")),
    }
}
