//! Birth: a block from obmalloc, its header, and joining generation 0.

use std::alloc::handle_alloc_error;
use std::panic::Location;
use std::ptr::NonNull;

use super::hooks;
use crate::collect::visitors::{CoreVisitor, Mode};
use crate::object::header::{Obj, ObjHeader, ObjPtr};
use crate::object::link::GcLink;
use crate::object::trace::Trace;
use crate::object::type_info::TypeInfo;
use crate::state::budget::MemoryError;
use crate::state::phase::Phase;
use crate::state::{thread, GcState};

/// Allocates a block of `layout` (`info.block`, or a slice's block) for
/// `info`'s type in the current heap and writes its header (count 1, the
/// heap's slot) and link; the value slot is left for the caller to write.
/// Fails if the heap's byte limit would be exceeded even after a full
/// collection.
#[inline]
pub(crate) fn allocate(info: &'static TypeInfo, layout: std::alloc::Layout) -> Result<ObjPtr, MemoryError> {
    let heap = current_heap();
    allocate_in(heap, info, layout)
}

/// The current heap, for the whole of one allocation: one thread-local
/// access instead of two. `None` during thread teardown (plain
/// refcounting, no heap to account to).
#[inline]
pub(crate) fn current_heap<'a>() -> Option<&'a GcState> {
    // SAFETY: the thread's heaps outlive any call into pygc on the thread
    // (teardown starts only when the thread exits), and an entered heap
    // stays entered until the frame that entered it returns, which is
    // after this allocation: the state lives for the caller's use.
    thread::current_ptr().map(|p| unsafe { &*p })
}

/// [`allocate`] in `heap` (from [`current_heap`]). Always inlined: it is
/// most of `Gc::new`, and its error path is cold.
#[inline(always)]
pub(crate) fn allocate_in(
    heap: Option<&GcState>,
    info: &'static TypeInfo,
    layout: std::alloc::Layout,
) -> Result<ObjPtr, MemoryError> {
    debug_assert!(layout.size() >= info.block.size() && layout.align() == info.block.align());
    let slot = match heap {
        Some(s) => reserve(s, layout.size())?,
        None => 0,
    };
    // SAFETY: every block layout has a non-zero size (it includes a header).
    let base = unsafe { obmalloc::object_alloc(layout) };
    let Some(base) = NonNull::new(base) else { handle_alloc_error(layout) };
    // SAFETY: `header_offset + 16 ≤ block.size()` (TypeInfo's layout
    // invariant), so the header lies inside the block.
    let header = unsafe { base.add(info.header_offset) }.cast::<ObjHeader>();
    // SAFETY: inside the fresh block, 16-aligned (block alignment ≥ 16 and
    // header_offset is a multiple of 16), and not yet initialised.
    unsafe { header.write(ObjHeader::new(info, slot)) };
    let ptr = ObjPtr::new(header);
    if info.tracked {
        // SAFETY: tracked types reserve 16 bytes for the link right before
        // the header, inside the block.
        unsafe { ptr.link_ptr().write(GcLink::new()) };
    }
    Ok(ptr)
}

/// Charges `size` bytes to the heap's budget; returns the heap's slot.
#[inline(always)]
fn reserve(s: &GcState, size: usize) -> Result<u16, MemoryError> {
    if s.budget.charge(size) {
        Ok(s.slot.get())
    } else {
        over_limit(s, size)
    }
}

/// Over the heap's limit: a full collection first, as CPython collects
/// before it raises `MemoryError`, then the verdict.
#[cold]
#[inline(never)]
fn over_limit(s: &GcState, size: usize) -> Result<u16, MemoryError> {
    if s.phase() == Phase::Idle {
        crate::collect::collect(s, crate::state::NUM_GENERATIONS - 1);
    }
    if s.budget.charge(size) {
        return Ok(s.slot.get());
    }
    Err(MemoryError {
        limit: s.budget.limit().unwrap_or(usize::MAX),
        live: s.budget.bytes(),
        requested: size,
    })
}

/// The panic of `Gc::new` over a heap's limit.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn memory_error(e: MemoryError) -> ! {
    panic!("{e}")
}

/// The value of a new object is written: report it to the hooks.
#[inline]
pub(crate) fn born(o: Obj<'_>, caller: &'static Location<'static>) {
    hooks::allocated(o, caller);
}

/// A new object of a tracked type joins generation 0, or, with `link`
/// false, only counts in `count0` (CPython's `_PyObject_GC_Link` and
/// `_PyObject_GC_TRACK`).
///
/// As in CPython 3.11 the collection an allocation triggers runs *before*
/// the new object is linked: it stays young instead of being promoted with
/// the survivors. It is safe unlinked: only its caller can reach it, and
/// what it holds looks externally referenced, so it is kept.
///
/// A value whose handles can never change (`Trace::FROZEN`) and that points
/// only at untracked objects is never linked: it can only point at objects
/// older than itself, so it can never be on a cycle (CPython's untracking
/// of tuples, applied at birth; see `docs/design/heap.md`). Its allocation
/// still counts in `count0`, as every container allocation does.
#[inline]
pub(crate) fn track_new(o: Obj<'_>, link: bool) {
    track_new_in(current_heap(), o, link)
}

/// [`track_new`] in `heap`, the heap `o` was allocated in.
#[inline]
pub(crate) fn track_new_in(heap: Option<&GcState>, o: Obj<'_>, link: bool) {
    debug_assert!(o.info().tracked);
    if let Some(s) = heap {
        if s.is_tracing() {
            park(s, o, link);
            return;
        }
        if s.schedule.note_allocation() {
            collection_due(s);
        }
        if link {
            // SAFETY: `o` is of a tracked type (the caller's promise): it
            // has a link, in no list yet.
            unsafe { link_young_unchecked(s, &*o.ptr().link_ptr()) };
        }
    }
}

/// Born inside a `Trace` impl while the collector traces: the lists hold
/// counts now. Parked, with a count, until the collection ends.
#[cold]
#[inline(never)]
fn park(s: &GcState, o: Obj<'_>, link: bool) {
    if link {
        o.incref();
        s.pending_track.borrow_mut().push(o.ptr());
    }
}

/// Generation 0 is over its threshold: collect, unless one runs already.
#[cold]
#[inline(never)]
fn collection_due(s: &GcState) {
    if s.phase() == Phase::Idle {
        crate::collect::collect_generations(s);
    }
}

/// Links `o` (of a tracked type, in no list) at the tail of generation 0.
pub(crate) fn link_young(s: &GcState, o: Obj<'_>) {
    let l = o.link().expect("only tracked objects join a generation");
    // SAFETY: `l` is the link of a tracked object in no list.
    unsafe { link_young_unchecked(s, l) };
}

/// # Safety
/// `l` is the link of an allocated tracked object, in no list, and the
/// heap is not in the tracing phase.
#[inline]
unsafe fn link_young_unchecked(s: &GcState, l: &GcLink) {
    debug_assert!(!l.is_linked() && !s.is_tracing());
    // SAFETY: generation 0 is well formed outside the tracing phase
    // (invariant 4), and the caller guarantees `l` is in no list.
    unsafe { s.generation(0).append(l) };
}

/// Whether a new frozen value holds a handle to an object in a list.
#[inline]
pub(crate) fn points_at_tracked<T: Trace + ?Sized>(value: &T) -> bool {
    let mut v = CoreVisitor::new(Mode::AnyTracked(false));
    value.trace(&mut v);
    matches!(v.mode, Mode::AnyTracked(true))
}
