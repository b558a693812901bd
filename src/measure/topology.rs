//! CPU topology from sysfs, and the CPUs this process may run on.
//!
//! `/sys/devices/system/cpu/online` lists the online CPUs; for each,
//! `cpuN/topology/{core_id,physical_package_id,thread_siblings_list}` give its physical core
//! and SMT siblings, and a `cpuN/nodeM` link its NUMA node. The functions take the sysfs root
//! as a parameter so tests can feed synthetic machines.

use crate::results::CpuTopology;
use std::path::Path;

/// Parse a kernel CPU list such as `0-3,8,10-11` into sorted, distinct CPU numbers.
///
/// Errors name the offending part: an empty list, a malformed number, a reversed range, a CPU
/// listed twice.
///
/// ```
/// use swapref::measure::topology::parse_cpu_list;
/// assert_eq!(parse_cpu_list("0-3,8").unwrap(), vec![0, 1, 2, 3, 8]);
/// assert!(parse_cpu_list("3-1").is_err());
/// ```
pub fn parse_cpu_list(s: &str) -> Result<Vec<usize>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty CPU list".into());
    }
    let num = |p: &str| {
        p.trim()
            .parse::<usize>()
            .map_err(|_| format!("invalid CPU number '{}' in CPU list '{s}'", p.trim()))
    };
    let mut out = Vec::new();
    for part in s.split(',') {
        if part.trim().is_empty() {
            return Err(format!("empty item in CPU list '{s}'"));
        }
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(format!(
                "reversed range '{}' in CPU list '{s}'",
                part.trim()
            ));
        }
        if hi - lo > 1 << 16 {
            return Err(format!("range '{}' is too large", part.trim()));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    if let Some(w) = out.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("CPU {} listed twice in '{s}'", w[0]));
    }
    Ok(out)
}

fn read_trim(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned())
}

/// The online CPUs under `root` (normally `/sys/devices/system/cpu`), with core, package,
/// NUMA node and SMT siblings where sysfs has them. Empty if `root/online` is unreadable.
pub fn read_topology(root: &Path) -> Vec<CpuTopology> {
    let Some(online) = read_trim(&root.join("online")).and_then(|s| parse_cpu_list(&s).ok()) else {
        return Vec::new();
    };
    online
        .into_iter()
        .map(|cpu| {
            let dir = root.join(format!("cpu{cpu}"));
            let num = |f: &str| {
                read_trim(&dir.join("topology").join(f)).and_then(|s| s.parse::<usize>().ok())
            };
            let node = std::fs::read_dir(&dir).ok().and_then(|entries| {
                entries.filter_map(Result::ok).find_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix("node"))
                        .and_then(|n| n.parse::<usize>().ok())
                })
            });
            CpuTopology {
                cpu,
                core: num("core_id"),
                package: num("physical_package_id"),
                node,
                siblings: read_trim(&dir.join("topology/thread_siblings_list"))
                    .and_then(|s| parse_cpu_list(&s).ok())
                    .unwrap_or_else(|| vec![cpu]),
            }
        })
        .collect()
}

/// This machine's topology (`/sys/devices/system/cpu`).
pub fn machine_topology() -> Vec<CpuTopology> {
    read_topology(Path::new("/sys/devices/system/cpu"))
}

/// The calling thread's allowed CPU set (`sched_getaffinity`). Call it at start-up, before
/// any thread is pinned, to get the process's set.
pub fn allowed_cpus() -> Vec<usize> {
    allowed_cpus_of(0)
}

/// The allowed CPU set of thread `tid` (0: the calling thread; the process id: the main
/// thread); every CPU this process can see if the call fails.
pub fn allowed_cpus_of(tid: libc::pid_t) -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; all-zero is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t and the size passed is its size.
    let r =
        unsafe { libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the capacity of `set`.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_and_format_like_the_kernel_writes_them() {
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert_eq!(parse_cpu_list(" 8,0-2 ").unwrap(), vec![0, 1, 2, 8]);
        for bad in ["", ",", "0,,1", "a", "1-", "-1", "3-1", "0-2,1", "0x1"] {
            assert!(parse_cpu_list(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            crate::format::cpu_list(&[8, 0, 1, 2, 10, 11]),
            "0-2,8,10-11"
        );
        assert_eq!(crate::format::cpu_list(&[]), "");
    }

    #[test]
    fn a_synthetic_sysfs_is_read_with_nodes_and_siblings() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::write(root.join("online"), "0-3\n").unwrap();
        for cpu in 0..4usize {
            let t = root.join(format!("cpu{cpu}/topology"));
            std::fs::create_dir_all(&t).unwrap();
            std::fs::write(t.join("core_id"), format!("{}\n", cpu % 2)).unwrap();
            std::fs::write(t.join("physical_package_id"), format!("{}\n", cpu / 2)).unwrap();
            let sib = if cpu < 2 { "0-1" } else { "2-3" };
            std::fs::write(t.join("thread_siblings_list"), sib).unwrap();
            std::fs::create_dir(root.join(format!("cpu{cpu}/node{}", cpu / 2))).unwrap();
        }
        let t = read_topology(root);
        assert_eq!(t.len(), 4);
        assert_eq!(t[3].core, Some(1));
        assert_eq!(t[3].package, Some(1));
        assert_eq!(t[3].node, Some(1));
        assert_eq!(t[3].siblings, vec![2, 3]);
        assert!(read_topology(&root.join("nowhere")).is_empty());
    }

    #[test]
    fn this_process_may_run_somewhere() {
        let a = allowed_cpus();
        assert!(!a.is_empty());
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }
}
