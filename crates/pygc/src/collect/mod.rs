//! The generational cycle collector: CPython 3.11's `gc_collect_main`.
//!
//! [`cycle`] finds the unreachable set; this module runs the rest in
//! CPython's order: legacy finalizers set apart, weak references cleared
//! (callbacks queued and called), PEP 442 finalizers on the intact objects,
//! a resurrection check, then clearing (dropping the values) of what is
//! still garbage. The collector holds a count on every object of the
//! unreachable set from the moment it is found, so user code that runs in
//! between (callbacks, finalizers, `Drop`) can never free one of them under
//! its feet; blocks are freed only when those counts are released.

pub(crate) mod cycle;
pub(crate) mod list;
pub(crate) mod visitors;

use std::any::Any;
use std::collections::HashMap;
use std::io::Write;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Instant;

use crate::gc::{CallbackInfo, DebugFlags, Phase};
use crate::heap::any::GcAny;
use crate::heap::handle::{decref, incref};
use crate::heap::header::{GcLink, ObjPtr, CLEARED, HAS_WEAK, PREV_COLLECTING, PREV_FINALIZED, WEAK_DEAD};
use crate::heap::state::{Heap, NUM_GENERATIONS};
use cycle::{clear_collecting, deduce_unreachable, Abort};
use visitors::{CoreVisitor, Mode};

/// Panics caught while user code ran inside a collection. The first is
/// resumed once the heap is consistent again; later ones are reported.
#[derive(Default)]
pub(crate) struct Panics {
    first: Option<Box<dyn Any + Send>>,
}

impl Panics {
    fn record(&mut self, where_: &str, payload: Box<dyn Any + Send>) {
        if self.first.is_none() {
            self.first = Some(payload);
        } else {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic>".into());
            eprintln!("Exception ignored in {where_}: panic: {msg}");
        }
    }

    fn guard(&mut self, where_: &str, f: impl FnOnce()) {
        if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
            self.record(where_, p);
        }
    }

    fn resume(self) {
        if let Some(p) = self.first {
            resume_unwind(p);
        }
    }
}

/// Runs a collection of `generation` (and all younger) with callbacks,
/// unless one is already running (then 0, as CPython).
pub(crate) fn run(h: &Heap, generation: usize) -> usize {
    if h.collecting.get() {
        return 0;
    }
    h.collecting.set(true);
    let mut panics = Panics::default();
    invoke_callbacks(
        h,
        Phase::Start,
        CallbackInfo { generation, collected: 0, uncollectable: 0 },
        &mut panics,
    );
    let (m, n) = collect_main(h, generation, &mut panics);
    invoke_callbacks(
        h,
        Phase::Stop,
        CallbackInfo { generation, collected: m, uncollectable: n },
        &mut panics,
    );
    h.collecting.set(false);
    release_deferred(h);
    panics.resume();
    n + m
}

/// The automatic trigger: the oldest generation over its threshold, with
/// the 25 % rule for generation 2.
pub(crate) fn collect_generations(h: &Heap) -> usize {
    for i in (0..NUM_GENERATIONS).rev() {
        if h.count[i].get() > h.threshold[i].get() {
            if i == NUM_GENERATIONS - 1 && h.long_lived_pending.get() < h.long_lived_total.get() / 4 {
                continue;
            }
            return run(h, i);
        }
    }
    0
}

fn release_deferred(h: &Heap) {
    loop {
        let batch = std::mem::take(&mut *h.deferred.borrow_mut());
        if batch.is_empty() {
            break;
        }
        for p in batch {
            decref(p);
        }
    }
}

fn invoke_callbacks(h: &Heap, phase: Phase, info: CallbackInfo, panics: &mut Panics) {
    let cbs: Vec<_> = h.callbacks.borrow().iter().map(|(_, cb)| cb.clone()).collect();
    for cb in cbs {
        panics.guard("garbage collection callback", || match cb.try_borrow_mut() {
            Ok(mut f) => f(phase, &info),
            Err(_) => panic!("gc callback re-entered while running"),
        });
    }
}

pub(crate) fn debug_write(h: &Heap, args: std::fmt::Arguments<'_>) {
    let mut out = h.debug_out.borrow_mut();
    match out.as_mut() {
        Some(w) => {
            let _ = w.write_fmt(args);
        }
        None => {
            let _ = std::io::stderr().write_fmt(args);
        }
    }
}

fn debug_object(h: &Heap, what: &str, p: ObjPtr) {
    debug_write(
        h,
        format_args!(
            "gc: {} <{} {:#x}>\n",
            what,
            crate::heap::short_type_name(p.type_name()),
            p.value_ptr() as usize
        ),
    );
}

