//! Layer 2, the state of a heap: its lists, its schedule, the phase guard,
//! the side tables. One [`GcState`] per heap; the thread's default heap is
//! in [`thread`].
//!
//! - [`schedule`]: counts, thresholds, the 25 % rule, the choice of
//!   generation (all of CPython's `gcstate` arithmetic, in one place);
//! - [`phase`]: idle / collecting / tracing, and the guards that set and
//!   always reset them;
//! - [`weak_table`]: weak counts and callbacks, keyed by object;
//! - [`debug_log`]: the `DEBUG_*` output, buffered during a collection;
//! - [`thread`]: the thread's default heap.

pub(crate) mod budget;
pub(crate) mod debug_log;
pub(crate) mod phase;
pub(crate) mod registry;
pub(crate) mod schedule;
pub(crate) mod thread;
pub(crate) mod weak_table;

use std::cell::{Cell, RefCell};

use crate::object::header::ObjPtr;
use crate::object::link::GcList;
use phase::Phase;
use schedule::Schedule;
pub use schedule::{CallbackInfo, CallbackPhase, GenerationStats};
use weak_table::WeakTable;

/// Number of generations, as in CPython 3.11.
pub(crate) const NUM_GENERATIONS: usize = 3;

/// A gc callback as stored in the heap (`gc.callbacks`).
pub(crate) type Callback = std::rc::Rc<RefCell<dyn FnMut(CallbackPhase, &CallbackInfo)>>;

/// The lists of a heap. Heads live here, inside the state, and never move.
pub(crate) struct Lists {
    /// Generations 0, 1, 2.
    pub(crate) generations: [GcList; NUM_GENERATIONS],
    /// Objects frozen by `gc.freeze()`: never collected.
    pub(crate) permanent: GcList,
    /// The collector's working sets (CPython keeps these on the C stack;
    /// here they live in the state, so that no list ever points into a
    /// stack frame, whatever unwinds): the unreachable candidates, what
    /// legacy finalizers reach, and what is still garbage after the
    /// resurrection check.
    pub(crate) unreachable: GcList,
    pub(crate) finalizers: GcList,
    pub(crate) still_unreachable: GcList,
}

impl Lists {
    const fn new() -> Lists {
        Lists {
            generations: [GcList::new(), GcList::new(), GcList::new()],
            permanent: GcList::new(),
            unreachable: GcList::new(),
            finalizers: GcList::new(),
            still_unreachable: GcList::new(),
        }
    }

