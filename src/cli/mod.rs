//! Subcommands of the `swapref` binary. Each file parses its own arguments (a `clap::Args`
//! struct) and calls the library; the library never prints.

pub mod compare;
pub mod export;
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

/// Parse a `--strategies` value: `all` (every registered strategy, registry order) or a comma
/// list of names (duplicates dropped, order kept); an unknown name is an error listing the valid
/// ones.
pub fn parse_strategies(s: &str) -> Result<Vec<swapref::strategy::Info>, String> {
    use swapref::strategy;
    if s.trim() == "all" {
        return Ok(strategy::ALL.to_vec());
    }
    let mut v: Vec<strategy::Info> = Vec::new();
    for n in s.split(',').map(str::trim) {
        let i = strategy::info(n).map_err(|e| e.to_string())?;
        if !v.contains(&i) {
            v.push(i);
        }
    }
    Ok(v)
}

/// Parse an `--rcu` value: a comma list of `qsbr`, `membarrier`, `fence` and `auto` (the
/// flavour that models the running kernel, [`swapref::rcu::FlavorKind::auto`]), duplicates
/// dropped, order kept. Each must be usable here; the error says why one is not.
/// `--percpu`: a comma list of `thread`, `cpu`, `cid`, `auto`; each must be available here.
pub fn parse_percpu(s: &str) -> Result<Vec<swapref::percpu_ref::PercpuKind>, String> {
    use swapref::percpu_ref::PercpuKind;
    let mut v = Vec::new();
    for n in s.split(',').map(str::trim) {
        let k = match n {
            "auto" => swapref::strategy::auto_percpu().0,
            _ => PercpuKind::from_name(n).ok_or_else(|| {
                format!("unknown percpu counter backend '{n}' (valid: thread, cpu, cid, auto)")
            })?,
        };
        k.available()
            .map_err(|why| format!("--percpu {n}: {k} is not available here: {why}"))?;
        if !v.contains(&k) {
            v.push(k);
        }
    }
    Ok(v)
}

pub fn parse_rcu(s: &str) -> Result<Vec<swapref::rcu::FlavorKind>, String> {
    use swapref::rcu::FlavorKind;
    let mut v = Vec::new();
    for n in s.split(',').map(str::trim) {
        let f = match n {
            "auto" => swapref::strategy::auto_flavor().0,
            _ => FlavorKind::from_name(n).ok_or_else(|| {
                format!("unknown RCU flavour '{n}' (valid: qsbr, membarrier, fence, auto)")
            })?,
        };
        f.available()
            .map_err(|why| format!("--rcu {n}: {} is not available here: {why}", f.name()))?;
        if !v.contains(&f) {
            v.push(f);
        }
    }
    Ok(v)
}
