//! The visitors `Trace` impls report to: what happens to each edge.

use std::collections::HashMap;

use crate::handle::gc::Gc;
use crate::handle::pointee::GcPointee;
use crate::handle::weak::Weak;
use crate::object::header::{Obj, ObjPtr};
use crate::object::link::{self, GcLink, GcList};
use crate::object::trace::{sealed, Visitor};

/// What the core visitor does with each strong edge.
///
/// The two passes that trace every object of a collected generation have
/// visitors of their own ([`SubtractVisitor`], [`ReachableVisitor`]); this
/// one serves the rarer passes and the inspection functions.
pub(crate) enum Mode<'a> {
    /// `visit_move`: pull collecting objects into the legacy-finalizer list.
    Move(&'a GcList),
    /// Count the weak handles that carry a callback, by callback id.
    WeakIds(&'a mut HashMap<u64, usize>),
    /// Take a count on every strong edge target (ephemeron values
    /// included), at the moment it is reported (what inspection needs: the target cannot die afterwards,
    /// whatever the rest of the `Trace` impl does).
    Pin(&'a mut Vec<ObjPtr>),
    /// Note whether any edge leads to an object in a list.
    AnyTracked(bool),
    /// Record every edge, strong and weak, as it is (the heap hand-over's
    /// count of the references from inside a heap; `heap/handover.rs`).
    Census(&'a mut Census),
}

/// The edges of the objects traced in [`Mode::Census`].
#[derive(Default)]
pub(crate) struct Census {
    /// Targets of strong handles (ephemeron values included).
    pub(crate) strong: Vec<ObjPtr>,
    /// Targets of weak handles (ephemeron keys included).
    pub(crate) weak: Vec<ObjPtr>,
    /// Some value reported part of itself untraceable (a `GcCell` borrowed
    /// mutably): its edges are unknown.
    pub(crate) untraceable: bool,
}

/// The visitor of the rarer collector passes and of the inspection
/// functions.
pub(crate) struct CoreVisitor<'a> {
    pub(crate) mode: Mode<'a>,
}

impl<'a> CoreVisitor<'a> {
    pub(crate) fn new(mode: Mode<'a>) -> Self {
        CoreVisitor { mode }
    }
}

/// `subtract_refs`: one less external reference per internal edge.
#[derive(Default)]
pub(crate) struct SubtractVisitor {
    /// An edge would have taken `gc_refs` below zero: some `Trace` reports
    /// handles it does not own.
    pub(crate) inconsistent: bool,
}

impl SubtractVisitor {
    /// Traces one object; a cleared one has no value left to trace.
    #[inline]
    pub(crate) fn trace(&mut self, o: Obj<'_>) {
        if o.is_cleared() {
            return;
        }
        // SAFETY: as in `CoreVisitor::trace`.
        unsafe { (o.info().trace_subtract)(o.value_ptr(), self) }
    }

    #[inline(always)]
    fn edge<T: ?Sized + GcPointee>(&mut self, gc: &Gc<T>) {
        let o = gc.obj();
        if !is_tracked_target::<T>(o) {
            return;
        }
        // SAFETY: see `tracked_link`. Another heap's objects never carry
        // COLLECTING while this pass runs (collect/mod.rs: no collection
        // starts while a heap of the thread traces), so the test also keeps
        // each heap to its own.
        let l = unsafe { tracked_link(o) };
        if l.is_collecting() {
            if l.gc_refs() == 0 {
                self.inconsistent = true;
            } else {
                l.decrement_gc_refs();
            }
        }
    }
}

impl sealed::Sealed for SubtractVisitor {}

impl Visitor for SubtractVisitor {
    #[inline(always)]
    fn visit_gc<T: ?Sized + GcPointee>(&mut self, gc: &Gc<T>) {
        self.edge(gc)
    }

    #[inline(always)]
    fn visit_weak<T: ?Sized + GcPointee>(&mut self, _: &Weak<T>) {}

    /// An internal edge like any.
    #[inline]
    fn visit_ephemeron<K: ?Sized + GcPointee, V: ?Sized + GcPointee>(&mut self, _: &Weak<K>, value: &Gc<V>) {
        self.edge(value)
    }
}

/// `visit_reachable` of `move_unreachable`, `young` being the list scanned.
pub(crate) struct ReachableVisitor<'a> {
    young: &'a GcList,
    /// Ephemerons met by the scan, `(key, value)`, whose value waits for its
    /// key to prove reachable (see `resolve_ephemerons`).
    ephemerons: Vec<(ObjPtr, ObjPtr)>,
}

impl<'a> ReachableVisitor<'a> {
    pub(crate) fn new(young: &'a GcList) -> Self {
        ReachableVisitor { young, ephemerons: Vec::new() }
    }

    /// Traces one object; a cleared one has no value left to trace.
    #[inline]
    pub(crate) fn trace(&mut self, o: Obj<'_>) {
        if o.is_cleared() {
            return;
        }
        // SAFETY: as in `CoreVisitor::trace`.
        unsafe { (o.info().trace_reachable)(o.value_ptr(), self) }
    }

    /// After a scan: every ephemeron whose key turned out reachable makes
    /// its value reachable (and leaves the list); the others wait. Returns
    /// whether a value moved back into `young` (it must be scanned, and may
    /// make more keys reachable).
    pub(crate) fn resolve_ephemerons(&mut self) -> bool {
        let young = self.young;
        let mut moved = false;
        self.ephemerons.retain(|&(k, v)| {
            // SAFETY: in the tracing phase no object is freed (counts
            // reaching zero are deferred), and both were reported by a live
            // handle of an object of this pass.
            let (k, v) = unsafe { (k.live(), v.live()) };
            // (Keys of an ended epoch were not recorded: visit_ephemeron.)
            let key_alive = k.refcnt() > 0
                && !k.has(crate::object::header::flags::CLEARED)
                && !k.link().is_some_and(|l| l.is_collecting() && l.is_marked_unreachable());
            if !key_alive {
                return true;
            }
            if let Some(l) = v.link() {
                moved |= l.is_collecting() && l.is_marked_unreachable();
                visit_reachable(l, young);
            }
            false
        });
        moved
    }

    #[inline(always)]
    fn edge<T: ?Sized + GcPointee>(&mut self, gc: &Gc<T>) {
        let o = gc.obj();
        if is_tracked_target::<T>(o) {
            // SAFETY: see `tracked_link`.
            visit_reachable(unsafe { tracked_link(o) }, self.young)
        }
    }
}

impl sealed::Sealed for ReachableVisitor<'_> {}

impl Visitor for ReachableVisitor<'_> {
    #[inline(always)]
    fn visit_gc<T: ?Sized + GcPointee>(&mut self, gc: &Gc<T>) {
        self.edge(gc)
    }

    #[inline(always)]
    fn visit_weak<T: ?Sized + GcPointee>(&mut self, _: &Weak<T>) {}

    /// The value waits for its key (`resolve_ephemerons`).
    #[inline]
    fn visit_ephemeron<K: ?Sized + GcPointee, V: ?Sized + GcPointee>(
        &mut self,
        key: &Weak<K>,
        value: &Gc<V>,
    ) {
        // A key whose weak references the collector cleared is dead for
        // this entry even if the key object lives on (resurrected): its
        // value is then reachable only through other edges.
        if key.live_referent().is_some() {
            self.ephemerons.push((key.header(), value.obj().ptr()));
        }
    }
}

