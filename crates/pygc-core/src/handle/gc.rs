//! `Gc<T>`: a counted handle to an object of the pygc heap, for sized
//! values, slices (`Gc<[T]>`, `Gc<str>`) and trait objects (`Gc<dyn Trait>`).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use super::any::GcAny;
use super::pointee::GcPointee;
use super::weak::Weak;
use crate::life::{alloc, dealloc};
use crate::object::header::{Obj, ObjHeader, ObjPtr, UNTRACKED_HEADER_SIZE};
use crate::object::trace::{Trace, Visitor};
use crate::object::type_info::{slice_block, SliceTable, Table, TypeInfo};
use crate::state::budget::MemoryError;

/// A reference-counted handle, like a Python reference.
///
/// `clone` and `drop` are a plain increment and decrement; when the count
/// reaches zero the value is dropped and its memory returned at once, as
/// CPython does. Reference cycles are found by the generational collector
/// ([`crate::gc`]). Handles are `!Send` and `!Sync`: each thread has its own
/// heap, as each CPython interpreter has its own.
///
/// `T` may be unsized: `Gc<[T]>` and `Gc<str>` hold their elements in the
/// object's own block (from a `Vec`, a slice, a `String`, an iterator), and
/// `Gc<dyn Trait>` is made from a `Gc<T>` with the [`unsize!`](crate::unsize)
/// macro, without a second allocation.
///
/// ```
/// use pygc::{Gc, sys};
/// let x = Gc::new(Vec::<i32>::new());   // x = []
/// assert_eq!(sys::getrefcount(&x), 2);  // sys.getrefcount(x) == 2
/// let y = x.clone();                    // y = x
/// assert_eq!(Gc::ref_count(&x), 2);
/// # drop(y);
/// let s: Gc<str> = Gc::from("text");
/// assert_eq!(&*s, "text");
/// ```
pub struct Gc<T: ?Sized + GcPointee> {
    /// Invariant: points at the value of an allocated object (with the
    /// provenance of its whole block), whose header is the
    /// `UNTRACKED_HEADER_SIZE` bytes before it; the object's value is a `T`
    /// (or, for `dyn` targets, of a type that unsizes to `T`), possibly
    /// cleared; this handle owns one of its strong counts.
    ptr: NonNull<T>,
    _marker: PhantomData<(*const (), Box<T>)>,
}

/// The header of the object whose value `value` points at.
#[inline]
fn header_of<T: ?Sized>(value: NonNull<T>) -> ObjPtr {
    let header = value.as_ptr().cast::<u8>().wrapping_sub(UNTRACKED_HEADER_SIZE).cast::<ObjHeader>();
    // SAFETY: a value pointer is never 16 bytes above null.
    ObjPtr::new(unsafe { NonNull::new_unchecked(header) })
}

