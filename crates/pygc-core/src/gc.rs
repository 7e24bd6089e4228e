//! Python's `gc` module, over this thread's heap.
//!
//! Same names and numbers as CPython 3.11: `collect()` returns collected +
//! uncollectable, thresholds default to (700, 10, 10), a collection inside a
//! collection returns 0, and the `DEBUG_*` flags print CPython's lines.
//!
//! ```
//! use pygc::{gc, Gc, GcCell, Trace};
//!
//! #[derive(Trace)]
//! struct Node { r#ref: GcCell<Option<Gc<Node>>> }
//!
//! assert_eq!(gc::collect(), 0);                  // gc.collect() → 0
//! let a = Gc::new(Node { r#ref: GcCell::new(None) });
//! *a.r#ref.borrow_mut() = Some(a.clone());       // a.ref = a
//! drop(a);                                       // del a
//! assert_eq!(gc::collect(), 1);                  // gc.collect() → 1
//! ```

use std::collections::HashSet;
use std::fmt;

use crate::handle::any::{obj_of, GcAny, Handle};
use crate::inspect::{referents_into, Snapshot};
use crate::state::{thread, NUM_GENERATIONS};

pub use crate::state::debug_log::{
    DebugFlags, DEBUG_COLLECTABLE, DEBUG_LEAK, DEBUG_SAVEALL, DEBUG_STATS, DEBUG_UNCOLLECTABLE,
};
pub use crate::state::{CallbackInfo, CallbackPhase, GenerationStats};

/// Errors of the `gc` functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcError {
    /// A generation outside `0..=2` (`gc.collect(3)` raises "invalid
    /// generation"; `gc.get_objects(3)` names the limit instead).
    InvalidGeneration(usize),
    /// A threshold that does not fit CPython's C `int`.
    ThresholdOverflow(usize),
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::InvalidGeneration(g) => {
                write!(f, "invalid generation {g}: there are {NUM_GENERATIONS} generations (0 to 2)")
            }
            GcError::ThresholdOverflow(v) => {
                write!(f, "threshold {v} is greater than the maximum of a C int (2147483647)")
            }
        }
    }
}

impl std::error::Error for GcError {}

/// Identifies a registered callback, for [`remove_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

/// Enables automatic collection (`gc.enable()`).
///
/// ```
/// pygc::gc::disable();
/// pygc::gc::enable();
/// assert!(pygc::gc::isenabled());
/// ```
pub fn enable() {
    thread::with(|s| s.schedule.set_enabled(true))
}

/// Disables automatic collection; [`collect`] still works (`gc.disable()`).
///
/// ```
/// pygc::gc::disable();
/// assert!(!pygc::gc::isenabled());
/// assert_eq!(pygc::gc::collect(), 0);
/// ```
pub fn disable() {
    thread::with(|s| s.schedule.set_enabled(false))
}

/// Whether automatic collection is enabled (`gc.isenabled()`).
///
/// ```
/// assert!(pygc::gc::isenabled());
/// ```
pub fn isenabled() -> bool {
    thread::with(|s| s.schedule.is_enabled())
}

/// A full collection (`gc.collect()`): the number of unreachable objects
/// found, collected plus uncollectable; 0 if called during a collection.
pub fn collect() -> usize {
    thread::with(|s| crate::collect::collect(s, NUM_GENERATIONS - 1))
}

/// Collects `generation` and all younger ones (`gc.collect(generation)`).
///
/// ```
/// use pygc::gc;
/// assert_eq!(gc::collect_generation(0), Ok(0));
/// assert_eq!(gc::collect_generation(3), Err(gc::GcError::InvalidGeneration(3)));
/// ```
pub fn collect_generation(generation: usize) -> Result<usize, GcError> {
    if generation >= NUM_GENERATIONS {
        return Err(GcError::InvalidGeneration(generation));
    }
    Ok(thread::with(|s| crate::collect::collect(s, generation)))
}

/// `(count0, count1, count2)` (`gc.get_count()`): tracked allocations minus
/// deallocations since the last collection, then collections of the younger
/// generation since the last collection of each older one.
///
/// ```
/// use pygc::{gc, Gc};
/// let v = Gc::new(Vec::<Gc<Vec<u8>>>::new()); // a container: counted
/// let s = Gc::new(String::new());             // holds no handles: not counted
/// assert_eq!(gc::get_count(), (1, 0, 0));
/// gc::collect_generation(0).unwrap();
/// assert_eq!(gc::get_count(), (0, 1, 0));
/// # drop((v, s));
/// ```
pub fn get_count() -> (usize, usize, usize) {
    thread::with(|s| s.schedule.counts())
}

