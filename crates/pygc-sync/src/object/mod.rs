//! Layer 1, the object model: the block header, the per-type table, the
//! per-thread object lists, and the [`SyncTrace`](trace::SyncTrace) contract.

pub(crate) mod header;
pub(crate) mod list;
pub(crate) mod trace;
mod trace_impls;
pub(crate) mod type_info;
