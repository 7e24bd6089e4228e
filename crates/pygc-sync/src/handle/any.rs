//! `GcAny`: a strong handle whose type is erased, what the `gc` module's
//! inspection functions return.

use crate::handle::gc::{decref, incref, Gc};
use crate::object::header::{ObjPtr, CLEARED};
use crate::object::trace::SyncTrace;
use std::fmt;

/// A strong handle to an object of any type.
pub struct GcAny {
    p: ObjPtr,
}

// SAFETY: as Gc<T>: thread-safe counts, values Send + Sync.
unsafe impl Send for GcAny {}
// SAFETY: as above; GcAny gives no access to the value.
unsafe impl Sync for GcAny {}

impl GcAny {
    /// # Safety
    /// The caller gives the handle one strong reference of `p`.
    pub(crate) unsafe fn from_obj(p: ObjPtr) -> GcAny {
        GcAny { p }
    }

    pub(crate) fn obj(&self) -> ObjPtr {
        self.p
    }

    /// The value's Rust type name.
    pub fn type_name(&self) -> &'static str {
        // SAFETY: our reference keeps the block.
        (unsafe { self.p.header() }.info.name)()
    }

    /// The object's address (Python's `id()`).
    pub fn id(&self) -> usize {
        self.p.addr()
    }

    /// Whether this names the same object as `gc`.
    pub fn is<T: SyncTrace>(&self, gc: &Gc<T>) -> bool {
        self.p == gc.obj()
    }

    /// Whether the collector cleared the value.
    pub fn is_cleared(&self) -> bool {
        // SAFETY: our reference keeps the block.
        unsafe { self.p.header() }.has(CLEARED)
    }

    /// A typed handle, if the value is a `T`.
    pub fn downcast<T: SyncTrace>(&self) -> Option<Gc<T>> {
        // SAFETY: our reference keeps the block.
        let info = unsafe { self.p.header() }.info;
        if (info.type_id)() == std::any::TypeId::of::<T>() {
            incref(self.p);
            // SAFETY: the value is a T (its TypeId), and the reference was
            // just taken.
            Some(unsafe { Gc::from_header(self.p) })
        } else {
            None
        }
    }
}

impl<T: SyncTrace> From<Gc<T>> for GcAny {
    fn from(g: Gc<T>) -> GcAny {
        let p = g.obj();
        std::mem::forget(g);
        GcAny { p }
    }
}

impl Clone for GcAny {
    fn clone(&self) -> GcAny {
        incref(self.p);
        GcAny { p: self.p }
    }
}

impl Drop for GcAny {
    fn drop(&mut self) {
        // SAFETY: our reference, given up once.
        unsafe { decref(self.p) }
    }
}

impl PartialEq for GcAny {
    fn eq(&self, o: &GcAny) -> bool {
        self.p == o.p
    }
}

impl Eq for GcAny {}

impl fmt::Debug for GcAny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} object at {:#x}>", crate::gc::short_name(self.type_name()), self.id())
    }
}
