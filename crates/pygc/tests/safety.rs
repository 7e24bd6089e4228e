//! Misuse of the public API must never be undefined behaviour: a clear
//! panic or error, at worst a leak. Each case from DESIGN.md's safety model.

mod common;

use common::*;
use pygc::{gc, Finalize, Gc, GcCell, Trace, Visitor};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A Drop that reads its peer in the same garbage cycle.
#[derive(Trace)]
struct Peer {
    other: GcCell<Option<Gc<Peer>>>,
    value: u64,
}

thread_local!(static PEER_READS: RefCell<Vec<Result<u64, String>>> = const { RefCell::new(Vec::new()) });

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(o) = self.other.borrow().as_ref() {
            let r = Gc::try_get(o).map(|p| p.value).map_err(|e| e.to_string());
            PEER_READS.with(|v| v.borrow_mut().push(r));
        }
    }
}

#[test]
fn drop_reading_a_cleared_peer_gets_an_error_not_freed_memory() {
    let a = Gc::new(Peer { other: GcCell::new(None), value: 1 });
    let b = Gc::new(Peer { other: GcCell::new(None), value: 2 });
    *a.other.borrow_mut() = Some(b.clone());
    *b.other.borrow_mut() = Some(a.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    let reads = PEER_READS.with(|v| v.borrow().clone());
    assert_eq!(reads.len(), 2);
    // The first value dropped sees its peer intact; the second sees the
    // first already cleared, and gets an error naming the type.
    assert_eq!(reads[0], Ok(2));
    let err = reads[1].clone().unwrap_err();
    assert!(err.contains("was cleared by the garbage collector"), "{err}");
    assert!(err.contains("Peer"), "{err}");
}

/// A Drop that derefs (not try_get) a cleared peer: a panic, caught by the
/// collector, resumed after the heap is consistent.
#[derive(Trace)]
struct Deref {
    other: GcCell<Option<Gc<Deref>>>,
    value: u64,
}

impl Drop for Deref {
    fn drop(&mut self) {
        if let Some(o) = self.other.borrow().as_ref() {
            std::hint::black_box(o.value);
        }
    }
}

#[test]
fn drop_dereferencing_a_cleared_peer_panics_and_the_heap_stays_usable() {
    let a = Gc::new(Deref { other: GcCell::new(None), value: 1 });
    let b = Gc::new(Deref { other: GcCell::new(None), value: 2 });
    *a.other.borrow_mut() = Some(b.clone());
    *b.other.borrow_mut() = Some(a.clone());
    drop((a, b));
    let r = catch_unwind(gc::collect);
    let msg = panic_message(r.unwrap_err());
    assert!(msg.contains("object of type") && msg.contains("Deref") && msg.contains("cleared"), "{msg}");
    // The heap is consistent: the pair is gone, a new cycle collects.
    assert!(gc::get_objects(None).unwrap().is_empty());
    let n = Node::new("n");
    n.link(&n);
    drop(n);
    assert_eq!(gc::collect(), 1);
}

thread_local!(static STASH: RefCell<Vec<Gc<Stasher>>> = const { RefCell::new(Vec::new()) });

/// A Drop that stores a handle to its (garbage) peer in a global.
#[derive(Trace)]
struct Stasher {
    other: GcCell<Option<Gc<Stasher>>>,
}

impl Drop for Stasher {
    fn drop(&mut self) {
        if let Some(o) = self.other.borrow_mut().take() {
            STASH.with(|s| s.borrow_mut().push(o));
        }
    }
}

#[test]
fn drop_that_stores_a_handle_in_a_global() {
    let a = Gc::new(Stasher { other: GcCell::new(None) });
    let b = Gc::new(Stasher { other: GcCell::new(None) });
    *a.other.borrow_mut() = Some(b.clone());
    *b.other.borrow_mut() = Some(a.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    let stashed = STASH.with(|s| s.borrow_mut().split_off(0));
    assert_eq!(stashed.len(), 2, "each drop stashed its peer");
    // The stashed handles are alive (the blocks stay), but both values were
    // cleared: access is a clear error, not a read of freed memory.
    for s in &stashed {
        let err = Gc::try_get(s).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("Stasher"));
        let r = catch_unwind(AssertUnwindSafe(|| s.other.borrow().is_some()));
        assert!(panic_message(r.unwrap_err()).contains("cleared by the garbage collector"));
    }
    drop(stashed); // freeing the block now is fine
    assert_eq!(gc::collect(), 0);
}

#[derive(Trace)]
#[pygc(finalize)]
struct PanickyFinalizer(GcCell<Option<Gc<PanickyFinalizer>>>);

impl Finalize for PanickyFinalizer {
    fn finalize(_: &Gc<Self>) {
        panic!("finalizer failed");
    }
}

#[test]
fn panic_in_a_finalizer_during_collection() {
    let a = Gc::new(PanickyFinalizer(GcCell::new(None)));
    *a.0.borrow_mut() = Some(a.clone());
    drop(a);
    let r = catch_unwind(gc::collect);
    assert_eq!(panic_message(r.unwrap_err()), "finalizer failed");
    // The object was still collected and the heap works.
    assert!(gc::get_objects(None).unwrap().is_empty());
    let n = Node::new("n");
    n.link(&n);
    drop(n);
    assert_eq!(gc::collect(), 1);
}

#[derive(Trace)]
struct PanickyDrop(GcCell<Option<Gc<PanickyDrop>>>);

impl Drop for PanickyDrop {
    fn drop(&mut self) {
        panic!("drop failed");
    }
}

#[test]
fn panic_in_drop_during_collection() {
    for _ in 0..3 {
        let a = Gc::new(PanickyDrop(GcCell::new(None)));
        *a.0.borrow_mut() = Some(a.clone());
        drop(a);
    }
    let r = catch_unwind(gc::collect);
    assert_eq!(panic_message(r.unwrap_err()), "drop failed");
    assert!(gc::get_objects(None).unwrap().is_empty(), "all three were cleared despite the panics");
    assert_eq!(gc::collect(), 0);
}

#[test]
fn panic_in_a_weakref_callback_during_collection() {
    let a = Node::new("a");
    a.link(&a);
    let w = Gc::downgrade_with_callback(&a, || panic!("callback failed"));
    drop(a);
    let r = catch_unwind(gc::collect);
    assert_eq!(panic_message(r.unwrap_err()), "callback failed");
    assert!(w.upgrade().is_none());
    assert_eq!(gc::collect(), 0);
}

#[test]
fn panic_in_a_gc_callback() {
    gc::add_callback(|phase, _| {
        if phase == gc::CallbackPhase::Start {
            panic!("gc callback failed")
        }
    });
    let a = Node::new("a");
    a.link(&a);
    drop(a);
    let r = catch_unwind(gc::collect);
    assert_eq!(panic_message(r.unwrap_err()), "gc callback failed");
    gc::clear_callbacks();
    assert!(gc::get_objects(None).unwrap().is_empty(), "the collection itself completed");
    let b = Node::new("b");
    b.link(&b);
    drop(b);
    assert_eq!(gc::collect(), 1);
}

/// A Trace that forgets an edge: the cycle looks externally referenced.
struct Forgetful {
    me: GcCell<Option<Gc<Forgetful>>>,
}

// SAFETY: skipping an edge is within the contract (it only leaks).
unsafe impl Trace for Forgetful {
    fn trace<V: Visitor>(&self, _v: &mut V) {}
}

#[test]
fn trace_that_skips_an_edge_leaks_safely() {
    let a = Gc::new(Forgetful { me: GcCell::new(None) });
    *a.me.borrow_mut() = Some(a.clone());
    let w = Gc::downgrade(&a);
    drop(a);
    assert_eq!(gc::collect(), 0);
    let still = w.upgrade().expect("kept alive, never freed");
    // Break the leak by hand.
    still.me.borrow_mut().take();
}

thread_local!(static GLOBAL_NODE: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) });