impl<T: Trace + 'static> Gc<T> {
    /// Moves `value` into a new object of this thread's heap. If `T` can
    /// hold handles, the object joins generation 0 and may trigger an
    /// automatic collection, exactly as a CPython container allocation does.
    ///
    /// Panics with a `MemoryError` message if the heap has a byte limit that
    /// this object would exceed even after a full collection; see
    /// [`Gc::try_new`].
    #[track_caller]
    #[inline]
    pub fn new(value: T) -> Gc<T> {
        match Gc::try_new(value) {
            Ok(gc) => gc,
            Err(e) => alloc::memory_error(e),
        }
    }

    /// [`Gc::new`], or an error if the heap's byte limit
    /// ([`Heap::set_limit`](crate::Heap::set_limit)) would be exceeded even
    /// after a full collection (the value is dropped).
    #[track_caller]
    #[inline(always)]
    pub fn try_new(value: T) -> Result<Gc<T>, MemoryError> {
        let heap = alloc::current_heap();
        let ptr = alloc::allocate_in(heap, &Table::<T>::INFO, Table::<T>::INFO.block)?;
        // SAFETY: `allocate` returned a block laid out for `T` whose value
        // slot is uninitialised and exclusively ours.
        unsafe { ptr.value_ptr().cast::<T>().write(value) };
        // SAFETY: the object holds a `T` now, and its one count is ours.
        let gc = unsafe { Gc::<T>::from_ptr(ptr) };
        alloc::born(gc.obj(), std::panic::Location::caller());
        if T::TRACKED {
            // Statically dispatched: for a frozen type the check is a few
            // loads, inlined.
            let link = !T::FROZEN || alloc::points_at_tracked(&*gc);
            alloc::track_new_in(heap, gc.obj(), link);
        }
        Ok(gc)
    }

    /// Takes ownership of one count of `ptr`.
    ///
    /// # Safety
    /// `ptr` is an object of type `T` and the caller hands over one of its
    /// strong counts.
    pub(crate) unsafe fn from_ptr(ptr: ObjPtr) -> Gc<T> {
        // SAFETY: the value follows the header; `ptr` is not null.
        let value = unsafe { NonNull::new_unchecked(ptr.value_ptr().cast::<T>()) };
        Gc { ptr: value, _marker: PhantomData }
    }

    /// The same object as a `Gc<U>`, `U` being unsized (a trait object
    /// or a slice of an array): what [`unsize!`](crate::unsize) expands to.
    /// No allocation; the collector, objgraph and tracemalloc keep seeing
    /// the concrete type.
    ///
    /// # Safety
    /// `coerce` is an unsizing coercion of its argument (the macro writes
    /// `let q: *mut U = p; q`, which the compiler only accepts as one): it
    /// returns the same address with the same provenance and metadata that
    /// is right for the value.
    #[doc(hidden)]
    pub unsafe fn unsize_unchecked<U: ?Sized + GcPointee>(
        this: Gc<T>,
        coerce: impl FnOnce(*mut T) -> *mut U,
    ) -> Gc<U> {
        let p = this.ptr.as_ptr();
        let q = coerce(p);
        assert!(std::ptr::addr_eq(p, q), "Gc::unsize_unchecked: the coercion moved the pointer");
        std::mem::forget(this);
        // SAFETY: `q` is `p` unsized (the caller's promise): the object's
        // value, with its block's provenance; the count moves over.
        Gc { ptr: unsafe { NonNull::new_unchecked(q) }, _marker: PhantomData }
    }
}

/// `pygc::unsize!(gc => dyn Trait)`: the same object as a `Gc<dyn Trait>`
/// (or any unsized type the value coerces to), without a second allocation,
/// as gc-arena's `unsize!` and dumpster's `coerce_gc!`. The trait object type
/// needs [`dyn_trace!`](crate::dyn_trace).
///
/// ```
/// use pygc::{unsize, Gc, Trace};
/// trait Shape { fn area(&self) -> f64; }
/// pygc::dyn_trace!(dyn Shape);
/// #[derive(Trace)]
/// struct Square(f64);
/// impl Shape for Square { fn area(&self) -> f64 { self.0 * self.0 } }
///
/// let s: Gc<dyn Shape> = unsize!(Gc::new(Square(2.0)) => dyn Shape);
/// assert_eq!(s.area(), 4.0);
/// assert!(pygc::GcAny::from(s).downcast::<Square>().is_ok());
/// ```
#[macro_export]
macro_rules! unsize {
    ($gc:expr => $target:ty) => {{
        let gc = $gc;
        // SAFETY: the closure is an implicit unsizing coercion (a type
        // annotation, not an `as` cast, so nothing else compiles): it keeps
        // the address and provenance and adds metadata the compiler proved.
        unsafe {
            $crate::Gc::unsize_unchecked(gc, |p| {
                let q: *mut $target = p;
                q
            })
        }
    }};
}

