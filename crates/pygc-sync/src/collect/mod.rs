//! Layer 3, the collector: CPython's passes over the whole shared heap,
//! with the world stopped (free-threaded CPython's `gc_collect_internal`).
//!
//! 1. Stop the world. Merge every thread's queued counts (objects whose
//!    count is then zero are unlinked and freed after the restart).
//! 2. `gc_refs = local + shared` for every registered object that is not
//!    cleared or frozen; subtract one per edge between them (taking each
//!    `GcMutex`/`GcRwLock` it traces, kept until the restart; an object
//!    whose lock is held elsewhere is kept as a root); mark what positive
//!    counts reach. The rest is garbage.
//! 3. Still stopped: hold each garbage object (one count), kill its weak
//!    handles (they stop upgrading), take its weak callbacks. Release the
//!    locks, restart the world.
//! 4. Running again, on the collecting thread: weak callbacks, then PEP 442
//!    finalizers on intact values. If a finalizer ran, stop the world once
//!    more and find what they resurrected (CPython's
//!    `handle_resurrected_objects`); resurrected objects are let go.
//! 5. Mark every remaining garbage object cleared, then drop the values
//!    (a `Drop` that reaches a peer gets a `ClearedError`/panic, never freed
//!    memory; no other thread can reach them), then release the holds,
//!    which frees the blocks.
//!
//! Only one thread collects or inspects at a time (the *role*). An
//! automatic collection that finds the role taken is skipped (CPython's
//! behaviour for every collection); an explicit `collect()` waits for the
//! running one, detached, and then runs, so "collect from any thread" always
//! collects. A `collect()` from a finalizer of the running collection
//! returns 0.

pub(crate) mod schedule;
pub(crate) mod stats;
pub(crate) mod user_code;
pub(crate) mod visitors;

use crate::count::Dec;
use crate::gc::{self, DEBUG_COLLECTABLE, DEBUG_SAVEALL, DEBUG_STATS};
use crate::handle::any::GcAny;
use crate::life;
use crate::object::header::{
    ObjPtr, CLEARED, COLLECTING, FINALIZED, FROZEN, HAS_WEAK, PASS_BITS, REACHABLE, REGISTERED, ROOT,
    WEAK_DEAD,
};
use crate::runtime::runtime;
use crate::world::thread;
use crate::world::StopTimeout;
use parking_lot::{ReentrantMutex, ReentrantMutexGuard};
use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;
use visitors::{Edges, Held, Mark, Subtract};

/// Why a collection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    Automatic,
    Manual,
}

/// The collection role: reentrant, so a finalizer may inspect the heap; the
/// cell says a collection is running (a nested `collect()` returns 0).
static ROLE: ReentrantMutex<Cell<bool>> = ReentrantMutex::new(Cell::new(false));

/// The world stopped by the role holder; restarts on drop (unwinding too),
/// after releasing the locks the passes took and clearing their bits.
pub(crate) struct Stopped {
    pub(crate) held: Held,
    pub(crate) marked: Vec<ObjPtr>,
    pub(crate) started: Instant,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        for &p in &self.marked {
            // SAFETY: nothing is freed while the world is stopped.
            unsafe { p.header() }.clear(PASS_BITS);
        }
        // SAFETY: the world is still stopped.
        unsafe { self.held.release_all() };
        runtime().world.restart();
    }
}

/// Stops the world (the caller holds the role and is attached as `me`).
fn stop(me: usize) -> Result<Stopped, StopTimeout> {
    let policy = gc::stop_policy();
    let mut warn = |names: &[String]| gc::warn_stop(names);
    match runtime().world.stop(me, policy, &mut warn) {
        Ok(()) => Ok(Stopped { held: Held::default(), marked: Vec::new(), started: Instant::now() }),
        Err(e) => {
            stats::STATS.lock().stop_timeouts += 1;
            Err(e)
        }
    }
}

/// Takes the role, waiting detached if another thread has it.
fn take_role() -> ReentrantMutexGuard<'static, Cell<bool>> {
    if let Some(g) = ROLE.try_lock() {
        return g;
    }
    thread::detached(|| ROLE.lock())
}

