//! Python's `gc` module over the shared heap, thin.
//!
//! One generation (free-threaded CPython's collector is not generational):
//! `get_count()` and thresholds keep the three-number shape, and only the
//! first of each means something.

use crate::collect::stats::{CollectionInfo, GcStats, STATS};
use crate::collect::{self, schedule, with_stopped_world, Reason};
use crate::handle::any::GcAny;
use crate::handle::gc::incref;
use crate::object::header::{ObjPtr, FROZEN};
use crate::object::trace::SyncTrace;
use crate::runtime::runtime;
use crate::world::{StopPolicy, StopTimeout, ThreadState};
use crate::Gc;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;

pub use crate::collect::stats::last_collection;
pub use crate::collect::user_code::{set_unraisable_hook, unraisable_count, Unraisable};

/// Print statistics at each collection (stderr).
pub const DEBUG_STATS: u32 = 1;
/// Print each collectable object found.
pub const DEBUG_COLLECTABLE: u32 = 2;
/// Print uncollectable objects (none exist here; accepted for parity).
pub const DEBUG_UNCOLLECTABLE: u32 = 4;
/// Keep unreachable objects in [`garbage`] instead of freeing them.
pub const DEBUG_SAVEALL: u32 = 32;
/// `DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL`.
pub const DEBUG_LEAK: u32 = DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL;

static DEBUG: AtomicU32 = AtomicU32::new(0);
pub(crate) static GARBAGE: Mutex<Vec<GcAny>> = Mutex::new(Vec::new());

/// Runs a full collection from any thread and returns the number of
/// unreachable objects found (0 if a collection is already running, or if
/// the world did not stop within the stop policy: see [`try_collect`]).
pub fn collect() -> usize {
    collect::collect_main(Reason::Manual).unwrap_or(0)
}

/// [`collect`], telling a stop that timed out apart: `Err` names the
/// threads that never reached a safe point.
pub fn try_collect() -> Result<usize, StopTimeout> {
    collect::collect_main(Reason::Manual)
}

/// Turns automatic collection on.
pub fn enable() {
    schedule::ENABLED.store(true, Relaxed);
}

/// Turns automatic collection off.
pub fn disable() {
    schedule::ENABLED.store(false, Relaxed);
}

/// Whether automatic collection is on.
pub fn isenabled() -> bool {
    schedule::ENABLED.load(Relaxed)
}

/// `(count, 0, 0)`: tracked allocations minus deaths since the last
/// collection (flushed from each thread in batches of 64).
pub fn get_count() -> (usize, usize, usize) {
    (schedule::COUNT.load(Relaxed).max(0) as usize, 0, 0)
}

/// The thresholds; only the first triggers collections.
pub fn get_threshold() -> (usize, usize, usize) {
    let t = &schedule::THRESHOLD;
    (t[0].load(Relaxed), t[1].load(Relaxed), t[2].load(Relaxed))
}

/// Sets the thresholds (0 for the first disables automatic collection).
pub fn set_threshold(t0: usize, t1: usize, t2: usize) {
    for (a, v) in schedule::THRESHOLD.iter().zip([t0, t1, t2]) {
        a.store(v, Relaxed);
    }
}

/// The totals of every collection so far.
pub fn get_stats() -> GcStats {
    *STATS.lock()
}

/// Sets the `DEBUG_*` flags.
pub fn set_debug(flags: u32) {
    DEBUG.store(flags, Relaxed);
}

/// The `DEBUG_*` flags.
pub fn get_debug() -> u32 {
    DEBUG.load(Relaxed)
}

/// What [`DEBUG_SAVEALL`] kept (Python's `gc.garbage`), as new handles.
pub fn garbage() -> Vec<GcAny> {
    GARBAGE.lock().clone()
}

/// Empties `gc.garbage` (`del gc.garbage[:]`); its objects are then freed
/// by the next collection.
pub fn clear_garbage() {
    let v = std::mem::take(&mut *GARBAGE.lock());
    drop(v);
}

fn stopped<R>(what: &str, f: impl FnOnce(&mut collect::Stopped, &[ObjPtr]) -> R) -> R {
    match with_stopped_world(f) {
        Ok(r) => r,
        Err(e) => panic!("pygc_sync::gc::{what}: {e}"),
    }
}

/// Every object the collector tracks (stops the world to list them).
/// Panics if the world does not stop within the stop policy.
pub fn get_objects() -> Vec<GcAny> {
    stopped("get_objects", |_, objs| {
        objs.iter()
            .map(|&p| {
                incref(p);
                // SAFETY: the reference just taken.
                unsafe { GcAny::from_obj(p) }
            })
            .collect()
    })
}

/// The tracked objects that refer directly to any of `targets`.
pub fn get_referrers(targets: &[&GcAny]) -> Vec<GcAny> {
    stopped("get_referrers", |s, objs| {
        let mut out = Vec::new();
        let mut edges = Vec::new();
        for &p in objs {
            edges.clear();
            collect::referents(s, p, &mut edges);
            if edges.iter().any(|e| targets.iter().any(|t| t.obj() == *e)) {
                incref(p);
                // SAFETY: the reference just taken.
                out.push(unsafe { GcAny::from_obj(p) });
            }
        }
        out
    })
}

