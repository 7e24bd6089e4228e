//! Heaps as values: each explicit heap collects, counts and reports only its
//! own objects; dropping one finalizes it; byte limits.

mod common;

use common::*;
use pygc::{gc, inspect, objgraph, Finalize, Gc, GcCell, Heap, Trace};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

fn cycle(name: &'static str) {
    let a = Node::new(name);
    a.link(&a);
}

#[test]
fn two_heaps_never_see_each_other() {
    let (one, two) = (Heap::new(), Heap::new());
    let kept = one.enter(|| Node::new("one"));
    two.enter(|| {
        cycle("two");
        cycle("two");
    });
    one.enter(|| {
        assert_eq!(gc::get_objects(None).unwrap().len(), 1, "heap one's own object only");
        assert_eq!(objgraph::count("Node", None), 1);
        assert_eq!(gc::collect(), 0, "heap two's garbage is not found here");
    });
    assert_eq!(gc::get_objects(None).unwrap().len(), 0, "the default heap sees neither");
    two.enter(|| {
        assert_eq!(inspect::census(false)[0].count, 2);
        assert_eq!(gc::collect(), 2);
    });
    assert!(one.usage().bytes > 0);
    assert_eq!(two.usage().bytes, 0);
    drop(kept);
    assert_eq!(one.usage(), pygc::HeapUsage { bytes: 0, limit: None });
}

#[test]
fn each_heap_has_its_own_schedule_stats_callbacks_and_flags() {
    let vm = Heap::new();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    vm.enter(|| {
        gc::set_threshold(5, 1, 1).unwrap();
        gc::set_debug(gc::DEBUG_SAVEALL);
        gc::add_callback(move |_, _| c.set(c.get() + 1));
        cycle("saved");
        gc::collect();
        assert_eq!(gc::garbage().len(), 1);
    });
    // The default heap kept its own settings.
    assert_eq!(gc::get_threshold(), (700, 10, 10));
    assert_eq!(gc::get_debug(), gc::DebugFlags::empty());
    assert!(gc::garbage().is_empty());
    gc::collect();
    assert_eq!(calls.get(), 2, "the heap's callback ran for its own collection only");
    vm.enter(|| {
        assert_eq!(gc::get_stats()[2].collections, 1);
        gc::set_debug(gc::DebugFlags::empty());
        drop(gc::take_garbage());
        gc::clear_callbacks();
    });
}

#[test]
fn objects_keep_their_heap_whatever_is_current() {
    let vm = Heap::new();
    let a = vm.enter(|| Node::new("vm"));
    // Dropped while the default heap is current: accounted to its own heap.
    let before = vm.usage().bytes;
    let size = pygc::sys::getsizeof(&a);
    let w = Gc::downgrade(&a);
    drop(a);
    assert!(w.upgrade().is_none());
    assert_eq!(vm.usage().bytes, before, "the block stays for the weak handle");
    drop(w);
    assert_eq!(vm.usage().bytes, before - size);
    vm.enter(|| assert!(inspect::verify().is_ok()));
}

thread_local!(static FINALIZED_AT_TEARDOWN: Cell<u32> = const { Cell::new(0) });

#[derive(Trace)]
#[pygc(finalize)]
struct Resource {
    next: GcCell<Option<Gc<Resource>>>,
}

impl Finalize for Resource {
    fn finalize(_: &Gc<Self>) {
        FINALIZED_AT_TEARDOWN.with(|c| c.set(c.get() + 1));
    }
}

#[test]
fn dropping_a_heap_finalizes_it_and_outliving_handles_panic() {
    let vm = Heap::new();
    let (outliving, leaf, weak_called) = vm.enter(|| {
        let r = Gc::new(Resource { next: GcCell::new(None) });
        *r.next.borrow_mut() = Some(r.clone()); // a cycle, held from outside too
        let called = Rc::new(Cell::new(false));
        let c = called.clone();
        let w = Gc::downgrade_with_callback(&r, move || c.set(true));
        std::mem::forget(w); // the callback lives with the weak handle
        cycle("garbage");
        (r, Gc::new(String::from("untracked")), called)
    });
    drop(vm);
    assert_eq!(FINALIZED_AT_TEARDOWN.with(Cell::get), 1, "the finalizer ran once, at teardown");
    assert!(weak_called.get(), "weak references were cleared");
    let e = Gc::try_get(&outliving).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("cleared by the garbage collector"), "{e}");
    let r = catch_unwind(AssertUnwindSafe(|| outliving.next.borrow().is_some()));
    assert!(r.is_err(), "deref of a handle that outlived its heap panics");
    assert_eq!(*leaf, "untracked", "an untracked object stays valid with its handles");
    drop((outliving, leaf));
}