/// The collection thresholds (`gc.get_threshold()`), (700, 10, 10) by default.
///
/// ```
/// assert_eq!(pygc::gc::get_threshold(), (700, 10, 10));
/// ```
pub fn get_threshold() -> (usize, usize, usize) {
    thread::with(|s| s.schedule.thresholds())
}

/// Sets the thresholds (`gc.set_threshold(t0, t1, t2)`). `t0 = 0` turns
/// automatic collection off. Values must fit CPython's C `int`.
///
/// ```
/// use pygc::gc;
/// gc::set_threshold(1000, 15, 15).unwrap();
/// assert_eq!(gc::get_threshold(), (1000, 15, 15));
/// assert!(gc::set_threshold(usize::MAX, 10, 10).is_err());
/// ```
pub fn set_threshold(t0: usize, t1: usize, t2: usize) -> Result<(), GcError> {
    for t in [t0, t1, t2] {
        if t > i32::MAX as usize {
            return Err(GcError::ThresholdOverflow(t));
        }
    }
    thread::with(|s| s.schedule.set_thresholds([t0, t1, t2]));
    Ok(())
}

/// Tracked objects of generation `g`, or of all generations with `None`
/// (`gc.get_objects(generation=None)`); the permanent generation is left out.
///
/// ```
/// use pygc::{gc, Gc, GcCell};
/// let list = Gc::new(GcCell::new(Vec::<Gc<u8>>::new()));
/// let objects = gc::get_objects(None).unwrap();
/// assert_eq!(objects, vec![Gc::to_any(&list)]);
/// assert!(gc::get_objects(Some(3)).is_err());
/// ```
#[track_caller]
pub fn get_objects(generation: Option<usize>) -> Result<Vec<GcAny>, GcError> {
    let gens = match generation {
        None => 0..NUM_GENERATIONS,
        Some(g) if g < NUM_GENERATIONS => g..g + 1,
        Some(g) => return Err(GcError::InvalidGeneration(g)),
    };
    Ok(Snapshot::of_generations(gens, "gc::get_objects").into_objects())
}

/// Objects of generations 0–2 that hold a strong handle to any of `objs`
/// (`gc.get_referrers(*objs)`).
///
/// ```
/// use pygc::{gc, Gc, GcCell};
/// let leaf = Gc::new(1u32);
/// let holder = Gc::new(GcCell::new(vec![leaf.clone()])); // mutable: tracked
/// assert_eq!(gc::get_referrers(&[&leaf]), vec![Gc::to_any(&holder)]);
/// ```
#[track_caller]
pub fn get_referrers(objs: &[&dyn Handle]) -> Vec<GcAny> {
    let targets: HashSet<usize> = objs.iter().map(|o| obj_of(*o).id()).collect();
    // Every object the scan traces is held first: a `Trace` impl cannot
    // free what the scan looks at, whatever it does.
    let snapshot = Snapshot::of_generations(0..NUM_GENERATIONS, "gc::get_referrers");
    let mut out = Vec::new();
    let mut edges = Vec::new();
    for o in snapshot.objects() {
        edges.clear();
        referents_into(o, &mut edges);
        if edges.iter().any(|e| targets.contains(&e.id())) {
            out.push(o.clone());
        }
    }
    out
}

/// Objects directly held by any of `objs`, in trace order
/// (`gc.get_referents(*objs)`). Each is held by the answer from the moment
/// its holder's `Trace` reported it.
///
/// ```
/// use pygc::{gc, Gc};
/// let leaf = Gc::new(1u32);
/// let holder = Gc::new(vec![leaf.clone()]);
/// assert_eq!(gc::get_referents(&[&holder]), vec![Gc::to_any(&leaf)]);
/// ```
pub fn get_referents(objs: &[&dyn Handle]) -> Vec<GcAny> {
    let mut out = Vec::new();
    for o in objs {
        referents_into(*o, &mut out);
    }
    out
}

/// Whether the collector tracks the object (`gc.is_tracked`): its type can
/// hold handles and it is in a generation.
///
/// ```
/// use pygc::{gc, Gc, GcCell};
/// assert!(!gc::is_tracked(&Gc::new(42)));
/// assert!(gc::is_tracked(&Gc::new(GcCell::new(Vec::<Gc<u8>>::new()))));
/// ```
pub fn is_tracked(obj: &impl Handle) -> bool {
    obj_of(obj).is_in_list()
}

