//! What a run measures besides lookups, and the machine it measured on.
//!
//! - [`topology`]: CPUs, cores, SMT siblings and NUMA nodes from sysfs; the allowed CPU set;
//! - [`counters`]: hardware counters per reader thread (`perf_event_open`), scaled for
//!   multiplexing, `null` with a reason where unavailable;
//! - [`floor`]: a fixed loop timed just before each repeat, the yardstick `compare` divides
//!   by so that a machine's slow phases cancel;
//! - [`hold`]: the reference's hold given as a time, calibrated into spin iterations;
//! - [`latency`]: swapoff/swapon latency histograms (`hdrhistogram`) and their percentiles;
//! - [`env`](mod@env): the [`Environment`](crate::results::Environment) and
//!   [`Tool`](crate::results::Tool) records of a results file.

pub mod counters;
pub mod env;
pub mod floor;
pub mod hold;
pub mod latency;
pub mod topology;
