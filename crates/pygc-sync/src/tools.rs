//! The memory tools over the shared heap: tracemalloc's object domain.
//!
//! Objects of the shared heap come from obmalloc's object API, not from the
//! global allocator, so a `tracemalloc::Tracing` global allocator does not
//! see them. With the `tracemalloc` feature (on by default) every `Gc::new`
//! made while tracing is recorded in tracemalloc's object domain, with the
//! caller of `Gc::new` as the first frame, and forgotten when its block is
//! freed, as the single-threaded heap does through its allocation hooks. The
//! hooks below compile to nothing without the feature, and cost one relaxed
//! load and a branch when tracing is off.

use std::panic::Location;

/// A block of `size` bytes at `addr` was allocated for a new object.
#[inline]
pub(crate) fn on_alloc(addr: usize, size: usize, caller: &'static Location<'static>) {
    #[cfg(feature = "tracemalloc")]
    if tracemalloc::is_tracing() {
        tracemalloc::track_object(addr, size, caller);
    }
    #[cfg(not(feature = "tracemalloc"))]
    let _ = (addr, size, caller);
}

/// The block at `addr` is about to be freed.
#[inline]
pub(crate) fn on_free(addr: usize) {
    // Stopping clears every trace, so there is nothing to forget while
    // tracing is off (and `untrack` is an out-of-line call).
    #[cfg(feature = "tracemalloc")]
    if tracemalloc::is_tracing() {
        tracemalloc::untrack(tracemalloc::OBJECT_DOMAIN, addr);
    }
    #[cfg(not(feature = "tracemalloc"))]
    let _ = addr;
}

/// Where `obj` was allocated (Python's `tracemalloc.get_object_traceback`):
/// `None` if it was made while tracing was off.
///
/// ```
/// use pygc_sync::Gc;
/// tracemalloc::start(1).unwrap();
/// let x = Gc::new([0u8; 100]);
/// let tb = pygc_sync::get_object_traceback(&x).expect("traced");
/// assert!(tb.to_string().ends_with(&format!(":{}", line!() - 2)), "{tb}");
/// tracemalloc::stop();
/// ```
#[cfg(feature = "tracemalloc")]
pub fn get_object_traceback<T: crate::SyncTrace>(obj: &crate::Gc<T>) -> Option<tracemalloc::Traceback> {
    tracemalloc::get_traceback(tracemalloc::OBJECT_DOMAIN, obj.obj().addr())
}
