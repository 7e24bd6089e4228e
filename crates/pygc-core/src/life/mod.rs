//! Layer 2, the life of an object: birth ([`alloc`]: a block from obmalloc,
//! joining generation 0, the allocation that triggers a collection), death
//! ([`dealloc`]: the count reaching zero, the finalizer, weakref callbacks,
//! the trashcan, freeing the block), and the [`hooks`] the tools observe
//! both through.
//!
//! Birth is the one place a lower layer calls up into the collector: the
//! allocation that crosses generation 0's threshold runs a collection, as
//! CPython's `_PyObject_GC_Link` does.

pub(crate) mod alloc;
pub(crate) mod dealloc;
pub(crate) mod hooks;
