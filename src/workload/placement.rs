//! Where reader and swapper threads run.
//!
//! The default order fills physical cores before SMT siblings, the way refscale's users and
//! the kernel's own scalability tests read their curves: the first `n` readers on `n`
//! different cores measure the strategy, not two hyperthreads fighting over one core's load
//! ports. Cores are taken NUMA node by node (then package, then core id), so a sweep crosses
//! a node boundary once, at a reader count you can read off the topology.
//!
//! The swapper gets the next CPU in that order when one is left; otherwise it shares the CPU
//! of the last CPU in the order (the one with the fewest readers) and the results say so.
//! When every core has a reader, the next CPU is an SMT sibling of one; the table and the
//! write-up flag that too ([`crate::results::Results::swapper_smt_sibling`]).

use crate::results::CpuTopology;
use std::collections::BTreeMap;
use std::fmt;

/// Order `cpus` for placement: one CPU per physical core first (cores sorted by NUMA node,
/// package, core id), then the second SMT thread of each core in the same core order, and so
/// on. CPUs missing from `topology`, or whose core id is unknown, count as cores of their own.
/// Every CPU of `cpus` appears exactly once in the result.
///
/// ```
/// use swapref::results::CpuTopology;
/// use swapref::workload::placement::order;
/// // 2 cores x 2 threads: CPUs 0,2 are core 0; CPUs 1,3 are core 1.
/// let t = |cpu, core, sib: &[usize]| CpuTopology {
///     cpu, core: Some(core), package: Some(0), node: Some(0), siblings: sib.to_vec(),
/// };
/// let topo = [t(0, 0, &[0, 2]), t(1, 1, &[1, 3]), t(2, 0, &[0, 2]), t(3, 1, &[1, 3])];
/// assert_eq!(order(&topo, &[0, 1, 2, 3]), vec![0, 1, 2, 3]);
/// assert_eq!(order(&topo, &[0, 2]), vec![0, 2]);
/// ```
pub fn order(topology: &[CpuTopology], cpus: &[usize]) -> Vec<usize> {
    // Key of a physical core: (node, package, core). Unknown parts sort last; a CPU with no
    // core id is its own core (keyed by its number).
    type Key = (usize, usize, usize, usize);
    let mut cores: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for &cpu in cpus {
        let t = topology.iter().find(|t| t.cpu == cpu);
        let key = match t {
            Some(CpuTopology {
                core: Some(core),
                package,
                node,
                ..
            }) => (
                node.unwrap_or(usize::MAX),
                package.unwrap_or(usize::MAX),
                *core,
                0,
            ),
            _ => (usize::MAX, usize::MAX, usize::MAX, cpu),
        };
        cores.entry(key).or_default().push(cpu);
    }
    for threads in cores.values_mut() {
        threads.sort_unstable();
        threads.dedup();
    }
    let depth = cores.values().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::with_capacity(cpus.len());
    for round in 0..depth {
        for threads in cores.values() {
            if let Some(&cpu) = threads.get(round) {
                out.push(cpu);
            }
        }
    }
    out
}

/// Where one point's threads run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// CPU of each reader, in reader order.
    pub readers: Vec<usize>,
    /// CPU of the swapper; `None` when the point has no swapper.
    pub swapper: Option<usize>,
}

impl Placement {
    /// Whether the swapper shares its CPU with a reader.
    pub fn swapper_shares(&self) -> bool {
        self.swapper.is_some_and(|s| self.readers.contains(&s))
    }
}

/// Why threads could not be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementError {
    /// No CPU to place on.
    NoCpus,
    /// Zero readers asked for.
    NoReaders,
    /// More readers than CPUs, and oversubscription was not allowed.
    TooManyReaders {
        /// Readers asked for.
        readers: usize,
        /// CPUs available.
        cpus: usize,
    },
}

impl fmt::Display for PlacementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlacementError::NoCpus => f.write_str("no CPU to run readers on"),
            PlacementError::NoReaders => f.write_str("the reader count must be at least 1"),
            PlacementError::TooManyReaders { readers, cpus } => write!(
                f,
                "{readers} readers but only {cpus} usable CPU(s) (pass --oversubscribe to allow it)"
            ),
        }
    }
}

impl std::error::Error for PlacementError {}

