//! `swapref list`: the strategies, one a line: name, then a one-line description.

use std::process::ExitCode;
use swapref::strategy;

/// Print the registry.
pub fn main() -> ExitCode {
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
