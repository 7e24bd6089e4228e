//! `GcAny`: a type-erased strong handle, what `gc.get_objects()` returns.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use super::gc::Gc;
use super::pointee::GcPointee;
use crate::life::dealloc;
use crate::object::header::{Obj, ObjPtr};
use crate::object::trace::{sealed, Trace};
use crate::object::type_info::short_type_name;

/// A strong handle to an object of any type, as a Python reference to
/// `object`: it knows its type's name, identity, count and edges.
///
/// ```
/// use pygc::{Gc, GcAny};
/// let x = Gc::new(vec![1, 2, 3]);
/// let any: GcAny = Gc::to_any(&x);
/// assert_eq!(any.ref_count(), 2);
/// assert!(any.type_name().starts_with("alloc::vec::Vec"));
/// let back: Gc<Vec<i32>> = any.downcast().unwrap();
/// assert!(Gc::ptr_eq(&back, &x));
/// ```
pub struct GcAny {
    /// Invariant: names an allocated block and owns one of its strong counts.
    ptr: ObjPtr,
    _marker: PhantomData<*const ()>,
}

impl GcAny {
    /// Takes ownership of one count of `ptr`.
    ///
    /// # Safety
    /// The caller hands over one strong count of `ptr`.
    pub(crate) unsafe fn from_ptr(ptr: ObjPtr) -> GcAny {
        GcAny { ptr, _marker: PhantomData }
    }

    /// A new handle to an object the caller can prove alive.
    pub(crate) fn from_obj(o: Obj<'_>) -> GcAny {
        o.incref();
        GcAny { ptr: o.ptr(), _marker: PhantomData }
    }

    /// The object, borrowed for as long as this handle.
    #[inline]
    pub(crate) fn obj(&self) -> Obj<'_> {
        // SAFETY: the handle owns a count, so the block stays allocated
        // while it is borrowed.
        unsafe { self.ptr.live() }
    }

    /// The full Rust type name (`std::any::type_name`).
    pub fn type_name(&self) -> &'static str {
        self.obj().type_name()
    }

    /// The type name without module paths (`Node`, `Vec<Gc<Node>>`), as
    /// Python's `type(o).__name__` and objgraph's short names.
    pub fn short_type_name(&self) -> String {
        short_type_name(self.type_name())
    }

    /// The type name the value reports at run time
    /// ([`Trace::dynamic_type_name`]: an interpreter's class name), if any.
    pub fn dynamic_type_name(&self) -> Option<String> {
        // SAFETY: the closure only copies the name.
        unsafe { self.obj().with_dynamic_type_name(|n| n.map(str::to_string)) }
    }

    /// Identity, as Python's `id()`: the address of the value.
    pub fn id(&self) -> usize {
        self.obj().id()
    }

    /// The strong count, this handle included (Python's `ob_refcnt`).
    pub fn ref_count(&self) -> usize {
        self.obj().refcnt()
    }

    /// Whether the object is of type `T`.
    pub fn is<T: Trace + 'static>(&self) -> bool {
        (self.obj().info().type_id)() == std::any::TypeId::of::<T>()
    }

    /// A typed handle, or `Err(self)` if the object is not a `T`.
    pub fn downcast<T: Trace + 'static>(self) -> Result<Gc<T>, GcAny> {
        if self.is::<T>() {
            let ptr = self.ptr;
            std::mem::forget(self);
            // SAFETY: the type matches and the count of `self` moves over.
            Ok(unsafe { Gc::from_ptr(ptr) })
        } else {
            Err(self)
        }
    }

    /// Whether the collector cleared this object (its value is gone).
    pub fn is_cleared(&self) -> bool {
        self.obj().is_cleared()
    }

    /// Whether the object has a finalizer: its type has one and the value
    /// needs it (`Trace::needs_finalize`), or it already ran (objgraph marks
    /// such objects).
    pub fn has_finalizer(&self) -> bool {
        let o = self.obj();
        o.info().has_finalizer && (o.is_finalized() || o.finalizer_pending())
    }

    /// The object's edges with their labels (field names, `[index]`, map
    /// `key`/`value`), in trace order, weak ones included. Each target is
    /// held by the returned edge from the moment the `Trace` impl reported
    /// it, so the list stays valid whatever that impl does.
    ///
    /// ```
    /// use pygc::{Gc, GcCell, Trace};
    /// #[derive(Trace)]
    /// struct Pair { left: Gc<u8>, right: GcCell<Option<Gc<u8>>> }
    /// let p = Gc::new(Pair { left: Gc::new(1), right: GcCell::new(Some(Gc::new(2))) });
    /// let labels: Vec<String> = Gc::to_any(&p).edges().into_iter().map(|e| e.label).collect();
    /// assert_eq!(labels, ["left", "right"]);
    /// ```
    #[must_use]
    pub fn edges(&self) -> Vec<crate::inspect::Edge> {
        crate::inspect::edges_of(self.obj())
    }
}

impl Clone for GcAny {
    fn clone(&self) -> Self {
        GcAny::from_obj(self.obj())
    }
}

impl Drop for GcAny {
    fn drop(&mut self) {
        // SAFETY: the handle owns one count and is never used again.
        unsafe { dealloc::decref(self.ptr) }
    }
}

impl PartialEq for GcAny {
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }
}

impl Eq for GcAny {}

impl Hash for GcAny {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ptr.addr().hash(state)
    }
}

impl fmt::Debug for GcAny {
    /// `<Node object at 0x...>`, as Python's default repr (the run-time
    /// type name if the value reports one).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.dynamic_type_name().unwrap_or_else(|| self.short_type_name());
        write!(f, "<{name} object at {:#x}>", self.id())
    }
}

impl<T: ?Sized + GcPointee> From<Gc<T>> for GcAny {
    fn from(gc: Gc<T>) -> GcAny {
        let any = Gc::to_any(&gc);
        drop(gc);
        any
    }
}

/// An opaque reference to an object, produced only by pygc's handles.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct RawObj(pub(crate) ObjPtr);

/// Anything that names an object of the heap: [`Gc<T>`] or [`GcAny`].
/// Functions of [`crate::gc`] and [`crate::sys`] take `&impl Handle`.
pub trait Handle: sealed::Sealed {
    #[doc(hidden)]
    fn raw(&self) -> RawObj;
}

impl<T: ?Sized + GcPointee> sealed::Sealed for Gc<T> {}
impl<T: ?Sized + GcPointee> Handle for Gc<T> {
    fn raw(&self) -> RawObj {
        RawObj(self.obj().ptr())
    }
}

impl sealed::Sealed for GcAny {}
impl Handle for GcAny {
    fn raw(&self) -> RawObj {
        RawObj(self.ptr)
    }
}

/// The object a handle names, borrowed for as long as the handle.
pub(crate) fn obj_of<H: Handle + ?Sized>(h: &H) -> Obj<'_> {
    // SAFETY: `Handle` is sealed: implemented only by `Gc<T>` and `GcAny`,
    // which own a count for as long as they are borrowed.
    unsafe { h.raw().0.live() }
}
