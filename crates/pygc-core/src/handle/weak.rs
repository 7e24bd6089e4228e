//! `Weak<T>`: handles that do not keep the value alive, with optional
//! CPython-style callbacks. Their counts and callbacks live in the heap's
//! side table (`state/weak_table.rs`).

use std::fmt;
use std::marker::PhantomData;

use super::gc::Gc;
use crate::life::dealloc;
use std::ptr::NonNull;

use super::pointee::GcPointee;
use crate::object::header::{flags, Obj, ObjHeader, ObjPtr, UNTRACKED_HEADER_SIZE};
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
pub struct Weak<T: ?Sized + GcPointee> {
    /// Invariant: the block stays allocated while this handle exists (the
    /// side table counts it, or, after thread teardown, HAS_WEAK makes the
    /// block leak).
    ptr: NonNull<T>,
    callback: Option<u64>,
    _marker: PhantomData<(*const (), Box<T>)>,
}

impl<T: ?Sized + GcPointee> Weak<T> {
    pub(crate) fn new(strong: &Gc<T>, callback: Option<WeakCallback>) -> Weak<T> {
        let o = strong.obj();
        let callback = match thread::with_heap_of(o, |s| s.weak.register(o.ptr(), callback)) {
            Some(id) => id,
            None => {
                // Thread teardown: no table. Mark the block so it is never
                // freed under this handle (a leak, never a dangling read).
                o.set_flag(flags::HAS_WEAK);
                None
            }
        };
        Weak { ptr: strong.value_ptr(), callback, _marker: PhantomData }
    }

    /// The object's header.
    pub(crate) fn header(&self) -> ObjPtr {
        let h = self.ptr.as_ptr().cast::<u8>().wrapping_sub(UNTRACKED_HEADER_SIZE).cast::<ObjHeader>();
        // SAFETY: a value pointer is never 16 bytes above null.
        ObjPtr::new(unsafe { NonNull::new_unchecked(h) })
    }

    fn obj(&self) -> Obj<'_> {
        // SAFETY: a weak handle keeps the block allocated (type invariant).
        unsafe { self.header().live() }
    }

    /// A strong handle, if the object is still alive and was not found to be
    /// garbage by the collector.
    #[must_use]
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let o = self.obj();
        if o.refcnt() == 0 || o.has(flags::CLEARED | flags::WEAK_DEAD) {
            return None;
        }
        o.incref();
        // SAFETY: the block holds a live value (count > 0, not cleared) that
        // `self.ptr` addresses, and we just took the count the new handle owns.
        Some(unsafe { Gc::from_value_ptr(self.ptr) })
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
        thread::with_heap_of(self.obj(), |s| s.weak.weak_count(self.header())).unwrap_or(0)
    }

    /// Whether both weak handles point at the same object.
    pub fn ptr_eq(&self, other: &Weak<T>) -> bool {
        std::ptr::addr_eq(self.ptr.as_ptr(), other.ptr.as_ptr())
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

impl<T: ?Sized + GcPointee> Clone for Weak<T> {
    fn clone(&self) -> Self {
        thread::with_heap_of(self.obj(), |s| s.weak.clone_handle(self.header(), self.callback));
        Weak { ptr: self.ptr, callback: self.callback, _marker: PhantomData }
    }
}

impl<T: ?Sized + GcPointee> Drop for Weak<T> {
    fn drop(&mut self) {
        let header = self.header();
        // SAFETY: this handle kept the block allocated until now.
        let released =
            thread::with_heap_of(self.obj(), |s| unsafe { s.weak.release_handle(header, self.callback) });
        let Some(released) = released else { return };
        // User code (the closure's captures) runs outside the table borrow.
        drop(released.orphan_callback);
        if released.free_block {
            // SAFETY: the value is gone, the strong count is zero, and this
            // was the last weak handle: nothing else can reach the block.
            unsafe { dealloc::free_block_of(header) };
        }
    }
}

// SAFETY: a weak handle keeps nothing alive: it reports itself as weak,
// never as a strong handle (TRACKED = false).
unsafe impl<T: ?Sized + GcPointee> Trace for Weak<T> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    // Moves with its heap; the hand-over checks the target's own type.
    const SEND: bool = true;
    const HOLDS_WEAK: bool = true;
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.visit_weak(self)
    }
}

impl<T: ?Sized + GcPointee> fmt::Debug for Weak<T> {
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
