//! What happens to the unreachable set, in CPython's order: legacy
//! finalizers set apart, weak references cleared and their callbacks
//! called, PEP 442 finalizers run on the intact objects, and finally the
//! values dropped (CPython's `tp_clear`). User code runs in each of these
//! steps; the collector holds a count on every object of the set before the
//! first of them, so none can be freed under it.

use std::collections::HashMap;

use super::user_code::Panics;
use super::visitors::{CoreVisitor, Mode};
use crate::life::dealloc;
use crate::object::header::{flags, ObjPtr};
use crate::object::link::{GcList, PREV_COLLECTING};
use crate::state::debug_log::{DebugFlags, DEBUG_SAVEALL};
use crate::state::GcState;

/// Moves objects with a legacy finalizer, and everything they reach inside
/// the unreachable set, to `finalizers` (CPython's
/// `move_legacy_finalizers` and `move_legacy_finalizer_reachable`).
pub(crate) fn move_legacy_finalizers(unreachable: &GcList, finalizers: &GcList, panics: &mut Panics) {
    // SAFETY: no user code runs in this loop, and the elements are held.
    let legacy: Vec<ObjPtr> =
        unsafe { unreachable.iter() }.filter(|p| unsafe { p.live() }.info().legacy_finalizer).collect();
    for p in legacy {
        // SAFETY: held by the collector; tracked, so it has a link.
        let l = unsafe { &*p.link_ptr() };
        l.set_prev_flags(0, PREV_COLLECTING);
        // SAFETY: both lists are well formed after `move_unreachable`.
        unsafe { finalizers.move_in(l) };
    }
    let mut v = CoreVisitor::new(Mode::Move(finalizers));
    // Walks `finalizers` while the visitor appends to it. `Trace` impls run
    // (user code), but every element is held (never freed) and only the
    // collector moves elements of its working lists.
    let mut at = finalizers.head().next();
    while at != finalizers.head_ptr() {
        // SAFETY: `at` names a held element of a well-formed list.
        let l = unsafe { crate::object::link::deref(at) };
        // SAFETY: an element link is an object's link; the object is held.
        let o = unsafe { ObjPtr::from_link(std::ptr::NonNull::from(l)).live() };
        // A panic here only means fewer objects are kept: they stay garbage.
        panics.guard("Trace::trace", || v.trace(o));
        at = l.next();
    }
}

/// Clears weak references to the candidates, and calls the callbacks of
/// the weak handles that are not themselves inside the garbage (CPython's
/// `handle_weakrefs`). Returns whether user code ran.
pub(crate) fn handle_weakrefs(s: &GcState, candidates: &[ObjPtr], panics: &mut Panics) -> bool {
    // Candidates are held by the collector: every `live` below is sound.
    let weakly_referenced: Vec<ObjPtr> = candidates
        .iter()
        .copied()
        // SAFETY: held (above).
        .filter(|p| unsafe { p.live() }.has(flags::HAS_WEAK))
        .collect();
    if weakly_referenced.is_empty() {
        return false;
    }
    let any_callbacks = weakly_referenced.iter().any(|&p| s.weak.has_callbacks(p));
    // Which callback-carrying weak handles live inside the garbage.
    let mut owned: HashMap<u64, usize> = HashMap::new();
    if any_callbacks {
        let mut v = CoreVisitor::new(Mode::WeakIds(&mut owned));
        for &p in candidates {
            // SAFETY: held (above).
            let o = unsafe { p.live() };
            panics.guard("Trace::trace", || v.trace(o));
        }
    }
    let mut to_call = Vec::new();
    let mut to_drop = Vec::new();
    for &p in &weakly_referenced {
        // SAFETY: held (above).
        unsafe { s.weak.end_epoch(p) };
        let (call, drop) = s.weak.take_callbacks(p, &owned);
        to_call.extend(call);
        to_drop.extend(drop);
    }
    // Tracing for weak handles ran `Trace` impls (user code) too.
    let ran = any_callbacks || !to_drop.is_empty() || !to_call.is_empty();
    panics.guard("a weakref callback's destructor", || drop(to_drop));
    for cb in to_call {
        panics.guard("weakref callback", cb);
    }
    ran
}

