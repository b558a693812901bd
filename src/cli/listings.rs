//! `swapref listings`: cut each strategy's hot-path function out of `--emit asm` output and
//! record it under `results/codegen/` (called by `scripts/codegen.sh`, once per architecture).

use super::usage_error;
use std::path::PathBuf;
use std::process::ExitCode;
use swapref::report::listing;

/// Options of `swapref listings`.
#[derive(clap::Args)]
pub struct Args {
    /// The `.s` file rustc wrote for the swapref library.
    #[arg(long)]
    asm: PathBuf,
    /// Short name of this architecture/configuration, also its directory (e.g. `aarch64-rcpc`).
    #[arg(long)]
    name: String,
    /// Target triple the assembly was compiled for.
    #[arg(long)]
    target: String,
    /// `-C target-feature` value used, if any.
    #[arg(long, default_value = "")]
    features: String,
    /// `rustc -V` of the compiler used.
    #[arg(long)]
    toolchain: String,
    /// Output directory.
    #[arg(long, default_value = "results/codegen")]
    out: PathBuf,
}

/// Cut, count, write.
pub fn main(a: Args) -> ExitCode {
    let asm = match std::fs::read_to_string(&a.asm) {
        Ok(t) => t,
        Err(e) => return usage_error(format!("{}: {e}", a.asm.display())),
    };
    match listing::write_listings(&asm, &a.name, &a.target, &a.features, &a.toolchain, &a.out) {
        Ok(arch) => {
            for f in &arch.functions {
                println!(
                    "{}/{:<15} {:>4} insns  {}",
                    arch.name,
                    f.strategy,
                    f.instructions,
                    listing::fmt_ordering(&f.ordering).replace('`', "")
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}