/// Runs `f` with the world stopped and every object pinned by the
/// stop itself (inspection: `get_objects`, `get_referrers`, `freeze`).
/// `f` must not run user code: it sees the registry of objects.
pub(crate) fn with_stopped_world<R>(f: impl FnOnce(&mut Stopped, &[ObjPtr]) -> R) -> Result<R, StopTimeout> {
    let att = thread::attach();
    if att.tid() == crate::count::NOBODY {
        panic!("pygc_sync: the gc module cannot be used by a thread that is exiting");
    }
    let _role = take_role();
    let mut s = stop(att.tid())?;
    let objs = gather(true);
    let r = f(&mut s, &objs);
    drop(s);
    Ok(r)
}

/// Every registered object (not cleared; frozen ones too if `frozen`),
/// and drops the empty lists of exited threads. World stopped.
fn gather(frozen: bool) -> Vec<ObjPtr> {
    let rt = runtime();
    let mut lists = rt.lists.lock();
    lists.retain(|l| !l.orphan.load(Relaxed) || !l.objs.lock().is_empty());
    let mut out = Vec::with_capacity(
        lists.iter().map(|l| l.objs.lock().len()).sum::<usize>() + rt.orphans.objs.lock().len(),
    );
    let skip = if frozen { CLEARED } else { CLEARED | FROZEN };
    for l in lists.iter().map(|l| &**l).chain(std::iter::once(&rt.orphans)) {
        for &p in l.objs.lock().iter() {
            // SAFETY: registered objects are allocated.
            if !unsafe { p.header() }.has(skip) {
                out.push(p);
            }
        }
    }
    out
}

/// Merges every thread's queue (world stopped: the owners are parked or
/// detached, their last writes to `local` happened before). Objects whose
/// count is zero are unlinked now and returned, to be freed after the
/// restart.
fn merge_all_queues() -> Vec<ObjPtr> {
    let threads: Vec<_> = runtime().threads.lock().values().cloned().collect();
    let mut dead = Vec::new();
    for ts in threads {
        for p in ts.queue.take() {
            // SAFETY: the queue entry held a reference until this merge.
            let h = unsafe { p.header() };
            if h.rc.explicit_merge(-1) == Dec::Dealloc {
                // SAFETY: allocated (the count just reached zero, nobody
                // frees it before us).
                unsafe { life::unregister(p) };
                dead.push(p);
            }
        }
    }
    dead
}

/// Makes `p` a candidate of the running pass: `gc_refs` from its count
/// (less `hold`), `COLLECTING` set. World stopped; the caller records `p`
/// in [`Stopped::marked`] (before anything that can unwind) so the restart
/// clears the bit.
#[inline]
fn prepare(p: ObjPtr, hold: isize) {
    // SAFETY: alive while the world is stopped.
    let h = unsafe { p.header() };
    h.gc_refs.store(h.rc.total() - hold, Relaxed);
    h.flags.store(h.flags.load(Relaxed) | COLLECTING, Relaxed);
}

/// The collection's candidates, gathered and prepared in one walk: every
/// registered object that is neither cleared nor frozen goes into
/// `s.marked` with its `gc_refs` set. World stopped.
fn gather_candidates(s: &mut Stopped) {
    let rt = runtime();
    let mut lists = rt.lists.lock();
    lists.retain(|l| !l.orphan.load(Relaxed) || !l.objs.lock().is_empty());
    let n = lists.iter().map(|l| l.objs.lock().len()).sum::<usize>() + rt.orphans.objs.lock().len();
    s.marked.reserve(n);
    for l in lists.iter().map(|l| &**l).chain(std::iter::once(&rt.orphans)) {
        for &p in l.objs.lock().iter() {
            // SAFETY: registered objects are allocated.
            if !unsafe { p.header() }.has(CLEARED | FROZEN) {
                s.marked.push(p);
                prepare(p, 0);
            }
        }
    }
}

