//! swapref: what does a hot-path device lookup cost when it must never touch a device that
//! `swapoff` is tearing down?
//!
//! The data path, in module order: `rcu` and `percpu_ref` (the primitives) → `swap` (the
//! device model) → `strategy` (one file per design) → driver, measurements, results, reports.

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