/// A Trace that reports a handle it does not own (a global's).
struct Liar {
    me: GcCell<Option<Gc<Liar>>>,
}

// SAFETY: breaks the contract on purpose (reports a handle it does not
// own) to exercise the collector's defence in depth; never do this.
unsafe impl Trace for Liar {
    fn trace<V: Visitor>(&self, v: &mut V) {
        self.me.trace(v);
        GLOBAL_NODE.with(|g| {
            if let Some(n) = g.borrow().as_ref() {
                v.visit_gc(n);
            }
        });
    }
}

#[test]
fn trace_that_reports_an_edge_it_does_not_own() {
    // While the liar is alive its extra edge only keeps the node alive.
    let n = Node::new("global");
    GLOBAL_NODE.with(|g| *g.borrow_mut() = Some(n.clone()));
    let liar = Gc::new(Liar { me: GcCell::new(None) });
    *liar.me.borrow_mut() = Some(liar.clone());
    assert_eq!(gc::collect(), 0);
    assert_eq!(n.name, "global");
    // Now the global's handle is the node's only one and the garbage liar
    // claims it: the counts cannot tell, and the collector clears the node
    // with the liar (this is why `Trace` is an unsafe trait). What the
    // heap guarantees even then: the block stays allocated while the global
    // handle exists, and every access is a clear error or panic, never a
    // read of freed memory.
    drop(n);
    drop(liar);
    assert_eq!(gc::collect(), 2);
    let r = GLOBAL_NODE.with(|g| {
        let g = g.borrow();
        let n = g.as_ref().unwrap();
        Gc::try_get(n).map(|n| n.name).map_err(|e| e.to_string())
    });
    let e = r.expect_err("the node was cleared under the global handle");
    assert!(e.contains("cleared by the garbage collector") && e.contains("Node"), "{e}");
    let deref = catch_unwind(|| GLOBAL_NODE.with(|g| g.borrow().as_ref().unwrap().name));
    assert!(panic_message(deref.unwrap_err()).contains("cleared by the garbage collector"));
    GLOBAL_NODE.with(|g| g.borrow_mut().take());
}