impl<T: Trace + 'static> Gc<[T]> {
    /// A new object holding the elements of `iter`, which must yield exactly
    /// the number of elements it says (`ExactSizeIterator`), in one
    /// allocation (as `Rc<[T]>`).
    #[track_caller]
    pub fn from_exact_iter<I>(iter: I) -> Gc<[T]>
    where
        I: IntoIterator,
        I::IntoIter: ExactSizeIterator<Item = T>,
    {
        let iter = iter.into_iter();
        let len = iter.len();
        let info = &SliceTable::<T>::INFO;
        // SAFETY: the block is laid out for `len` elements of `T`.
        let gc = unsafe { Gc::<[T]>::fill(info, len, iter) };
        alloc::born(gc.obj(), std::panic::Location::caller());
        if T::TRACKED {
            let link = !T::FROZEN || alloc::points_at_tracked(&*gc);
            alloc::track_new(gc.obj(), link);
        }
        gc
    }

    /// Allocates a slice block of `info` for `len` elements and moves them in.
    ///
    /// # Safety
    /// `info` is `SliceTable::<T>::INFO` or `STR_INFO` (with `T = u8`).
    unsafe fn fill(info: &'static TypeInfo, len: usize, iter: impl Iterator<Item = T>) -> Gc<[T]> {
        let layout = slice_block(info.block, std::alloc::Layout::new::<T>(), len);
        let ptr = alloc::allocate(info, layout).unwrap_or_else(|e| alloc::memory_error(e));
        let base = ptr.as_ptr().cast::<u8>().wrapping_sub(info.header_offset);
        // SAFETY: slice blocks start with their length word (TypeInfo's
        // layout invariant); it is written before anything can read it.
        unsafe { base.cast::<usize>().write(0) };
        let elements = ptr.value_ptr().cast::<T>();
        // The length word counts the elements written so far: if the
        // iterator panics (or yields fewer than it promised), the guard drops
        // exactly those and frees the block.
        let guard = UnfinishedSlice { ptr };
        let mut n = 0;
        for x in iter.take(len) {
            // SAFETY: `n < len`: inside the block, uninitialised.
            unsafe { elements.add(n).write(x) };
            n += 1;
            // SAFETY: as above; counts what is initialised so far.
            unsafe { base.cast::<usize>().write(n) };
        }
        assert_eq!(n, len, "the iterator yielded fewer elements than its len() promised");
        std::mem::forget(guard);
        let value = std::ptr::slice_from_raw_parts_mut(elements, len);
        // SAFETY: not null; the object's count (1) is this handle's.
        Gc { ptr: unsafe { NonNull::new_unchecked(value) }, _marker: PhantomData }
    }
}

/// A slice object being filled: dropped only if filling panics, when it
/// drops the elements written (its length word counts them) and frees the
/// block, which no handle, list or hook has seen yet.
struct UnfinishedSlice {
    ptr: ObjPtr,
}

impl Drop for UnfinishedSlice {
    fn drop(&mut self) {
        // SAFETY: the block is allocated and known to no one else; its
        // length word counts exactly the initialised elements, which are
        // dropped once here, before the block is freed.
        unsafe {
            let o = self.ptr.live();
            o.set_flag(crate::object::header::flags::CLEARED);
            (o.info().drop_value)(o.value_ptr());
            dealloc::free_block_of(self.ptr);
        }
    }
}

impl<T: Trace + Clone + 'static> From<&[T]> for Gc<[T]> {
    #[track_caller]
    fn from(items: &[T]) -> Self {
        Gc::from_exact_iter(items.iter().cloned())
    }
}

impl<T: Trace + 'static> From<Vec<T>> for Gc<[T]> {
    #[track_caller]
    fn from(items: Vec<T>) -> Self {
        Gc::from_exact_iter(items)
    }
}

impl<T: Trace + 'static> FromIterator<T> for Gc<[T]> {
    /// One allocation when the iterator's `size_hint` is exact (`(n,
    /// Some(n))`, as for ranges, slices and `map` over them); otherwise, or
    /// if the hint turns out wrong, through a `Vec` as `Rc<[T]>` does.
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        let items = match iter.size_hint() {
            (lo, Some(hi)) if lo == hi => {
                let info = &SliceTable::<T>::INFO;
                // SAFETY: the element table of `[T]`.
                match unsafe { Gc::<[T]>::fill_hinted(info, lo, &mut iter) } {
                    Ok(gc) => {
                        alloc::born(gc.obj(), std::panic::Location::caller());
                        if T::TRACKED {
                            let link = !T::FROZEN || alloc::points_at_tracked(&*gc);
                            alloc::track_new(gc.obj(), link);
                        }
                        return gc;
                    }
                    Err(mut items) => {
                        items.extend(iter);
                        items
                    }
                }
            }
            _ => iter.collect::<Vec<T>>(),
        };
        Gc::from_exact_iter(items)
    }
}

