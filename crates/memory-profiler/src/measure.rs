//! What a "memory" number means: the process's resident set size, or the
//! exact bytes live in the heap.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Which number the line profiler and [`crate::LineProfiler`] record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Measure {
    /// Resident set size from `/proc/self/statm`, as memory_profiler's
    /// default psutil backend reports. Includes memory the allocator keeps
    /// after a free, the code, and the stacks; a line that frees 20 MiB may
    /// show an increment of 0.0.
    Rss,
    /// Exact bytes currently allocated through a counting allocator
    /// ([`CountingAlloc`], or a counter given to [`set_heap_source`]). Every increment is what the line allocated
    /// minus what it freed; nothing else moves it.
    Heap,
    /// [`Measure::Heap`] when a counting allocator is installed (it has seen
    /// an allocation), otherwise [`Measure::Rss`]. The default.
    #[default]
    Auto,
}

impl Measure {
    /// Resolves [`Measure::Auto`] against what this process has installed.
    pub fn resolve(self) -> Measure {
        match self {
            Measure::Auto if heap_tracking() => Measure::Heap,
            Measure::Auto => Measure::Rss,
            m => m,
        }
    }

    /// Reads the current value in bytes. `Rss` falls back to 0 if `/proc`
    /// cannot be read (a profile never fails the program it profiles).
    #[inline]
    pub fn bytes(self) -> u64 {
        match self.resolve() {
            Measure::Heap => heap_live_bytes() as u64,
            _ => crate::sys::rss_bytes(None).unwrap_or(0),
        }
    }
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static SOURCE: OnceLock<fn() -> usize> = OnceLock::new();

/// Registers another exact live-bytes counter that [`Measure::Heap`] adds
/// to [`CountingAlloc`]'s: obmalloc's `live_bytes` or tracemalloc's tracing
/// allocator, so the runtime needs no dependency on either. Only the first
/// registration counts; returns false if one was already set.
pub fn set_heap_source(source: fn() -> usize) -> bool {
    SOURCE.set(source).is_ok()
}

/// Bytes currently allocated through every [`CountingAlloc`] in this
/// process (allocated minus freed), plus the registered heap source.
#[inline]
pub fn heap_live_bytes() -> usize {
    let own = LIVE.load(Ordering::Relaxed);
    match SOURCE.get() {
        Some(f) => own + f(),
        None => own,
    }
}

/// True when an exact counter is in use: a [`CountingAlloc`] with live
/// bytes, or a source given to [`set_heap_source`].
pub fn heap_tracking() -> bool {
    SOURCE.get().is_some() || LIVE.load(Ordering::Relaxed) != 0
}

/// A `#[global_allocator]` wrapper that counts live bytes, so
/// [`Measure::Heap`] is exact. One relaxed atomic add per call.
///
/// ```
/// use memory_profiler::CountingAlloc;
/// #[global_allocator]
/// static ALLOC: CountingAlloc<std::alloc::System> = CountingAlloc(std::alloc::System);
/// ```
pub struct CountingAlloc<A>(pub A);

// SAFETY: every call forwards to the inner allocator with the caller's
// arguments unchanged; the counter is only bookkeeping.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract for `layout`.
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds GlobalAlloc::alloc_zeroed's contract.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`.
        unsafe { self.0.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds GlobalAlloc::realloc's contract.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}