/// Whether the target of a `Gc<T>` is of a tracked type: known statically
/// for sized targets, read from the target's table for trait objects.
#[inline(always)]
fn is_tracked_target<T: ?Sized + GcPointee>(o: Obj<'_>) -> bool {
    match T::TRACKED {
        Some(t) => t,
        None => o.info().tracked,
    }
}

impl CoreVisitor<'_> {
    /// Traces one object; a cleared one has no value left to trace.
    pub(crate) fn trace(&mut self, o: Obj<'_>) {
        if o.is_cleared() {
            return;
        }
        // SAFETY: the value is initialised (not CLEARED), `o` proves the block
        // allocated for the call, and only the collector clears values (never
        // while it is tracing this one).
        unsafe { (o.info().trace_core)(o.value_ptr(), self) }
    }

    #[inline]
    fn edge<T: ?Sized + GcPointee>(&mut self, gc: &Gc<T>) {
        let o = gc.obj();
        let tracked = is_tracked_target::<T>(o);
        match &mut self.mode {
            Mode::Pin(out) => {
                o.incref();
                out.push(o.ptr());
            }
            Mode::Census(c) => c.strong.push(o.ptr()),
            _ if !tracked => {}
            // SAFETY: see `tracked_link`.
            Mode::AnyTracked(found) => *found |= unsafe { tracked_link(o) }.is_linked(),
            Mode::Move(to) => {
                // SAFETY: see `tracked_link`.
                let l = unsafe { tracked_link(o) };
                if l.is_collecting() && l.is_linked() {
                    // SAFETY: the Move pass runs after `move_unreachable`, so
                    // the unreachable list and `to` are well formed, and a
                    // COLLECTING object is in the unreachable list.
                    unsafe { to.move_in(l) };
                    l.set_prev_flags(0, link::PREV_COLLECTING);
                }
            }
            Mode::WeakIds(_) => {}
        }
    }
}

/// The link of a tracked edge target.
///
/// # Safety
/// `o` is of a tracked type: either its table says so, or it is the object
/// of a `Gc<T>` whose `T::TRACKED` is `Some(true)` (see `GcPointee`'s
/// contract), so its block has a link.
#[inline]
unsafe fn tracked_link<'a>(o: Obj<'a>) -> &'a GcLink {
    debug_assert!(o.info().tracked);
    // SAFETY: the block has a link (above) and stays allocated for 'a.
    unsafe { &*o.ptr().link_ptr() }
}

