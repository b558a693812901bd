//! `swapref compare BASE.json NEW.json`: per point, the ratio of median ns/op and a verdict
//! that calls a change only beyond both the threshold and the spread of the repeats (the rule
//! is in `swapref::compare`). Exit 0: no regression; 1: a point regressed or failed;
//! 2: bad input (unreadable or malformed file, unknown schema version, points that do not
//! match, bad option). Warnings (other machine, other configuration) go to stderr.

use super::usage_error;
use std::path::PathBuf;
use std::process::ExitCode;
use swapref::compare;
use swapref::results::Results;

/// Options of `swapref compare`.
#[derive(clap::Args)]
pub struct Args {
    /// The base results file (for example from the main branch).
    base: PathBuf,
    /// The new results file.
    new: PathBuf,
    /// Smallest change called a regression or an improvement, in percent ("5" or "5%").
    #[arg(long, default_value = "5%")]
    threshold: String,
    /// Output format: `table` or `markdown` (for a CI comment).
    #[arg(long, default_value = "table")]
    format: String,
}

/// Parse a percentage ("5", "5%", "2.5") into a fraction (0.05).
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage (e.g. 5 or 5%)"))?;
    if !(0.0..100.0).contains(&v) {
        return Err(format!("'{s}' is not a percentage in [0, 100)"));
    }
    Ok(v / 100.0)
}

/// Run it.
pub fn main(args: Args) -> ExitCode {
    let threshold = match parse_percent(&args.threshold) {
        Ok(t) => t,
        Err(e) => return usage_error(format!("--threshold {e}")),
    };
    let markdown = match args.format.as_str() {
        "table" => false,
        "markdown" | "md" => true,
        f => return usage_error(format!("unknown format '{f}' (valid: table, markdown)")),
    };
    let base = match Results::load(&args.base) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let new = match Results::load(&args.new) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let c = match compare::compare(&base, &new, threshold) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    for w in &c.warnings {
        eprintln!("swapref: warning: {w}");
    }
    if markdown {
        print!("{}", compare::render_markdown(&c));
    } else {
        print!("{}", compare::render_table(&c));
    }
    if c.has_regression() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
