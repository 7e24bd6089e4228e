//! obmalloc: CPython's small-object allocator (pymalloc) for Rust.
//!
//! PLACEHOLDER CONTRACT (being replaced by the real allocator): the public
//! functions below are the API the pygc heap relies on.
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};

/// The allocator as a `#[global_allocator]`.
pub struct ObMalloc;

// SAFETY: forwards to System for now.
unsafe impl GlobalAlloc for ObMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocates a block for a heap object (CPython's `PyObject_Malloc`, API id `'o'`).
///
/// # Safety
/// `layout.size()` must be non-zero. Returns null on out-of-memory.
pub unsafe fn object_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: caller guarantees a non-zero size.
    unsafe { System.alloc(layout) }
}

/// Frees a block from [`object_alloc`].
///
/// # Safety
/// `ptr` came from `object_alloc(layout)` with this same layout and was not freed.
pub unsafe fn object_dealloc(ptr: *mut u8, layout: Layout) {
    // SAFETY: caller guarantees ptr/layout match.
    unsafe { System.dealloc(ptr, layout) }
}
