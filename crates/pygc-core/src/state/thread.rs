//! The heaps of a thread: its default heap, which the Python-named free
//! functions use (`gc::collect()`, `Gc::new`), one per thread as one
//! interpreter state per CPython interpreter; and the explicit heap entered
//! with [`Heap::enter`](crate::Heap::enter), if any, which takes its place
//! while entered.

use std::cell::Cell;

use super::{registry, GcState};
use crate::object::header::Obj;

struct ThreadHeaps {
    default: GcState,
    /// The innermost entered explicit heap, or null.
    current: Cell<*const GcState>,
    /// Passes of this thread's collections that rely on COLLECTING bits
    /// (the tracing phase, the legacy-finalizer move): while any runs, no
    /// collection of any heap of the thread may start, so that one heap's
    /// passes never meet another heap's marked objects.
    marking: Cell<u32>,
}

thread_local! {
    static HEAPS: ThreadHeaps = const {
        ThreadHeaps { default: GcState::new(), current: Cell::new(std::ptr::null()), marking: Cell::new(0) }
    };
}

#[inline]
fn current(h: &ThreadHeaps) -> &GcState {
    let c = h.current.get();
    if c.is_null() {
        &h.default
    } else {
        // SAFETY: `current` is only set by `enter`, to a state its caller
        // borrows for the whole call, and reset when the call ends.
        unsafe { &*c }
    }
}

/// Runs `f` on the current heap; panics during thread teardown.
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&GcState) -> R) -> R {
    HEAPS.with(|h| f(current(h)))
}

/// Runs `f` on the heap `o` belongs to; `None` for an object of the default
/// heap once the thread's heaps were torn down.
#[inline]
pub(crate) fn with_heap_of<R>(o: Obj<'_>, f: impl FnOnce(&GcState) -> R) -> Option<R> {
    match o.heap_slot() {
        0 => HEAPS.try_with(|h| f(&h.default)).ok(),
        slot => {
            let s = registry::lookup(slot);
            debug_assert!(!s.is_null(), "an object of an unregistered heap");
            // SAFETY: a slot stays registered, naming a live state, while an
            // object of its heap exists (registry.rs), and `o` is one.
            Some(f(unsafe { &*s }))
        }
    }
}

/// Whether a pass that relies on COLLECTING bits runs on this thread.
#[inline]
pub(crate) fn is_marking() -> bool {
    HEAPS.try_with(|h| h.marking.get() > 0).unwrap_or(false)
}

/// Counts a marking pass while the returned guard lives.
pub(crate) fn marking() -> MarkingGuard {
    let _ = HEAPS.try_with(|h| h.marking.set(h.marking.get() + 1));
    MarkingGuard(())
}

/// See [`marking`].
pub(crate) struct MarkingGuard(());

impl Drop for MarkingGuard {
    fn drop(&mut self) {
        let _ = HEAPS.try_with(|h| h.marking.set(h.marking.get() - 1));
    }
}

/// A pointer to the current heap, valid until the thread's heaps are torn
/// down (thread exit, which cannot begin while this thread runs a call
/// into pygc); `None` once they are.
#[inline]
pub(crate) fn current_ptr() -> Option<*const GcState> {
    HEAPS.try_with(|h| std::ptr::from_ref(current(h))).ok()
}

/// Makes `state` the current heap while `f` runs.
pub(crate) fn enter<R>(state: &GcState, f: impl FnOnce() -> R) -> R {
    struct Restore(*const GcState);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = HEAPS.try_with(|h| h.current.set(self.0));
        }
    }
    let previous = HEAPS.with(|h| h.current.replace(state));
    let _restore = Restore(previous);
    f()
}