/// Place `readers` readers (and a swapper, if `swapper`) on CPUs taken in `order`.
///
/// Reader `i` runs on `order[i % order.len()]`; more readers than CPUs is an error unless
/// `oversubscribe`. The swapper takes `order[readers]` when that CPU is free, otherwise the
/// last CPU of `order` (which carries the fewest readers), and [`Placement::swapper_shares`].
pub fn place(
    order: &[usize],
    readers: usize,
    swapper: bool,
    oversubscribe: bool,
) -> Result<Placement, PlacementError> {
    if order.is_empty() {
        return Err(PlacementError::NoCpus);
    }
    if readers == 0 {
        return Err(PlacementError::NoReaders);
    }
    if readers > order.len() && !oversubscribe {
        return Err(PlacementError::TooManyReaders {
            readers,
            cpus: order.len(),
        });
    }
    let reader_cpus = (0..readers).map(|i| order[i % order.len()]).collect();
    let swapper = match (swapper, order.get(readers)) {
        (false, _) => None,
        (true, Some(&free)) => Some(free),
        (true, None) => order.last().copied(),
    };
    Ok(Placement {
        readers: reader_cpus,
        swapper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cores` cores × `smt` threads on each of `nodes` nodes, numbered the way Linux numbers
    /// Intel servers: first thread of every core, then the second threads.
    fn synthetic(nodes: usize, cores: usize, smt: usize) -> Vec<CpuTopology> {
        let per_round = nodes * cores;
        let mut v = Vec::new();
        for cpu in 0..per_round * smt {
            let phys = cpu % per_round;
            let node = phys / cores;
            v.push(CpuTopology {
                cpu,
                core: Some(phys % cores),
                package: Some(node),
                node: Some(node),
                siblings: (0..smt).map(|t| phys + t * per_round).collect(),
            });
        }
        v
    }

    #[test]
    fn physical_cores_first_then_siblings_node_by_node() {
        // 2 nodes x 4 cores x 2 SMT: CPUs 0-3 node 0, 4-7 node 1, 8-15 their siblings.
        let topo = synthetic(2, 4, 2);
        let all: Vec<usize> = (0..16).rev().collect();
        let o = order(&topo, &all);
        assert_eq!(o, (0..16).collect::<Vec<_>>());
        // First 8 readers: one per physical core, no two sharing a core.
        let p = place(&o, 8, true, false).unwrap();
        let cores: std::collections::BTreeSet<_> = p
            .readers
            .iter()
            .map(|&c| (topo[c].node, topo[c].core))
            .collect();
        assert_eq!(cores.len(), 8);
        assert_eq!(p.swapper, Some(8));
        assert!(!p.swapper_shares());
    }

    #[test]
    fn linux_amd_style_numbering_still_spreads_over_cores() {
        // 4 cores x 2 SMT with siblings adjacent (0,1 core 0; 2,3 core 1; ...), one node.
        let topo: Vec<CpuTopology> = (0..8)
            .map(|cpu| CpuTopology {
                cpu,
                core: Some(cpu / 2),
                package: Some(0),
                node: Some(0),
                siblings: vec![cpu & !1, cpu | 1],
            })
            .collect();
        let o = order(&topo, &(0..8).collect::<Vec<_>>());
        assert_eq!(o, vec![0, 2, 4, 6, 1, 3, 5, 7]);
        let p = place(&o, 3, true, false).unwrap();
        assert_eq!(p.readers, vec![0, 2, 4]);
        assert_eq!(p.swapper, Some(6));
    }

    #[test]
    fn a_restricted_set_keeps_only_its_cpus() {
        let topo = synthetic(2, 4, 2);
        // CPUs 5 (node 1 core 1), 13 (its sibling), 2 (node 0 core 2).
        let o = order(&topo, &[13, 5, 2]);
        assert_eq!(o, vec![2, 5, 13]);
    }

    #[test]
    fn unknown_topology_is_one_core_per_cpu() {
        let o = order(&[], &[3, 1, 2]);
        assert_eq!(o, vec![1, 2, 3]);
    }

    #[test]
    fn the_swapper_shares_when_every_cpu_has_a_reader() {
        let p = place(&[0, 1], 2, true, false).unwrap();
        assert_eq!(p.readers, vec![0, 1]);
        assert_eq!(p.swapper, Some(1));
        assert!(p.swapper_shares());
        let p = place(&[0, 1], 2, false, false).unwrap();
        assert_eq!((p.swapper, p.swapper_shares()), (None, false));
    }

    #[test]
    fn too_many_readers_is_refused_unless_oversubscribed() {
        assert_eq!(
            place(&[0, 1], 3, true, false),
            Err(PlacementError::TooManyReaders {
                readers: 3,
                cpus: 2
            })
        );
        let p = place(&[0, 1], 3, true, true).unwrap();
        assert_eq!(p.readers, vec![0, 1, 0]);
        assert_eq!(p.swapper, Some(1));
        assert!(p.swapper_shares());
        assert_eq!(place(&[], 1, false, true), Err(PlacementError::NoCpus));
        assert_eq!(place(&[0], 0, false, true), Err(PlacementError::NoReaders));
    }
}