/// PEP 442: each finalizer runs once, on intact objects. Returns whether
/// any ran.
pub(crate) fn finalize_garbage(candidates: &[ObjPtr], panics: &mut Panics) -> bool {
    let mut ran = false;
    for &p in candidates {
        // SAFETY: held by the collector.
        let o = unsafe { p.live() };
        let info = o.info();
        if !o.finalizer_pending() {
            continue;
        }
        o.set_flag(flags::FINALIZED);
        ran = true;
        // SAFETY: not cleared, and the collector's count keeps the block
        // allocated during the call.
        panics.guard("a finalizer", || unsafe { (info.finalize)(p) });
    }
    ran
}

/// Breaks the cycles: drops every value (CPython's `tp_clear`), or saves
/// the objects in `gc.garbage` under `DEBUG_SAVEALL`.
///
/// The collector holds every object of `garbage`, COLLECTING already
/// dropped. With `release`, `garbage` is exactly the set of the collector's
/// holds and this gives each of them up, one object behind the clearing:
/// once `garbage[i]` is cleared, `garbage[i - 1]` is released, which frees
/// its block at once when nothing else refers to it (the usual end of a
/// ring or a pair, whose neighbours have just dropped their edges), while
/// its header is still in the cache; a later walk over a heap larger than
/// the cache would be another trip through memory
/// (bench-results/python.md, 09:24 UTC). An object still referred to by
/// one not yet cleared is freed by the normal path when that reference goes.
pub(crate) fn delete_garbage(
    s: &GcState,
    garbage: &[ObjPtr],
    debug: DebugFlags,
    release: bool,
    panics: &mut Panics,
) {
    debug_assert!(garbage.iter().all(|p| {
        // SAFETY: held by the collector; tracked.
        unsafe { !(*p.link_ptr()).is_collecting() }
    }));
    if debug.contains(DEBUG_SAVEALL) {
        debug_assert!(!release, "saved objects keep the holds until the end");
        let mut saved = s.garbage.borrow_mut();
        for &p in garbage {
            // SAFETY: held by the collector; the new count is gc.garbage's.
            unsafe { p.live() }.incref();
            saved.push(p);
        }
        return;
    }
    let mut callbacks = Vec::new();
    for (i, &p) in garbage.iter().enumerate() {
        // SAFETY: held by the collector.
        let o = unsafe { p.live() };
        if !o.is_cleared() {
            if o.has(flags::HAS_WEAK) {
                // Weak handles made by finalizers (after `handle_weakrefs`)
                // must not see a cleared value; their callbacks run once the
                // values are dropped, as CPython runs them when such an
                // object is deallocated.
                // SAFETY: held by the collector.
                unsafe { s.weak.end_epoch(p) };
                callbacks.extend(s.weak.take_callbacks(p, &HashMap::new()).0);
            }
            o.set_flag(flags::CLEARED);
            let info = o.info();
            // SAFETY: the value is initialised; CLEARED (set above)
            // guarantees no handle reads it and it is dropped only here; the
            // collector's count keeps the block allocated during the drop.
            panics.guard("a destructor", || unsafe { (info.drop_value)(o.value_ptr()) });
        }
        if release && i > 0 {
            // SAFETY: the hold on `garbage[i - 1]`, given up once; that
            // object is cleared and this loop does not look at it again.
            unsafe { release_hold(s, garbage[i - 1], panics) };
        }
    }
    if let (true, Some(&last)) = (release, garbage.last()) {
        // SAFETY: as above, for the last one.
        unsafe { release_hold(s, last, panics) };
    }
    for cb in callbacks {
        panics.guard("weakref callback", cb);
    }
}

/// Gives up the collector's hold on `p`: the block is freed at once if the
/// hold was the last count of a cleared object, otherwise the count drops
/// as any other (a destructor may run, guarded).
///
/// # Safety
/// The caller owns the hold, `p` was a candidate of a collection of `s`,
/// and the caller does not use `p` afterwards.
pub(crate) unsafe fn release_hold(s: &GcState, p: ObjPtr, panics: &mut Panics) {
    // SAFETY: forwarded from the caller.
    if !unsafe { dealloc::release_cleared_hold(s, p) } {
        // SAFETY: the hold, still owned (nothing was changed).
        panics.guard("a destructor", || unsafe { dealloc::decref(p) });
    }
}
