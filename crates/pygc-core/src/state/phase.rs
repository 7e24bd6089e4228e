//! Where a heap is in its collection cycle, and the guards that move it
//! there and back. A guard resets the phase when dropped, unwinding or not:
//! no flag stays set after a panic (a stuck `collecting` flag used to turn
//! the collector off for good).

use super::GcState;

/// The phase of a heap.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    /// No collection runs.
    Idle,
    /// A collection runs and the lists are consistent: user code (weakref
    /// callbacks, finalizers, `Drop`, gc callbacks, `Trace` in the passes
    /// that do not use `gc_refs`) may run.
    Collecting,
    /// `update_refs` → `subtract_refs` → `move_unreachable`: the collected
    /// generation's `prev` words hold `gc_refs` (invariant 5).
    Tracing,
}

/// A running collection. Made by [`GcState::begin_collection`].
pub(crate) struct CollectionGuard<'a> {
    state: &'a GcState,
}

impl GcState {
    /// Starts a collection, or `None` if one is already running (a nested
    /// `gc.collect()` returns 0, as in CPython).
    pub(crate) fn begin_collection(&self) -> Option<CollectionGuard<'_>> {
        if self.phase.get() != Phase::Idle {
            return None;
        }
        self.phase.set(Phase::Collecting);
        Some(CollectionGuard { state: self })
    }
}

impl CollectionGuard<'_> {
    /// Enters the tracing phase until the returned guard is dropped.
    pub(crate) fn enter_tracing(&self) -> TracingGuard<'_> {
        debug_assert_eq!(self.state.phase.get(), Phase::Collecting);
        self.state.phase.set(Phase::Tracing);
        TracingGuard { state: self.state, _marking: super::thread::marking() }
    }

    /// A pass that relies on COLLECTING bits but not on `gc_refs` (the
    /// legacy-finalizer move): no collection of any heap of the thread may
    /// start while the guard lives.
    pub(crate) fn enter_tracing_like(&self) -> super::thread::MarkingGuard {
        super::thread::marking()
    }
}

impl Drop for CollectionGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Something unwound out of the collection (not user code: every
            // call into it is caught). Make the lists consistent again and
            // give every working set back to the oldest generation; the
            // collector's holds on them are lost, so they leak (never freed
            // under a handle). No user code may run here.
            self.state.recover_lists_after_unwinding();
        }
        self.state.phase.set(Phase::Idle);
    }
}

/// The tracing phase; dropping it returns to [`Phase::Collecting`].
pub(crate) struct TracingGuard<'a> {
    state: &'a GcState,
    _marking: super::thread::MarkingGuard,
}

impl Drop for TracingGuard<'_> {
    fn drop(&mut self) {
        self.state.phase.set(Phase::Collecting);
    }
}

impl GcState {
    fn recover_lists_after_unwinding(&self) {
        let lists = self.lists();
        for (_, list) in lists.all() {
            // SAFETY: whatever pass unwound, every list's `next` chain is
            // intact (the passes only ever relink `next` to live links);
            // repair rebuilds `prev` from it and clears the marks.
            unsafe { list.repair() };
        }
        let oldest = &lists.generations[super::NUM_GENERATIONS - 1];
        for work in lists.work() {
            // SAFETY: both lists were just repaired.
            unsafe { work.merge_into(oldest) };
        }
        // Objects born in the tracing phase: link them (the lists are
        // consistent now) and keep their counts in `deferred`, which the
        // next collection releases before anything else.
        let pending = std::mem::take(&mut *self.pending_track.borrow_mut());
        for &p in &pending {
            // SAFETY: each pending entry owns a count, so the block lives;
            // its link is in no list (it was parked instead).
            if let Some(link) = unsafe { p.live() }.link() {
                // SAFETY: generation 0 is well formed; the link is in no list.
                unsafe { self.generation(0).append(link) };
            }
        }
        self.deferred.borrow_mut().extend(pending);
    }
}

/// The panic of a gc function called from `Trace` during a collection.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn called_while_tracing(what: &str) -> ! {
    panic!(
        "{what} called from a Trace impl while the collector traces: Trace must not touch the \
         heap (see the Trace contract); the collection is abandoned and nothing is freed"
    )
}
