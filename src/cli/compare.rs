//! `swapref compare BASE NEW`: per shared point, ns per successful lookup, the failed-lookup
//! rate and swapoff p50/p99, each a ratio with a bootstrap interval and a verdict (the rule is
//! in `swapref::compare`). Each side is a file or a comma list of files (runs pooled). Exit 0:
//! no regression; 1: a point regressed or failed; 2: bad input (unreadable or malformed file,
//! unknown schema version, no shared point, bad option). Warnings go to stderr.

use super::usage_error;
use std::path::PathBuf;
use std::process::ExitCode;
use swapref::compare::{self, Normalize, Options};
use swapref::results::Results;

/// Options of `swapref compare`.
#[derive(clap::Args)]
pub struct Args {
    /// The base results file, or a comma list of files (runs of one build, pooled).
    base: String,
    /// The new results file, or a comma list.
    new: String,
    /// Smallest change of ns per successful lookup called a regression or an improvement, in
    /// percent ("5" or "5%").
    #[arg(long, default_value = "5%")]
    threshold: String,
    /// Likewise for the failed-lookup rate.
    #[arg(long, default_value = "25%")]
    failed_threshold: String,
    /// Likewise for swapoff latency p50 and p99.
    #[arg(long, default_value = "25%")]
    latency_threshold: String,
    /// What ns per successful lookup is divided by before it is judged: `floor`, each
    /// repeat's floor loop; `unprotected`, the same round's repeat of the run's `unprotected`
    /// point at the same readers; `none`: as measured. Rows whose files lack the divisor are
    /// judged as measured, with a warning.
    #[arg(long, default_value = "floor")]
    normalize: String,
    /// Output format: `table`, `markdown` (for a CI comment) or `json`.
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

fn load(list: &str) -> Result<Vec<(String, Results)>, String> {
    list.split(',')
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let path = PathBuf::from(f.trim());
            Results::load(&path)
                .map(|r| (f.trim().to_owned(), r))
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn options(args: &Args) -> Result<Options, String> {
    let pct = |flag: &str, v: &str| parse_percent(v).map_err(|e| format!("--{flag} {e}"));
    Ok(Options {
        threshold: pct("threshold", &args.threshold)?,
        failed_threshold: pct("failed-threshold", &args.failed_threshold)?,
        latency_threshold: pct("latency-threshold", &args.latency_threshold)?,
        normalize: Normalize::parse(&args.normalize).ok_or_else(|| {
            format!(
                "unknown --normalize '{}' (valid: floor, unprotected, none)",
                args.normalize
            )
        })?,
    })
}

/// Run it.
pub fn main(args: Args) -> ExitCode {
    let o = match options(&args) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let render = match args.format.as_str() {
        "table" => compare::render_table,
        "markdown" | "md" => compare::render_markdown,
        "json" => compare::render_json,
        f => {
            return usage_error(format!(
                "unknown format '{f}' (valid: table, markdown, json)"
            ));
        }
    };
    let (base, new) = match (load(&args.base), load(&args.new)) {
        (Ok(b), Ok(n)) => (b, n),
        (Err(e), _) | (_, Err(e)) => return usage_error(e),
    };
    let bref: Vec<compare::Named<'_>> = base.iter().map(|(f, r)| (f.as_str(), r)).collect();
    let nref: Vec<compare::Named<'_>> = new.iter().map(|(f, r)| (f.as_str(), r)).collect();
    let c = match compare::compare(&bref, &nref, &o) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    for w in &c.warnings {
        eprintln!("swapref: warning: {w}");
    }
    print!("{}", render(&c));
    if c.has_regression() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
