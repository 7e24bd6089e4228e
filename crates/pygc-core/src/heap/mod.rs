//! Heaps as values: one per interpreter instance, each with its own
//! generations, thresholds, statistics, callbacks, debug flags, garbage
//! list and byte limit. The thread's default heap stays for the
//! Python-named free functions; [`Heap::enter`] makes an explicit heap
//! the one `Gc::new` and the [`gc`](crate::gc) functions use while it runs.

mod handover;

use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::collect::garbage;
use crate::collect::user_code::Panics;
use crate::life::dealloc;
use crate::object::header::ObjPtr;
use crate::state::{registry, thread, GcState, NUM_GENERATIONS};

pub use crate::state::budget::MemoryError;
pub use handover::{HandoverError, Refusal, SendHeap};

/// An explicit heap.
///
/// Objects belong to the heap that was current when they were made, for
/// good: each collects only its own objects, and `gc::get_objects`,
/// objgraph and the census of a heap see only its own. A handle from one
/// heap's object to another heap's counts, for the collector of the first,
/// as a reference from outside (a cycle through two heaps leaks; nothing is
/// ever freed under a handle).
///
/// Dropping a heap runs a final collection, as CPython's interpreter
/// finalization does, then clears every object still held from outside
/// (weak references cleared, finalizers run once, values dropped): a
/// handle that outlives its heap panics on access ("object of type … was
/// cleared") instead of reading freed memory. Objects of types that hold no
/// handles are never in a generation, so the heap cannot find them: those
/// stay valid for as long as their handles.
///
/// ```
/// use pygc::{gc, Gc, GcCell, Heap, Trace};
///
/// #[derive(Trace)]
/// struct Node { next: GcCell<Option<Gc<Node>>> }
///
/// let vm = Heap::new();
/// vm.set_limit(Some(1 << 20));
/// vm.enter(|| {
///     let a = Gc::new(Node { next: GcCell::new(None) });
///     *a.next.borrow_mut() = Some(a.clone());
///     drop(a);
///     assert_eq!(gc::collect(), 1);        // this heap's garbage only
/// });
/// assert_eq!(vm.usage().bytes, 0);
/// ```
pub struct Heap {
    /// A boxed, registered state (its slot ≥ 1). Freed by `drop` when no
    /// object of the heap is left, leaked (orphaned) otherwise.
    state: NonNull<GcState>,
    _not_send: PhantomData<*const ()>,
}

/// What a heap holds (per type: `inspect::census`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapUsage {
    /// Bytes of its allocated blocks (whole blocks, headers included): live
    /// objects, cleared ones still held, blocks kept for weak handles.
    pub bytes: usize,
    /// The byte limit, if any.
    pub limit: Option<usize>,
}

impl Heap {
    /// A new, empty heap with CPython's default thresholds and no limit.
    pub fn new() -> Heap {
        let state = Box::into_raw(Box::new(GcState::new()));
        let slot = registry::register(state);
        // SAFETY: just boxed; nothing else refers to it yet.
        unsafe { (*state).slot.set(slot) };
        // SAFETY: `Box::into_raw` is never null.
        Heap { state: unsafe { NonNull::new_unchecked(state) }, _not_send: PhantomData }
    }

    fn state(&self) -> &GcState {
        // SAFETY: the state lives until `drop` (type invariant).
        unsafe { self.state.as_ref() }
    }

    /// Runs `f` with this heap current: `Gc::new` allocates in it and the
    /// [`gc`](crate::gc) functions act on it. Heaps can be entered inside
    /// one another; the previous one is current again when `f` returns or
    /// unwinds.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        thread::enter(self.state(), f)
    }

    /// A full collection of this heap (`gc.collect()` inside it).
    pub fn collect(&self) -> usize {
        self.enter(crate::gc::collect)
    }

    /// Live objects and bytes, and the limit.
    pub fn usage(&self) -> HeapUsage {
        usage_of(self.state())
    }

    /// Sets (or with `None` removes) the heap's byte limit. An allocation
    /// that would exceed it runs a full collection first; if it still would,
    /// `Gc::try_new` returns a [`MemoryError`] and `Gc::new` panics with it.
    pub fn set_limit(&self, bytes: Option<usize>) {
        self.state().budget.set_limit(bytes)
    }
}

impl Default for Heap {
    fn default() -> Heap {
        Heap::new()
    }
}

impl std::fmt::Debug for Heap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heap").field("slot", &self.state().slot.get()).field("usage", &self.usage()).finish()
    }
}

pub(crate) fn usage_of(s: &GcState) -> HeapUsage {
    HeapUsage { bytes: s.budget.bytes(), limit: s.budget.limit() }
}

impl Drop for Heap {
    fn drop(&mut self) {
        let s = self.state();
        self.enter(|| {
            // `weakref.finalize`'s atexit pass, before and after finalization.
            crate::weakref::heap_teardown(s.slot.get());
            crate::gc::unfreeze();
            // Finalization: collect until a collection finds nothing (each
            // may free what finalizers let go), then clear what is still
            // held from outside, then collect what clearing let go. With
            // nothing tracked no collection could find anything, and none
            // would be seen (no callback, no debug output): skipped.
            if teardown_observable(s) {
                for _ in 0..4 {
                    if crate::gc::collect() == 0 {
                        break;
                    }
                }
                clear_survivors(s);
                crate::gc::collect();
            }
            crate::weakref::heap_teardown(s.slot.get());
        });
        if s.budget.bytes() == 0 {
            registry::release(s.slot.get());
            // SAFETY: the state was boxed by `new`, no object of the heap is
            // left to refer to it, and it is not current (enter returned).
            drop(unsafe { Box::from_raw(self.state.as_ptr()) });
        } else {
            // Blocks still held from outside keep the state (their
            // deallocations account against it): it is leaked, never freed
            // under them.
            s.orphaned.set(true);
        }
    }
}

/// Whether the teardown's collections could do or show anything: a tracked
/// object is in a generation, or a gc callback or debug flag would report
/// the collections. An empty heap's drop then skips them (they were 61 % of
/// `heap_new_drop`'s instructions in bench-results/heap-features.md).
fn teardown_observable(s: &GcState) -> bool {
    s.lists().generations.iter().any(|g| !g.is_empty())
        || !s.callbacks.borrow().is_empty()
        || s.debug.flags().bits() != 0
}

/// Treats every object left in the heap's generations as garbage: weak
/// references cleared (callbacks called), finalizers run once, values
/// dropped, as the collector does with a cycle.
fn clear_survivors(s: &GcState) {
    let Some(collection) = s.begin_collection() else { return };
    let mut panics = Panics::default();
    let lists = s.lists();
    let mut held: Vec<ObjPtr> = Vec::new();
    for g in &lists.generations[..NUM_GENERATIONS] {
        // SAFETY: outside the tracing phase the list is well formed; no user
        // code runs while the elements are held.
        for p in unsafe { g.iter() } {
            // SAFETY: list elements are allocated (invariant 4).
            unsafe { p.live() }.incref();
            held.push(p);
        }
    }
    garbage::handle_weakrefs(s, &held, &mut panics);
    garbage::finalize_garbage(&held, &mut panics);
    garbage::delete_garbage(s, &held, crate::gc::DebugFlags::empty(), false, &mut panics);
    drop(collection);
    for p in held {
        // SAFETY: the hold taken above, given up once.
        panics.guard("a destructor", || unsafe { dealloc::decref(p) });
    }
    panics.resume();
}
