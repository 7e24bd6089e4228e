//! Finding the unreachable set: `update_refs`, `subtract_refs`,
//! `move_unreachable` (CPython's `deduce_unreachable`).
//!
//! While these run, `prev` links hold `gc_refs`, so the only user code that
//! may run is `Trace::trace`. Each call is guarded: if one panics, or the
//! counts show that some `Trace` reports edges it does not own, the phase is
//! abandoned and the lists repaired, so everything survives (a leak, never a
//! free of something reachable).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::list;
use super::visitors::{refs, CoreVisitor, Mode};
use crate::heap::header::{GcLink, ObjPtr, NEXT_UNREACHABLE, PREV_COLLECTING, PREV_FINALIZED, PREV_SHIFT};
use crate::heap::state::Heap;

/// Why a phase was abandoned.
pub(crate) enum Abort {
    /// A `Trace` impl panicked; the payload is resumed after the collection.
    Panic(Box<dyn Any + Send>),
    /// Counts went negative: some `Trace` reports handles it does not own.
    Inconsistent,
}

/// Splits `young` into what is reachable from outside (left in `young`) and
/// what is not (moved to `unreachable`). `held` is subtracted from every
/// count first (references the collector itself holds). Returns how many
/// objects were left in `young`; an abandoned phase leaves all of them there.
pub(crate) fn deduce_unreachable(
    h: &Heap,
    young: &GcLink,
    unreachable: &GcLink,
    held: usize,
) -> Result<usize, Abort> {
    h.tracing_phase.set(true);
    let result = update_refs(young, held)
        .and_then(|()| subtract_refs(young))
        .and_then(|()| move_unreachable(young, unreachable));
    if result.is_err() {
        list::repair(young);
        list::repair(unreachable);
        list::merge(unreachable, young);
    } else {
        clear_unreachable_mask(unreachable);
    }
    h.tracing_phase.set(false);
    result
}

fn update_refs(young: &GcLink, held: usize) -> Result<(), Abort> {
    let mut l = list::next(young);
    while !std::ptr::eq(l, young) {
        let p = ObjPtr::from_link(l as *const GcLink as usize);
        let rc = p.header().refcnt.get();
        if rc < held || rc - held >= 1usize << (usize::BITS - PREV_SHIFT) {
            // The whole young list still has valid `next` links; repair restores `prev`.
            return Err(Abort::Inconsistent);
        }
        l.prev.set((l.prev.get() & PREV_FINALIZED) | PREV_COLLECTING | ((rc - held) << PREV_SHIFT));
        l = list::next(l);
    }
    Ok(())
}

fn guarded_trace(v: &mut CoreVisitor, p: ObjPtr) -> Result<(), Abort> {
    catch_unwind(AssertUnwindSafe(|| v.trace(p))).map_err(Abort::Panic)?;
    if v.inconsistent {
        return Err(Abort::Inconsistent);
    }
    Ok(())
}

fn subtract_refs(young: &GcLink) -> Result<(), Abort> {
    let mut v = CoreVisitor::new(Mode::Subtract);
    let mut l = list::next(young);
    while !std::ptr::eq(l, young) {
        guarded_trace(&mut v, ObjPtr::from_link(l as *const GcLink as usize))?;
        l = list::next(l);
    }
    Ok(())
}

/// CPython's `move_unreachable`. Invariant: everything left of `gc` in
/// `young` was scanned and is reachable; everything moved to `unreachable`
/// so far carries NEXT_UNREACHABLE and may still move back.
///
/// Fused in: CPython's `untrack_tuples`, for every type whose handles
/// cannot change (`Trace::FROZEN`). A reachable frozen object whose edges
/// all lead to untracked objects can never join a cycle (it can only point
/// at objects older than itself, which cannot be made to point back), so it
/// leaves the generation; the scan already traces it, so this costs no pass.
fn move_unreachable(young: &GcLink, unreachable: &GcLink) -> Result<usize, Abort> {
    let young_addr = young as *const GcLink as usize;
    let unreachable_addr = unreachable as *const GcLink as usize;
    let mut prev: &GcLink = young;
    let mut gc_addr = young.next.get();
    let mut v = CoreVisitor::new(Mode::Reachable(young, false));
    let mut survivors = 0;
    while gc_addr != young_addr {
        let gc = list::link_at(gc_addr);
        if refs(gc) > 0 {
            let p = ObjPtr::from_link(gc_addr);
            v.mode = Mode::Reachable(young, false);
            let traced = guarded_trace(&mut v, p);
            let points_at_tracked = matches!(v.mode, Mode::Reachable(_, true));
            if traced.is_ok() && p.info().frozen && !points_at_tracked && !p.is_cleared() {
                // Untrack: single-link it out of young, as the unreachable
                // case does; `prev` stays where it is.
                prev.next.set(gc.next.get());
                gc.next.set(0);
                gc.prev.set(gc.prev.get() & PREV_FINALIZED);
            } else {
                survivors += 1;
                // Relink `prev`; the object is scanned and reachable.
                gc.prev.set((gc.prev.get() & PREV_FINALIZED) | (prev as *const GcLink as usize));
                prev = gc;
            }
            if let Err(e) = traced {
                young.prev.set(prev as *const GcLink as usize);
                return Err(e);
            }
        } else {
            // Tentatively unreachable: single-link it out of young.
            prev.next.set(gc.next.get());
            let last = list::prev(unreachable);
            last.next.set(NEXT_UNREACHABLE | gc_addr);
            gc.prev
                .set((gc.prev.get() & (PREV_FINALIZED | PREV_COLLECTING)) | (last as *const GcLink as usize));
            gc.next.set(NEXT_UNREACHABLE | unreachable_addr);
            unreachable.prev.set(gc_addr);
        }
        gc_addr = prev.next.get();
    }
    young.prev.set(prev as *const GcLink as usize);
    unreachable.next.set(unreachable.next.get() & !NEXT_UNREACHABLE);
    Ok(survivors)
}

fn clear_unreachable_mask(unreachable: &GcLink) {
    let mut l = list::next(unreachable);
    while !std::ptr::eq(l, unreachable) {
        l.next.set(l.next.get() & !NEXT_UNREACHABLE);
        l = list::next(l);
    }
}

/// Clears COLLECTING on every element (before objects rejoin a generation).
pub(crate) fn clear_collecting(head: &GcLink) {
    let mut l = list::next(head);
    while !std::ptr::eq(l, head) {
        l.prev.set(l.prev.get() & !PREV_COLLECTING);
        l = list::next(l);
    }
}
