//! The thread's default heap, which the Python-named free functions
//! (`gc::collect()`, `Gc::new`) use: one per thread, as one interpreter
//! state per CPython interpreter.

use super::GcState;

thread_local! {
    static DEFAULT_HEAP: GcState = const { GcState::new() };
}

/// Runs `f` on this thread's heap; `None` once the heap was torn down
/// (thread exit), when callers fall back to plain reference counting.
#[inline]
pub(crate) fn try_with<R>(f: impl FnOnce(&GcState) -> R) -> Option<R> {
    DEFAULT_HEAP.try_with(f).ok()
}

/// Runs `f` on this thread's heap; panics during thread teardown.
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&GcState) -> R) -> R {
    DEFAULT_HEAP.with(f)
}