/// The tracing phase over the candidates in `s.marked`, already prepared
/// (world stopped): subtraction, marking. Returns the unreachable objects,
/// or `None` if the counts were inconsistent (then everything is kept).
/// The reachable candidates' pass bits are cleared on the way out, so
/// `s.marked` is left holding only the garbage (whose bits the restart
/// clears); on an early return or an unwind it still holds every candidate.
fn deduce_unreachable(s: &mut Stopped) -> Option<Vec<ObjPtr>> {
    let Stopped { held, marked, .. } = s;
    let objs: &[ObjPtr] = marked;
    let mut negative = false;
    for &p in objs {
        // SAFETY: alive while the world is stopped.
        let h = unsafe { p.header() };
        let mut v = Subtract { held, untraceable: false, negative: false };
        // SAFETY: a live, intact value (not cleared), and nothing changes
        // while the world is stopped.
        unsafe { (h.info.trace_subtract)(p, &mut v) };
        negative |= v.negative;
        if v.untraceable {
            h.set(ROOT);
        }
    }
    if negative {
        stats::STATS.lock().inconsistent += 1;
        return None;
    }
    let mut stack = Vec::new();
    for &p in objs {
        // SAFETY: alive while the world is stopped.
        let h = unsafe { p.header() };
        let f = h.flags.load(Relaxed);
        if f & REACHABLE == 0 && (h.gc_refs.load(Relaxed) > 0 || f & ROOT != 0) {
            h.flags.store(f | REACHABLE, Relaxed);
            stack.push(p);
            while let Some(q) = stack.pop() {
                // SAFETY: q is a candidate, alive and intact.
                let qi = unsafe { q.header() }.info;
                // SAFETY: as above.
                unsafe { (qi.trace_mark)(q, &mut Mark { stack: &mut stack }) };
            }
        }
    }
    let mut garbage = Vec::new();
    for &p in objs {
        // SAFETY: alive while the world is stopped.
        let h = unsafe { p.header() };
        let f = h.flags.load(Relaxed);
        if f & REACHABLE != 0 {
            // Done with it: clear its pass bits now rather than in another
            // walk at the restart (only this thread reads them meanwhile).
            h.flags.store(f & !PASS_BITS, Relaxed);
        } else {
            garbage.push(p);
        }
    }
    marked.clear();
    marked.extend_from_slice(&garbage);
    Some(garbage)
}