/// CPython's `visit_reachable`: an edge from a reachable object makes its
/// target reachable.
#[inline]
fn visit_reachable(l: &GcLink, young: &GcList) {
    if !l.is_collecting() || !l.is_linked() {
        // Another generation, or already scanned by `move_unreachable`.
        return;
    }
    if l.is_marked_unreachable() {
        // Tentatively unreachable, but reachable after all: unlink it by hand
        // (the marks confuse the list helpers) and rescan it from young.
        // SAFETY: elements of the tentatively unreachable list have real
        // prev pointers and masked next pointers to live links (see
        // `move_unreachable`).
        let (before, after) = unsafe { (link::deref(l.prev()), link::deref(l.next())) };
        before.set_next_word(l.next_word());
        after.set_prev(before.as_mut_ptr());
        // SAFETY: young's head prev names its current tail (move_unreachable
        // keeps it so), and `l` was just unlinked.
        unsafe { young.append(l) };
        l.set_gc_refs(1);
    } else if l.gc_refs() == 0 {
        l.set_gc_refs(1);
    }
}

impl sealed::Sealed for CoreVisitor<'_> {}

impl Visitor for CoreVisitor<'_> {
    #[inline]
    fn visit_gc<T: ?Sized + GcPointee>(&mut self, gc: &Gc<T>) {
        self.edge(gc);
    }

    #[inline]
    fn visit_weak<T: ?Sized + GcPointee>(&mut self, weak: &Weak<T>) {
        match &mut self.mode {
            Mode::WeakIds(ids) => {
                if let Some(id) = weak.callback_id() {
                    *ids.entry(id).or_insert(0) += 1;
                }
            }
            Mode::Census(c) => c.weak.push(weak.header()),
            _ => {}
        }
    }

    fn untraceable(&mut self) {
        if let Mode::Census(c) = &mut self.mode {
            c.untraceable = true;
        }
    }

    fn visit_ephemeron<K: ?Sized + GcPointee, V: ?Sized + GcPointee>(
        &mut self,
        key: &Weak<K>,
        value: &Gc<V>,
    ) {
        match self.mode {
            Mode::WeakIds(_) => self.visit_weak(key),
            Mode::Census(_) => {
                self.visit_weak(key);
                self.edge(value);
            }
            // Move (legacy finalizers) keeps conservatively; Pin and
            // AnyTracked see the value.
            _ => self.edge(value),
        }
    }
}

/// One segment of an edge label.
#[derive(Clone, Debug)]
enum Segment {
    Field(&'static str),
    Attribute(String),
    Index(usize),
}

/// An edge found by the labelling visitor; `target` owns a count (or is
/// `None`: a weak edge to a dead object).
pub(crate) struct LabeledEdge {
    pub(crate) target: Option<ObjPtr>,
    pub(crate) label: String,
    pub(crate) weak: bool,
}

/// Collects edges with their labels (field names, indexes), taking a count
/// on each target as it is reported.
pub(crate) struct LabelVisitor {
    path: Vec<Segment>,
    pub(crate) edges: Vec<LabeledEdge>,
}

impl LabelVisitor {
    pub(crate) fn new() -> Self {
        LabelVisitor { path: Vec::new(), edges: Vec::new() }
    }

    pub(crate) fn trace(&mut self, o: Obj<'_>) {
        if o.is_cleared() {
            return;
        }
        // SAFETY: as in `CoreVisitor::trace`.
        unsafe { (o.info().trace_labeled)(o.value_ptr(), self) }
    }

    fn label(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Segment::Field(f) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(f);
                }
                Segment::Attribute(f) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(f);
                }
                Segment::Index(i) => {
                    s.push('[');
                    s.push_str(&i.to_string());
                    s.push(']');
                }
            }
        }
        s
    }
}

impl sealed::Sealed for LabelVisitor {}

impl Visitor for LabelVisitor {
    const LABELS: bool = true;

    fn visit_gc<T: ?Sized + GcPointee>(&mut self, gc: &Gc<T>) {
        let o = gc.obj();
        o.incref();
        let label = self.label();
        self.edges.push(LabeledEdge { target: Some(o.ptr()), label, weak: false });
    }

    fn visit_ephemeron<K: ?Sized + GcPointee, V: ?Sized + GcPointee>(
        &mut self,
        key: &Weak<K>,
        value: &Gc<V>,
    ) {
        self.field("key", |v| v.visit_weak(key));
        self.field("value", |v| v.visit_gc(value));
    }

    fn visit_weak<T: ?Sized + GcPointee>(&mut self, weak: &Weak<T>) {
        let target = weak.live_referent().map(|o| {
            o.incref();
            o.ptr()
        });
        let label = self.label();
        self.edges.push(LabeledEdge { target, label, weak: true });
    }

    fn field(&mut self, name: &'static str, f: impl FnOnce(&mut Self)) {
        self.path.push(Segment::Field(name));
        f(self);
        self.path.pop();
    }

    fn index(&mut self, index: usize, f: impl FnOnce(&mut Self)) {
        self.path.push(Segment::Index(index));
        f(self);
        self.path.pop();
    }

    fn attribute(&mut self, name: &str, f: impl FnOnce(&mut Self)) {
        self.path.push(Segment::Attribute(name.to_string()));
        f(self);
        self.path.pop();
    }
}
