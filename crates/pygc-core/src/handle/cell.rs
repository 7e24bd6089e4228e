//! `GcCell<T>`: interior mutability for edges that change.

use std::cell::{BorrowError, BorrowMutError, Ref, RefCell, RefMut};
use std::fmt;

use crate::object::trace::{Trace, Visitor};

/// A `RefCell` the collector can look into, for fields whose handles change
/// after the object is built (Python's attribute assignment).
///
/// While the cell is mutably borrowed the collector cannot read it; it then
/// keeps alive whatever the cell might reach (never the reverse).
///
/// ```
/// use pygc::{Gc, GcCell};
/// let list = Gc::new(GcCell::new(Vec::<Gc<i32>>::new()));
/// list.borrow_mut().push(Gc::new(1));
/// assert_eq!(*list.borrow()[0], 1);
/// ```
#[derive(Default)]
pub struct GcCell<T: ?Sized>(RefCell<T>);

impl<T> GcCell<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        GcCell(RefCell::new(value))
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }

    /// Replaces the value, returning the old one.
    pub fn replace(&self, value: T) -> T {
        self.0.replace(value)
    }

    /// Takes the value, leaving `Default::default()`.
    pub fn take(&self) -> T
    where
        T: Default,
    {
        self.0.take()
    }
}

impl<T: ?Sized> GcCell<T> {
    /// Shared borrow; panics if mutably borrowed.
    #[track_caller]
    pub fn borrow(&self) -> Ref<'_, T> {
        self.0.borrow()
    }

    /// Mutable borrow; panics if borrowed.
    #[track_caller]
    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        self.0.borrow_mut()
    }

    /// Shared borrow, or an error if mutably borrowed.
    pub fn try_borrow(&self) -> Result<Ref<'_, T>, BorrowError> {
        self.0.try_borrow()
    }

    /// Mutable borrow, or an error if borrowed.
    pub fn try_borrow_mut(&self) -> Result<RefMut<'_, T>, BorrowMutError> {
        self.0.try_borrow_mut()
    }
}

// SAFETY: reports what the inner value reports; while the cell is
// mutably borrowed it reports `untraceable`, which makes the collector keep
// everything (never the reverse).
//
// The inner value is read without a borrow guard (`try_borrow_unguarded`:
// no write to the borrow flag per traced cell, which is most of what a
// collection would otherwise write to the objects it scans). That is sound
// because nothing can borrow the cell mutably while `trace` runs: the
// collector and the inspection visitors never touch a cell, derived impls
// only trace fields (they never follow a handle to another value), and a
// hand-written `Trace` may not mutate a `GcCell` (obligation 3 of the
// trait's contract).
unsafe impl<T: Trace> Trace for GcCell<T> {
    const TRACKED: bool = T::TRACKED;
    // The point of a GcCell is that its handles change.
    const FROZEN: bool = !T::TRACKED;
    const SEND: bool = T::SEND;
    const HOLDS_WEAK: bool = T::HOLDS_WEAK;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        // SAFETY: no mutable borrow of this cell can begin while `trace`
        // runs (the impl's comment above), and the reference does not
        // outlive the call.
        match unsafe { self.0.try_borrow_unguarded() } {
            Ok(inner) => inner.trace(v),
            Err(_) => v.untraceable(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for GcCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.try_borrow() {
            Ok(v) => f.debug_tuple("GcCell").field(&*v).finish(),
            Err(_) => f.write_str("GcCell(<borrowed>)"),
        }
    }
}
