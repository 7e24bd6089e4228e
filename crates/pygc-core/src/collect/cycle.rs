//! Finding the unreachable set: `update_refs`, `subtract_refs`,
//! `move_unreachable` (CPython's `deduce_unreachable`).
//!
//! These run in the tracing phase (invariant 5 of `GcState`): `prev` words
//! hold `gc_refs`, the only user code that runs is `Trace::trace`, and the
//! heap keeps its lists still meanwhile (count-zero objects are deferred,
//! new objects parked, gc functions that touch the lists panic). Each
//! `trace` call is guarded: if one panics, or the counts show that some
//! `Trace` reports edges it does not own, the phase is abandoned and the
//! lists repaired, so everything survives (a leak, never a free of
//! something reachable).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use super::visitors::{ReachableVisitor, SubtractVisitor};
use crate::object::header::ObjPtr;
use crate::object::link::{self, GcList, MAX_GC_REFS};
use crate::state::phase::CollectionGuard;

/// Why a phase was abandoned.
pub(crate) enum Abort {
    /// A `Trace` impl panicked; the payload is resumed after the collection.
    Panic(Box<dyn Any + Send>),
    /// Counts went negative: some `Trace` reports handles it does not own.
    Inconsistent,
}

/// Splits `young` into what is reachable from outside (left in `young`)
/// and what is not (moved to `unreachable`, which must be empty). `held`
/// is subtracted from every count first (counts the collector itself
/// holds). Returns how many objects stayed in `young`; an abandoned phase
/// leaves all of them there.
///
/// `found` is called once for each object of `unreachable`, in list order,
/// from the walk that clears `move_unreachable`'s marks, so that the caller's
/// own per-object work (holding them, reading their flags) costs no walk of
/// its own: on a heap larger than the cache every walk is a trip through
/// memory. It must not run user code (the tracing phase has not ended); it
/// is not called when the phase is abandoned.
pub(crate) fn deduce_unreachable(
    collection: &CollectionGuard<'_>,
    young: &GcList,
    unreachable: &GcList,
    held: usize,
    found: impl FnMut(ObjPtr),
) -> Result<usize, Abort> {
    debug_assert!(unreachable.is_empty());
    let tracing = collection.enter_tracing();
    let result = update_refs(young, held)
        .and_then(|()| subtract_refs(young))
        .and_then(|()| move_unreachable(young, unreachable));
    // Every pass keeps the `next` chains of both lists circular through
    // live links (nothing is freed in this phase), which is what `repair`
    // and the mark removal need.
    if result.is_err() {
        // SAFETY: see above; once repaired both lists are well formed.
        unsafe {
            young.repair();
            unreachable.repair();
            unreachable.merge_into(young);
        }
    } else {
        // SAFETY: see above.
        unsafe { clear_unreachable_marks(unreachable, found) };
    }
    drop(tracing);
    result
}

/// `gc_refs = refcnt − held` for every object of `young`, and COLLECTING.
fn update_refs(young: &GcList, held: usize) -> Result<(), Abort> {
    // SAFETY: the tracing phase keeps every element of `young` allocated
    // and in place (invariant 5); this loop runs no user code either.
    for p in unsafe { young.iter() } {
        // SAFETY: as above.
        let o = unsafe { p.live() };
        let rc = o.refcnt();
        if rc < held || rc - held > MAX_GC_REFS {
            // `next` links are untouched so far; repair restores `prev`.
            return Err(Abort::Inconsistent);
        }
        // SAFETY: objects of a generation are of tracked types.
        unsafe { &*p.link_ptr() }.begin_collecting(rc - held);
    }
    Ok(())
}

/// The passes' visitors: traces one object under a panic guard.
trait Pass {
    fn trace_guarded(&mut self, p: ObjPtr) -> Result<(), Abort>;
}

impl Pass for SubtractVisitor {
    #[inline]
    fn trace_guarded(&mut self, p: ObjPtr) -> Result<(), Abort> {
        // SAFETY: in the tracing phase no element of the collected list can
        // be freed (count-zero objects are deferred with a count).
        let o = unsafe { p.live() };
        catch_unwind(AssertUnwindSafe(|| self.trace(o))).map_err(Abort::Panic)?;
        if self.inconsistent {
            return Err(Abort::Inconsistent);
        }
        Ok(())
    }
}

