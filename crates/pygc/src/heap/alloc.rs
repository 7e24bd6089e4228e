//! Allocation of object blocks from obmalloc, and joining generation 0.

use std::alloc::handle_alloc_error;
use std::panic::Location;
use std::ptr::NonNull;

use super::header::{GcLink, ObjHeader, ObjPtr, TypeInfo};
use super::state;
use crate::collect::visitors::{CoreVisitor, Mode};
use crate::collect::{self, list};

/// Allocates and initialises the header of a block for `info`'s type; the
/// value slot is left for the caller to write.
#[inline]
pub(crate) fn allocate(info: &'static TypeInfo, caller: &'static Location<'static>) -> ObjPtr {
    // SAFETY: every block layout has a non-zero size (it includes a header).
    let base = unsafe { obmalloc::object_alloc(info.block) };
    if base.is_null() {
        handle_alloc_error(info.block);
    }
    let header = base.wrapping_add(info.header_offset).cast::<ObjHeader>();
    // SAFETY: `header` lies inside the fresh block, aligned to 16.
    unsafe {
        header.write(ObjHeader {
            refcnt: std::cell::Cell::new(1),
            info: std::cell::Cell::new(info as *const TypeInfo as usize),
        })
    };
    if info.tracked {
        let link = base.wrapping_add(info.header_offset - std::mem::size_of::<GcLink>());
        // SAFETY: tracked blocks reserve 16 bytes for the link before the header.
        unsafe { link.cast::<GcLink>().write(GcLink::new()) };
    }
    // SAFETY: `header` comes from a non-null block pointer plus an offset.
    let ptr = ObjPtr(unsafe { NonNull::new_unchecked(header) });
    crate::heap::trace_alloc(ptr, caller);
    ptr
}

/// Links a new tracked object at the tail of generation 0 and runs an
/// automatic collection if generation 0 is over its threshold (CPython's
/// `_PyObject_GC_Link` followed by tracking).
///
/// A value whose handles can never change (`Trace::FROZEN`) and that points
/// only at untracked objects is not linked at all: it can only ever point at
/// objects older than itself, so it can never be part of a cycle (the rule a
/// collection applies to survivors, applied at birth). Trees and lists built
/// bottom-up from such values never enter the generations. The allocation
/// still counts towards `count0`, as every container allocation does in
/// CPython.
#[inline]
pub(crate) fn finish_new(ptr: ObjPtr) {
    let info = ptr.info();
    if !info.tracked {
        return;
    }
    let link = !info.frozen || points_at_tracked(ptr);
    state::try_with(|h| {
        if h.tracing_phase.get() {
            // Created by a Trace impl in the middle of a collection: left
            // untracked (never collected, never breaks the lists).
            return;
        }
        if link {
            list::append(ptr.link(), h.head(0));
        }
        let c = h.count[0].get() + 1;
        h.count[0].set(c);
        let t0 = h.threshold[0].get();
        if c > t0 && t0 != 0 && h.enabled.get() && !h.collecting.get() {
            collect::collect_generations(h);
        }
    });
}

/// Whether a new frozen value holds a handle to an object in a generation.
#[inline]
fn points_at_tracked(ptr: ObjPtr) -> bool {
    let mut v = CoreVisitor::new(Mode::AnyTracked(false));
    v.trace(ptr);
    matches!(v.mode, Mode::AnyTracked(true))
}
