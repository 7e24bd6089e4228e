//! Death: what happens when a count reaches zero. The finalizer (held, so
//! it may resurrect, as in CPython), weakref callbacks, the drop of the
//! value, the free of the block; deep chains through the trashcan instead
//! of recursion.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use super::hooks;
use crate::object::header::{flags, Obj, ObjPtr};
use crate::state::{thread, GcState};

/// Deallocations nested deeper than this are queued instead of recursing
/// (CPython's trashcan uses 50).
const TRASHCAN_DEPTH: usize = 50;

type Panic = Box<dyn std::any::Any + Send>;

/// Gives up one count of `p`; frees the object if it was the last.
///
/// # Safety
/// The caller owns one count of `p` (a handle being dropped, or one of the
/// heap's own holds), and does not use it afterwards.
#[inline]
pub(crate) unsafe fn decref(p: ObjPtr) {
    // SAFETY: the count the caller owns keeps the block allocated.
    let o = unsafe { p.live() };
    let n = o.refcnt() - 1;
    o.set_refcnt(n);
    if n == 0 {
        // SAFETY: the count was the last; it is handed over.
        unsafe { refcount_zero(p) }
    }
}

/// Gives up the collector's hold on `p` when that frees a block whose value
/// the collection already dropped: the common end of a garbage object, done
/// here without the heap lookup, trashcan and finalizer checks of
/// [`refcount_zero`] (no user code can run: the value is gone). Returns
/// false, having changed nothing, for any other object; the caller then
/// gives the hold up with [`decref`].
///
/// # Safety
/// The caller owns one count of `p` (the collector's hold), `p` is a member
/// of `s`'s generations or working lists, and the caller does not use `p`
/// again if this returns true.
#[inline]
pub(crate) unsafe fn release_cleared_hold(s: &GcState, p: ObjPtr) -> bool {
    // SAFETY: the hold keeps the block allocated.
    let o = unsafe { p.live() };
    if o.refcnt() != 1 || !o.is_cleared() || s.is_tracing() {
        return false;
    }
    o.set_refcnt(0);
    untrack(s, o);
    // SAFETY: the value was dropped by the collection (CLEARED) and the
    // count just reached zero with the caller's hold, the last one.
    unsafe { release_block(Some(s), p) };
    true
}

/// The strong count of `p` just reached zero.
///
/// # Safety
/// The count of `p` is zero and the caller gave up the last one.
#[cold]
#[inline(never)]
unsafe fn refcount_zero(p: ObjPtr) {
    // SAFETY: the count just reached zero, so the block is still allocated.
    let o = unsafe { p.live() };
    // SAFETY: forwarded from the caller.
    let handled = thread::with_heap_of(o, |s| unsafe { zero_in(s, p) });
    if handled.is_none() {
        // Thread teardown: the heap's state is gone; plain refcounting.
        // SAFETY: forwarded from the caller.
        unsafe { dealloc(None, p) }
    }
}

/// # Safety
/// As for [`refcount_zero`].
unsafe fn zero_in(s: &GcState, p: ObjPtr) {
    // SAFETY: nothing else can free the block: its count is zero and only
    // this deallocation holds it.
    let o = unsafe { p.live() };
    if s.is_tracing() {
        // The lists hold gc_refs right now (invariant 5): keep the object,
        // with one count owned by `deferred`, until the collection ends.
        o.set_refcnt(1);
        s.deferred.borrow_mut().push(p);
        return;
    }
    let depth = s.dealloc_depth.get();
    if depth >= TRASHCAN_DEPTH {
        // Leave the lists now (no collection may see a zero count) and let
        // the outermost deallocation finish it.
        unlink(o);
        s.trash.borrow_mut().push(p);
        return;
    }
    s.dealloc_depth.set(depth + 1);
    {
        // Restores the depth even if a destructor panics; anything left in
        // the trashcan then waits for the next outermost deallocation.
        let _depth = DepthGuard { s, depth };
        // SAFETY: forwarded from the caller.
        unsafe { dealloc(Some(s), p) };
    }
    if depth == 0 {
        drain_trash(s);
    }
}

