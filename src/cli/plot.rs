//! `swapref plot RESULTS.json [--out plots/]`: the figures of a results file as SVG and PNG.

use super::usage_error;
use std::path::PathBuf;
use std::process::ExitCode;
use swapref::report::{SliceChoice, View, plot};
use swapref::results::Results;

/// Options of `swapref plot`.
#[derive(clap::Args)]
pub struct Args {
    /// A results file written by `swapref run`.
    results: PathBuf,
    /// Directory for the figures (created if missing).
    #[arg(long, default_value = "plots")]
    out: PathBuf,
    /// Draw every figure from one slice: a swap period (`never`: the points without a
    /// swapper), optionally `:` and reader counts, optionally `:` and a hold, e.g. `1ms:1,2`,
    /// `never::100ns` (every reader count). Default: costs from the points without a swapper
    /// (when the run has them), churn from the most measured swap period at the reader counts
    /// whose swapper had its own CPU, both at the shortest hold.
    #[arg(long)]
    slice: Option<String>,
}

/// Parse `--slice`: `never`, `1ms`, `1ms:1,2`, `1ms:1,2:100ns`, `never::100ns`.
pub fn parse_slice(s: &str) -> Result<SliceChoice, String> {
    let mut parts = s.splitn(3, ':');
    let per = parts.next().unwrap_or("");
    let readers = parts.next().filter(|r| !r.trim().is_empty());
    let hold_ns = parts
        .next()
        .map(|h| {
            let d = super::run::parse_duration("slice", h.trim())?;
            u64::try_from(d.as_nanos()).map_err(|_| format!("--slice {s}: too long"))
        })
        .transpose()?;
    let period = match per.trim() {
        "never" => None,
        p => {
            let d = super::run::parse_duration("slice", p)?;
            Some(u64::try_from(d.as_nanos()).map_err(|_| format!("--slice {s}: too long"))?)
        }
    };
    let readers = readers
        .map(|r| {
            r.split(',')
                .map(|n| {
                    n.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("--slice {s}: '{n}' is not a reader count"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .map(|mut r| {
            r.sort_unstable();
            r.dedup();
            r
        });
    Ok(SliceChoice {
        period,
        readers,
        hold_ns,
    })
}

/// Draw them.
pub fn main(args: Args) -> ExitCode {
    let results = match Results::load(&args.results) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let slice = match args.slice.as_deref().map(parse_slice).transpose() {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let view = match View::with_slice(&results, &args.results, slice.as_ref()) {
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