/// Takes the object out of the collector's generations, as CPython's
/// `PyObject_GC_UnTrack` does: the collector no longer traces it, so what it
/// holds counts as externally referenced (a cycle through it leaks until it
/// is tracked again). For containers that know they hold nothing tracked
/// (CPython untracks such dicts and tuples). Not callable from `Trace`.
///
/// ```
/// use pygc::{gc, Gc, GcCell};
/// let d = Gc::new(GcCell::new(Vec::<Gc<u8>>::new()));
/// assert!(gc::is_tracked(&d));
/// gc::untrack(&d);
/// assert!(!gc::is_tracked(&d));
/// gc::track(&d);
/// assert!(gc::is_tracked(&d));
/// ```
#[track_caller]
pub fn untrack(obj: &impl Handle) {
    thread::with(|s| {
        s.forbid_while_tracing("gc::untrack");
        let o = obj_of(obj);
        // The object's own heap (another heap's lists may be mid-collection).
        let _ = crate::state::thread::with_heap_of(o, |h| h.forbid_while_tracing("gc::untrack"));
        if let Some(l) = o.link() {
            if l.is_linked() {
                // SAFETY: outside the tracing phase the lists are well
                // formed (invariant 4), and `l` is in one of them.
                unsafe { crate::object::link::remove(l) };
            }
        }
    })
}

/// Puts an object whose type can hold handles (back) into generation 0,
/// as CPython's `PyObject_GC_Track` does; nothing for an object already in
/// a generation or of a type that holds no handles. See [`untrack`].
#[track_caller]
pub fn track(obj: &impl Handle) {
    thread::with(|s| {
        s.forbid_while_tracing("gc::track");
        let o = obj_of(obj);
        if o.link().is_some_and(|l| !l.is_linked()) {
            // Into the object's own heap.
            crate::state::thread::with_heap_of(o, |h| {
                h.forbid_while_tracing("gc::track");
                crate::life::alloc::link_young(h, o)
            });
        }
    })
}

/// Whether the object's type can be tracked at all (it has a generation
/// link): every type that can hold handles, and `#[pygc(tracked)]` ones.
pub fn is_trackable(obj: &impl Handle) -> bool {
    obj_of(obj).info().tracked
}

/// Whether the object's finalizer already ran (`gc.is_finalized`).
///
/// ```
/// use pygc::{gc, Gc};
/// assert!(!gc::is_finalized(&Gc::new(1u8)));
/// ```
pub fn is_finalized(obj: &impl Handle) -> bool {
    obj_of(obj).is_finalized()
}

/// Moves every tracked object to the permanent generation, which the
/// collector ignores, and zeroes the counts (`gc.freeze()`).
///
/// ```
/// use pygc::{gc, Gc, GcCell};
/// let x = Gc::new(GcCell::new(Vec::<Gc<u8>>::new()));
/// gc::freeze();
/// assert_eq!(gc::get_freeze_count(), 1);
/// gc::unfreeze();
/// assert_eq!(gc::get_freeze_count(), 0);
/// # drop(x);
/// ```
#[track_caller]
pub fn freeze() {
    thread::with(|s| {
        s.forbid_while_tracing("gc::freeze");
        let lists = s.lists();
        for g in &lists.generations {
            // SAFETY: outside the tracing phase the lists are well formed.
            unsafe { g.merge_into(&lists.permanent) };
        }
        s.schedule.freeze();
    })
}

/// Moves the permanent generation back into the oldest (`gc.unfreeze()`).
/// See [`freeze`] for an example.
#[track_caller]
pub fn unfreeze() {
    thread::with(|s| {
        s.forbid_while_tracing("gc::unfreeze");
        let lists = s.lists();
        // SAFETY: outside the tracing phase the lists are well formed.
        unsafe { lists.permanent.merge_into(&lists.generations[NUM_GENERATIONS - 1]) };
    })
}

/// Objects in the permanent generation (`gc.get_freeze_count()`).
/// See [`freeze`] for an example.
#[track_caller]
pub fn get_freeze_count() -> usize {
    thread::with(|s| {
        s.forbid_while_tracing("gc::get_freeze_count");
        // SAFETY: outside the tracing phase the list is well formed, and
        // counting runs no user code.
        unsafe { s.lists().permanent.len() }
    })
}

