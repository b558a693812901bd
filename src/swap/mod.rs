//! The swap-device model, after `mm/swapfile.c`.
//!
//! - [`SwapTable`] is `swap_info[MAX_SWAPFILES]`: 32 long-lived slots that a swap entry
//!   [`SwapEntry`] `(type, offset)` names indirectly. The slots never go away; what `swapoff`
//!   tears down and `swapon` builds anew is the device's resources, here its [`SwapMap`].
//! - [`SwapTable::get_swap_device`] is `get_swap_device()`: check the type, take a reference
//!   through the [`Strategy`](crate::strategy::Strategy), check `offset < max`. Dropping the returned guard is
//!   `put_swap_device()`.
//! - [`SwapTable::swapoff`] keeps the kernel's contract: when it returns, no reader holds the
//!   old device or can newly obtain it; only then is the map poisoned and freed.
//! - [`SwapTable::swapon`] allocates and initialises a map, then publishes it.
//!
//! The table also keeps the bookkeeping the kernel keeps under `swap_lock` (which slots are on)
//! and, when built [`checked`](TableConfig::checked), the evidence the torture checker needs:
//! swapoff verifies that no reader still holds the map it is about to free, and freed maps are
//! poisoned and quarantined (kept allocated) so that a broken strategy's late reader reads
//! poison instead of freed memory.
//!
//! Two layers: [`map`] (the device, below the strategies) and [`table`] (the table, above them).

pub mod map;
pub mod table;

pub use map::*;
pub use table::*;
