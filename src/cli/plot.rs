//! `swapref plot RESULTS.json [--out plots/]`: the figures of a results file as SVG and PNG.

use super::usage_error;
use std::path::PathBuf;
use std::process::ExitCode;
use swapref::report::{View, plot};
use swapref::results::Results;

/// Options of `swapref plot`.
#[derive(clap::Args)]
pub struct Args {
    /// A results file written by `swapref run`.
    results: PathBuf,
    /// Directory for the figures (created if missing).
    #[arg(long, default_value = "plots")]
    out: PathBuf,
}

/// Draw them.
pub fn main(args: Args) -> ExitCode {
    let results = match Results::load(&args.results) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let view = match View::new(&results, &args.results) {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    match plot::plot_all(&view, &args.out) {
        Ok(p) => {
            for f in &p.figures {
                println!("{}  {}", f.png.display(), f.svg.display());
            }
            for o in &p.omitted {
                println!("note: {o}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}