struct DepthGuard<'a> {
    s: &'a GcState,
    depth: usize,
}

impl Drop for DepthGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.s.dealloc_depth.set(self.depth);
    }
}

fn drain_trash(s: &GcState) {
    loop {
        let next = s.trash.borrow_mut().pop();
        let Some(p) = next else { break };
        s.dealloc_depth.set(1);
        let _depth = DepthGuard { s, depth: 0 };
        // SAFETY: trashcan entries are zero-count objects whose last count
        // was handed to the trashcan by `zero_in`.
        unsafe { dealloc(Some(s), p) };
    }
}

/// Leaves whatever list holds `o`.
fn unlink(o: Obj<'_>) {
    if let Some(l) = o.link() {
        unlink_link(l);
    }
}

#[inline]
fn unlink_link(l: &crate::object::link::GcLink) {
    if l.is_linked() {
        // SAFETY: deallocations never run in the tracing phase (they are
        // deferred), so the lists are well formed (invariant 4), and `l` is
        // in one of them.
        unsafe { crate::object::link::remove(l) };
    }
}

/// Leaves the lists for good. Like CPython's `PyObject_GC_Del`, every
/// deallocation of a tracked type lowers `count0`, linked at the time or not.
fn untrack(s: &GcState, o: Obj<'_>) {
    unlink(o);
    if o.info().tracked {
        s.schedule.note_deallocation();
    }
}

/// Frees the block when dropped, so a panicking destructor still returns
/// the memory (the value counts as dropped, as `drop_in_place` promises).
struct ReleaseOnDrop<'a> {
    s: Option<&'a GcState>,
    p: ObjPtr,
}

impl Drop for ReleaseOnDrop<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the value of `p` is dropped (or being dropped and counted
        // as such) and its count is zero.
        unsafe { release_block(self.s, self.p) };
    }
}

/// Finalizes, clears and frees an object whose count is zero.
///
/// # Safety
/// As for [`refcount_zero`].
unsafe fn dealloc(s: Option<&GcState>, p: ObjPtr) {
    // SAFETY: only this deallocation can free the block, and it does so
    // last (ReleaseOnDrop).
    let o = unsafe { p.live() };
    let info = o.info();
    if o.is_cleared() {
        // The collector dropped the value; only the block is left.
        if let Some(s) = s {
            untrack(s, o);
        }
        // SAFETY: value gone, count zero.
        unsafe { release_block(s, p) };
        return;
    }
    let mut panic = None;
    if info.has_finalizer && o.finalizer_pending() {
        match finalize_at_death(s, o) {
            Outcome::Resurrected(p) => {
                if let Some(e) = p {
                    resume_unwind(e);
                }
                return;
            }
            Outcome::Died(p) => panic = p,
        }
    }
    let release = ReleaseOnDrop { s, p };
    if let Some(s) = s {
        if info.tracked {
            // SAFETY: a tracked type has a link.
            unlink_link(unsafe { &*p.link_ptr() });
            s.schedule.note_deallocation();
        }
        // Read now: a finalizer may have made weak references.
        if o.has(flags::HAS_WEAK) {
            panic = panic.or_else(|| weak_referent_died(s, o));
        }
    }
    o.set_flag(flags::CLEARED);
    // SAFETY: the value is initialised and CLEARED (just set) makes every
    // other path skip it; the block is freed only after this (release).
    unsafe { (info.drop_value)(o.value_ptr()) };
    drop(release);
    if let Some(e) = panic {
        resume_unwind(e);
    }
}

enum Outcome {
    Resurrected(Option<Panic>),
    Died(Option<Panic>),
}