/// A collection. `Ok(n)`: `n` objects were found unreachable and freed
/// (0 if another collection was running); `Err`: the world did not stop in
/// time and nothing was collected.
pub(crate) fn collect_main(reason: Reason) -> Result<usize, StopTimeout> {
    let att = thread::attach();
    let me = att.tid();
    if me == crate::count::NOBODY {
        return Ok(0); // an exiting thread has no slot to collect from
    }
    // An automatic collection gives way to a running one; an explicit one
    // waits for it (detached) and then runs.
    let role = match reason {
        Reason::Automatic => match ROLE.try_lock() {
            Some(r) => r,
            None => return Ok(0),
        },
        Reason::Manual => take_role(),
    };
    if role.replace(true) {
        return Ok(0);
    }
    struct Reset<'a>(&'a Cell<bool>);
    impl Drop for Reset<'_> {
        fn drop(&mut self) {
            self.0.set(false);
        }
    }
    let _reset = Reset(&role);
    let debug = gc::get_debug();
    gc::run_callbacks(gc::Phase::Start, &stats::CollectionInfo::default());
    if debug & DEBUG_STATS != 0 {
        eprintln!("gc: collecting generation 0...");
    }
    let t0 = Instant::now();
    let mut s = stop(me)?;
    let time_to_stop = t0.elapsed();
    let deferred = merge_all_queues();
    gather_candidates(&mut s);
    let examined = s.marked.len();
    let garbage = deduce_unreachable(&mut s).unwrap_or_default();
    let mut callbacks = Vec::new();
    for &g in &garbage {
        // SAFETY: alive while the world is stopped.
        let h = unsafe { g.header() };
        h.rc.incref(me);
        if h.has(HAS_WEAK) {
            h.set(WEAK_DEAD);
            callbacks.extend(life::weak_table::take(g));
        }
    }
    let mut pause = s.started.elapsed();
    drop(s); // the world restarts
    drop(att);

    for p in deferred {
        // SAFETY: merged to zero and unlinked while stopped: ours to free.
        unsafe { life::dealloc(p) };
    }
    for cb in callbacks {
        user_code::guarded("weakref callback", "", cb);
    }
    let mut ran_finalizer = false;
    for &g in &garbage {
        // SAFETY: our hold keeps it.
        let h = unsafe { g.header() };
        if h.info.has_finalizer && !h.set(FINALIZED) {
            ran_finalizer = true;
            user_code::guarded("finalizer", (h.info.name)(), || {
                // SAFETY: intact (not cleared) and held by us.
                unsafe { (h.info.finalize)(g) }
            });
        }
    }
    let mut garbage = garbage;
    let mut resurrected = Vec::new();
    if ran_finalizer {
        let att = thread::attach();
        let check = stop(att.tid()).ok().and_then(|mut s2| {
            // The candidates are the garbage, less the collector's holds.
            s2.marked.extend_from_slice(&garbage);
            for &p in &garbage {
                prepare(p, 1);
            }
            let r = deduce_unreachable(&mut s2);
            pause += s2.started.elapsed();
            r
        });
        match check {
            Some(still) => {
                let still_set: std::collections::HashSet<_> = still.iter().copied().collect();
                resurrected = garbage.iter().copied().filter(|p| !still_set.contains(p)).collect();
                garbage = still;
            }
            // No stop, or inconsistent: keep everything.
            None => resurrected = std::mem::take(&mut garbage),
        }
    }
    let n_resurrected = resurrected.len();
    for p in resurrected {
        // SAFETY: our hold, released.
        unsafe { crate::handle::gc::decref(p) };
    }
    if debug & DEBUG_COLLECTABLE != 0 {
        for &g in &garbage {
            // SAFETY: held.
            let name = (unsafe { g.header() }.info.name)();
            eprintln!("gc: collectable <{} {:#x}>", gc::short_name(name), g.addr());
        }
    }
    let n = garbage.len();
    if debug & DEBUG_SAVEALL != 0 {
        // SAFETY: each hold becomes the garbage list's reference.
        let saved = garbage.drain(..).map(|g| unsafe { GcAny::from_obj(g) });
        gc::GARBAGE.lock().extend(saved);
    } else {
        for &g in &garbage {
            // SAFETY: held.
            unsafe { g.header() }.set(CLEARED);
        }
        for &g in &garbage {
            // SAFETY: held.
            let info = unsafe { g.header() }.info;
            user_code::guarded("drop", (info.name)(), || {
                // SAFETY: held, and its CLEARED bit was set by us above:
                // the value is dropped here once, by nobody else.
                unsafe { (info.drop_value)(g) }
            });
            crate::collect::schedule::note_death();
        }
        for g in garbage.drain(..) {
            // SAFETY: our hold, released: the block goes with it.
            unsafe { crate::handle::gc::decref(g) };
        }
    }
    let info = stats::CollectionInfo {
        examined,
        collected: n,
        uncollectable: 0,
        resurrected: n_resurrected,
        pause,
        time_to_stop,
    };
    schedule::collected(examined - n);
    {
        let mut st = stats::STATS.lock();
        st.collections += 1;
        st.collected += n;
    }
    *stats::LAST.lock() = Some(info);
    if debug & DEBUG_STATS != 0 {
        eprintln!("gc: done, {n} unreachable, 0 uncollectable, {:.4}s pause", pause.as_secs_f64());
    }
    gc::run_callbacks(gc::Phase::Stop, &info);
    Ok(n)
}

/// Checks every invariant the stopped world can see: each list's
/// equation, each object's count protocol, flags left by no pass.
pub(crate) fn verify() -> Result<(), String> {
    with_stopped_world(|_, objs| {
        for l in runtime().lists.lock().iter() {
            l.verify()?;
        }
        runtime().orphans.verify()?;
        for &p in objs {
            // SAFETY: alive while the world is stopped.
            let h = unsafe { p.header() };
            h.rc.verify().map_err(|e| format!("object {:#x} ({}): {e}", p.addr(), (h.info.name)()))?;
            if h.has(PASS_BITS) {
                return Err(format!("object {:#x}: collector bits left set", p.addr()));
            }
            if !h.has(REGISTERED) {
                return Err(format!("object {:#x}: listed but not registered", p.addr()));
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?
}

/// The direct referents of `p`'s value (world stopped, locks taken).
pub(crate) fn referents(s: &mut Stopped, p: ObjPtr, out: &mut Vec<ObjPtr>) {
    // SAFETY: alive while the world is stopped.
    let h = unsafe { p.header() };
    if h.has(CLEARED) {
        return;
    }
    // SAFETY: an intact value, unchanged while the world is stopped.
    unsafe { (h.info.trace_edges)(p, &mut Edges { held: &mut s.held, out }) };
}