/// Per-generation statistics (`gc.get_stats()`).
///
/// ```
/// use pygc::gc;
/// gc::collect();
/// assert_eq!(gc::get_stats()[2].collections, 1);
/// ```
pub fn get_stats() -> [GenerationStats; 3] {
    thread::with(|s| *s.stats.borrow())
}

/// Uncollectable objects, and every unreachable object under
/// [`DEBUG_SAVEALL`] (`gc.garbage`).
///
/// ```
/// use pygc::{gc, Gc, GcCell, Trace};
/// #[derive(Trace)]
/// struct List(GcCell<Vec<Gc<List>>>);
/// gc::set_debug(gc::DEBUG_SAVEALL);
/// let x = Gc::new(List(GcCell::new(Vec::new())));
/// x.0.borrow_mut().push(x.clone());
/// drop(x);
/// assert_eq!(gc::collect(), 1);
/// assert_eq!(gc::garbage().len(), 1);
/// gc::set_debug(gc::DebugFlags::empty());
/// let saved = gc::take_garbage();
/// assert!(saved[0].is::<List>());
/// ```
pub fn garbage() -> Vec<GcAny> {
    thread::with(|s| {
        // SAFETY: each entry owns a count, so the object is allocated.
        s.garbage.borrow().iter().map(|p| GcAny::from_obj(unsafe { p.live() })).collect()
    })
}

/// Empties [`garbage`], returning what it held (`del gc.garbage[:]`).
/// See [`garbage`] for an example.
pub fn take_garbage() -> Vec<GcAny> {
    let taken = thread::with(|s| std::mem::take(&mut *s.garbage.borrow_mut()));
    // SAFETY: each entry owned one count, which moves into the handle.
    taken.into_iter().map(|p| unsafe { GcAny::from_ptr(p) }).collect()
}

/// Sets the debug flags (`gc.set_debug`).
///
/// ```
/// use pygc::gc;
/// gc::set_debug(gc::DEBUG_STATS | gc::DEBUG_COLLECTABLE);
/// assert_eq!(gc::get_debug().bits(), 3);
/// ```
pub fn set_debug(flags: DebugFlags) {
    thread::with(|s| s.debug.set_flags(flags))
}

/// The debug flags (`gc.get_debug`). See [`set_debug`].
pub fn get_debug() -> DebugFlags {
    thread::with(|s| s.debug.flags())
}

/// Sends the `DEBUG_*` output to `out` instead of stderr (`None` restores
/// stderr) — Python's output goes to `sys.stderr`, which can be replaced
/// too. A collection writes its lines when it ends.
pub fn set_debug_output(out: Option<Box<dyn std::io::Write>>) {
    let old = thread::with(|s| s.debug.replace_output(out));
    // The old writer's Drop is user code (it may even collect): it runs
    // here, outside every borrow of the heap.
    drop(old);
}

/// Appends to `gc.callbacks`: `cb(phase, info)` runs before and after every
/// collection. A panic in a callback is resumed after the collection ends.
///
/// ```
/// use pygc::gc;
/// use std::{cell::Cell, rc::Rc};
/// let runs = Rc::new(Cell::new(0));
/// let r = runs.clone();
/// let id = gc::add_callback(move |_phase, _info| r.set(r.get() + 1));
/// gc::collect();
/// assert_eq!(runs.get(), 2); // "start" and "stop"
/// assert!(gc::remove_callback(id));
/// ```
pub fn add_callback(cb: impl FnMut(CallbackPhase, &CallbackInfo) + 'static) -> CallbackId {
    thread::with(|s| {
        let id = s.next_callback_id.get();
        s.next_callback_id.set(id + 1);
        s.callbacks.borrow_mut().push((id, std::rc::Rc::new(std::cell::RefCell::new(cb))));
        CallbackId(id)
    })
}

/// Removes a callback; false if it was not registered. See [`add_callback`].
pub fn remove_callback(id: CallbackId) -> bool {
    let removed = thread::with(|s| {
        let mut cbs = s.callbacks.borrow_mut();
        cbs.iter().position(|(i, _)| *i == id.0).map(|i| cbs.remove(i))
    });
    removed.is_some()
}

/// Removes every callback (`gc.callbacks.clear()`).
pub fn clear_callbacks() {
    let old = thread::with(|s| std::mem::take(&mut *s.callbacks.borrow_mut()));
    drop(old);
}
