//! `Weak<T>`: handles that do not keep the value alive, with optional
//! CPython-style callbacks. Their counts and callbacks live in the heap's
//! side table (`state/weak_table.rs`).

use std::fmt;
use std::marker::PhantomData;

use super::gc::Gc;
use crate::life::dealloc;
use std::num::NonZeroU64;
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
    callback: Option<NonZeroU64>,
    /// The epoch of the object's weak references this handle was made in
    /// (see `state/weak_table.rs`): once the collector cleared them, only
    /// handles made afterwards upgrade.
    epoch: u32,
    _marker: PhantomData<(*const (), Box<T>)>,
}

impl<T: ?Sized + GcPointee> Weak<T> {
    pub(crate) fn new(strong: &Gc<T>, callback: Option<WeakCallback>) -> Weak<T> {
        let o = strong.obj();
        let (callback, epoch) = match thread::with_heap_of(o, |s| s.weak.register(o.ptr(), callback)) {
            Some(registered) => registered,
            None => {
                // Thread teardown: no table. Mark the block so it is never
                // freed under this handle (a leak, never a dangling read).
                o.set_flag(flags::HAS_WEAK);
                (None, 0)
            }
        };
        Weak { ptr: strong.value_ptr(), callback, epoch, _marker: PhantomData }
    }

    /// Whether this handle no longer refers to its object: the value is
    /// gone, or the collector cleared the weak references of the epoch this
    /// handle belongs to (the object may live on, resurrected).
    #[inline]
    fn is_dead(&self, o: Obj<'_>) -> bool {
        o.refcnt() == 0 || o.has(flags::CLEARED) || (o.has(flags::WEAK_DEAD) && !self.in_current_epoch(o))
    }

    #[cold]
    #[inline(never)]
    fn in_current_epoch(&self, o: Obj<'_>) -> bool {
        // No table (thread teardown): nothing can prove the handle current.
        thread::with_heap_of(o, |s| s.weak.is_current(o.ptr(), self.epoch)).unwrap_or(false)
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
        if self.is_dead(o) {
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
        if self.is_dead(o) {
            0
        } else {
            o.refcnt()
        }
    }

    /// The number of weak handles that still refer to the object (0 once
    /// it died; after the collector cleared its weak references, only those
    /// made since count).
    pub fn weak_count(&self) -> usize {
        let o = self.obj();
        if self.is_dead(o) {
            return 0;
        }
        thread::with_heap_of(o, |s| s.weak.current_count(self.header())).unwrap_or(0)
    }

    /// Whether both weak handles point at the same object.
    pub fn ptr_eq(&self, other: &Weak<T>) -> bool {
        std::ptr::addr_eq(self.ptr.as_ptr(), other.ptr.as_ptr())
    }

    pub(crate) fn callback_id(&self) -> Option<u64> {
        self.callback.map(NonZeroU64::get)
    }

    /// The referent, if it is alive: a weak edge that the inspection
    /// visitors may report (`None` for a dead referent).
    pub(crate) fn live_referent(&self) -> Option<Obj<'_>> {
        let o = self.obj();
        (!self.is_dead(o)).then_some(o)
    }
}

impl<T: ?Sized + GcPointee> Clone for Weak<T> {
    fn clone(&self) -> Self {
        thread::with_heap_of(self.obj(), |s| {
            s.weak.clone_handle(self.header(), self.callback_id(), self.epoch)
        });
        Weak { ptr: self.ptr, callback: self.callback, epoch: self.epoch, _marker: PhantomData }
    }
}

impl<T: ?Sized + GcPointee> Drop for Weak<T> {
    fn drop(&mut self) {
        let header = self.header();
        // SAFETY: this handle kept the block allocated until now.
        let released = thread::with_heap_of(self.obj(), |s| unsafe {
            s.weak.release_handle(header, self.callback_id(), self.epoch)
        });
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