/// The objects `obj` refers to directly.
pub fn get_referents(obj: &GcAny) -> Vec<GcAny> {
    stopped("get_referents", |s, _| {
        let mut edges = Vec::new();
        collect::referents(s, obj.obj(), &mut edges);
        edges
            .into_iter()
            .map(|p| {
                incref(p);
                // SAFETY: the reference just taken.
                unsafe { GcAny::from_obj(p) }
            })
            .collect()
    })
}

/// Whether the collector tracks `gc`'s object (its type can hold handles).
pub fn is_tracked<T: SyncTrace>(_gc: &Gc<T>) -> bool {
    T::TRACKED
}

/// Moves every tracked object out of the collector's sight (Python 3.7's
/// `gc.freeze()`, used before `fork`): they are never collected, and what
/// they refer to is kept. Returns how many were frozen.
pub fn freeze() -> usize {
    stopped("freeze", |_, objs| {
        let mut n = 0;
        for &p in objs {
            // SAFETY: alive while the world is stopped.
            if !unsafe { p.header() }.set(FROZEN) {
                n += 1;
            }
        }
        n
    })
}

/// Gives the frozen objects back to the collector.
pub fn unfreeze() {
    stopped("unfreeze", |_, objs| {
        for &p in objs {
            // SAFETY: alive while the world is stopped.
            unsafe { p.header() }.clear(FROZEN);
        }
    })
}

/// How many objects are frozen.
pub fn get_freeze_count() -> usize {
    // SAFETY: alive while the world is stopped.
    stopped("get_freeze_count", |_, objs| objs.iter().filter(|&&p| unsafe { p.header() }.has(FROZEN)).count())
}

/// A phase of a collection, for [`callbacks_add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the world stops.
    Start,
    /// After the collection, world running.
    Stop,
}

type Callback = Arc<dyn Fn(Phase, &CollectionInfo) + Send + Sync>;
static CALLBACKS: Mutex<Vec<(u64, Callback)>> = Mutex::new(Vec::new());
static NEXT_CALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Adds a callback (`gc.callbacks.append`), called on the collecting
/// thread with the world running; returns an id for [`callbacks_remove`].
pub fn callbacks_add(f: impl Fn(Phase, &CollectionInfo) + Send + Sync + 'static) -> u64 {
    let id = NEXT_CALLBACK.fetch_add(1, Relaxed);
    CALLBACKS.lock().push((id, Arc::new(f)));
    id
}

/// Removes a callback; false if it was not there.
pub fn callbacks_remove(id: u64) -> bool {
    let mut v = CALLBACKS.lock();
    let before = v.len();
    v.retain(|(i, _)| *i != id);
    before != v.len()
}

pub(crate) fn run_callbacks(phase: Phase, info: &CollectionInfo) {
    let cbs: Vec<Callback> = CALLBACKS.lock().iter().map(|(_, c)| c.clone()).collect();
    for cb in cbs {
        crate::collect::user_code::guarded("gc callback", "", || cb(phase, info));
    }
}

static POLICY: Mutex<Option<StopPolicy>> = Mutex::new(None);
type WarnHook = Arc<dyn Fn(&[String]) + Send + Sync>;
static WARN: Mutex<Option<WarnHook>> = Mutex::new(None);

/// How long collections wait for threads to reach a safe point.
pub fn stop_policy() -> StopPolicy {
    POLICY.lock().unwrap_or_default()
}

/// Sets the stop policy (see [`StopPolicy`]).
pub fn set_stop_policy(p: StopPolicy) {
    *POLICY.lock() = Some(p);
}

/// Replaces the warning a slow stop prints (`None`: the default line on
/// stderr). The hook runs on the collecting thread while the stop is
/// pending, with the names of the threads still running; it must not touch
/// the heap (it would wait for the stop it is part of).
pub fn set_stop_warning(hook: Option<WarnHook>) {
    *WARN.lock() = hook;
}

pub(crate) fn warn_stop(names: &[String]) {
    let hook = WARN.lock().clone();
    match hook {
        Some(h) => h(names),
        None => eprintln!(
            "pygc_sync: a collection is waiting for threads to reach a safe point: {} \
             (they neither allocate, call safepoint(), nor run detached; see gc::waiting_on)",
            names.join(", ")
        ),
    }
}

/// The threads a pending stop is still waiting for (empty if no stop is
/// pending). Callable from any thread, also while a collection waits.
pub fn waiting_on() -> Vec<String> {
    runtime().world.waiting_on()
}

/// Every registered thread and what it is doing.
pub fn threads() -> Vec<(String, ThreadState)> {
    runtime().world.threads()
}

/// Checks the heap's invariants (stops the world): each list's index
/// equation, each object's count protocol, no collector bit left set.
pub fn verify() -> Result<(), String> {
    collect::verify()
}

/// `a::b::Node` -> `Node`, for the debug output.
pub(crate) fn short_name(name: &str) -> &str {
    let base = name.split('<').next().unwrap_or(name);
    match base.rfind("::") {
        Some(i) => &name[i + 2..],
        None => name,
    }
}