/// A Trace that visits its only edge twice: counts go negative → abort.
struct Twice {
    me: GcCell<Option<Gc<Twice>>>,
    other: Gc<Node>,
}

// SAFETY: breaks the contract on purpose (reports a handle twice) to
// exercise the negative-count check; never do this.
unsafe impl Trace for Twice {
    fn trace<V: Visitor>(&self, v: &mut V) {
        self.me.trace(v);
        self.other.trace(v);
        self.other.trace(v);
    }
}

#[test]
fn trace_that_double_counts_is_detected_and_nothing_is_freed() {
    let node = Node::new("kept");
    let t = Gc::new(Twice { me: GcCell::new(None), other: node.clone() });
    *t.me.borrow_mut() = Some(t.clone());
    drop(node);
    let w = Gc::downgrade(&t);
    drop(t);
    // `node` has one handle, reported twice: gc_refs would go negative.
    assert_eq!(gc::collect(), 0);
    let t = w.upgrade().expect("the abandoned collection freed nothing");
    assert_eq!(t.other.name, "kept");
    t.me.borrow_mut().take();
}

struct PanickyTrace(GcCell<Option<Gc<PanickyTrace>>>);
thread_local!(static TRACE_PANICS: Cell<bool> = const { Cell::new(true) });

// SAFETY: reports its one handle; a panic is allowed by the contract.
unsafe impl Trace for PanickyTrace {
    fn trace<V: Visitor>(&self, v: &mut V) {
        if TRACE_PANICS.with(Cell::get) {
            panic!("trace failed");
        }
        self.0.trace(v);
    }
}

#[test]
fn panic_in_trace_abandons_the_collection_safely() {
    let keep = Node::new("keep");
    keep.link(&keep);
    let p = Gc::new(PanickyTrace(GcCell::new(None)));
    *p.0.borrow_mut() = Some(p.clone());
    drop(p);
    let r = catch_unwind(gc::collect);
    assert_eq!(panic_message(r.unwrap_err()), "trace failed");
    assert_eq!(keep.name, "keep");
    assert_eq!(gc::get_objects(None).unwrap().len(), 2, "both survive the abandoned collection");
    TRACE_PANICS.with(|t| t.set(false));
    assert_eq!(gc::collect(), 1, "the lists were repaired: the next collection works");
    keep.r#ref.borrow_mut().take();
}

#[test]
fn handle_to_cleared_object_panics_with_the_type_name() {
    let a = Node::new("a");
    a.link(&a);
    gc::set_debug(gc::DEBUG_SAVEALL);
    let w = Gc::downgrade(&a);
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert!(w.upgrade().is_none(), "weakrefs to garbage are cleared even under SAVEALL");
    gc::set_debug(gc::DebugFlags::empty());
    drop(gc::take_garbage());
}

#[test]
fn ten_million_node_list_drops_without_recursion() {
    #[derive(Trace)]
    struct Link {
        next: Option<Gc<Link>>,
    }
    let n = if under_valgrind() { 200_000 } else { 10_000_000 };
    let mut head: Option<Gc<Link>> = None;
    for _ in 0..n {
        head = Some(Gc::new(Link { next: head.take() }));
    }
    gc::disable();
    drop(head); // would overflow the stack if deallocation recursed
    assert!(gc::get_objects(None).unwrap().is_empty());
    gc::enable();
}

