//! The driver: pinned readers looking devices up while a swapper cycles swapoff/swapon.
//!
//! The driver never names a strategy: everything here is generic over `S:`
//! [`Strategy`](crate::strategy::Strategy), reached by name through
//! [`strategy::visit`](crate::strategy::visit), so each strategy's hot loop is compiled for it.
//!
//! - [`placement`]: which CPU each thread runs on (physical cores first, SMT siblings last);
//! - [`reader`]: the hot loop, and what it costs the harness (nothing per lookup but the
//!   lookup, a register RNG and a compare);
//! - [`swapper`]: swapoff, off-time, swapon, every period; latencies into histograms;
//! - [`pool`]: persistent pinned readers started together at a barrier ([`ReaderPool`]), used
//!   by `swapref run` and by the criterion benches;
//! - [`point`]: one measured point (warm-up, repeats, spread, counters) as a results
//!   [`Point`](crate::results::Point), and the plan of points a run sweeps;
//! - [`run`]: a whole run, its repeats interleaved in shuffled rounds, into
//!   [`Results`](crate::results::Results).

pub mod placement;
pub mod point;
pub mod pool;
pub mod reader;
pub mod run;
pub mod swapper;

pub use pool::{PoolConfig, PoolError, ReaderPool, Window};
pub use reader::{Tally, Work};
pub use swapper::{Swapper, SwapperConfig, SwapperReport};

#[cfg(test)]
pub(crate) mod mock;
