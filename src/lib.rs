//! swapref: what does a hot-path device lookup cost when it must never touch a device that
//! `swapoff` is tearing down?
//!
//! # The modules, in the order data flows through them
//!
//! | stage | module | what |
//! | --- | --- | --- |
//! | primitives | [`rcu`], [`percpu_ref`], [`completion`], [`zoned`] | a userspace RCU in liburcu's three flavours, `lib/percpu-refcount.c` on it, `struct completion`, zoned hazard slots |
//! | device model | [`swap`] | `swap_info[]`, swap entries, `swap_map`, swapon/swapoff with the kernel's contract |
//! | strategies | [`strategy`] | one trait, one file per design, one registry line each |
//! | checker | [`torture`] | rcutorture-style: readers race swapoff, freed maps are poisoned, stalls are reported |
//! | driver | [`workload`], [`measure`] | pinned readers, a swapper, counters, latency histograms, the environment |
//! | results | [`results`], [`stats`], [`format`](mod@format) | the versioned JSON schema and its exports; spreads, bootstrap; one formatting module for durations, periods, measured times, table cells and CPU lists |
//! | reports | [`report`], [`compare`], [`icount`], [`codegen`] | figures, the write-up, run comparison, what the instruction-count benches measure, the hot-path listing functions |
//! | facts | [`docs`] | limitations and the invariant the unsafe code rests on |
//!
//! # A lookup, end to end
//!
//! ```
//! use swapref::rcu::Qsbr;
//! use swapref::strategy::percpu_acquire::PercpuAcquire;
//! use swapref::swap::{SwapEntry, SwapTable, TableConfig};
//!
//! // swap_info[] guarded by percpu_ref over the qsbr RCU (the non-preemptible kernel).
//! let table = SwapTable::<PercpuAcquire<Qsbr>>::new(&TableConfig::default())?;
//! let generation = table.swapon(0, 64)?; // device 0, 64 pages
//! let mut reader = table.reader(); // registers this thread with the table's RCU domain
//! let entry = SwapEntry { ty: 0, offset: 7 };
//! // get_swap_device(): a reference to device 0, or None if it is off; put on drop.
//! let byte = table.get_swap_device(&mut reader, entry).map(|dev| dev.read(entry.offset));
//! assert_eq!(byte, Some(swapref::swap::SwapMap::tag_for(generation)));
//! // swapoff waits for a grace period; under qsbr this thread's reader must not be online
//! // then (it would wait for itself), so it goes offline around the call.
//! use swapref::strategy::Strategy;
//! PercpuAcquire::<Qsbr>::offline(&mut reader, || table.swapoff(0))?;
//! assert!(table.get_swap_device(&mut reader, entry).is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(not(loom))]
pub mod codegen;
#[cfg(not(loom))]
pub mod compare;
pub mod completion;
pub mod docs;
#[cfg(not(loom))]
pub mod format;
#[cfg(not(loom))]
pub mod icount;
#[cfg(not(loom))]
pub mod measure;
pub mod percpu_ref;
pub mod rcu;
#[cfg(not(loom))]
pub mod report;
#[cfg(not(loom))]
pub mod results;
#[cfg(not(loom))]
pub mod rseq;
pub mod stats;
#[cfg(not(loom))]
pub mod strategy;
#[cfg(not(loom))]
pub mod swap;
pub(crate) mod sync;
#[cfg(not(loom))]
pub mod torture;
#[cfg(not(loom))]
pub mod workload;
pub mod zoned;