#[test]
fn an_empty_heaps_teardown_collects_only_when_someone_can_see_it() {
    // With a callback the teardown's collections are observable: they run.
    let vm = Heap::new();
    let phases = Rc::new(Cell::new(0));
    vm.enter(|| {
        let p = phases.clone();
        gc::add_callback(move |_, _| p.set(p.get() + 1));
    });
    drop(vm);
    assert!(phases.get() >= 4, "start/stop of at least two teardown collections: {}", phases.get());
    // Without one, an empty heap (only untracked objects) may skip them; its
    // untracked objects are still freed and its bytes returned.
    let vm = Heap::new();
    let untracked = vm.enter(|| {
        drop(Gc::new(String::from("freed now")));
        Gc::new(String::from("outlives the heap"))
    });
    drop(vm);
    assert_eq!(*untracked, "outlives the heap");
    drop(untracked);
}

#[test]
fn an_edge_between_heaps_is_an_external_reference() {
    let (a, b) = (Heap::new(), Heap::new());
    let in_b = b.enter(|| Node::new("in b"));
    a.enter(|| {
        let holder = Node::new("in a");
        holder.link(&in_b);
        in_b.link(&holder); // a cycle through two heaps
    });
    let w = Gc::downgrade(&in_b);
    drop(in_b);
    // Neither collector frees its half: each sees a reference from outside.
    assert_eq!(a.collect(), 0);
    assert_eq!(b.collect(), 0);
    assert!(w.upgrade().is_some());
    // Breaking it by hand frees both by refcounting.
    w.upgrade().unwrap().r#ref.borrow_mut().take();
    assert!(w.upgrade().is_none());
    drop(w);
    assert_eq!(a.usage().bytes + b.usage().bytes, 0);
}

/// A finalizer in heap A's collection collects heap B, whose objects point
/// at A's candidates: B's passes must leave A's working lists alone.
#[derive(Trace)]
#[pygc(finalize)]
struct CollectsOther {
    me: GcCell<Option<Gc<CollectsOther>>>,
}

thread_local!(static OTHER: RefCell<Option<Heap>> = const { RefCell::new(None) });

impl Finalize for CollectsOther {
    fn finalize(this: &Gc<Self>) {
        OTHER.with(|o| {
            let o = o.borrow();
            let other = o.as_ref().unwrap();
            other.enter(|| {
                // Alive during B's collection, pointing at A's candidate.
                let n = Gc::new(GcCell::new(vec![this.clone()]));
                n.borrow_mut().push(this.clone());
                cycle("b");
                assert_eq!(gc::collect(), 1);
                assert!(inspect::verify().is_ok());
                drop(n);
            });
        });
    }
}

#[test]
fn nested_collections_of_two_heaps_do_not_mix_their_lists() {
    OTHER.with(|o| *o.borrow_mut() = Some(Heap::new()));
    let a = Heap::new();
    a.enter(|| {
        let x = Gc::new(CollectsOther { me: GcCell::new(None) });
        *x.me.borrow_mut() = Some(x.clone());
        drop(x);
        assert_eq!(gc::collect(), 1);
        assert!(inspect::verify().is_ok());
    });
    OTHER.with(|o| o.borrow_mut().take());
}

