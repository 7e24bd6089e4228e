//! `Weak<T>`: handles that do not keep the value alive, with optional
//! CPython-style callbacks. Their counts and callbacks live in the heap's
//! side table (`state/weak_table.rs`).

use std::fmt;
use std::marker::PhantomData;

use super::gc::Gc;
use crate::life::dealloc;
use crate::object::header::{flags, Obj, ObjPtr};
use crate::object::trace::{Trace, Visitor};
use crate::state::thread;
use crate::state::weak_table::WeakCallback;

/// A weak handle to an object of the pygc heap (Python's `weakref.ref`).
///
/// ```
/// use pygc::Gc;
/// let strong = Gc::new(String::from("value"));
/// let weak = Gc::downgrade(&strong);
/// assert_eq!(weak.upgrade().as_deref().map(String::as_str), Some("value"));
/// drop(strong);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct Weak<T: Trace + 'static> {
    /// Invariant: the block stays allocated while this handle exists (the
    /// side table counts it, or, after thread teardown, HAS_WEAK makes the
    /// block leak).
    ptr: ObjPtr,
    callback: Option<u64>,
    _marker: PhantomData<(T, *const ())>,
}

impl<T: Trace + 'static> Weak<T> {
    pub(crate) fn new(strong: &Gc<T>, callback: Option<WeakCallback>) -> Weak<T> {
        let o = strong.obj();
        let callback = match thread::try_with(|s| s.weak.register(o.ptr(), callback)) {
            Some(id) => id,
            None => {
                // Thread teardown: no table. Mark the block so it is never
                // freed under this handle (a leak, never a dangling read).
                o.set_flag(flags::HAS_WEAK);
                None
            }
        };
        Weak { ptr: o.ptr(), callback, _marker: PhantomData }
    }

    fn obj(&self) -> Obj<'_> {
        // SAFETY: a weak handle keeps the block allocated (type invariant).
        unsafe { self.ptr.live() }
    }

    /// A strong handle, if the object is still alive and was not found to be
    /// garbage by the collector.
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let o = self.obj();
        if o.refcnt() == 0 || o.has(flags::CLEARED | flags::WEAK_DEAD) {
            return None;
        }
        o.incref();
        // SAFETY: the block holds a live `T` (count > 0, not cleared) and the
        // count just taken is the new handle's.
        Some(unsafe { Gc::from_ptr(self.ptr) })
    }

    /// The number of strong handles (0 once the object died).
    pub fn strong_count(&self) -> usize {
        let o = self.obj();
        if o.has(flags::CLEARED | flags::WEAK_DEAD) {
            0
        } else {
            o.refcnt()
        }
    }

    /// The number of weak handles to the object.
    pub fn weak_count(&self) -> usize {
        thread::try_with(|s| s.weak.weak_count(self.ptr)).unwrap_or(0)
    }

    /// Whether both weak handles point at the same object.
    pub fn ptr_eq(&self, other: &Weak<T>) -> bool {
        self.ptr == other.ptr
    }

    pub(crate) fn callback_id(&self) -> Option<u64> {
        self.callback
    }

    /// The referent, if it is alive: a weak edge that the inspection
    /// visitors may report (`None` for a dead referent).
    pub(crate) fn live_referent(&self) -> Option<Obj<'_>> {
        let o = self.obj();
        (o.refcnt() > 0 && !o.has(flags::CLEARED | flags::WEAK_DEAD)).then_some(o)
    }
}

impl<T: Trace + 'static> Clone for Weak<T> {
    fn clone(&self) -> Self {
        thread::try_with(|s| s.weak.clone_handle(self.ptr, self.callback));
        Weak { ptr: self.ptr, callback: self.callback, _marker: PhantomData }
    }
}

impl<T: Trace + 'static> Drop for Weak<T> {
    fn drop(&mut self) {
        // SAFETY: this handle kept the block allocated until now.
        let released = thread::try_with(|s| unsafe { s.weak.release_handle(self.ptr, self.callback) });
        let Some(released) = released else { return };
        // User code (the closure's captures) runs outside the table borrow.
        drop(released.orphan_callback);
        if released.free_block {
            // SAFETY: the value is gone, the strong count is zero, and this
            // was the last weak handle: nothing else can reach the block.
            unsafe { dealloc::free_block(self.ptr) };
        }
    }
}

// SAFETY: a weak handle keeps nothing alive: it reports itself as weak,
// never as a strong handle (TRACKED = false).
unsafe impl<T: Trace + 'static> Trace for Weak<T> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.visit_weak(self)
    }
}

impl<T: Trace + 'static> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.live_referent() {
            None => write!(f, "<weakref at {:#x}; dead>", std::ptr::from_ref(self).addr()),
            Some(o) => write!(
                f,
                "<weakref at {:#x}; to '{}' at {:#x}>",
                std::ptr::from_ref(self).addr(),
                o.type_name(),
                o.id()
            ),
        }
    }
}
