//! Misuse that used to reach freed memory from code that writes no `unsafe`
//! outside a `Trace` impl (issue "A sound core"). Each test breaks a rule of
//! `Trace`'s contract, or plays a hostile debug writer, and checks that pygc
//! answers with a clear panic or a leak, never undefined behaviour. Run them
//! under AddressSanitizer with the pools bypassed (`PYGC_MALLOC=malloc`, see
//! `scripts/asan.sh`) or with pools that poison freed blocks: before the fix
//! each one read or wrote a freed block.

mod common;

use common::*;
use pygc::{gc, objgraph, Gc, GcCell, Trace, Visitor, Weak};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::panic::catch_unwind;
use std::rc::Rc;

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A value whose `Trace` reports a handle that dies as soon as the visit
/// returns: a temporary.
struct VisitsTemporary;

// SAFETY: breaks rule 1 of the contract on purpose (reports a temporary);
// never do this.
unsafe impl Trace for VisitsTemporary {
    fn trace<V: Visitor>(&self, v: &mut V) {
        let temporary = Gc::new(GcCell::new(vec![Gc::new(7u32)]));
        v.visit_gc(&temporary);
    }
}

#[test]
fn referents_of_a_trace_that_visits_a_temporary_are_pinned() {
    let x = Gc::new(VisitsTemporary);
    let referents = gc::get_referents(&[&x]);
    assert_eq!(referents.len(), 1);
    // The temporary is alive because the answer holds it.
    assert_eq!(referents[0].ref_count(), 1);
    assert!(referents[0].is::<GcCell<Vec<Gc<u32>>>>());
    let edges = Gc::to_any(&x).edges();
    assert_eq!(edges.len(), 1);
    let target = edges[0].target.as_ref().expect("a strong edge has a target");
    assert_eq!(target.ref_count(), 1, "held by the edge list alone");
}

thread_local!(static TAKE_ON_TRACE: Cell<bool> = const { Cell::new(false) });

type List = GcCell<Vec<Gc<u32>>>;

/// Visits its child, then takes it out of the cell (and so drops it).
struct TakesChild {
    child: GcCell<Option<Gc<List>>>,
}

// SAFETY: breaks rule 3 of the contract on purpose (mutates a cell while
// traced); never do this.
unsafe impl Trace for TakesChild {
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.field("child", |v| self.child.trace(v));
        if TAKE_ON_TRACE.with(Cell::get) {
            drop(self.child.take());
        }
    }
}

#[test]
fn referents_of_a_trace_that_drops_what_it_visited_stay_valid() {
    TAKE_ON_TRACE.with(|t| t.set(true));
    let make = || Gc::new(TakesChild { child: GcCell::new(Some(Gc::new(GcCell::new(vec![Gc::new(1u32)])))) });
    let x = make();
    let r = gc::get_referents(&[&x]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].ref_count(), 1, "the child survives in the answer only");
    let y = make();
    let edges = Gc::to_any(&y).edges();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].label, "child");
    assert_eq!(edges[0].target.as_ref().unwrap().ref_count(), 1);
    TAKE_ON_TRACE.with(|t| t.set(false));
}

/// A tracked object (so objgraph's graph scan traces it) whose `Trace`
/// reports an untracked temporary.
struct TracksTemporaryLeaf {
    _cell: GcCell<Option<Gc<TracksTemporaryLeaf>>>,
}

// SAFETY: breaks rule 1 of the contract on purpose; never do this.
unsafe impl Trace for TracksTemporaryLeaf {
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.visit_gc(&Gc::new(String::from("temporary leaf")));
    }
}

#[test]
fn objgraph_graph_of_a_trace_that_visits_a_temporary_is_pinned() {
    let x = Gc::new(TracksTemporaryLeaf { _cell: GcCell::new(None) });
    let retained = objgraph::retained_size(&Gc::to_any(&x));
    assert!(retained.objects >= 1);
    let chain = objgraph::why_alive(&Gc::to_any(&x));
    assert!(chain.is_some());
}

thread_local!(static COLLECT_IN_TRACE: Cell<bool> = const { Cell::new(false) });

/// A self-cycle whose `Trace` runs a collection, or drops its self-handle.
struct Reentrant {
    me: GcCell<Option<Gc<Reentrant>>>,
    drop_self: bool,
}

// SAFETY: breaks rule 3 of the contract on purpose (calls into the heap
// while traced); never do this.
unsafe impl Trace for Reentrant {
    fn trace<V: Visitor>(&self, v: &mut V) {
        self.me.trace(v);
        if COLLECT_IN_TRACE.with(Cell::get) {
            if self.drop_self {
                drop(self.me.take());
            } else {
                gc::collect();
            }
        }
    }
}

