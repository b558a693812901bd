//! The machine and the build, as recorded in every results file.

use super::topology;
use crate::results::{Availability, Environment, Tool};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

fn read_trim(p: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The binary: crate version, and git commit, dirty flag, rustc and profile as captured by
/// `build.rs` at build time (`None` where they could not be).
pub fn tool() -> Tool {
    Tool {
        name: "swapref".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        git_commit: option_env!("SWAPREF_GIT_COMMIT").map(str::to_owned),
        git_dirty: option_env!("SWAPREF_GIT_DIRTY").map(|d| d == "true"),
        rustc: option_env!("SWAPREF_RUSTC").map(str::to_owned),
        profile: option_env!("SWAPREF_PROFILE")
            .filter(|p| !p.is_empty())
            .unwrap_or(if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            })
            .into(),
    }
}

/// `model name` (x86) or `Hardware`/`CPU part` (Arm) from a cpuinfo text.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    for key in ["model name", "Hardware", "CPU part"] {
        if let Some(v) = cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        }) {
            return Some(v);
        }
    }
    None
}

/// The `uname` fields: nodename, release, machine.
fn uname() -> (Option<String>, Option<String>, Option<String>) {
    // SAFETY: utsname is plain data; all-zero is valid.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return (None, None, None);
    }
    let s = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        Some(String::from_utf8_lossy(&bytes).into_owned()).filter(|s| !s.is_empty())
    };
    (s(&u.nodename), s(&u.release), s(&u.machine))
}

/// The machine now. `allowed_cpus` is the process's allowed set captured at start-up
/// ([`topology::allowed_cpus`] before any thread was pinned).
pub fn environment(label: Option<String>, allowed_cpus: Vec<usize>) -> Environment {
    let (hostname, kernel, machine) = uname();
    let topology = topology::machine_topology();
    let mut governors: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for t in &topology {
        if let Some(g) = read_trim(format!(
            "/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor",
            t.cpu
        )) {
            governors.entry(g).or_default().push(t.cpu);
        }
    }
    let membarrier = match crate::rcu::membarrier::available() {
        Ok(()) => Availability {
            available: true,
            reason: None,
        },
        Err(why) => Availability {
            available: false,
            reason: Some(why),
        },
    };
    Environment {
        label,
        hostname,
        arch: machine.unwrap_or_else(|| std::env::consts::ARCH.into()),
        kernel,
        cpu_model: std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| cpu_model(&c)),
        topology,
        allowed_cpus,
        governors,
        perf_event_paranoid: read_trim("/proc/sys/kernel/perf_event_paranoid")
            .and_then(|s| s.parse().ok()),
        membarrier,
    }
}

/// `t` as RFC 3339 UTC, to the second: `2026-01-31T12:34:56Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // 2000-02-29 (a leap day in a year divisible by 400) 12:34:56.
        let t = UNIX_EPOCH + Duration::from_secs(951_827_696);
        assert_eq!(rfc3339(t), "2000-02-29T12:34:56Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_599);
        assert_eq!(rfc3339(t), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn cpu_models_of_x86_and_arm() {
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 9654\n").as_deref(),
            Some("AMD EPYC 9654")
        );
        assert_eq!(
            cpu_model("processor : 0\nCPU part : 0xd0c\n").as_deref(),
            Some("0xd0c")
        );
        assert_eq!(cpu_model(""), None);
    }

    #[test]
    fn this_machine_is_described() {
        let e = environment(Some("x".into()), topology::allowed_cpus());
        assert!(!e.arch.is_empty());
        assert!(!e.allowed_cpus.is_empty());
        assert!(e.membarrier.available || e.membarrier.reason.is_some());
        let t = tool();
        // Built from a git checkout (as in CI), the commit is a full hash.
        if let Some(c) = &t.git_commit {
            assert_eq!(c.len(), 40, "{c}");
        }
    }
}