    fn all(&self) -> [(&'static str, &GcList); 7] {
        [
            ("generation 0", &self.generations[0]),
            ("generation 1", &self.generations[1]),
            ("generation 2", &self.generations[2]),
            ("permanent generation", &self.permanent),
            ("unreachable", &self.unreachable),
            ("finalizers", &self.finalizers),
            ("still unreachable", &self.still_unreachable),
        ]
    }

    /// The collector's working sets.
    pub(crate) fn work(&self) -> [&GcList; 3] {
        [&self.unreachable, &self.finalizers, &self.still_unreachable]
    }
}

/// The state of one heap.
///
/// # Invariants
///
/// 1. `refcnt` of every object = its live `Gc`/`GcAny` handles + the counts
///    the heap itself holds: the collector's holds on candidates, one per
///    entry of `deferred`, `pending_track` and `garbage`.
/// 2. A block is freed iff `refcnt == 0` and no weak handle remains.
/// 3. A value is dropped at most once: `CLEARED` is set before its drop, and
///    every path that drops a value checks it first.
/// 4. Outside the tracing phase, every object whose link is linked is in
///    exactly one list of [`Lists`], every list is well formed (the list
///    equation of `object/link.rs`), and every pointer in a list names a
///    live link: objects leave their list before their block is freed.
/// 5. In the tracing phase (`update_refs` to `move_unreachable`) `prev`
///    words of the collected generation hold `gc_refs`: no list operation
///    may run. Objects born then wait in `pending_track`, objects whose
///    count reaches zero wait in `deferred` (each with one count), and gc
///    functions that read or change the lists panic.
/// 6. Idle (no collection): the working lists, `deferred` and
///    `pending_track` are empty, no link is marked COLLECTING or
///    UNREACHABLE, and the trashcan is empty unless a deallocation is in
///    progress.
///
/// [`GcState::verify`] checks 4 and 6 (and what of 1–3 the headers show);
/// debug builds run it at every collection's start and end, the property
/// tests after every step.
pub(crate) struct GcState {
    lists: Lists,
    initialised: Cell<bool>,
    /// The heap's slot (0 for a thread's default heap; see `registry`).
    pub(crate) slot: Cell<u16>,
    /// Live objects and bytes, and the byte limit.
    pub(crate) budget: budget::Budget,
    /// The heap was dropped while objects of it were still held: nothing
    /// allocates in it any more; deallocations still account against it.
    pub(crate) orphaned: Cell<bool>,
    pub(crate) schedule: Schedule,
    phase: Cell<Phase>,
    /// Trashcan: deallocations postponed to bound the native stack depth.
    pub(crate) trash: RefCell<Vec<ObjPtr>>,
    pub(crate) dealloc_depth: Cell<usize>,
    /// Objects whose count reached zero in the tracing phase; each entry
    /// owns one count, released when the collection ends.
    pub(crate) deferred: RefCell<Vec<ObjPtr>>,
    /// Tracked objects born in the tracing phase; each entry owns one count.
    /// They join generation 0 when the collection ends.
    pub(crate) pending_track: RefCell<Vec<ObjPtr>>,
    pub(crate) weak: WeakTable,
    pub(crate) debug: debug_log::DebugLog,
    pub(crate) stats: RefCell<[GenerationStats; NUM_GENERATIONS]>,
    /// `gc.garbage`; each entry owns one count.
    pub(crate) garbage: RefCell<Vec<ObjPtr>>,
    pub(crate) callbacks: RefCell<Vec<(u64, Callback)>>,
    pub(crate) next_callback_id: Cell<u64>,
}

impl GcState {
    pub(crate) const fn new() -> GcState {
        GcState {
            lists: Lists::new(),
            initialised: Cell::new(false),
            slot: Cell::new(0),
            budget: budget::Budget::new(),
            orphaned: Cell::new(false),
            schedule: Schedule::new(),
            phase: Cell::new(Phase::Idle),
            trash: RefCell::new(Vec::new()),
            dealloc_depth: Cell::new(0),
            deferred: RefCell::new(Vec::new()),
            pending_track: RefCell::new(Vec::new()),
            weak: WeakTable::new(),
            debug: debug_log::DebugLog::new(),
            stats: RefCell::new([GenerationStats::ZERO; NUM_GENERATIONS]),
            garbage: RefCell::new(Vec::new()),
            callbacks: RefCell::new(Vec::new()),
            next_callback_id: Cell::new(1),
        }
    }

    /// The lists, made circular on first use (the state does not move
    /// after that: it lives in a thread-local or a box).
    #[inline]
    pub(crate) fn lists(&self) -> &Lists {
        if !self.initialised.get() {
            self.init();
        }
        &self.lists
    }

    #[cold]
    fn init(&self) {
        crate::object::header::check_table_address(&crate::object::type_info::Table::<u8>::INFO);
        for (_, l) in self.lists.all() {
            l.init();
        }
        self.initialised.set(true);
    }

    /// Generation `g`'s list.
    #[inline]
    pub(crate) fn generation(&self, g: usize) -> &GcList {
        &self.lists().generations[g]
    }

    /// The current phase.
    #[inline]
    pub(crate) fn phase(&self) -> Phase {
        self.phase.get()
    }

    /// Whether the generation lists hold `gc_refs` right now.
    #[inline]
    pub(crate) fn is_tracing(&self) -> bool {
        self.phase.get() == Phase::Tracing
    }

    /// Panics, naming `what`, if called from a `Trace` impl while the
    /// collector traces (invariant 5): `what` would read or change lists
    /// whose links hold counts.
    #[track_caller]
    pub(crate) fn forbid_while_tracing(&self, what: &str) {
        if self.is_tracing() {
            phase::called_while_tracing(what);
        }
    }

