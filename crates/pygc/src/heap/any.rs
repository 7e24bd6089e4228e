//! `GcAny`: a type-erased strong handle, what `gc.get_objects()` returns.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use super::handle::{decref, incref, Gc};
use super::header::{ObjPtr, CLEARED, TRACKED_HEADER_SIZE, UNTRACKED_HEADER_SIZE, WEAK_DEAD};
use super::trace::{sealed, Trace};
use crate::collect::visitors::{CoreVisitor, LabelVisitor, Mode};

/// A strong handle to an object of any type, as a Python reference to
/// `object`: it knows its type's name, identity, count and referents.
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
    ptr: ObjPtr,
    _marker: PhantomData<*const ()>,
}

impl GcAny {
    pub(crate) fn from_ptr_incref(ptr: ObjPtr) -> GcAny {
        incref(ptr);
        GcAny { ptr, _marker: PhantomData }
    }

    /// The full Rust type name (`std::any::type_name`).
    pub fn type_name(&self) -> &'static str {
        self.ptr.type_name()
    }

    /// The type name without module paths (`Node`, `Vec<Gc<Node>>`), as
    /// Python's `type(o).__name__` and objgraph's short names.
    pub fn short_type_name(&self) -> String {
        crate::heap::short_type_name(self.type_name())
    }

    /// Identity, as Python's `id()`: the address of the value.
    pub fn id(&self) -> usize {
        self.ptr.value_ptr() as usize
    }

    /// The strong count, including this handle.
    pub fn ref_count(&self) -> usize {
        self.ptr.header().refcnt.get()
    }

    /// Size of the object in bytes, header included (`sys.getsizeof`).
    pub fn size_of(&self) -> usize {
        let info = self.ptr.info();
        info.value_size + if info.tracked { TRACKED_HEADER_SIZE } else { UNTRACKED_HEADER_SIZE }
    }

    /// The objects this one holds strong handles to, in trace order (as
    /// `gc.get_referents`). Empty for a cleared object.
    pub fn referents(&self) -> Vec<GcAny> {
        let mut out = Vec::new();
        CoreVisitor::new(Mode::Edges(&mut out)).trace(self.ptr);
        out.into_iter().map(GcAny::from_ptr_incref).collect()
    }

    /// Referents with their edge labels (field names, `[index]`) and whether
    /// each edge is weak. Weak edges point at objects that may be dead.
    pub fn labeled_referents(&self) -> Vec<(String, Option<GcAny>, bool)> {
        let mut v = LabelVisitor::new();
        v.trace(self.ptr);
        v.edges
            .into_iter()
            .map(|e| {
                let dead =
                    e.target.header().refcnt.get() == 0 || e.target.flags() & (CLEARED | WEAK_DEAD) != 0;
                let target = if e.weak && dead { None } else { Some(GcAny::from_ptr_incref(e.target)) };
                (e.label, target, e.weak)
            })
            .collect()
    }

    /// Whether the object is of type `T`.
    pub fn is<T: Trace + 'static>(&self) -> bool {
        (self.ptr.info().type_id)() == std::any::TypeId::of::<T>()
    }

    /// A typed handle, or `Err(self)` if the object is not a `T`.
    pub fn downcast<T: Trace + 'static>(self) -> Result<Gc<T>, GcAny> {
        if self.is::<T>() {
            let ptr = self.ptr;
            std::mem::forget(self);
            // SAFETY: the type matches and the count of `self` moves over.
            Ok(unsafe { Gc::from_obj(ptr) })
        } else {
            Err(self)
        }
    }

    /// Whether the collector cleared this object (its value is gone).
    pub fn is_cleared(&self) -> bool {
        self.ptr.is_cleared()
    }

    /// Whether the object is in a generation (`gc.is_tracked`).
    pub fn is_tracked(&self) -> bool {
        self.ptr.info().tracked && self.ptr.is_tracked()
    }

    /// Whether its finalizer already ran (`gc.is_finalized`).
    pub fn is_finalized(&self) -> bool {
        self.ptr.is_finalized()
    }

    /// Whether the type has a finalizer (objgraph marks such objects).
    pub fn has_finalizer(&self) -> bool {
        self.ptr.info().has_finalizer
    }
}

impl Clone for GcAny {
    fn clone(&self) -> Self {
        GcAny::from_ptr_incref(self.ptr)
    }
}

impl Drop for GcAny {
    fn drop(&mut self) {
        decref(self.ptr);
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
    /// `<Node object at 0x...>`, as Python's default repr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} object at {:#x}>", self.short_type_name(), self.id())
    }
}

impl<T: Trace + 'static> From<Gc<T>> for GcAny {
    fn from(gc: Gc<T>) -> GcAny {
        let ptr = gc.obj();
        std::mem::forget(gc);
        GcAny { ptr, _marker: PhantomData }
    }
}

impl<T: Trace + 'static> From<&Gc<T>> for GcAny {
    fn from(gc: &Gc<T>) -> GcAny {
        Gc::to_any(gc)
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

impl<T: Trace + 'static> sealed::Sealed for Gc<T> {}
impl<T: Trace + 'static> Handle for Gc<T> {
    fn raw(&self) -> RawObj {
        RawObj(self.obj())
    }
}

impl sealed::Sealed for GcAny {}
impl Handle for GcAny {
    fn raw(&self) -> RawObj {
        RawObj(self.ptr)
    }
}
