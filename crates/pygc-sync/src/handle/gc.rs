//! `Gc<T>`: a strong handle of the shared heap.

use crate::count::NOBODY;
use crate::handle::weak::Weak;
use crate::life;
use crate::object::header::{GcBox, Header, ObjPtr, CLEARED, HAS_WEAK};
use crate::object::trace::SyncTrace;
use crate::world::thread;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

/// A shared, reference-counted, cycle-collected pointer that any thread may
/// clone, drop and read: `Send + Sync` (values are `Send + Sync`).
///
/// Counting is biased: the thread that made the object counts without
/// atomics; others use an atomic count (see the crate docs). Mutable state
/// goes in a [`GcMutex`](crate::GcMutex) or [`GcRwLock`](crate::GcRwLock).
///
/// ```
/// use pygc_sync::Gc;
/// let a = Gc::new(String::from("shared"));
/// let b = a.clone();
/// std::thread::spawn(move || assert_eq!(*b, "shared")).join().unwrap();
/// ```
pub struct Gc<T: SyncTrace> {
    ptr: NonNull<GcBox<T>>,
    _owns: PhantomData<GcBox<T>>,
}

// SAFETY: the counts are thread-safe (biased protocol), and T: Send + Sync
// (SyncTrace's supertraits) so the value may be read and dropped anywhere.
unsafe impl<T: SyncTrace> Send for Gc<T> {}
// SAFETY: as above; `&Gc<T>` only gives `&T`.
unsafe impl<T: SyncTrace> Sync for Gc<T> {}

/// The value was dropped by the collector (its object was part of a
/// garbage cycle and this handle was made from a `Drop` or finalizer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearedError {
    /// The value's type.
    pub type_name: &'static str,
}

impl fmt::Display for ClearedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "object of type {} was cleared by the garbage collector", self.type_name)
    }
}

impl std::error::Error for ClearedError {}

impl<T: SyncTrace> Gc<T> {
    /// Moves `value` into the shared heap. A safe point: the thread may park
    /// here for a collection, or start one. While tracemalloc traces, the
    /// caller is recorded as the object's allocation site.
    #[track_caller]
    pub fn new(value: T) -> Gc<T> {
        Gc { ptr: life::alloc(value), _owns: PhantomData }
    }

    /// Wraps a header whose reference the caller gives to the handle.
    ///
    /// # Safety
    /// `p` is a live `GcBox<T>` and the caller owns one strong reference.
    pub(crate) unsafe fn from_header(p: ObjPtr) -> Gc<T> {
        Gc { ptr: p.0.cast(), _owns: PhantomData }
    }

    #[inline]
    pub(crate) fn obj(&self) -> ObjPtr {
        ObjPtr(self.ptr.cast())
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: our strong reference keeps the block.
        unsafe { &self.ptr.as_ref().header }
    }

    /// The value, or an error if the collector cleared it.
    #[inline]
    pub fn try_get(&self) -> Result<&T, ClearedError> {
        if T::TRACKED && self.header().has(CLEARED) {
            return Err(ClearedError { type_name: std::any::type_name::<T>() });
        }
        // SAFETY: the value is intact: not cleared (checked), and our
        // reference keeps it from being dropped (only count zero or the
        // collector, which never clears a value a live handle outside its
        // garbage can reach, drops it).
        Ok(unsafe { &self.ptr.as_ref().value })
    }

    /// Whether both handles name the same object.
    pub fn ptr_eq(a: &Gc<T>, b: &Gc<T>) -> bool {
        a.ptr == b.ptr
    }

    /// The object's address (Python's `id()`).
    pub fn id(this: &Gc<T>) -> usize {
        this.ptr.as_ptr() as usize
    }

    /// A weak handle.
    pub fn downgrade(this: &Gc<T>) -> Weak<T> {
        let _att = thread::attach();
        let h = this.header();
        h.weak.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        h.rc.set_maybe_weak();
        h.set(HAS_WEAK);
        // SAFETY: the weak reference just taken.
        unsafe { Weak::from_header(this.obj()) }
    }

    /// The number of strong references. Exact only if no other thread
    /// changes it meanwhile (a parked or quiet program).
    pub fn strong_count(this: &Gc<T>) -> usize {
        this.header().rc.total().max(0) as usize
    }
}

/// Clone and drop, on the header alone (shared with `GcAny`).
#[inline]
pub(crate) fn incref(p: ObjPtr) {
    let me = thread::me();
    // SAFETY: the caller holds a reference.
    let rc = &unsafe { p.header() }.rc;
    if rc.owner() == me {
        rc.incref_owned();
    } else {
        incref_slow(p, me);
    }
}

#[inline(never)]
fn incref_slow(p: ObjPtr, me: usize) {
    // SAFETY: the caller holds a reference.
    let rc = &unsafe { p.header() }.rc;
    if me == NOBODY {
        let att = thread::attach();
        rc.incref(att.tid());
    } else {
        rc.incref_shared();
    }
}

/// Gives up one strong reference.
///
/// # Safety
/// The caller owns one strong reference of `p` and does not use it again.
#[inline]
pub(crate) unsafe fn decref(p: ObjPtr) {
    let me = thread::me();
    // SAFETY: the caller's reference.
    let rc = &unsafe { p.header() }.rc;
    if rc.owner() == me {
        let d = rc.decref_owned();
        if d != crate::count::Dec::Alive {
            // SAFETY: our reference, released.
            unsafe { life::release(p, d) }
        }
    } else {
        // SAFETY: as above.
        unsafe { decref_slow(p, me) }
    }
}

/// # Safety
/// As [`decref`].
#[inline(never)]
unsafe fn decref_slow(p: ObjPtr, me: usize) {
    // SAFETY: the caller's reference.
    let rc = &unsafe { p.header() }.rc;
    if me == NOBODY {
        let att = thread::attach();
        let d = rc.decref(att.tid());
        // SAFETY: our reference, released.
        unsafe { life::release(p, d) };
        drop(att);
    } else {
        let d = rc.decref_shared();
        // SAFETY: our reference, released.
        unsafe { life::release(p, d) }
    }
}

impl<T: SyncTrace> Clone for Gc<T> {
    #[inline]
    fn clone(&self) -> Gc<T> {
        incref(self.obj());
        Gc { ptr: self.ptr, _owns: PhantomData }
    }
}

impl<T: SyncTrace> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this handle's reference, given up once.
        unsafe { decref(self.obj()) }
    }
}

impl<T: SyncTrace> std::ops::Deref for Gc<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        match self.try_get() {
            Ok(v) => v,
            Err(e) => cleared(e),
        }
    }
}

#[cold]
#[inline(never)]
fn cleared(e: ClearedError) -> ! {
    panic!("{e}")
}

impl<T: SyncTrace + fmt::Debug> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_get() {
            Ok(v) => fmt::Debug::fmt(v, f),
            Err(e) => write!(f, "<{e}>"),
        }
    }
}

impl<T: SyncTrace + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

// SAFETY: reports itself, the one handle it is.
unsafe impl<T: SyncTrace> SyncTrace for Gc<T> {
    const TRACKED: bool = true;
    #[inline]
    fn trace<V: crate::Visitor>(&self, v: &mut V) {
        v.visit_gc(self)
    }
}