#[test]
fn get_referrers_pins_what_it_scans() {
    let target = Gc::new(5u64);
    for drop_self in [false, true] {
        for _ in 0..3 {
            let r = Gc::new(Reentrant { me: GcCell::new(None), drop_self });
            *r.me.borrow_mut() = Some(r.clone());
            drop(r); // garbage, held only by its own cycle
        }
    }
    let holder = Gc::new(GcCell::new(vec![target.clone()]));
    COLLECT_IN_TRACE.with(|c| c.set(true));
    let found = gc::get_referrers(&[&target]);
    COLLECT_IN_TRACE.with(|c| c.set(false));
    assert_eq!(found, vec![Gc::to_any(&holder)]);
    drop(found);
    // What the scan's traces freed or broke is gone, the rest collects.
    gc::collect();
    assert_eq!(gc::get_objects(None).unwrap(), vec![Gc::to_any(&holder)]);
}

/// A legacy finalizer in a self-cycle whose own `Trace` drops its
/// self-handle when the pass that moves what legacy finalizers reach walks
/// it (its second trace in the collection, after `subtract_refs`).
struct LegacySelfDropper {
    me: GcCell<Option<Gc<LegacySelfDropper>>>,
}

impl pygc::Finalize for LegacySelfDropper {
    fn finalize(_: &Gc<Self>) {}
}

thread_local!(static LEGACY_TRACES: Cell<u32> = const { Cell::new(0) });

// SAFETY: breaks rule 3 of the contract on purpose; never do this.
unsafe impl Trace for LegacySelfDropper {
    const HAS_FINALIZER: bool = true;
    const LEGACY_FINALIZER: bool = true;
    fn trace<V: Visitor>(&self, v: &mut V) {
        self.me.trace(v);
        let n = LEGACY_TRACES.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        if n == 2 {
            drop(self.me.take());
        }
    }
    fn finalize(_: &Gc<Self>) {}
}

#[test]
fn legacy_object_dropping_itself_in_the_move_pass() {
    let a = Gc::new(LegacySelfDropper { me: GcCell::new(None) });
    *a.me.borrow_mut() = Some(a.clone());
    drop(a);
    LEGACY_TRACES.with(|c| c.set(0));
    gc::collect();
    assert!(LEGACY_TRACES.with(Cell::get) >= 2, "the move pass traced it");
    drop(gc::take_garbage());
    gc::collect();
}

thread_local!(static FREEZE_IN_TRACE: Cell<u8> = const { Cell::new(0) });

/// Calls `gc::freeze()` (1) or `gc::unfreeze()` (2) from `Trace`.
struct Freezer {
    me: GcCell<Option<Gc<Freezer>>>,
}

// SAFETY: breaks rule 3 of the contract on purpose; never do this.
unsafe impl Trace for Freezer {
    fn trace<V: Visitor>(&self, v: &mut V) {
        match FREEZE_IN_TRACE.with(|f| f.replace(0)) {
            1 => gc::freeze(),
            2 => gc::unfreeze(),
            _ => {}
        }
        self.me.trace(v);
    }
}

#[test]
fn freeze_and_unfreeze_inside_trace_panic_and_leave_the_heap_sound() {
    for (which, name) in [(1u8, "gc::freeze"), (2, "gc::unfreeze")] {
        let keep: Vec<_> = (0..3).map(|_| Node::new("kept")).collect();
        let f = Gc::new(Freezer { me: GcCell::new(None) });
        *f.me.borrow_mut() = Some(f.clone());
        drop(f);
        FREEZE_IN_TRACE.with(|c| c.set(which));
        let r = catch_unwind(gc::collect);
        let msg = panic_message(r.expect_err("the call inside Trace panics"));
        assert!(msg.contains(name), "{msg}");
        // The collection was abandoned whole; the next one finds the cycle.
        assert_eq!(gc::collect(), 1);
        assert!(keep.iter().all(|n| n.name == "kept"));
        gc::unfreeze();
    }
}

/// A debug writer that panics on its first write.
struct PanickingWriter;

