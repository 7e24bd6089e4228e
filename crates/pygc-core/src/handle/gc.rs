//! `Gc<T>`: a counted handle to an object of the pygc heap.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use super::any::GcAny;
use super::weak::Weak;
use crate::life::{alloc, dealloc};
use crate::object::header::{Obj, ObjPtr};
use crate::object::trace::{Trace, Visitor};
use crate::object::type_info::Table;

/// A reference-counted handle, like a Python reference.
///
/// `clone` and `drop` are a plain increment and decrement; when the count
/// reaches zero the value is dropped and its memory returned at once, as
/// CPython does. Reference cycles are found by the generational collector
/// ([`crate::gc`]). Handles are `!Send` and `!Sync`: each thread has its own
/// heap, as each CPython interpreter has its own.
///
/// ```
/// use pygc::{Gc, sys};
/// let x = Gc::new(Vec::<i32>::new());   // x = []
/// assert_eq!(sys::getrefcount(&x), 2);  // sys.getrefcount(x) == 2
/// let y = x.clone();                    // y = x
/// assert_eq!(Gc::ref_count(&x), 2);
/// # drop(y);
/// ```
pub struct Gc<T: Trace + 'static> {
    /// Invariant: names an allocated block holding a `T` (or a cleared one),
    /// and this handle owns one of its strong counts.
    ptr: ObjPtr,
    _marker: PhantomData<(T, *const ())>,
}

impl<T: Trace + 'static> Gc<T> {
    /// Moves `value` into a new object of this thread's heap. If `T` can
    /// hold handles, the object joins generation 0 and may trigger an
    /// automatic collection, exactly as a CPython container allocation does.
    #[track_caller]
    #[inline]
    pub fn new(value: T) -> Gc<T> {
        let ptr = alloc::allocate(&Table::<T>::INFO);
        // SAFETY: `allocate` returned a block laid out for `T` whose value
        // slot is uninitialised and exclusively ours.
        unsafe { ptr.value_ptr().cast::<T>().write(value) };
        let gc: Gc<T> = Gc { ptr, _marker: PhantomData };
        alloc::born(gc.obj(), std::panic::Location::caller());
        gc
    }

    /// The number of strong handles (Python's `ob_refcnt`).
    #[inline]
    pub fn ref_count(this: &Self) -> usize {
        this.obj().refcnt()
    }

    /// Whether both handles point at the same object (Python's `is`).
    #[inline]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.ptr == other.ptr
    }

    /// A weak handle, which does not keep the value alive.
    pub fn downgrade(this: &Self) -> Weak<T> {
        Weak::new(this, None)
    }

    /// A weak handle whose `callback` runs when the object dies (by
    /// reference count or by the collector), as `weakref.ref(obj, callback)`.
    /// The callback does not run if every clone of this weak handle is gone
    /// first, or if the weak handle is itself part of the same garbage.
    pub fn downgrade_with_callback(this: &Self, callback: impl FnOnce() + 'static) -> Weak<T> {
        Weak::new(this, Some(Box::new(callback)))
    }

    /// The value, or an error if the collector already cleared it.
    #[inline]
    pub fn try_get(this: &Self) -> Result<&T, ClearedError> {
        let o = this.obj();
        if o.is_cleared() {
            return Err(ClearedError { type_name: o.type_name() });
        }
        // SAFETY: the value is initialised (not CLEARED) and the block lives
        // while `this` holds its count; values are only ever shared.
        Ok(unsafe { &*o.value_ptr().cast::<T>() })
    }

    /// A type-erased handle to the same object.
    pub fn to_any(this: &Self) -> GcAny {
        this.obj().incref();
        // SAFETY: the count just taken is the new handle's.
        unsafe { GcAny::from_ptr(this.ptr) }
    }

    /// The object's identity, as Python's `id()`: the address of its value.
    pub fn id(this: &Self) -> usize {
        this.obj().id()
    }

    /// The object, borrowed for as long as this handle.
    #[inline]
    pub(crate) fn obj(&self) -> Obj<'_> {
        // SAFETY: the handle owns a count, so the block stays allocated
        // while it is borrowed.
        unsafe { self.ptr.live() }
    }

    /// Takes ownership of one count of `ptr`.
    ///
    /// # Safety
    /// `ptr` is an object of type `T` and the caller hands over one of its
    /// strong counts.
    pub(crate) unsafe fn from_ptr(ptr: ObjPtr) -> Gc<T> {
        Gc { ptr, _marker: PhantomData }
    }
}

/// Accessing a value the garbage collector already cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearedError {
    /// The Rust type name of the object.
    pub type_name: &'static str,
}

impl fmt::Display for ClearedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "object of type {} was cleared by the garbage collector", self.type_name)
    }
}

impl std::error::Error for ClearedError {}

#[cold]
#[inline(never)]
pub(crate) fn cleared_panic(type_name: &'static str) -> ! {
    panic!("{}", ClearedError { type_name })
}

impl<T: Trace + 'static> Deref for Gc<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        let o = self.obj();
        if T::TRACKED && o.is_cleared() {
            cleared_panic(o.type_name());
        }
        // SAFETY: untracked values are only cleared when their count is zero
        // (never while a handle exists); tracked ones were checked above. The
        // block lives while this handle holds its count.
        unsafe { &*o.value_ptr().cast::<T>() }
    }
}

impl<T: Trace + 'static> Clone for Gc<T> {
    #[inline]
    fn clone(&self) -> Self {
        self.obj().incref();
        Gc { ptr: self.ptr, _marker: PhantomData }
    }
}

impl<T: Trace + 'static> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the handle owns one count and is never used again.
        unsafe { dealloc::decref(self.ptr) }
    }
}

// SAFETY: a handle reports itself, the one strong handle it is.
unsafe impl<T: Trace + 'static> Trace for Gc<T> {
    const TRACKED: bool = true;
    // The handle itself never changes target.
    const FROZEN: bool = true;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.visit_gc(self)
    }
}

impl<T: Trace + fmt::Debug + 'static> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Gc::try_get(self) {
            Ok(v) => v.fmt(f),
            Err(_) => write!(f, "<{} (cleared) {:#x}>", self.obj().type_name(), Gc::id(self)),
        }
    }
}

impl<T: Trace + fmt::Display + 'static> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Trace + PartialEq + 'static> PartialEq for Gc<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Trace + Eq + 'static> Eq for Gc<T> {}

impl<T: Trace + std::hash::Hash + 'static> std::hash::Hash for Gc<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: Trace + Default + 'static> Default for Gc<T> {
    #[track_caller]
    fn default() -> Self {
        Gc::new(T::default())
    }
}

impl<T: Trace + 'static> From<T> for Gc<T> {
    #[track_caller]
    fn from(v: T) -> Self {
        Gc::new(v)
    }
}

impl<T: Trace + 'static> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: Trace + 'static> std::borrow::Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: Trace + 'static> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr.value_ptr().cast::<T>().cast_const(), f)
    }
}
