//! What each reported edge does in each pass. Every pass runs while the
//! world is stopped, on the collecting thread: the flags and `gc_refs` it
//! reads and writes are changed by nobody else meanwhile.

use crate::handle::gc::Gc;
use crate::object::header::{ObjPtr, COLLECTING, REACHABLE};
use crate::object::trace::{sealed, CollectorLock, SyncTrace, Visitor};
use std::sync::atomic::Ordering::Relaxed;

/// The locks the collector took in this stop; released before the world
/// restarts, while every object that contains one is still alive (nothing is
/// freed while the world is stopped).
#[derive(Default)]
pub(crate) struct Held(Vec<*const (dyn CollectorLock + 'static)>);

impl Held {
    fn acquire(&mut self, lock: &(dyn CollectorLock + 'static)) -> bool {
        if lock.collector_holds() {
            return true;
        }
        if lock.collector_try_acquire() {
            self.0.push(lock as *const _);
            return true;
        }
        false
    }

    /// Releases every lock.
    ///
    /// # Safety
    /// The world is still stopped (the objects holding the locks are alive).
    pub(crate) unsafe fn release_all(&mut self) {
        for l in self.0.drain(..) {
            // SAFETY: taken by `acquire` in this stop, so held by us; the
            // object containing it is alive (caller's contract).
            unsafe { (*l).collector_release() }
        }
    }
}

/// `subtract_refs`: each edge to a candidate takes one from its `gc_refs`.
pub struct Subtract<'a> {
    pub(crate) held: &'a mut Held,
    /// A lock could not be taken: the object being traced is kept.
    pub(crate) untraceable: bool,
    /// An edge would take a count below zero: `Trace` reported a handle it
    /// does not own; the collection keeps everything.
    pub(crate) negative: bool,
}

impl sealed::Sealed for Subtract<'_> {}

impl Visitor for Subtract<'_> {
    #[inline]
    fn visit_gc<T: SyncTrace>(&mut self, gc: &Gc<T>) {
        if !T::TRACKED {
            return;
        }
        let h = gc.header();
        if h.flags.load(Relaxed) & COLLECTING != 0 {
            let r = h.gc_refs.load(Relaxed);
            if r <= 0 {
                self.negative = true;
            } else {
                h.gc_refs.store(r - 1, Relaxed);
            }
        }
    }

    fn visit_locked<F: FnOnce(&mut Self)>(&mut self, lock: &(dyn CollectorLock + 'static), f: F) {
        if self.held.acquire(lock) {
            f(self)
        } else {
            self.untraceable = true
        }
    }
}

/// `move_unreachable`'s propagation: candidates reached from a root.
pub struct Mark<'a> {
    pub(crate) stack: &'a mut Vec<ObjPtr>,
}

impl sealed::Sealed for Mark<'_> {}

impl Visitor for Mark<'_> {
    #[inline]
    fn visit_gc<T: SyncTrace>(&mut self, gc: &Gc<T>) {
        if !T::TRACKED {
            return;
        }
        let h = gc.header();
        let f = h.flags.load(Relaxed);
        if f & (COLLECTING | REACHABLE) == COLLECTING {
            h.flags.store(f | REACHABLE, Relaxed);
            self.stack.push(gc.obj());
        }
    }

    fn visit_locked<F: FnOnce(&mut Self)>(&mut self, lock: &(dyn CollectorLock + 'static), f: F) {
        // Locks the subtract pass could not take stay unread: what they
        // guard kept its counts, so it is a root anyway.
        if lock.collector_holds() {
            f(self)
        }
    }
}

/// The inspection pass: every edge, in order (referents, referrers).
pub struct Edges<'a> {
    pub(crate) held: &'a mut Held,
    pub(crate) out: &'a mut Vec<ObjPtr>,
}

impl sealed::Sealed for Edges<'_> {}

impl Visitor for Edges<'_> {
    fn visit_gc<T: SyncTrace>(&mut self, gc: &Gc<T>) {
        self.out.push(gc.obj());
    }

    fn visit_locked<F: FnOnce(&mut Self)>(&mut self, lock: &(dyn CollectorLock + 'static), f: F) {
        if self.held.acquire(lock) {
            f(self)
        }
    }
}