impl Write for PanickingWriter {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        panic!("debug writer failed");
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn panicking_debug_writer_leaves_the_collector_working() {
    let garbage = || {
        let a = Node::new("a");
        let b = Node::new("b");
        a.link(&b);
        b.link(&a);
    };
    garbage();
    gc::set_debug(gc::DEBUG_STATS | gc::DEBUG_COLLECTABLE);
    gc::set_debug_output(Some(Box::new(PanickingWriter)));
    let r = catch_unwind(gc::collect);
    assert_eq!(panic_message(r.expect_err("the writer's panic is resumed")), "debug writer failed");
    gc::set_debug(gc::DebugFlags::empty());
    gc::set_debug_output(None);
    // The pair was collected before the writer ran, and the collector is
    // still on: new garbage is found, automatic collection still runs.
    assert!(gc::get_objects(None).unwrap().is_empty());
    garbage();
    assert_eq!(gc::collect(), 2);
    garbage();
    gc::set_threshold(1, 10, 10).unwrap();
    let _trigger = Node::new("allocation that triggers a collection");
    gc::set_threshold(700, 10, 10).unwrap();
    assert_eq!(gc::get_objects(None).unwrap().len(), 1, "the automatic collection ran");
}

/// A debug writer that upgrades a weak handle to garbage and breaks its
/// cycle while the collector reports the garbage.
struct BreakingWriter {
    victims: Vec<Weak<Node>>,
}

impl Write for BreakingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for w in self.victims.drain(..) {
            if let Some(n) = w.upgrade() {
                n.r#ref.borrow_mut().take();
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn debug_writer_that_breaks_a_garbage_cycle_frees_nothing_in_use() {
    let victims: Vec<Weak<Node>> = (0..4)
        .map(|_| {
            let n = Node::new("self");
            n.link(&n);
            Gc::downgrade(&n)
        })
        .collect();
    gc::set_debug(gc::DEBUG_COLLECTABLE);
    gc::set_debug_output(Some(Box::new(BreakingWriter { victims })));
    let found = gc::collect();
    gc::set_debug(gc::DebugFlags::empty());
    gc::set_debug_output(None);
    assert_eq!(found, 4);
    assert!(gc::get_objects(None).unwrap().is_empty());
}

thread_local!(static WRITER_DROPS: Cell<u32> = const { Cell::new(0) });

/// A debug writer whose `Drop` runs a collection (with the debug flags on,
/// so that collection writes to the debug output too).
struct CollectingOnDrop(Rc<RefCell<Vec<u8>>>);

impl Write for CollectingOnDrop {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for CollectingOnDrop {
    fn drop(&mut self) {
        WRITER_DROPS.with(|c| c.set(c.get() + 1));
        gc::collect();
    }
}

#[test]
fn replacing_a_debug_writer_whose_drop_collects() {
    let first = Rc::new(RefCell::new(Vec::new()));
    let second = Rc::new(RefCell::new(Vec::new()));
    gc::set_debug(gc::DEBUG_STATS);
    gc::set_debug_output(Some(Box::new(CollectingOnDrop(first.clone()))));
    gc::collect();
    gc::set_debug_output(Some(Box::new(CollectingOnDrop(second.clone()))));
    gc::set_debug_output(None);
    gc::set_debug(gc::DebugFlags::empty());
    assert_eq!(WRITER_DROPS.with(Cell::get), 2);
    assert!(String::from_utf8_lossy(&first.borrow()).contains("gc: collecting generation 2..."));
    // The first writer's Drop collected while the second was installed.
    assert!(String::from_utf8_lossy(&second.borrow()).contains("gc: collecting generation 2..."));
}

/// A `Trace` that builds a cycle while the collector traces it: the new
/// objects join generation 0 after the collection, so a later one frees
/// them (before, they were never tracked and leaked).
struct BuildsCycles {
    me: GcCell<Option<Gc<BuildsCycles>>>,
}

thread_local!(static BUILD_IN_TRACE: Cell<bool> = const { Cell::new(false) });

// SAFETY: breaks rule 3 of the contract on purpose; never do this.
unsafe impl Trace for BuildsCycles {
    fn trace<V: Visitor>(&self, v: &mut V) {
        if BUILD_IN_TRACE.with(|b| b.replace(false)) {
            let n = Node::new("made inside Trace");
            n.link(&n);
        }
        self.me.trace(v);
    }
}

#[test]
fn objects_made_inside_trace_are_tracked_after_the_collection() {
    let b = Gc::new(BuildsCycles { me: GcCell::new(None) });
    BUILD_IN_TRACE.with(|x| x.set(true));
    assert_eq!(gc::collect(), 0);
    assert_eq!(gc::get_objects(None).unwrap().len(), 2, "the new node is in a generation");
    assert_eq!(gc::collect(), 1, "and the cycle it is on is collected");
    drop(b);
}
