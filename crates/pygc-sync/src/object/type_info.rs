//! The static table of each type: what the untyped collector and the
//! deallocation path call.

use crate::collect::visitors::{Edges, Mark, Subtract};
use crate::handle::gc::Gc;
use crate::object::header::{GcBox, ObjPtr};
use crate::object::trace::SyncTrace;
use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;

/// One per type, `'static` (a promoted constant).
pub(crate) struct TypeInfo {
    pub(crate) name: fn() -> &'static str,
    pub(crate) type_id: fn() -> std::any::TypeId,
    pub(crate) layout: Layout,
    pub(crate) tracked: bool,
    pub(crate) has_finalizer: bool,
    /// Drops the value in place.
    pub(crate) drop_value: unsafe fn(ObjPtr),
    pub(crate) trace_subtract: unsafe fn(ObjPtr, &mut Subtract<'_>),
    pub(crate) trace_mark: unsafe fn(ObjPtr, &mut Mark<'_>),
    pub(crate) trace_edges: unsafe fn(ObjPtr, &mut Edges<'_>),
    /// Calls the finalizer with a handle that borrows one reference the
    /// caller holds.
    pub(crate) finalize: unsafe fn(ObjPtr),
}

pub(crate) struct InfoFor<T>(PhantomData<T>);

impl<T: SyncTrace> InfoFor<T> {
    pub(crate) const INFO: TypeInfo = TypeInfo {
        name: std::any::type_name::<T>,
        type_id: std::any::TypeId::of::<T>,
        layout: Layout::new::<GcBox<T>>(),
        tracked: T::TRACKED,
        has_finalizer: T::HAS_FINALIZER,
        drop_value: drop_value::<T>,
        trace_subtract: trace_subtract::<T>,
        trace_mark: trace_mark::<T>,
        trace_edges: trace_edges::<T>,
        finalize: finalize::<T>,
    };
}

/// # Safety
/// `p` is a live `GcBox<T>` whose value is dropped by nobody else, now or
/// later (its `CLEARED` bit was set by the caller).
unsafe fn drop_value<T: SyncTrace>(p: ObjPtr) {
    let b = p.0.cast::<GcBox<T>>().as_ptr();
    // SAFETY: the caller's contract: live, dropped once.
    unsafe { std::ptr::drop_in_place(std::ptr::addr_of_mut!((*b).value)) }
}

/// # Safety
/// As [`trace_with`].
unsafe fn trace_subtract<T: SyncTrace>(p: ObjPtr, v: &mut Subtract<'_>) {
    // SAFETY: the caller's contract.
    unsafe { trace_with::<T, _>(p, v) }
}

/// # Safety
/// As [`trace_with`].
unsafe fn trace_mark<T: SyncTrace>(p: ObjPtr, v: &mut Mark<'_>) {
    // SAFETY: the caller's contract.
    unsafe { trace_with::<T, _>(p, v) }
}

/// # Safety
/// As [`trace_with`].
unsafe fn trace_edges<T: SyncTrace>(p: ObjPtr, v: &mut Edges<'_>) {
    // SAFETY: the caller's contract.
    unsafe { trace_with::<T, _>(p, v) }
}

/// # Safety
/// `p` is a live `GcBox<T>` with an intact value, not being dropped, for the
/// duration of the call (the collector: a stopped world keeps it).
#[inline(always)]
unsafe fn trace_with<T: SyncTrace, V: crate::object::trace::Visitor>(p: ObjPtr, v: &mut V) {
    // SAFETY: the caller's contract.
    let b = unsafe { p.0.cast::<GcBox<T>>().as_ref() };
    b.value.trace(v)
}

/// # Safety
/// `p` is a live `GcBox<T>` with an intact value, and the caller holds one
/// strong reference to it for the duration of the call.
unsafe fn finalize<T: SyncTrace>(p: ObjPtr) {
    // SAFETY: the caller's reference backs the handle; ManuallyDrop keeps
    // it from being released here.
    let gc = ManuallyDrop::new(unsafe { Gc::<T>::from_header(p) });
    T::finalize(&gc)
}
