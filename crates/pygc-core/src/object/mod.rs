//! Layer 1, the object model: what a block of the heap holds and how the
//! collector sees inside a value.
//!
//! - [`header`]: the header in front of every value, its flags, and the two
//!   pointer types that name an object ([`header::ObjPtr`] raw,
//!   [`header::Obj`] borrowed);
//! - [`link`]: CPython's `PyGC_Head` and the list operations on it;
//! - [`type_info`]: the static table per type (layout, drop, trace);
//! - [`trace`]: the `Trace` contract and the `Visitor` it reports to, with
//!   the impls for std types in `trace_impls`.
//!
//! Nothing here knows about generations, counts or collections.

pub(crate) mod header;
pub(crate) mod link;
pub(crate) mod trace;
mod trace_impls;
pub(crate) mod type_info;
