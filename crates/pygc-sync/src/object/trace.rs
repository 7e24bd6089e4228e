//! The `SyncTrace` contract: how the collector sees the handles inside a
//! value of the shared heap.
//!
//! pygc-core's [`Trace`](https://docs.rs/pygc-core) cannot be reused: its
//! `Visitor` is sealed and names pygc-core's own `Gc`, and its contract
//! knows nothing of other threads. This one adds what sharing needs: values
//! are `Send + Sync`, and every handle that can change after birth lives
//! behind a [`GcMutex`](crate::GcMutex) or [`GcRwLock`](crate::GcRwLock),
//! whose `trace` hands the contents to the collector only while it holds
//! the lock.

use crate::handle::gc::Gc;
use crate::handle::weak::Weak;

/// Reports the [`Gc`] handles a value of the shared heap owns.
///
/// Implement it with [`sync_trace!`](crate::sync_trace) (a struct whose
/// every field is traced, no `unsafe`), [`no_trace!`](crate::no_trace) for
/// types that hold no handle, or by hand for containers.
///
/// # Safety
///
/// The collector frees what it finds unreachable and other threads may use
/// a value at any moment, so an implementation must:
///
/// 1. report only handles the value owns, each at most once (never a
///    temporary, never a handle owned by another value);
/// 2. report the same handles on every call while the value is unchanged;
/// 3. reach every handle that can change after the value was built through
///    a [`GcMutex`](crate::GcMutex) or [`GcRwLock`](crate::GcRwLock)
///    (calling their `trace`), never through another interior mutability
///    (an atomic, `std::sync::Mutex`, `OnceLock`): the collector relies on
///    those locks to see a handle in one place only while other threads run;
/// 4. not touch the heap (no `Gc::new`, clone or drop of a handle, no lock
///    taken, no call into [`crate::gc`]): it runs while the world is stopped.
///
/// Skipping a handle is always safe: what it holds is treated as reachable
/// from outside (a cycle through it leaks). `TRACKED = false` promises that
/// `trace` reports nothing.
pub unsafe trait SyncTrace: Send + Sync + 'static {
    /// Whether values of this type can hold a [`Gc`]: untracked values are in
    /// no list, the collector never sees them, and their birth takes no lock.
    const TRACKED: bool = true;

    /// Whether [`SyncTrace::finalize`] does something (set by
    /// [`Finalize`] implementors through [`sync_trace!`](crate::sync_trace)'s
    /// `finalize` option, or by hand).
    const HAS_FINALIZER: bool = false;

    /// Calls `v.visit_gc` for every handle the value owns (usually through
    /// the fields' own `trace`).
    fn trace<V: Visitor>(&self, v: &mut V);

    /// The finalizer (Python's `__del__`, PEP 442): called once per object,
    /// on an intact value, when its count reaches zero or before its garbage
    /// cycle is cleared (then after the world restarted, on the collecting
    /// thread). It may resurrect the object by storing a clone of `this`.
    fn finalize(this: &Gc<Self>)
    where
        Self: Sized,
    {
        let _ = this;
    }
}

/// A finalizer, separate from `Drop` (which runs when the value is cleared),
/// used with `sync_trace!(finalize ...)`.
pub trait Finalize: SyncTrace + Sized {
    /// Runs once per object; see [`SyncTrace::finalize`].
    fn finalize(this: &Gc<Self>);
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A lock the collector can take while the world is stopped. Implemented by
/// [`GcMutex`](crate::GcMutex) and [`GcRwLock`](crate::GcRwLock) only.
#[doc(hidden)]
pub trait CollectorLock: sealed::Sealed {
    /// Whether the collector holds it (in this pass).
    fn collector_holds(&self) -> bool;
    /// Tries to take it for the collector; the collector releases it before
    /// the world restarts.
    fn collector_try_acquire(&self) -> bool;
    /// Releases it.
    ///
    /// # Safety
    /// The collector holds it ([`CollectorLock::collector_try_acquire`]
    /// returned true and it was not released since).
    unsafe fn collector_release(&self);
}

/// What a [`SyncTrace`] implementation reports to. Implemented only by the
/// collector's own visitors (the trait is sealed); you call its methods.
pub trait Visitor: sealed::Sealed + Sized {
    /// Reports one strong handle owned by the value.
    fn visit_gc<T: SyncTrace>(&mut self, gc: &Gc<T>);

    /// Reports one weak handle (it keeps nothing alive).
    fn visit_weak<T: SyncTrace>(&mut self, weak: &Weak<T>) {
        let _ = weak;
    }

    /// Calls `f` only if the collector holds `lock` (it takes it if it
    /// can); otherwise the value is kept as untraceable. Used by the locks'
    /// own `trace`.
    #[doc(hidden)]
    fn visit_locked<F: FnOnce(&mut Self)>(&mut self, lock: &(dyn CollectorLock + 'static), f: F);
}