impl Pass for ReachableVisitor<'_> {
    #[inline]
    fn trace_guarded(&mut self, p: ObjPtr) -> Result<(), Abort> {
        // SAFETY: as above.
        let o = unsafe { p.live() };
        catch_unwind(AssertUnwindSafe(|| self.trace(o))).map_err(Abort::Panic)
    }
}

fn guarded_trace(v: &mut impl Pass, p: ObjPtr) -> Result<(), Abort> {
    v.trace_guarded(p)
}

/// One less `gc_refs` for every edge inside the collected set.
fn subtract_refs(young: &GcList) -> Result<(), Abort> {
    let mut v = SubtractVisitor::default();
    // SAFETY: `Trace` impls run, but in the tracing phase they cannot
    // unlink or free an element of `young` (invariant 5).
    for p in unsafe { young.iter() } {
        guarded_trace(&mut v, p)?;
    }
    Ok(())
}

/// CPython's `move_unreachable`. Invariant of the loop: everything left of
/// the cursor in `young` was scanned and is reachable (its `prev` is a real
/// pointer again, COLLECTING cleared); everything moved to `unreachable`
/// so far carries NEXT_UNREACHABLE and may still move back; `young`'s
/// head `prev` names its current tail.
fn move_unreachable(young: &GcList, unreachable: &GcList) -> Result<usize, Abort> {
    let mut v = ReachableVisitor::new(young);
    let mut prev = young.head();
    let mut survivors = 0;
    let mut at = young.head().next();
    // The scan, then ephemerons whose keys proved reachable, until neither
    // moves anything (each round scans what the last one moved back).
    loop {
        while at != young.head_ptr() {
            // SAFETY: `at` came from the `next` chain of `young`, whose elements
            // stay allocated in the tracing phase.
            let gc = unsafe { link::deref(at) };
            if gc.gc_refs() > 0 {
                survivors += 1;
                // SAFETY: an element link of `young` is an object's link.
                let traced = guarded_trace(&mut v, unsafe { ObjPtr::from_link(NonNull::from(gc)) });
                // The object is scanned and reachable: a real prev again.
                gc.end_collecting(prev.as_mut_ptr());
                prev = gc;
                if let Err(e) = traced {
                    young.head().set_prev(prev.as_mut_ptr());
                    return Err(e);
                }
            } else {
                // Tentatively unreachable: single-link it out of young and append
                // it to unreachable with the mark.
                prev.set_next_word(gc.next_word());
                // SAFETY: unreachable's head prev names its tail (set below).
                let last = unsafe { link::deref(unreachable.head().prev()) };
                last.set_next(gc.as_mut_ptr(), true);
                gc.set_prev(last.as_mut_ptr());
                gc.set_next(unreachable.head_ptr(), true);
                unreachable.head().set_prev(gc.as_mut_ptr());
            }
            // `prev` is young's head or a scanned element: never marked.
            at = prev.next_word();
        }
        young.head().set_prev(prev.as_mut_ptr());
        if !v.resolve_ephemerons() {
            break;
        }
        at = prev.next_word();
    }
    // The head's own next may carry the mark (set through `last`).
    unreachable.head().set_next(unreachable.head().next(), false);
    Ok(survivors)
}

/// Removes the marks `move_unreachable` left on the unreachable list,
/// handing each element to `found`.
///
/// # Safety
/// The list's masked `next` chain is circular through live links.
unsafe fn clear_unreachable_marks(unreachable: &GcList, mut found: impl FnMut(ObjPtr)) {
    let mut at = unreachable.head().next();
    while at != unreachable.head_ptr() {
        // SAFETY: guaranteed by the caller.
        let l = unsafe { link::deref(at) };
        at = l.next();
        l.set_next(at, false);
        // SAFETY: an element link of a list is an object's link.
        found(unsafe { ObjPtr::from_link(NonNull::from(l)) });
    }
}
