//! Layer 3, the generational cycle collector: CPython 3.11's
//! `gc_collect_main`.
//!
//! [`cycle`] finds the unreachable set (the tracing phase); [`garbage`]
//! handles it in CPython's order: legacy finalizers set apart, weak
//! references cleared (callbacks queued and called), PEP 442 finalizers on
//! the intact objects, a resurrection check, then clearing (dropping the
//! values) of what is still garbage. The collector holds a count on every
//! object of the unreachable set before the first user code runs, so user
//! code in between (callbacks, finalizers, `Drop`, `Trace`) can never free
//! one of them under its feet; blocks are freed when those counts are
//! released at the end.

pub(crate) mod cycle;
pub(crate) mod garbage;
pub(crate) mod user_code;
pub(crate) mod visitors;

use std::time::Instant;

use crate::life::{alloc, dealloc};
use crate::object::header::ObjPtr;
use crate::object::link::PREV_COLLECTING;
use crate::object::type_info::short_type_name;
use crate::state::debug_log::{DEBUG_COLLECTABLE, DEBUG_SAVEALL, DEBUG_STATS, DEBUG_UNCOLLECTABLE};
use crate::state::phase::CollectionGuard;
use crate::state::{CallbackInfo, CallbackPhase, GcState, NUM_GENERATIONS};
use cycle::{deduce_unreachable, Abort};
use user_code::Panics;

/// Collects `generation` and all younger ones, with the gc callbacks;
/// returns collected + uncollectable, or 0 if a collection is already
/// running (as CPython).
pub(crate) fn collect(s: &GcState, generation: usize) -> usize {
    if crate::state::thread::is_marking() {
        // Called from a `Trace` impl while some heap of this thread marks
        // its objects: like a nested collection, it returns 0.
        return 0;
    }
    let Some(collection) = s.begin_collection() else { return 0 };
    let mut panics = Panics::default();
    // Counts left by a collection that unwound (see `CollectionGuard`).
    release_deferred(s, &mut panics);
    verify_at(s, generation, "at the start of a collection");
    let start = CallbackInfo { generation, collected: 0, uncollectable: 0 };
    invoke_callbacks(s, CallbackPhase::Start, start, &mut panics);
    let (collected, uncollectable) = collect_main(s, &collection, generation, &mut panics);
    let stop = CallbackInfo { generation, collected, uncollectable };
    invoke_callbacks(s, CallbackPhase::Stop, stop, &mut panics);
    adopt_pending(s);
    verify_at(s, generation, "at the end of a collection");
    drop(collection);
    // The collection is over: the counts it deferred can free objects now,
    // and the debug writer (user code) gets its lines.
    release_deferred(s, &mut panics);
    panics.guard("the gc debug output", || s.debug.flush());
    panics.resume();
    collected + uncollectable
}

/// The automatic trigger: the generation the schedule picks, if any.
pub(crate) fn collect_generations(s: &GcState) -> usize {
    match s.schedule.generation_to_collect() {
        Some(g) => collect(s, g),
        None => 0,
    }
}

/// Debug builds check the heap's invariants at the collection's
/// boundaries: the lists this collection touches (all of them for a full
/// collection, so that the cost stays proportional to the work).
fn verify_at(s: &GcState, generation: usize, when: &str) {
    if cfg!(debug_assertions) && generation == NUM_GENERATIONS - 1 {
        s.debug_verify(when);
    }
}

/// Objects born in a tracing phase join generation 0; the counts that
/// parked them go to `deferred`, released with the others.
fn adopt_pending(s: &GcState) {
    let pending = std::mem::take(&mut *s.pending_track.borrow_mut());
    for &p in &pending {
        // SAFETY: each pending entry owns a count.
        alloc::link_young(s, unsafe { p.live() });
        s.schedule.note_allocation();
    }
    s.deferred.borrow_mut().extend(pending);
}

fn release_deferred(s: &GcState, panics: &mut Panics) {
    loop {
        let batch = std::mem::take(&mut *s.deferred.borrow_mut());
        if batch.is_empty() {
            break;
        }
        for p in batch {
            // SAFETY: each deferred entry owns one count, given up here.
            panics.guard("a destructor", || unsafe { dealloc::decref(p) });
        }
    }
}