impl<T: Trace + 'static> Gc<[T]> {
    /// Fills a block of `len` elements from an iterator that claimed to hold
    /// exactly `len`. If it yields fewer, or more, the elements taken so far
    /// come back in a `Vec` (the block is freed) and the caller goes on from
    /// there: a wrong `size_hint` is a bug of the iterator, not UB, and not
    /// a reason to panic.
    ///
    /// # Safety
    /// `info` is `SliceTable::<T>::INFO`.
    unsafe fn fill_hinted(
        info: &'static TypeInfo,
        len: usize,
        iter: &mut impl Iterator<Item = T>,
    ) -> Result<Gc<[T]>, Vec<T>> {
        let layout = slice_block(info.block, std::alloc::Layout::new::<T>(), len);
        let ptr = alloc::allocate(info, layout).unwrap_or_else(|e| alloc::memory_error(e));
        let base = ptr.as_ptr().cast::<u8>().wrapping_sub(info.header_offset);
        // SAFETY: slice blocks start with their length word (TypeInfo's
        // layout invariant); it is written before anything can read it.
        unsafe { base.cast::<usize>().write(0) };
        let elements = ptr.value_ptr().cast::<T>();
        // As in `fill`: the length word counts the elements written, so a
        // panic in the iterator drops exactly those and frees the block.
        let guard = UnfinishedSlice { ptr };
        let mut n = 0;
        let mut extra = None;
        while n < len {
            let Some(x) = iter.next() else { break };
            // SAFETY: `n < len`: inside the block, uninitialised.
            unsafe { elements.add(n).write(x) };
            n += 1;
            // SAFETY: as above; counts what is initialised so far.
            unsafe { base.cast::<usize>().write(n) };
        }
        if n == len {
            extra = iter.next();
            if extra.is_none() {
                std::mem::forget(guard);
                let value = std::ptr::slice_from_raw_parts_mut(elements, len);
                // SAFETY: not null; the object's count (1) is this handle's.
                return Ok(Gc { ptr: unsafe { NonNull::new_unchecked(value) }, _marker: PhantomData });
            }
        }
        // The hint was wrong: move the `n` elements out, then let the guard
        // free the block with a length word of zero (it drops nothing).
        let mut items = Vec::with_capacity(n + usize::from(extra.is_some()));
        for i in 0..n {
            // SAFETY: elements `0..n` are initialised; each is read once, and
            // the length word is zeroed below before the guard runs, so none
            // is dropped twice.
            items.push(unsafe { elements.add(i).read() });
        }
        // SAFETY: the length word of the block, as above.
        unsafe { base.cast::<usize>().write(0) };
        drop(guard);
        items.extend(extra);
        Err(items)
    }
}

impl From<&str> for Gc<str> {
    #[track_caller]
    fn from(s: &str) -> Self {
        let info = &SliceTable::<u8>::STR_INFO;
        // SAFETY: the str table of `u8` slices.
        let bytes = unsafe { Gc::<[u8]>::fill(info, s.len(), s.bytes()) };
        alloc::born(bytes.obj(), std::panic::Location::caller());
        let ptr = bytes.ptr.as_ptr() as *mut str;
        std::mem::forget(bytes);
        // SAFETY: the bytes are a copy of a `str`: valid UTF-8; the count
        // moves over; not null.
        Gc { ptr: unsafe { NonNull::new_unchecked(ptr) }, _marker: PhantomData }
    }
}

impl From<String> for Gc<str> {
    #[track_caller]
    fn from(s: String) -> Self {
        Gc::from(s.as_str())
    }
}

impl<T: ?Sized + GcPointee> Gc<T> {
    /// The number of strong handles (Python's `ob_refcnt`).
    #[inline]
    pub fn ref_count(this: &Self) -> usize {
        this.obj().refcnt()
    }