    /// Checks invariants 4 and 6 (see the struct's docs); returns the number
    /// of objects in each generation and in the permanent generation.
    pub(crate) fn verify(&self) -> Result<[usize; NUM_GENERATIONS + 1], String> {
        if !self.initialised.get() {
            return Ok([0; NUM_GENERATIONS + 1]);
        }
        let phase = self.phase.get();
        if phase == Phase::Tracing {
            return Err("verify called in the tracing phase".into());
        }
        let mut sizes = [0; NUM_GENERATIONS + 1];
        for (i, (name, list)) in self.lists.all().into_iter().enumerate() {
            // SAFETY: by invariant 4 (which this checks) every pointer in
            // the lists names a live link; no user code runs during the walk.
            let n = unsafe { list.verify(name, false) }?;
            if i <= NUM_GENERATIONS {
                sizes[i] = n;
            } else if phase == Phase::Idle && n != 0 {
                return Err(format!("{name}: {n} objects left in a working list outside a collection"));
            }
            // SAFETY: the walk above proved the chain well formed; nothing
            // runs that could unlink an element.
            for (k, p) in unsafe { list.iter() }.enumerate() {
                // SAFETY: elements of a heap list are allocated (invariant 4).
                let o = unsafe { p.live() };
                let info = o.info();
                if !info.tracked {
                    return Err(format!("{name}: element {k} ({}) is of an untracked type", o.type_name()));
                }
                if o.refcnt() == 0 {
                    return Err(format!("{name}: element {k} ({}) has a zero count", o.type_name()));
                }
                if o.heap_slot() != self.slot.get() {
                    return Err(format!("{name}: element {k} ({}) belongs to another heap", o.type_name()));
                }
            }
        }
        if phase == Phase::Idle {
            for (what, v) in [("deferred", &self.deferred), ("pending_track", &self.pending_track)] {
                let n = v.borrow().len();
                if n != 0 {
                    return Err(format!("{what}: {n} entries outside a collection"));
                }
            }
            if self.dealloc_depth.get() == 0 && !self.trash.borrow().is_empty() {
                return Err("trashcan not empty outside a deallocation".into());
            }
        }
        for &p in self.garbage.borrow().iter() {
            // SAFETY: each gc.garbage entry owns a count (invariant 1).
            if unsafe { p.live() }.refcnt() == 0 {
                return Err("gc.garbage holds an object with a zero count".into());
            }
        }
        self.weak.verify()?;
        Ok(sizes)
    }

    /// Runs [`GcState::verify`] in debug builds and panics on a violation.
    #[inline]
    pub(crate) fn debug_verify(&self, when: &str) {
        if cfg!(debug_assertions) {
            if let Err(e) = self.verify() {
                panic!("pygc heap invariant broken {when}: {e}");
            }
        }
    }
}

impl Drop for GcState {
    /// The heap is going away (thread exit). Objects still alive stay alive
    /// (other thread-local destructors may still hold handles): they are
    /// detached from the lists, which vanish with the state, and later
    /// deallocations find no state and skip the lists; blocks kept for weak
    /// handles are leaked rather than freed under them.
    fn drop(&mut self) {
        if !self.initialised.get() {
            return;
        }
        for (_, list) in self.lists.all() {
            // SAFETY: no user code runs during the walk; detaching an element
            // only writes its own link, and `next` is read before that.
            let elements: Vec<ObjPtr> = unsafe { list.iter() }.collect();
            for p in elements {
                // SAFETY: elements of a heap list are allocated (invariant 4).
                if let Some(link) = unsafe { p.live() }.link() {
                    link.detach();
                }
            }
            list.init();
        }
        // gc.garbage's counts are forgotten, not released: no user
        // destructor runs during thread teardown.
        self.garbage.get_mut().clear();
        // The weak table goes with the state: from now on a block whose
        // HAS_WEAK flag is set is never freed (see life/dealloc.rs), so weak
        // handles that outlive the state leak their block, never dangle.
    }
}
