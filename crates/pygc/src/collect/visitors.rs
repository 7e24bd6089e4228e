//! The collector's visitors: what happens to each edge a `Trace` reports.

use std::collections::HashMap;

use super::list;
use crate::heap::header::{GcLink, ObjPtr, NEXT_UNREACHABLE, PREV_COLLECTING, PREV_FLAGS, PREV_SHIFT};
use crate::heap::trace::{sealed, Trace, Visitor};
use crate::heap::{Gc, Weak};

/// `gc_refs` stored in `prev` during a collection.
#[inline]
pub(crate) fn refs(l: &GcLink) -> usize {
    l.prev.get() >> PREV_SHIFT
}

#[inline]
pub(crate) fn set_refs(l: &GcLink, n: usize) {
    l.prev.set((l.prev.get() & PREV_FLAGS) | (n << PREV_SHIFT));
}

/// What the core visitor does with each edge.
pub(crate) enum Mode<'a> {
    /// `subtract_refs`: one less external reference for each internal edge.
    Subtract,
    /// `visit_reachable` of `move_unreachable`, `young` being the list
    /// scanned; the flag notes whether any edge leads to a tracked object.
    Reachable(&'a GcLink, bool),
    /// `visit_move`: pull collecting objects into the legacy-finalizer list.
    Move(&'a GcLink),
    /// Count weak handles that carry a callback, by callback id.
    Weak(&'a mut HashMap<u64, usize>),
    /// Collect every strong edge target (tracked or not).
    Edges(&'a mut Vec<ObjPtr>),
}

/// The visitor the collector and the introspection functions use.
pub(crate) struct CoreVisitor<'a> {
    pub(crate) mode: Mode<'a>,
    /// An edge would have made `gc_refs` negative: the `Trace` impls lie.
    pub(crate) inconsistent: bool,
}

impl<'a> CoreVisitor<'a> {
    pub(crate) fn new(mode: Mode<'a>) -> Self {
        CoreVisitor { mode, inconsistent: false }
    }

    /// Traces one object (never a cleared one: its value is gone).
    pub(crate) fn trace(&mut self, p: ObjPtr) {
        if p.is_cleared() {
            return;
        }
        // SAFETY: the value is initialised (not CLEARED) and the block is
        // allocated while the collector or caller holds it.
        unsafe { (p.info().trace_core)(p.value_ptr(), self) }
    }

    #[inline]
    fn edge(&mut self, p: ObjPtr, tracked: bool) {
        match &mut self.mode {
            Mode::Edges(out) => out.push(p),
            _ if !tracked => {}
            Mode::Subtract => {
                let l = p.link();
                let pv = l.prev.get();
                if pv & PREV_COLLECTING != 0 {
                    if pv >> PREV_SHIFT == 0 {
                        self.inconsistent = true;
                    } else {
                        l.prev.set(pv - (1 << PREV_SHIFT));
                    }
                }
            }
            Mode::Reachable(young, any_tracked) => {
                let l = p.link();
                *any_tracked |= l.next.get() != 0;
                visit_reachable(l, young)
            }
            Mode::Move(to) => {
                let l = p.link();
                if l.prev.get() & PREV_COLLECTING != 0 && l.next.get() != 0 {
                    list::move_to(l, to);
                    l.prev.set(l.prev.get() & !PREV_COLLECTING);
                }
            }
            Mode::Weak(_) => {}
        }
    }
}

fn visit_reachable(l: &GcLink, young: &GcLink) {
    let pv = l.prev.get();
    if pv & PREV_COLLECTING == 0 || l.next.get() == 0 {
        // Another generation, or already scanned by move_unreachable.
        return;
    }
    if l.next.get() & NEXT_UNREACHABLE != 0 {
        // Tentatively unreachable, but reachable after all: unlink it by hand
        // (the mask bits confuse the list helpers) and rescan it from young.
        let before = list::link_at(pv & !PREV_FLAGS);
        let after = list::link_at(l.next.get() & !NEXT_UNREACHABLE);
        before.next.set(l.next.get());
        list::set_prev(after, before);
        list::append(l, young);
        set_refs(l, 1);
    } else if refs(l) == 0 {
        set_refs(l, 1);
    }
}

impl sealed::Sealed for CoreVisitor<'_> {}

impl Visitor for CoreVisitor<'_> {
    #[inline]
    fn visit_gc<T: Trace + 'static>(&mut self, gc: &Gc<T>) {
        self.edge(gc.obj(), T::TRACKED);
    }

    #[inline]
    fn visit_weak<T: Trace + 'static>(&mut self, weak: &Weak<T>) {
        if let Mode::Weak(ids) = &mut self.mode {
            if let Some(id) = weak.callback_id() {
                *ids.entry(id).or_insert(0) += 1;
            }
        }
    }
}

/// One segment of an edge label.
#[derive(Clone, Copy, Debug)]
enum Segment {
    Field(&'static str),
    Index(usize),
}

/// An edge found by the labelling visitor.
#[derive(Clone, Debug)]
pub(crate) struct LabeledEdge {
    pub(crate) target: ObjPtr,
    pub(crate) label: String,
    pub(crate) weak: bool,
}

/// Collects edges with their labels: field names, indexes.
pub(crate) struct LabelVisitor {
    path: Vec<Segment>,
    pub(crate) edges: Vec<LabeledEdge>,
}

impl LabelVisitor {
    pub(crate) fn new() -> Self {
        LabelVisitor { path: Vec::new(), edges: Vec::new() }
    }

    pub(crate) fn trace(&mut self, p: ObjPtr) {
        if p.is_cleared() {
            return;
        }
        // SAFETY: as in `CoreVisitor::trace`.
        unsafe { (p.info().trace_labeled)(p.value_ptr(), self) }
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
    fn visit_gc<T: Trace + 'static>(&mut self, gc: &Gc<T>) {
        let label = self.label();
        self.edges.push(LabeledEdge { target: gc.obj(), label, weak: false });
    }

    fn visit_weak<T: Trace + 'static>(&mut self, weak: &Weak<T>) {
        let label = self.label();
        self.edges.push(LabeledEdge { target: weak.obj(), label, weak: true });
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
}
