//! The per-thread heap: generations, counters, thresholds and the side
//! tables. One per thread, as one CPython interpreter state per interpreter.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::header::{GcLink, ObjPtr};
use super::weak::WeakEntry;
use crate::collect::list;
use crate::gc::{CallbackInfo, DebugFlags, GenerationStats, Phase};
use crate::heap::any::GcAny;

/// Hashes block addresses (16-aligned, already well spread) cheaply.
#[derive(Default)]
pub(crate) struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = ((n as u64) >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type AddrHash = std::hash::BuildHasherDefault<AddrHasher>;

/// Number of generations, as in CPython 3.11.
pub(crate) const NUM_GENERATIONS: usize = 3;
/// CPython 3.11's default thresholds.
pub(crate) const DEFAULT_THRESHOLDS: [usize; 3] = [700, 10, 10];

/// A gc callback as stored in the heap.
pub(crate) type Callback = std::rc::Rc<RefCell<dyn FnMut(Phase, &CallbackInfo)>>;

/// The state of one thread's heap.
pub(crate) struct Heap {
    /// List heads: generations 0, 1, 2 and the permanent generation. They
    /// live inside the thread-local and never move; lazily made circular.
    pub(crate) heads: [GcLink; NUM_GENERATIONS + 1],
    pub(crate) initialised: Cell<bool>,
    /// `count[0]`: tracked allocations minus deallocations since the last
    /// collection of generation 0; `count[i]`: collections of generation
    /// `i - 1` since the last collection of generation `i`.
    pub(crate) count: [Cell<usize>; NUM_GENERATIONS],
    pub(crate) threshold: [Cell<usize>; NUM_GENERATIONS],
    pub(crate) enabled: Cell<bool>,
    /// A collection is running (nested `collect()` returns 0).
    pub(crate) collecting: Cell<bool>,
    /// Inside the phases where list links hold `gc_refs`: only `Trace` code
    /// runs, and objects whose count drops to zero are deferred.
    pub(crate) tracing_phase: Cell<bool>,
    pub(crate) long_lived_total: Cell<usize>,
    pub(crate) long_lived_pending: Cell<usize>,
    pub(crate) debug: Cell<DebugFlags>,
    pub(crate) stats: RefCell<[GenerationStats; NUM_GENERATIONS]>,
    pub(crate) garbage: RefCell<Vec<GcAny>>,
    pub(crate) callbacks: RefCell<Vec<(u64, Callback)>>,
    pub(crate) next_callback_id: Cell<u64>,
    /// Trashcan: deallocations postponed to bound the recursion depth.
    pub(crate) trash: RefCell<Vec<ObjPtr>>,
    pub(crate) dealloc_depth: Cell<usize>,
    /// Objects whose count reached zero during a tracing phase; each holds
    /// one reference that is released when the collection ends.
    pub(crate) deferred: RefCell<Vec<ObjPtr>>,
    /// Weak-reference side table, keyed by header address.
    pub(crate) weak: RefCell<HashMap<usize, WeakEntry, AddrHash>>,
    pub(crate) next_weak_id: Cell<u64>,
    pub(crate) debug_out: RefCell<Option<Box<dyn std::io::Write>>>,
}

impl Heap {
    const fn new() -> Heap {
        Heap {
            heads: [GcLink::new(), GcLink::new(), GcLink::new(), GcLink::new()],
            initialised: Cell::new(false),
            count: [Cell::new(0), Cell::new(0), Cell::new(0)],
            threshold: [
                Cell::new(DEFAULT_THRESHOLDS[0]),
                Cell::new(DEFAULT_THRESHOLDS[1]),
                Cell::new(DEFAULT_THRESHOLDS[2]),
            ],
            enabled: Cell::new(true),
            collecting: Cell::new(false),
            tracing_phase: Cell::new(false),
            long_lived_total: Cell::new(0),
            long_lived_pending: Cell::new(0),
            debug: Cell::new(DebugFlags::empty()),
            stats: RefCell::new([GenerationStats::ZERO; NUM_GENERATIONS]),
            garbage: RefCell::new(Vec::new()),
            callbacks: RefCell::new(Vec::new()),
            next_callback_id: Cell::new(1),
            trash: RefCell::new(Vec::new()),
            dealloc_depth: Cell::new(0),
            deferred: RefCell::new(Vec::new()),
            weak: RefCell::new(HashMap::with_hasher(AddrHash::new())),
            next_weak_id: Cell::new(1),
            debug_out: RefCell::new(None),
        }
    }

    #[inline]
    pub(crate) fn head(&self, i: usize) -> &GcLink {
        if !self.initialised.get() {
            self.init();
        }
        &self.heads[i]
    }

    #[cold]
    fn init(&self) {
        for h in &self.heads {
            list::init(h);
        }
        self.initialised.set(true);
        // PYGC_TRACEMALLOC=N starts tracing with the heap, as
        // PYTHONTRACEMALLOC does with the interpreter.
        tracemalloc::init_from_env();
    }

    /// The permanent generation (objects frozen by `gc.freeze()`).
    pub(crate) fn permanent(&self) -> &GcLink {
        self.head(NUM_GENERATIONS)
    }
}

impl Drop for Heap {
    /// The thread is exiting. Objects still alive are left alive (their
    /// handles may be dropped later by other thread-local destructors):
    /// they are detached from the generation lists, which are about to
    /// disappear, and later deallocations skip the lists.
    fn drop(&mut self) {
        if !self.initialised.get() {
            return;
        }
        for h in &self.heads {
            list::detach_all(h);
        }
        // Objects held by gc.garbage stay alive; forget the handles rather
        // than running user destructors during thread teardown.
        for g in self.garbage.get_mut().drain(..) {
            std::mem::forget(g);
        }
        // Weak side-table entries: blocks kept only for weak handles are
        // leaked (their handles cannot reach the table any more).
        self.weak.get_mut().clear();
    }
}

thread_local! {
    static HEAP: Heap = const { Heap::new() };
}

/// Runs `f` on this thread's heap; `None` once the heap was torn down
/// (thread exit), in which case callers fall back to plain refcounting.
#[inline]
pub(crate) fn try_with<R>(f: impl FnOnce(&Heap) -> R) -> Option<R> {
    HEAP.try_with(f).ok()
}

/// Runs `f` on this thread's heap; panics during thread teardown.
pub(crate) fn with<R>(f: impl FnOnce(&Heap) -> R) -> R {
    HEAP.with(f)
}