#[test]
fn a_byte_limit_collects_first_then_refuses() {
    let vm = Heap::new();
    vm.set_limit(Some(4096));
    vm.enter(|| {
        gc::disable(); // garbage piles up until the limit forces a collection
        let node_size = pygc::sys::getsizeof(&Node::new("probe"));
        for _ in 0..4096 / node_size {
            cycle("garbage");
        }
        assert!(inspect::usage().bytes + node_size > 4096, "the heap is full of garbage");
        let collections = gc::get_stats()[2].collections;
        let kept = Node::new("fits after the collection");
        assert_eq!(gc::get_stats()[2].collections, collections + 1, "a full collection ran first");
        assert_eq!(inspect::usage().bytes, node_size);
        // Now fill it with live objects until an allocation is refused.
        let mut live = vec![kept];
        let e = loop {
            match Gc::try_new(Node { name: "live", r#ref: GcCell::new(None) }) {
                Ok(g) => live.push(g),
                Err(e) => break e,
            }
        };
        assert_eq!((e.limit, e.requested), (4096, node_size));
        assert!(e.live + e.requested > 4096 && e.live <= 4096, "{e}");
        let r = catch_unwind(AssertUnwindSafe(|| Node::new("one too many")));
        let msg = r.err().and_then(|p| p.downcast_ref::<String>().cloned()).unwrap_or_default();
        assert!(msg.starts_with("MemoryError:") && msg.contains("limit of 4096 bytes"), "{msg}");
        drop(live);
        gc::enable();
    });
    assert_eq!(vm.usage().bytes, 0);
    vm.set_limit(None);
    assert_eq!(vm.usage().limit, None);
}

#[test]
fn live_bytes_per_heap_and_per_type_are_numbers() {
    let vm = Heap::new();
    vm.enter(|| {
        let nodes: Vec<_> = (0..10).map(|_| Node::new("n")).collect();
        let u = inspect::usage();
        let row = inspect::census(false).into_iter().find(|r| r.type_name.ends_with("Node")).unwrap();
        assert_eq!(row.count, 10);
        assert_eq!(row.bytes, 10 * pygc::sys::getsizeof(&nodes[0]));
        assert!(u.bytes >= row.bytes);
        drop(nodes);
    });
}

thread_local!(static B_HEAP: RefCell<Option<Heap>> = const { RefCell::new(None) });
thread_local!(static COLLECT_B_IN_TRACE: Cell<bool> = const { Cell::new(false) });

/// Breaks the `Trace` contract on purpose: while heap A traces it, it
/// collects heap B.
struct CollectsBWhenTraced;

// SAFETY: breaks rule 3 of the contract on purpose (calls into a heap while
// traced) to show that one heap's passes never touch another's objects.
unsafe impl Trace for CollectsBWhenTraced {
    const TRACKED: bool = true;
    fn trace<V: pygc::Visitor>(&self, _: &mut V) {
        if COLLECT_B_IN_TRACE.with(|c| c.replace(false)) {
            B_HEAP.with(|b| b.borrow().as_ref().unwrap().collect());
        }
    }
}

/// A legacy finalizer (CPython's `tp_del`) of heap B that holds an object
/// of heap A: B's pass that moves what legacy finalizers reach must not move
/// A's object, even while A traces (its links then hold counts).
#[derive(Trace)]
#[pygc(finalize, legacy)]
struct LegacyHolder {
    me: GcCell<Option<Gc<LegacyHolder>>>,
    x: Gc<Node>,
}

impl Finalize for LegacyHolder {
    fn finalize(_: &Gc<Self>) {}
}

#[test]
fn one_heaps_passes_never_touch_another_heaps_objects() {
    B_HEAP.with(|b| *b.borrow_mut() = Some(Heap::new()));
    let a = Heap::new();
    let x = a.enter(|| Node::new("x in a"));
    B_HEAP.with(|b| {
        b.borrow().as_ref().unwrap().enter(|| {
            let l = Gc::new(LegacyHolder { me: GcCell::new(None), x: x.clone() });
            *l.me.borrow_mut() = Some(l.clone()); // uncollectable garbage of B
        })
    });
    a.enter(|| {
        let _t = Gc::new(CollectsBWhenTraced);
        COLLECT_B_IN_TRACE.with(|c| c.set(true));
        assert_eq!(gc::collect(), 0);
        assert!(inspect::verify().is_ok());
    });
    assert_eq!(x.name, "x in a", "X is intact");
    B_HEAP.with(|b| {
        let b = b.borrow_mut().take().unwrap();
        b.enter(|| {
            // B's collection from inside A's tracing phase returned 0 (no
            // collection starts while a heap of the thread marks its
            // objects); it runs now.
            assert!(gc::garbage().is_empty());
            assert_eq!(gc::collect(), 1);
            assert_eq!(gc::garbage().len(), 1);
            for g in gc::take_garbage() {
                g.downcast::<LegacyHolder>().ok().unwrap().me.borrow_mut().take();
            }
        });
    });
}

#[test]
fn one_heaps_passes_never_count_another_heaps_edges() {
    B_HEAP.with(|b| *b.borrow_mut() = Some(Heap::new()));
    let a = Heap::new();
    // X lives in A and is held only by an object of B.
    let x = a.enter(|| Node::new("x in a"));
    let holder =
        B_HEAP.with(|b| b.borrow().as_ref().unwrap().enter(|| Gc::new(GcCell::new(vec![x.clone()]))));
    drop(x);
    a.enter(|| {
        let _t = Gc::new(CollectsBWhenTraced);
        COLLECT_B_IN_TRACE.with(|c| c.set(true));
        // While A's gc_refs are in its links, B's collection runs and sees
        // its edge to X: were it to subtract it, A would find X unreachable.
        assert_eq!(gc::collect(), 0);
    });
    assert_eq!(holder.borrow()[0].name, "x in a", "X is intact");
    drop(holder);
    B_HEAP.with(|b| b.borrow_mut().take());
}
