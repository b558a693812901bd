//! `swapref report RESULTS.json [--out report.md]`: the Markdown write-up, with its figures.

use super::usage_error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use swapref::report::listing::Summary;
use swapref::report::{View, plot, writeup};
use swapref::results::{Results, write_atomic};

/// Options of `swapref report`.
#[derive(clap::Args)]
pub struct Args {
    /// A results file written by `swapref run`.
    results: PathBuf,
    /// The Markdown file to write (atomically).
    #[arg(long, default_value = "report.md")]
    out: PathBuf,
    /// Directory for the figures; default `plots/` beside the report.
    #[arg(long)]
    plots: Option<PathBuf>,
    /// Do not draw figures (the write-up then says so).
    #[arg(long)]
    no_plots: bool,
    /// Hot-path listings made by `scripts/codegen.sh`; default `results/codegen` when it exists.
    #[arg(long)]
    codegen: Option<PathBuf>,
    /// Take every table, finding and figure from one slice (as `swapref plot --slice`).
    #[arg(long)]
    slice: Option<String>,
}

/// Write it.
pub fn main(args: Args) -> ExitCode {
    let results = match Results::load(&args.results) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let slice = match args
        .slice
        .as_deref()
        .map(super::plot::parse_slice)
        .transpose()
    {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let view = match View::with_slice(&results, &args.results, slice.as_ref()) {
        Ok(v) => v,
        Err(e) => return usage_error(e),
    };
    let dir = match args.out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() || args.out.is_dir() {
        return usage_error(format!(
            "{}: cannot write the report there (no such directory, or it is a directory)",
            args.out.display()
        ));
    }
    let (codegen_dir, explicit) = match &args.codegen {
        Some(d) => (d.clone(), true),
        None => (PathBuf::from("results/codegen"), false),
    };
    let listings = match Summary::load(&codegen_dir) {
        Ok(Some(s)) => Some((codegen_dir.clone(), s)),
        Ok(None) if explicit => {
            return usage_error(format!(
                "{}: no summary.json (run scripts/codegen.sh)",
                codegen_dir.display()
            ));
        }
        Ok(None) => None,
        Err(e) => return usage_error(e),
    };
    let executed = listings
        .as_ref()
        .and_then(|(d, _)| std::fs::read_to_string(d.join("x86_64-executed.tsv")).ok());
    let plots = if args.no_plots {
        None
    } else {
        let pdir = args.plots.clone().unwrap_or_else(|| dir.join("plots"));
        match plot::plot_all(&view, &pdir) {
            Ok(p) => Some(p),
            Err(e) => return usage_error(e),
        }
    };
    let inputs = writeup::Inputs {
        plots,
        listings,
        executed,
    };
    let md = writeup::render(&view, &inputs, &dir);
    if let Err(e) = write_atomic(&args.out, md.as_bytes()) {
        return usage_error(format!("{}: {e}", args.out.display()));
    }
    println!("{}", args.out.display());
    if let Some(p) = &inputs.plots {
        for f in &p.figures {
            println!("{}", display(&f.png));
        }
    }
    ExitCode::SUCCESS
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