/// PEP 442 at refcount death, as CPython's `PyObject_CallFinalizerFromDealloc`:
/// the finalizer runs once, with the object held for the call, so a weak
/// reference to it still upgrades and the finalizer may resurrect it.
#[cold]
#[inline(never)]
fn finalize_at_death(s: Option<&GcState>, o: Obj<'_>) -> Outcome {
    o.set_flag(flags::FINALIZED);
    o.set_refcnt(1);
    // SAFETY: the value is initialised (not cleared) and the count just
    // taken keeps the block allocated for the call.
    let r = catch_unwind(AssertUnwindSafe(|| unsafe { (o.info().finalize)(o.ptr()) }));
    let left = o.refcnt() - 1;
    o.set_refcnt(left);
    if left > 0 {
        // Resurrected: a new handle exists. It must be in a generation again
        // if the trashcan took it out.
        if let (Some(s), Some(l)) = (s, o.link()) {
            if !l.is_linked() && !s.is_tracing() {
                super::alloc::link_young(s, o);
            }
        }
        return Outcome::Resurrected(r.err());
    }
    Outcome::Died(r.err())
}

/// Clears the weak references of a dying object and calls their callbacks.
/// Returns the first panic of a callback (the others are reported).
#[cold]
#[inline(never)]
fn weak_referent_died(s: &GcState, o: Obj<'_>) -> Option<Panic> {
    // SAFETY: the block is allocated (`o` borrows it).
    unsafe { s.weak.end_epoch(o.ptr()) };
    let (to_call, _) = s.weak.take_callbacks(o.ptr(), &Default::default());
    let mut first = None;
    for cb in to_call {
        if let Err(e) = catch_unwind(AssertUnwindSafe(cb)) {
            first = first.or(Some(e));
        }
    }
    first
}

/// The value is gone and the count is zero: free the block unless weak
/// handles still point at it.
///
/// # Safety
/// The value of `p` is dropped and its count is zero.
unsafe fn release_block(s: Option<&GcState>, p: ObjPtr) {
    // SAFETY: the block is still allocated: freeing it is this function's job.
    let o = unsafe { p.live() };
    if o.has(flags::HAS_WEAK) {
        let Some(s) = s else {
            return; // no side table any more: leak the block, never dangle
        };
        if s.weak.keep_block_for_weak_handles(p) {
            return;
        }
    }
    // SAFETY: count zero, value dropped, no weak handles: nothing reaches it.
    unsafe { free_block(s, p) };
}

/// Returns the block of `p` to obmalloc, finding its heap first.
///
/// # Safety
/// As for [`free_block`].
pub(crate) unsafe fn free_block_of(p: ObjPtr) {
    // SAFETY: the block is allocated until `free_block` frees it.
    let o = unsafe { p.live() };
    // SAFETY: forwarded from the caller.
    if thread::with_heap_of(o, |s| unsafe { free_block(Some(s), p) }).is_none() {
        // SAFETY: forwarded; no heap to account to (thread teardown).
        unsafe { free_block(None, p) }
    }
}

/// Returns the block of `p` to obmalloc, refunding its heap `s` (the
/// object's own heap, if it still exists).
///
/// # Safety
/// Nothing references the block any more and its value was dropped.
#[inline]
pub(crate) unsafe fn free_block(s: Option<&GcState>, p: ObjPtr) {
    // SAFETY: still allocated until the end of this function.
    let o = unsafe { p.live() };
    if o.has(flags::HOOKED) {
        hooks::freed(o);
    }
    let info = o.info();
    let layout = o.block_layout();
    if let Some(s) = s {
        s.budget.refund(layout.size());
    }
    let base = p.as_ptr().cast::<u8>().wrapping_sub(info.header_offset);
    // SAFETY: the block came from `object_alloc(layout)` (alloc.rs) at
    // `base`, the header being `header_offset` into it.
    unsafe { obmalloc::object_dealloc(base, layout) };
}
