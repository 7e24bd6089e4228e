//! `Weak<T>`: a handle that does not keep the value alive, and `WeakRef<T>`,
//! one with a callback.

use crate::handle::gc::Gc;
use crate::life;
use crate::object::header::{GcBox, ObjPtr, CLEARED, WEAK_DEAD};
use crate::object::trace::SyncTrace;
use crate::world::thread;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// A weak handle: upgrades to a [`Gc`] while the value lives. Keeps the
/// block (not the value) allocated, as `std::sync::Weak` does.
pub struct Weak<T: SyncTrace> {
    ptr: NonNull<GcBox<T>>,
    _p: PhantomData<GcBox<T>>,
}

// SAFETY: only atomics of the header are touched through a Weak, and an
// upgrade yields a Gc, which is Send + Sync.
unsafe impl<T: SyncTrace> Send for Weak<T> {}
// SAFETY: as above.
unsafe impl<T: SyncTrace> Sync for Weak<T> {}

impl<T: SyncTrace> Weak<T> {
    /// # Safety
    /// The caller gives the handle one weak reference of `p`, a `GcBox<T>`.
    pub(crate) unsafe fn from_header(p: ObjPtr) -> Weak<T> {
        Weak { ptr: p.0.cast(), _p: PhantomData }
    }

    fn obj(&self) -> ObjPtr {
        ObjPtr(self.ptr.cast())
    }

    /// The value, if it is still alive (`weakref()` in Python). Weak
    /// handles stop upgrading as soon as the collector finds the object
    /// unreachable, before any finalizer runs.
    pub fn upgrade(&self) -> Option<Gc<T>> {
        // SAFETY: our weak reference keeps the block.
        let h = unsafe { self.obj().header() };
        if h.has(WEAK_DEAD) || h.has(CLEARED) {
            return None;
        }
        let att = thread::attach();
        if !h.rc.try_incref(att.tid()) {
            return None;
        }
        if h.has(WEAK_DEAD) || h.has(CLEARED) {
            // Dead after all (its finalizer is running at count zero and
            // WEAK_DEAD came later): give the reference back.
            // SAFETY: the reference just taken.
            drop(unsafe { Gc::<T>::from_header(self.obj()) });
            return None;
        }
        // SAFETY: the reference just taken.
        Some(unsafe { Gc::from_header(self.obj()) })
    }

    /// Whether the value is gone (or going).
    pub fn is_dead(&self) -> bool {
        // SAFETY: our weak reference keeps the block.
        let h = unsafe { self.obj().header() };
        h.has(WEAK_DEAD) || h.has(CLEARED)
    }
}

impl<T: SyncTrace> Clone for Weak<T> {
    fn clone(&self) -> Self {
        // SAFETY: our weak reference keeps the block.
        unsafe { self.obj().header() }.weak.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Weak { ptr: self.ptr, _p: PhantomData }
    }
}

impl<T: SyncTrace> Drop for Weak<T> {
    fn drop(&mut self) {
        // SAFETY: this handle's weak reference, given up once.
        unsafe { life::release_weak(self.obj()) }
    }
}

// SAFETY: reports itself as a weak handle (it keeps nothing alive).
unsafe impl<T: SyncTrace> SyncTrace for Weak<T> {
    const TRACKED: bool = false;
    fn trace<V: crate::Visitor>(&self, v: &mut V) {
        v.visit_weak(self)
    }
}

/// A weak handle with a callback (Python's `weakref.ref(obj, callback)`):
/// the callback runs once when the value dies, unless this handle was
/// dropped first. Callbacks of objects the collector frees run after the
/// world restarts, on the collecting thread.
pub struct WeakRef<T: SyncTrace> {
    weak: Weak<T>,
    id: u64,
}

impl<T: SyncTrace> WeakRef<T> {
    /// A weak handle to `gc` whose death calls `callback`.
    pub fn new(gc: &Gc<T>, callback: impl FnOnce() + Send + 'static) -> WeakRef<T> {
        let weak = Gc::downgrade(gc);
        let id = life::weak_table::register(gc.obj(), Box::new(callback));
        WeakRef { weak, id }
    }

    /// The plain weak handle.
    pub fn weak(&self) -> &Weak<T> {
        &self.weak
    }

    /// See [`Weak::upgrade`].
    pub fn upgrade(&self) -> Option<Gc<T>> {
        self.weak.upgrade()
    }
}

impl<T: SyncTrace> Drop for WeakRef<T> {
    fn drop(&mut self) {
        life::weak_table::unregister(self.weak.obj(), self.id);
    }
}