/// CPython's `gc_collect_main`; returns (m, n) = (collected, uncollectable).
fn collect_main(h: &Heap, generation: usize, panics: &mut Panics) -> (usize, usize) {
    let debug = h.debug.get();
    let started = Instant::now();
    if debug.contains(DebugFlags::STATS) {
        debug_write(h, format_args!("gc: collecting generation {generation}...\n"));
        let sizes: Vec<String> = (0..NUM_GENERATIONS).map(|i| list::len(h.head(i)).to_string()).collect();
        debug_write(
            h,
            format_args!(
                "gc: objects in each generation: {}\ngc: objects in permanent generation: {}\n",
                sizes.join(" "),
                list::len(h.permanent())
            ),
        );
    }

    if generation + 1 < NUM_GENERATIONS {
        h.count[generation + 1].set(h.count[generation + 1].get() + 1);
    }
    for i in 0..=generation {
        h.count[i].set(0);
    }
    for i in 0..generation {
        list::merge(h.head(i), h.head(generation));
    }
    let young = h.head(generation);
    let old = h.head((generation + 1).min(NUM_GENERATIONS - 1));

    let unreachable = GcLink::new();
    list::init(&unreachable);
    let survivors = match deduce_unreachable(h, young, &unreachable, 0) {
        Ok(n) => n,
        Err(abort) => {
            report_abort(abort, generation, panics);
            list::len(young)
        }
    };

    // Promote the survivors.
    if generation == 1 {
        h.long_lived_pending.set(h.long_lived_pending.get() + survivors);
    }
    if generation == NUM_GENERATIONS - 1 {
        h.long_lived_pending.set(0);
        h.long_lived_total.set(survivors);
    } else {
        list::merge(young, old);
    }

    // Legacy finalizers and everything reachable from them are uncollectable.
    let finalizers = GcLink::new();
    list::init(&finalizers);
    move_legacy_finalizers(&unreachable, &finalizers, panics);

    if debug.contains(DebugFlags::COLLECTABLE) {
        for p in list::objects(&unreachable) {
            debug_object(h, "collectable", p);
        }
    }

    // From here on the collector owns one count on each candidate. One pass
    // takes the counts and notes whether any weakref or finalizer is
    // involved, so the common case skips those passes entirely.
    let mut candidates = Vec::new();
    let (mut any_weak, mut any_finalizer) = (false, false);
    for p in list::iter(&unreachable) {
        incref(p);
        any_weak |= p.flags() & HAS_WEAK != 0;
        any_finalizer |= p.info().has_finalizer;
        candidates.push(p);
    }

    let mut user_code_ran = false;
    if any_weak {
        user_code_ran |= handle_weakrefs(h, &candidates, panics);
    }
    if any_finalizer {
        user_code_ran |= finalize_garbage(&candidates, panics);
    }

    // Resurrection check over the candidates alone. If no user code ran
    // since they were found unreachable, nothing can have changed: skip it.
    let still = GcLink::new();
    list::init(&still);
    let garbage = if user_code_ran {
        clear_collecting(&unreachable);
        if let Err(abort) = deduce_unreachable(h, &unreachable, &still, 1) {
            report_abort(abort, generation, panics);
        }
        list::merge(&unreachable, old); // the resurrected
        list::objects(&still)
    } else {
        list::merge(&unreachable, &still);
        candidates.clone()
    };
    let m = garbage.len();
    delete_garbage(h, &garbage, debug, panics);
    list::merge(&still, old);
    drop(garbage);
    for &p in &candidates {
        decref_guarded(p, panics);
    }

    let mut n = 0;
    for p in list::objects(&finalizers) {
        n += 1;
        if debug.contains(DebugFlags::UNCOLLECTABLE) {
            debug_object(h, "uncollectable", p);
        }
    }
    if debug.contains(DebugFlags::STATS) {
        debug_write(
            h,
            format_args!(
                "gc: done, {} unreachable, {} uncollectable, {:.4}s elapsed\n",
                n + m,
                n,
                started.elapsed().as_secs_f64()
            ),
        );
    }
    for p in list::objects(&finalizers) {
        if debug.contains(DebugFlags::SAVEALL) || p.info().legacy_finalizer {
            h.garbage.borrow_mut().push(GcAny::from_ptr_incref(p));
        }
    }
    list::merge(&finalizers, old);

    let mut stats = h.stats.borrow_mut();
    stats[generation].collections += 1;
    stats[generation].collected += m;
    stats[generation].uncollectable += n;
    (m, n)
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

fn decref_guarded(p: ObjPtr, panics: &mut Panics) {
    panics.guard("a destructor", || decref(p));
}

/// Moves objects with a legacy finalizer, and all they reach inside the
/// unreachable set, to `finalizers` (CPython's `move_legacy_finalizers`
/// plus `move_legacy_finalizer_reachable`).
fn move_legacy_finalizers(unreachable: &GcLink, finalizers: &GcLink, panics: &mut Panics) {
    for p in list::objects(unreachable) {
        if p.info().legacy_finalizer {
            let l = p.link();
            l.prev.set(l.prev.get() & !PREV_COLLECTING);
            list::move_to(l, finalizers);
        }
    }
    if list::is_empty(finalizers) {
        return;
    }
    let mut v = CoreVisitor::new(Mode::Move(finalizers));
    let mut l = list::next(finalizers);
    while !std::ptr::eq(l, finalizers) {
        let p = ObjPtr::from_link(l as *const GcLink as usize);
        // A panic here only means fewer objects are kept: they stay garbage.
        panics.guard("Trace::trace", || v.trace(p));
        l = list::next(l);
    }
}

/// Clears weak references to the candidates and calls the callbacks of the
/// weak handles that are not themselves garbage.
fn handle_weakrefs(h: &Heap, candidates: &[ObjPtr], panics: &mut Panics) -> bool {
    let weakly_referenced: Vec<ObjPtr> =
        candidates.iter().copied().filter(|p| p.flags() & HAS_WEAK != 0).collect();
    if weakly_referenced.is_empty() {
        return false;
    }
    let any_callbacks = {
        let table = h.weak.borrow();
        weakly_referenced.iter().any(|p| table.get(&p.addr()).is_some_and(|e| !e.callbacks.is_empty()))
    };
    // Which callback-carrying weak handles live inside the garbage.
    let mut owned: HashMap<u64, usize> = HashMap::new();
    if any_callbacks {
        let mut v = CoreVisitor::new(Mode::Weak(&mut owned));
        for &p in candidates {
            panics.guard("Trace::trace", || v.trace(p));
        }
    }
    let mut to_call = Vec::new();
    let mut to_drop = Vec::new();
    {
        let mut table = h.weak.borrow_mut();
        for &p in &weakly_referenced {
            p.set_flag(WEAK_DEAD);
            if let Some(e) = table.get_mut(&p.addr()) {
                for slot in e.callbacks.drain(..) {
                    if owned.get(&slot.id).copied().unwrap_or(0) >= slot.handles {
                        to_drop.push(slot.f);
                    } else {
                        to_call.push(slot.f);
                    }
                }
            }
        }
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
fn finalize_garbage(candidates: &[ObjPtr], panics: &mut Panics) -> bool {
    let mut ran = false;
    for &p in candidates {
        let info = p.info();
        if !info.has_finalizer || p.flags() & CLEARED != 0 {
            continue;
        }
        let l = p.link();
        if l.prev.get() & PREV_FINALIZED != 0 {
            continue;
        }
        l.prev.set(l.prev.get() | PREV_FINALIZED);
        ran = true;
        // SAFETY: not cleared, and the collector's count keeps the block alive.
        panics.guard("a finalizer", || unsafe { (info.finalize)(p.value_ptr()) });
    }
    ran
}

/// Breaks the cycles: drops every value (CPython's `tp_clear`), or saves
/// the objects in `gc.garbage` under DEBUG_SAVEALL.
fn delete_garbage(h: &Heap, garbage: &[ObjPtr], debug: DebugFlags, panics: &mut Panics) {
    for &p in garbage {
        let l = p.link();
        l.prev.set(l.prev.get() & !PREV_COLLECTING);
    }
    if debug.contains(DebugFlags::SAVEALL) {
        let mut g = h.garbage.borrow_mut();
        g.extend(garbage.iter().map(|&p| GcAny::from_ptr_incref(p)));
        return;
    }
    for &p in garbage {
        if p.flags() & CLEARED != 0 {
            continue;
        }
        if p.flags() & HAS_WEAK != 0 {
            // Weak handles created by finalizers must not see a cleared value.
            p.set_flag(WEAK_DEAD);
        }
        p.set_flag(CLEARED);
        let info = p.info();
        // SAFETY: the value is initialised; CLEARED (set above) guarantees no
        // handle reads it and it is dropped only here; the collector's count
        // keeps the block allocated during the drop.
        panics.guard("a destructor", || unsafe { (info.drop_value)(p.value_ptr()) });
    }
}