    /// Whether both handles point at the same object (Python's `is`).
    #[inline]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        std::ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// A weak handle, which does not keep the value alive.
    #[must_use = "a weak handle dropped at once does nothing"]
    pub fn downgrade(this: &Self) -> Weak<T> {
        Weak::new(this, None)
    }

    /// A weak handle whose `callback` runs when the object dies (by
    /// reference count or by the collector), as `weakref.ref(obj, callback)`.
    /// The callback does not run if every clone of this weak handle is gone
    /// first, or if the weak handle is itself part of the same garbage.
    #[must_use = "the callback is dropped, never called, with the weak handle"]
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
        Ok(unsafe { this.ptr.as_ref() })
    }

    /// A type-erased handle to the same object.
    #[must_use]
    pub fn to_any(this: &Self) -> GcAny {
        GcAny::from_obj(this.obj())
    }

    /// The object's identity, as Python's `id()`: the address of its value.
    pub fn id(this: &Self) -> usize {
        this.ptr.as_ptr().cast::<u8>().addr()
    }

    /// The object, borrowed for as long as this handle.
    #[inline]
    pub(crate) fn obj(&self) -> Obj<'_> {
        // SAFETY: the handle owns a count, so the block stays allocated
        // while it is borrowed.
        unsafe { header_of(self.ptr).live() }
    }

    /// The value pointer (with the block's provenance), for weak handles.
    pub(crate) fn value_ptr(&self) -> NonNull<T> {
        self.ptr
    }

    /// Takes ownership of one count of the object whose value is `value`.
    ///
    /// # Safety
    /// `value` satisfies the struct's invariant, and the caller hands over
    /// one of the object's strong counts.
    pub(crate) unsafe fn from_value_ptr(value: NonNull<T>) -> Gc<T> {
        Gc { ptr: value, _marker: PhantomData }
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

impl<T: ?Sized + GcPointee> Deref for Gc<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        let o = self.obj();
        if T::TRACKED != Some(false) && o.is_cleared() {
            cleared_panic(o.type_name());
        }
        // SAFETY: untracked values are only cleared when their count is zero
        // (never while a handle exists); others were checked above. The
        // block lives while this handle holds its count.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: ?Sized + GcPointee> Clone for Gc<T> {
    #[inline]
    fn clone(&self) -> Self {
        // The pointer is read once, before the count is written (which the
        // compiler could not otherwise assume leaves `self.ptr` unchanged).
        let ptr = self.ptr;
        // SAFETY: this handle's count keeps the object allocated.
        unsafe { header_of(ptr).live() }.incref();
        Gc { ptr, _marker: PhantomData }
    }
}

impl<T: ?Sized + GcPointee> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the handle owns one count and is never used again.
        unsafe { dealloc::decref(header_of(self.ptr)) }
    }
}

// SAFETY: a handle reports itself, the one strong handle it is.
unsafe impl<T: ?Sized + GcPointee> Trace for Gc<T> {
    const TRACKED: bool = true;
    // The handle itself never changes target.
    const FROZEN: bool = true;
    // Moves with its heap; the hand-over checks the target's own type.
    const SEND: bool = true;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.visit_gc(self)
    }
}

impl<T: ?Sized + GcPointee + fmt::Debug> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Gc::try_get(self) {
            Ok(v) => v.fmt(f),
            Err(_) => write!(f, "<{} (cleared) {:#x}>", self.obj().type_name(), Gc::id(self)),
        }
    }
}

impl<T: ?Sized + GcPointee + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized + GcPointee + PartialEq> PartialEq for Gc<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + GcPointee + Eq> Eq for Gc<T> {}

impl<T: ?Sized + GcPointee + PartialOrd> PartialOrd for Gc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + GcPointee + Ord> Ord for Gc<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + GcPointee + std::hash::Hash> std::hash::Hash for Gc<T> {
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

impl<T: ?Sized + GcPointee> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized + GcPointee> std::borrow::Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: ?Sized + GcPointee> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr.as_ptr().cast_const(), f)
    }
}
