//! Records what built the binary, for the results files: git commit and dirty flag of the
//! source tree, and the rustc version. Every part is optional: a tarball without git, or a
//! git that fails, leaves the field unset rather than failing the build.

use std::path::Path;
use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Some(v) = run(&rustc, &["--version"]) {
        println!("cargo:rustc-env=SWAPREF_RUSTC={v}");
    }
    println!(
        "cargo:rustc-env=SWAPREF_PROFILE={}",
        std::env::var("PROFILE").unwrap_or_default()
    );
    for p in ["src", "build.rs", "Cargo.toml", "Cargo.lock"] {
        if Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let Some(commit) = run("git", &["rev-parse", "HEAD"]) else {
        return;
    };
    println!("cargo:rustc-env=SWAPREF_GIT_COMMIT={commit}");
    // --no-optional-locks: a plain `git status` may rewrite the index, which we watch below,
    // and every build would then trigger the next one.
    if let Some(status) = run("git", &["--no-optional-locks", "status", "--porcelain"]) {
        println!("cargo:rustc-env=SWAPREF_GIT_DIRTY={}", !status.is_empty());
    }
    // Rerun when HEAD moves or the index changes (commits, checkouts, `git add`).
    let mut watch = vec!["HEAD".to_owned(), "index".to_owned()];
    if let Some(r) = run("git", &["symbolic-ref", "-q", "HEAD"]) {
        watch.push(r);
    }
    for w in watch {
        if let Some(p) = run("git", &["rev-parse", "--git-path", &w])
            && Path::new(&p).exists()
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