#[test]
fn million_node_chain_alive_during_a_full_collection() {
    #[derive(Trace)]
    struct Link {
        next: Option<Gc<Link>>,
    }
    let n = if under_valgrind() { 100_000 } else { 1_000_000 };
    let mut head: Option<Gc<Link>> = None;
    for _ in 0..n {
        head = Some(Gc::new(Link { next: head.take() }));
    }
    assert_eq!(gc::collect(), 0);
    // And as garbage (a cycle closing the chain):
    let tail = Node::new("tail");
    tail.link(&tail);
    drop(tail);
    assert_eq!(gc::collect(), 1);
    drop(head);
}

#[test]
fn handles_dropped_while_the_thread_exits() {
    thread_local!(static LATE: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) });
    let t = std::thread::spawn(|| {
        let a = Node::new("a");
        a.link(&a);
        let w = Gc::downgrade(&a);
        // Stored in a thread-local that may be destroyed after the heap.
        LATE.with(|l| *l.borrow_mut() = Some(a.clone()));
        drop(a);
        let _keep_weak_alive_until_exit = w;
        let b = Node::new("b");
        std::mem::forget(b.clone()); // a leaked handle
        drop(b);
        assert_eq!(gc::collect(), 0);
    });
    t.join().expect("thread exit with live handles must not crash");
}

#[test]
fn collection_triggered_from_drop_runs_only_once() {
    #[derive(Trace)]
    struct Churn(GcCell<Option<Gc<Churn>>>);
    impl Drop for Churn {
        fn drop(&mut self) {
            // Allocating during a collection's clear phase: fine, no nested collection.
            let _x: Vec<_> = (0..50).map(|_| Node::new("tmp")).collect();
            assert_eq!(gc::collect(), 0, "nested collect returns 0");
        }
    }
    gc::set_threshold(10, 10, 10).unwrap();
    let a = Gc::new(Churn(GcCell::new(None)));
    *a.0.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
}

/// A Drop that keeps its peer alive in a global: the collector releases its
/// holds one object behind the clearing, so the peer (cleared first) is
/// still referred to when its hold goes, and must survive as a cleared
/// object, freed only when the global lets go.
#[derive(Trace)]
struct Keeper {
    other: GcCell<Option<Gc<Keeper>>>,
    value: u64,
}

thread_local!(static KEPT: RefCell<Vec<Gc<Keeper>>> = const { RefCell::new(Vec::new()) });
thread_local!(static KEEPER_DROPS: Cell<usize> = const { Cell::new(0) });

impl Drop for Keeper {
    fn drop(&mut self) {
        KEEPER_DROPS.with(|d| d.set(d.get() + 1));
        if let Some(o) = self.other.borrow().as_ref() {
            KEPT.with(|k| k.borrow_mut().push(o.clone()));
        }
    }
}

#[test]
fn a_drop_keeping_a_cleared_peer_keeps_its_block_until_the_last_handle() {
    let before = pygc::inspect::usage().bytes;
    // A ring of three: each keeps the next, so every object's hold is
    // released while a kept handle still refers to it.
    let ring: Vec<Gc<Keeper>> =
        (0..3).map(|v| Gc::new(Keeper { other: GcCell::new(None), value: v })).collect();
    for (i, k) in ring.iter().enumerate() {
        *k.other.borrow_mut() = Some(ring[(i + 1) % 3].clone());
    }
    drop(ring);
    assert_eq!(gc::collect(), 3);
    assert_eq!(KEEPER_DROPS.with(Cell::get), 3, "each value dropped once");
    let kept = KEPT.with(|k| std::mem::take(&mut *k.borrow_mut()));
    assert_eq!(kept.len(), 3);
    for k in &kept {
        let err = Gc::try_get(k).map(|k| k.value).unwrap_err().to_string();
        assert!(err.contains("was cleared by the garbage collector"), "{err}");
    }
    // The cleared survivors keep their blocks until their handles go.
    assert!(pygc::inspect::usage().bytes > before);
    pygc::inspect::verify().unwrap();
    drop(kept);
    assert_eq!(pygc::inspect::usage().bytes, before, "the cleared blocks were freed with their handles");
    pygc::inspect::verify().unwrap();
    assert_eq!(KEEPER_DROPS.with(Cell::get), 3, "and no value was dropped twice");
    assert_eq!(gc::collect(), 0);
}