fn invoke_callbacks(s: &GcState, phase: CallbackPhase, info: CallbackInfo, panics: &mut Panics) {
    let callbacks: Vec<_> = s.callbacks.borrow().iter().map(|(_, cb)| cb.clone()).collect();
    for cb in callbacks {
        panics.guard("garbage collection callback", || match cb.try_borrow_mut() {
            Ok(mut f) => f(phase, &info),
            Err(_) => panic!("gc callback re-entered while running"),
        });
    }
}

fn debug_object(s: &GcState, what: &str, p: ObjPtr) {
    // SAFETY: called on objects the collector holds or lists it walks
    // without running user code.
    let o = unsafe { p.live() };
    // SAFETY: the closure only formats the name into the buffer.
    unsafe {
        o.with_dynamic_type_name(|name| {
            let name = name.map_or_else(|| short_type_name(o.type_name()), str::to_string);
            s.debug.line(format_args!("gc: {what} <{name} {:#x}>\n", o.id()));
        })
    }
}

/// CPython's `gc_collect_main`; returns (collected, uncollectable).
fn collect_main(
    s: &GcState,
    collection: &CollectionGuard<'_>,
    generation: usize,
    panics: &mut Panics,
) -> (usize, usize) {
    let debug = s.debug.flags();
    let started = Instant::now();
    let lists = s.lists();
    let gens = &lists.generations;
    if debug.contains(DEBUG_STATS) {
        s.debug.line(format_args!("gc: collecting generation {generation}...\n"));
        // SAFETY: no user code runs while the lists are counted.
        let sizes: Vec<String> = gens.iter().map(|g| unsafe { g.len() }.to_string()).collect();
        // SAFETY: as above.
        let permanent = unsafe { lists.permanent.len() };
        s.debug.line(format_args!(
            "gc: objects in each generation: {}\ngc: objects in permanent generation: {}\n",
            sizes.join(" "),
            permanent
        ));
    }

    s.schedule.start(generation);
    for younger in &gens[..generation] {
        // SAFETY: the generation lists are well formed (invariant 4).
        unsafe { younger.merge_into(&gens[generation]) };
    }
    let young = &gens[generation];
    let old = &gens[(generation + 1).min(NUM_GENERATIONS - 1)];
    let unreachable = &lists.unreachable;

    // The walk that ends the tracing phase also holds every candidate
    // (invariant 1: none can be freed under a later pass, whatever user code
    // runs), reads the flags that decide which passes are needed, and drops
    // COLLECTING so that a collection of another heap, started by user code
    // below, cannot mistake the candidates for its own. (The resurrection
    // check sets it again, and drops it the same way.)
    let mut held: Vec<ObjPtr> = Vec::new();
    let (mut any_legacy, mut any_weak, mut any_finalizer) = (false, false, false);
    let found = |p: ObjPtr| {
        // SAFETY: elements of a list are allocated (invariant 4); the hold
        // taken here is released at the end of the collection.
        let o = unsafe { p.live() };
        o.incref();
        any_legacy |= o.info().legacy_finalizer;
        any_weak |= o.has(crate::object::header::flags::HAS_WEAK);
        any_finalizer |= o.finalizer_pending();
        // SAFETY: a generation member, so tracked: it has a link.
        unsafe { &*p.link_ptr() }.set_prev_flags(0, PREV_COLLECTING);
        held.push(p);
    };
    let survivors = match deduce_unreachable(collection, young, unreachable, 0, found) {
        Ok(n) => n,
        Err(abort) => {
            report_abort(abort, generation, panics);
            // SAFETY: the abandoned phase repaired the list.
            unsafe { young.len() }
        }
    };
    s.schedule.survived(generation, survivors);
    if generation < NUM_GENERATIONS - 1 {
        // SAFETY: both lists are well formed again after the tracing phase.
        unsafe { young.merge_into(old) };
    }

    // Without a legacy finalizer among them (the usual case) the move pass
    // moves nothing and the candidates are the held objects.
    let moved: Vec<ObjPtr>;
    let candidates: &[ObjPtr] = if any_legacy {
        // The move pass tells the unreachable set by COLLECTING.
        for &p in &held {
            // SAFETY: held; tracked.
            unsafe { &*p.link_ptr() }.set_prev_flags(PREV_COLLECTING, 0);
        }
        {
            // The move pass still uses COLLECTING: no collection of another
            // heap may start from its `Trace` calls (see `GcState::tracing`).
            let _move_pass = collection.enter_tracing_like();
            garbage::move_legacy_finalizers(unreachable, &lists.finalizers, panics);
        }
        // SAFETY: the elements are held; the walk runs no user code.
        moved = unsafe { unreachable.iter() }.collect();
        for &p in &moved {
            // SAFETY: held; tracked.
            unsafe { &*p.link_ptr() }.set_prev_flags(0, PREV_COLLECTING);
        }
        &moved
    } else {
        &held
    };
    if debug.contains(DEBUG_COLLECTABLE) {
        for &p in candidates {
            debug_object(s, "collectable", p);
        }
    }
    let mut user_code_ran = false;
    if any_weak {
        user_code_ran |= garbage::handle_weakrefs(s, candidates, panics);
    }
    if any_finalizer {
        user_code_ran |= garbage::finalize_garbage(candidates, panics);
    }

    // Resurrection check over the candidates alone. If no user code ran
    // since they were found unreachable, nothing can have changed.
    let still = &lists.still_unreachable;
    let mut rechecked: Vec<ObjPtr> = Vec::new();
    let garbage: &[ObjPtr] = if user_code_ran {
        let found = |p: ObjPtr| {
            // SAFETY: held (a candidate); tracked.
            unsafe { &*p.link_ptr() }.set_prev_flags(0, PREV_COLLECTING);
            rechecked.push(p);
        };
        if let Err(abort) = deduce_unreachable(collection, unreachable, still, 1, found) {
            report_abort(abort, generation, panics);
        }
        // SAFETY: well formed after the phase; what is left in
        // `unreachable` was resurrected.
        unsafe { unreachable.merge_into(old) };
        &rechecked
    } else {
        // SAFETY: both are working lists of this collection, well formed.
        unsafe { unreachable.merge_into(still) };
        candidates
    };
    let collected = garbage.len();
    // In the usual case the garbage is exactly what the collector holds, and
    // clearing gives each hold up as soon as it can free the block (while
    // it is still in the cache); otherwise the holds are given up below.
    let release = !any_legacy && !user_code_ran && !debug.contains(DEBUG_SAVEALL);
    garbage::delete_garbage(s, garbage, debug, release, panics);
    // Cleared objects a `Drop` resurrected stay (cleared) in the old
    // generation until their counts drop.
    // SAFETY: working lists are well formed outside the tracing phase.
    unsafe { still.merge_into(old) };

    // SAFETY: no user code runs in this walk.
    let uncollectable: Vec<ObjPtr> = unsafe { lists.finalizers.iter() }.collect();
    if debug.contains(DEBUG_UNCOLLECTABLE) {
        for &p in &uncollectable {
            debug_object(s, "uncollectable", p);
        }
    }
    if debug.contains(DEBUG_STATS) {
        s.debug.line(format_args!(
            "gc: done, {} unreachable, {} uncollectable, {:.4}s elapsed\n",
            collected + uncollectable.len(),
            uncollectable.len(),
            started.elapsed().as_secs_f64()
        ));
    }
    for &p in &uncollectable {
        // SAFETY: held.
        let o = unsafe { p.live() };
        if debug.contains(DEBUG_SAVEALL) || o.info().legacy_finalizer {
            o.incref();
            s.garbage.borrow_mut().push(p);
        }
    }
    // SAFETY: working lists are well formed outside the tracing phase.
    unsafe { lists.finalizers.merge_into(old) };

    if !release {
        for p in held {
            // SAFETY: the collector's hold, given up once; `p` was in this
            // collection's unreachable list, so it belongs to `s`.
            unsafe { garbage::release_hold(s, p, panics) };
        }
    }

    let mut stats = s.stats.borrow_mut();
    stats[generation].collections += 1;
    stats[generation].collected += collected;
    stats[generation].uncollectable += uncollectable.len();
    (collected, uncollectable.len())
}

fn report_abort(abort: Abort, generation: usize, panics: &mut Panics) {
    match abort {
        Abort::Panic(p) => panics.record("Trace::trace", p),
        Abort::Inconsistent => eprintln!(
            "pygc: collection of generation {generation} abandoned: a Trace implementation reports \
             handles its value does not own; nothing was freed"
        ),
    }
}

#[cfg(test)]
mod tests;
