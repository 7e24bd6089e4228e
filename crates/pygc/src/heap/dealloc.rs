//! What happens when a count reaches zero: finalizer, weakref callbacks,
//! drop of the value, free of the block — without recursion (trashcan).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use super::header::{ObjPtr, CLEARED, HAS_WEAK, PREV_FINALIZED, TRACED, WEAK_DEAD};
use super::state::{self, Heap};
use crate::collect::list;

/// Deallocations nested deeper than this are queued instead of recursing
/// (CPython's trashcan uses 50).
const TRASHCAN_DEPTH: usize = 50;

/// The strong count of `p` just reached zero.
#[cold]
#[inline(never)]
pub(crate) fn refcount_zero(p: ObjPtr) {
    let handled = state::try_with(|h| {
        if h.tracing_phase.get() {
            // The generation lists hold gc_refs right now: keep the object
            // (one count owned by the deferred list) until the phase ends.
            p.header().refcnt.set(1);
            h.deferred.borrow_mut().push(p);
            return;
        }
        let depth = h.dealloc_depth.get();
        if depth >= TRASHCAN_DEPTH {
            // Detach now so no collection sees a zero-count object, and
            // finish it when the outermost deallocation unwinds.
            untrack(h, p);
            h.trash.borrow_mut().push(p);
            return;
        }
        h.dealloc_depth.set(depth + 1);
        let result = catch_unwind(AssertUnwindSafe(|| dealloc(Some(h), p)));
        h.dealloc_depth.set(depth);
        if depth == 0 {
            drain_trash(h);
        }
        if let Err(panic) = result {
            resume_unwind(panic);
        }
    });
    if handled.is_none() {
        // Thread teardown: the heap is gone; plain refcounting.
        dealloc(None, p);
    }
}

fn drain_trash(h: &Heap) {
    loop {
        let next = h.trash.borrow_mut().pop();
        let Some(p) = next else { break };
        h.dealloc_depth.set(1);
        let result = catch_unwind(AssertUnwindSafe(|| dealloc(Some(h), p)));
        h.dealloc_depth.set(0);
        if let Err(panic) = result {
            // Finish the queue first so nothing is left half-freed.
            drain_trash(h);
            resume_unwind(panic);
        }
    }
}

/// Removes a dying object from its generation. Like CPython's
/// `PyObject_GC_Del`, every container deallocation lowers `count0` (floored
/// at 0), tracked at the time or not.
fn untrack(h: &Heap, p: ObjPtr) {
    if p.info().tracked {
        let l = p.link();
        if l.next.get() != 0 {
            list::remove(l);
        }
        h.count[0].set(h.count[0].get().saturating_sub(1));
    }
}

/// Finalizes, clears and frees an object whose count is zero.
fn dealloc(h: Option<&Heap>, p: ObjPtr) {
    if let Some(h) = h {
        untrack(h, p);
    }
    let info = p.info();
    let mut panic = None;
    if !p.is_cleared() {
        if info.has_finalizer && !p.is_finalized() {
            if info.tracked {
                let l = p.link();
                l.prev.set(l.prev.get() | PREV_FINALIZED);
            }
            // SAFETY: the value is initialised and no one else can reach it
            // (count zero, weak upgrades fail at count zero).
            let r = catch_unwind(AssertUnwindSafe(|| unsafe { (info.finalize)(p.value_ptr()) }));
            panic = panic.or(r.err());
        }
        if p.flags() & HAS_WEAK != 0 {
            if let Some(h) = h {
                if let Err(e) = catch_unwind(AssertUnwindSafe(|| run_weak_callbacks(h, p))) {
                    panic = panic.or(Some(e));
                }
            }
        }
        p.set_flag(CLEARED);
        // SAFETY: the value is initialised and CLEARED now guarantees it is
        // never dropped or read again.
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { (info.drop_value)(p.value_ptr()) }));
        panic = panic.or(r.err());
    }
    release_block(h, p);
    if let Some(e) = panic {
        resume_unwind(e);
    }
}

/// Clears the weak references of `p` and calls their callbacks (a weakref
/// whose referent died).
pub(crate) fn run_weak_callbacks(h: &Heap, p: ObjPtr) {
    p.set_flag(WEAK_DEAD);
    let callbacks: Vec<_> = {
        let mut table = h.weak.borrow_mut();
        match table.get_mut(&p.addr()) {
            Some(e) => e.callbacks.drain(..).map(|s| s.f).collect(),
            None => Vec::new(),
        }
    };
    let mut first_panic = None;
    for cb in callbacks {
        if let Err(e) = catch_unwind(AssertUnwindSafe(cb)) {
            first_panic = first_panic.or(Some(e));
        }
    }
    if let Some(e) = first_panic {
        resume_unwind(e);
    }
}

/// The value is gone and the count is zero: free the block unless weak
/// handles still point at it.
fn release_block(h: Option<&Heap>, p: ObjPtr) {
    if p.flags() & HAS_WEAK != 0 {
        let Some(h) = h else {
            return; // no side table any more: leak the block, never dangle
        };
        let mut table = h.weak.borrow_mut();
        match table.get_mut(&p.addr()) {
            Some(e) if e.weak > 0 => {
                e.value_gone = true;
                return;
            }
            Some(_) => {
                table.remove(&p.addr());
            }
            None => {}
        }
    }
    // SAFETY: count zero, value dropped, no weak handles: unreachable.
    unsafe { free_block(p) };
}

/// Returns the block of `p` to obmalloc.
///
/// # Safety
/// Nothing references the block any more and its value was dropped.
pub(crate) unsafe fn free_block(p: ObjPtr) {
    if p.flags() & TRACED != 0 {
        crate::heap::trace_free(p);
    }
    let info = p.info();
    // SAFETY: the block came from `object_alloc(info.block)` (see alloc.rs).
    unsafe { obmalloc::object_dealloc(p.block_start(), info.block) };
}
