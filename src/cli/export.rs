//! `swapref export FILE --format table|markdown|csv|json`: a saved results file as `run`
//! prints it, to stdout or (atomically) to `--out`. `run --format` uses the same formats.

use super::usage_error;
use std::path::PathBuf;
use std::process::ExitCode;
use swapref::results::{self, Results};

/// Options of `swapref export`.
#[derive(clap::Args)]
pub struct Args {
    /// The results file.
    file: PathBuf,
    /// `table`, `markdown`, `csv` or `json` (the file re-serialised at this build's schema
    /// version).
    #[arg(long, default_value = "csv")]
    format: String,
    /// Write here (a temporary file, then a rename) instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// An output format of `run` and `export`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The fixed-width table.
    Table,
    /// The results document.
    Json,
    /// One row per point.
    Csv,
    /// Machine and configuration lines, then a table.
    Markdown,
}

/// Parse a `--format` value.
pub fn parse_format(s: &str) -> Result<Format, String> {
    Ok(match s {
        "table" => Format::Table,
        "json" => Format::Json,
        "csv" => Format::Csv,
        "markdown" | "md" => Format::Markdown,
        _ => {
            return Err(format!(
                "unknown format '{s}' (valid: table, json, csv, markdown)"
            ));
        }
    })
}

/// `results` in `format`.
pub fn render(results: &Results, format: Format) -> String {
    match format {
        Format::Table => results::export::table(results),
        Format::Markdown => results::export::markdown(results),
        Format::Csv => results::export::csv(results),
        Format::Json => serde_json::to_string_pretty(results).expect("results serialise") + "\n",
    }
}

/// Print `results` in `format` on stdout.
pub fn print(results: &Results, format: Format) {
    print!("{}", render(results, format));
}

/// Run it.
pub fn main(args: Args) -> ExitCode {
    let format = match parse_format(&args.format) {
        Ok(f) => f,
        Err(e) => return usage_error(e),
    };
    let r = match Results::load(&args.file) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let text = render(&r, format);
    match &args.out {
        None => print!("{text}"),
        Some(p) => {
            if let Err(e) = results::write_atomic(p, text.as_bytes()) {
                return usage_error(format!("cannot write {}: {e}", p.display()));
            }
        }
    }
    ExitCode::SUCCESS
}
