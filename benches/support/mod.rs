//! Helpers shared by the bench groups (not a bench target of its own).

pub mod cache_misses;
