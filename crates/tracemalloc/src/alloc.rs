//! `Tracing<A>`: a global-allocator wrapper that records every Rust allocation in
//! [`crate::RUST_DOMAIN`] while tracing is on.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU8, Ordering::*};

use crate::tracer::{self, thread_busy, TRACING};
use crate::RUST_DOMAIN;

/// Wraps an allocator so that tracemalloc sees every allocation made through it:
///
/// ```
/// use std::alloc::System;
/// use tracemalloc::Tracing;
///
/// #[global_allocator]
/// static GLOBAL: Tracing<System> = Tracing::new(System);
/// # fn main() {}
/// ```
///
/// Off, it costs one relaxed atomic load per call. On, each allocation captures up to
/// `nframe` native frames (plus a few for the allocation plumbing, dropped when shown) and
/// inserts a trace. The tracer's own allocations go straight to the inner allocator (a
/// per-thread re-entrancy flag), so they are never traced. The first allocation reads
/// `PYGC_TRACEMALLOC` (see [`crate::init_from_env`]).
pub struct Tracing<A> {
    inner: A,
}

impl<A> Tracing<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Tracing<A> {
        Tracing { inner }
    }

    /// The wrapped allocator.
    pub fn inner(&self) -> &A {
        &self.inner
    }
}

pub(crate) static ENV_STATE: AtomicU8 = AtomicU8::new(0);
pub(crate) const ENV_DONE: u8 = 2;

#[inline(always)]
fn after_alloc(ptr: *mut u8, size: usize) {
    // Not from inside the tracer: `start` would take a lock this thread may hold.
    if ENV_STATE.load(Relaxed) != ENV_DONE && !thread_busy() {
        crate::init_from_env();
    }
    if TRACING.load(Relaxed) && !ptr.is_null() {
        tracer::record(RUST_DOMAIN, ptr as usize, size, None, true);
    }
}

// SAFETY: every method forwards to the inner allocator with the caller's arguments
// unchanged and returns its result unchanged; the bookkeeping around it never touches the
// memory and never allocates through `self` on the same thread (the busy flag).
unsafe impl<A: GlobalAlloc> GlobalAlloc for Tracing<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for `layout`.
        let ptr = unsafe { self.inner.alloc(layout) };
        after_alloc(ptr, layout.size());
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        after_alloc(ptr, layout.size());
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Forget first: once freed, another thread may get (and trace) the same address.
        // The inner allocator's debug hooks may still report the block: its traceback stays
        // reachable from this thread until the call returns.
        if TRACING.load(Relaxed) && !thread_busy() {
            if let Some(entry) = tracer::forget(RUST_DOMAIN, ptr as usize) {
                tracer::set_freeing(Some((ptr as usize, entry.tb)));
                // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
                unsafe { self.inner.dealloc(ptr, layout) };
                tracer::set_freeing(None);
                return;
            }
        }
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = if TRACING.load(Relaxed) && !thread_busy() {
            tracer::forget(RUST_DOMAIN, ptr as usize)
        } else {
            None
        };
        tracer::set_freeing(old.map(|e| (ptr as usize, e.tb)));
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if old.is_some() {
            tracer::set_freeing(None);
        }
        if new.is_null() {
            if let Some(entry) = old {
                tracer::restore(RUST_DOMAIN, ptr as usize, entry);
            }
        } else {
            after_alloc(new, new_size);
        }
        new
    }
}
