//! A heap moved to another thread as a whole (`Heap::into_send`,
//! `SendHeap`): what moves, what is refused, and what happens to a heap a
//! handle was left behind for.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use pygc::{gc, unsize, Finalize, Gc, GcCell, Heap, Refusal, SendHeap, Trace, Weak};

#[derive(Trace)]
struct Node {
    name: String,
    next: GcCell<Option<Gc<Node>>>,
    items: GcCell<Vec<Gc<str>>>,
}

fn node(name: &str) -> Gc<Node> {
    Gc::new(Node { name: name.into(), next: GcCell::new(None), items: GcCell::new(Vec::new()) })
}

/// A heap with a root that holds a cycle, a string and a weak handle.
fn vm() -> SendHeap<Node> {
    let heap = Heap::new();
    let root = heap.enter(|| {
        let root = node("root");
        let a = node("a");
        *a.next.borrow_mut() = Some(a.clone());
        *root.next.borrow_mut() = Some(a);
        root.items.borrow_mut().push(Gc::from("hello"));
        root
    });
    heap.into_send(root).expect("everything is inside the heap")
}

#[test]
fn a_heap_moves_to_a_worker_and_back() {
    let mut vm = vm();
    let before = vm.usage().bytes;
    vm = std::thread::spawn(move || {
        vm.enter(|root| {
            root.items.borrow_mut().push(Gc::from("from the worker"));
            // a cycle made and dropped on the worker: that heap's garbage
            let b = node("b");
            *b.next.borrow_mut() = Some(b.clone());
        });
        assert_eq!(vm.collect(), 1);
        vm
    })
    .join()
    .unwrap();
    assert!(vm.usage().bytes > before);
    let (heap, root) = vm.into_heap();
    let items: Vec<String> = root.items.borrow().iter().map(|s| s.to_string()).collect();
    assert_eq!(items, ["hello", "from the worker"]);
    assert_eq!(root.next.borrow().as_ref().unwrap().name, "a");
    drop(root);
    assert_eq!(heap.collect(), 1, "the self-cycle of `a`");
    assert_eq!(heap.usage().bytes, 0);
}

#[test]
fn a_heap_passed_around_a_ring_of_threads() {
    const THREADS: usize = 4;
    const HOPS: usize = 40;
    let (txs, rxs): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| std::sync::mpsc::channel::<SendHeap<Node>>()).unzip();
    let mut rxs: Vec<_> = rxs.into_iter().map(Some).collect();
    let workers: Vec<_> = (0..THREADS)
        .map(|i| {
            let rx = rxs[i].take().unwrap();
            let tx = txs[(i + 1) % THREADS].clone();
            std::thread::spawn(move || {
                while let Ok(mut vm) = rx.recv() {
                    let hops = vm.enter(|root| {
                        root.items.borrow_mut().push(Gc::from(format!("hop on {i}").as_str()));
                        // garbage every hop, collected on whichever thread
                        let g = node("garbage");
                        *g.next.borrow_mut() = Some(g.clone());
                        root.items.borrow().len()
                    });
                    if hops == HOPS {
                        return Some(vm);
                    }
                    tx.send(vm).unwrap();
                }
                None
            })
        })
        .collect();
    txs[0].send(vm()).unwrap();
    drop(txs);
    let mut done: Vec<SendHeap<Node>> = workers.into_iter().filter_map(|w| w.join().unwrap()).collect();
    assert_eq!(done.len(), 1);
    let vm = done.pop().unwrap();
    let (heap, root) = vm.into_heap();
    assert_eq!(root.items.borrow().len(), HOPS);
    assert_eq!(*root.items.borrow()[1], *"hop on 0");
    assert_eq!(*root.items.borrow()[2], *"hop on 1");
    drop(root);
    heap.collect();
    assert_eq!(heap.usage().bytes, 0);
}

static FINALIZED: AtomicUsize = AtomicUsize::new(0);

#[derive(Trace)]
#[pygc(finalize)]
struct Resource {
    me: GcCell<Option<Gc<Resource>>>,
}

impl Finalize for Resource {
    fn finalize(_: &Gc<Self>) {
        FINALIZED.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_heap_dropped_on_another_thread_is_finalized_there() {
    let heap = Heap::new();
    let root = heap.enter(|| {
        let r = Gc::new(Resource { me: GcCell::new(None) });
        *r.me.borrow_mut() = Some(r.clone());
        r
    });
    let vm = heap.into_send(root).unwrap();
    let before = FINALIZED.load(Ordering::SeqCst);
    std::thread::spawn(move || drop(vm)).join().unwrap();
    assert_eq!(FINALIZED.load(Ordering::SeqCst), before + 1);
}

fn refusal_of<R: ?Sized + pygc::GcPointee>(heap: Heap, root: Gc<R>) -> (Refusal, Heap, Gc<R>) {
    let err = heap.into_send(root).unwrap_err();
    let refusal = err.refusal().clone();
    assert!(err.to_string().starts_with("the heap cannot move to another thread: "), "{err}");
    let (heap, root) = err.into_parts();
    (refusal, heap, root)
}

#[test]
fn a_strong_handle_outside_is_refused_then_accepted_once_dropped() {
    let heap = Heap::new();
    let (root, kept) = heap.enter(|| {
        let root = node("root");
        let child = node("child");
        *root.next.borrow_mut() = Some(child.clone());
        (root, child)
    });
    let (refusal, heap, root) = refusal_of(heap, root);
    assert_eq!(
        refusal,
        Refusal::HeldOutside { type_name: std::any::type_name::<Node>(), count: 1, weak: false }
    );
    drop(kept);
    let vm = heap.into_send(root).expect("nothing held outside now");
    std::thread::spawn(move || drop(vm)).join().unwrap();
}

#[test]
fn a_weak_handle_outside_is_refused() {
    let heap = Heap::new();
    let root = heap.enter(|| node("root"));
    let weak: Weak<Node> = Gc::downgrade(&root);
    let (refusal, heap, root) = refusal_of(heap, root);
    assert!(matches!(refusal, Refusal::HeldOutside { count: 1, weak: true, .. }), "{refusal:?}");
    drop(weak);
    assert!(heap.into_send(root).is_ok());
}

#[test]
fn weak_handles_inside_the_heap_travel() {
    #[derive(Trace)]
    struct Cache {
        entries: GcCell<Vec<Weak<Node>>>,
        strong: GcCell<Vec<Gc<Node>>>,
    }
    let heap = Heap::new();
    let root = heap.enter(|| {
        let c = Gc::new(Cache { entries: GcCell::new(vec![]), strong: GcCell::new(vec![]) });
        let alive = node("alive");
        let dead = node("dead");
        c.entries.borrow_mut().push(Gc::downgrade(&alive));
        c.entries.borrow_mut().push(Gc::downgrade(&dead));
        c.strong.borrow_mut().push(alive);
        drop(dead); // its block stays for the weak handle
        c
    });
    let mut vm = heap.into_send(root).expect("the weak handles are inside");
    let upgraded = std::thread::spawn(move || {
        let n = vm.enter(|c| c.entries.borrow().iter().filter(|w| w.upgrade().is_some()).count());
        (vm, n)
    })
    .join()
    .unwrap();
    assert_eq!(upgraded.1, 1);
}

#[test]
fn an_untracked_value_held_only_outside_is_refused() {
    let heap = Heap::new();
    let (root, text) = heap.enter(|| (node("root"), Gc::<str>::from("only in a local")));
    let (refusal, heap, root) = refusal_of(heap, root);
    assert!(matches!(refusal, Refusal::Unreached { bytes } if bytes > 0), "{refusal:?}");
    drop(text);
    assert!(heap.into_send(root).is_ok());
}

#[test]
fn an_edge_to_another_heap_is_refused() {
    let outsider = node("of the thread's default heap");
    let heap = Heap::new();
    let root = heap.enter(|| node("root"));
    *root.next.borrow_mut() = Some(outsider.clone());
    let (refusal, _heap, root) = refusal_of(heap, root);
    assert_eq!(refusal, Refusal::ForeignEdge { type_name: std::any::type_name::<Node>() });
    drop(root);
}

#[test]
fn an_edge_from_another_heap_is_refused() {
    let heap = Heap::new();
    let root = heap.enter(|| node("root"));
    let outsider = node("of the thread's default heap");
    *outsider.next.borrow_mut() = Some(root.clone());
    let (refusal, _heap, root) = refusal_of(heap, root);
    assert!(matches!(refusal, Refusal::HeldOutside { count: 1, weak: false, .. }), "{refusal:?}");
    drop((root, outsider));
}

#[test]
fn a_root_of_another_heap_is_refused() {
    let heap = Heap::new();
    let (refusal, _heap, _root) = refusal_of(heap, node("default heap"));
    assert_eq!(refusal, Refusal::RootElsewhere);
}

#[test]
fn values_that_are_not_send_are_refused_and_send_skipped_fields_are_not() {
    #[derive(Trace)]
    struct Local {
        shared: Rc<u32>,
    }
    #[derive(Trace)]
    struct Shared {
        #[pygc(skip, send)]
        _counter: Arc<Mutex<u32>>,
        #[pygc(skip)]
        _unsaid: u8,
    }
    #[derive(Trace)]
    struct SharedSaid {
        #[pygc(skip, send)]
        counter: Arc<Mutex<u32>>,
    }
    let heap = Heap::new();
    let root = heap.enter(|| Gc::new(Local { shared: Rc::new(1) }));
    let (refusal, _heap, root) = refusal_of(heap, root);
    assert_eq!(refusal, Refusal::NotSend { type_name: std::any::type_name::<Local>() });
    assert_eq!(*root.shared, 1);

    let heap = Heap::new();
    let counter = Arc::new(Mutex::new(0));
    let root = heap.enter(|| Gc::new(Shared { _counter: counter.clone(), _unsaid: 0 }));
    let (refusal, _heap, _root) = refusal_of(heap, root);
    assert!(matches!(refusal, Refusal::NotSend { .. }), "a skip without `send` says nothing: {refusal:?}");

    let heap = Heap::new();
    let root = heap.enter(|| Gc::new(SharedSaid { counter: counter.clone() }));
    let mut vm = heap.into_send(root).expect("the skipped field is Send");
    std::thread::spawn(move || vm.enter(|r| *r.counter.lock().unwrap() += 1)).join().unwrap();
    assert_eq!(*counter.lock().unwrap(), 1);
}

#[test]
fn thread_bound_callbacks_are_refused() {
    let heap = Heap::new();
    let root = heap.enter(|| node("root"));
    let id = heap.enter(|| gc::add_callback(|_, _| {}));
    let (refusal, heap, root) = refusal_of(heap, root);
    assert_eq!(refusal, Refusal::GcCallbacks);
    heap.enter(|| assert!(gc::remove_callback(id)));
    assert!(heap.into_send(root).is_ok());

    #[derive(Trace)]
    struct Holder {
        target: Gc<Node>,
        watch: Weak<Node>,
    }
    let heap = Heap::new();
    let root = heap.enter(|| {
        let target = node("watched");
        let watch = Gc::downgrade_with_callback(&target, || {});
        Gc::new(Holder { target, watch })
    });
    // the weak handle is inside the heap, but its callback is a closure of
    // this thread
    let (refusal, _heap, root) = refusal_of(heap, root);
    assert_eq!(refusal, Refusal::WeakCallbacks);
    assert!(root.watch.upgrade().is_some());
}

#[test]
fn a_debug_writer_is_refused() {
    let heap = Heap::new();
    let root = heap.enter(|| node("root"));
    heap.enter(|| gc::set_debug_output(Some(Box::new(std::io::sink()))));
    let (refusal, heap, root) = refusal_of(heap, root);
    assert_eq!(refusal, Refusal::DebugOutput);
    heap.enter(|| gc::set_debug_output(None));
    assert!(heap.into_send(root).is_ok());
}

#[test]
fn saved_garbage_travels_with_the_heap() {
    let heap = Heap::new();
    let root = heap.enter(|| {
        gc::set_debug(gc::DEBUG_SAVEALL);
        let g = node("garbage");
        *g.next.borrow_mut() = Some(g.clone());
        drop(g);
        assert_eq!(gc::collect(), 1);
        gc::set_debug(gc::DebugFlags::empty());
        node("root")
    });
    let mut vm = heap.into_send(root).expect("gc.garbage is the heap's own");
    let n = std::thread::spawn(move || vm.enter(|_| gc::garbage().len())).join().unwrap();
    assert_eq!(n, 1);
}

thread_local! {
    static STASH: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
}

#[test]
fn a_handle_stashed_in_a_thread_local_pins_the_heap_to_its_thread() {
    let mut vm = vm();
    let stashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        vm.enter(|root| STASH.with(|s| *s.borrow_mut() = Some(root.clone())));
    }));
    let message = *stashed.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("SendHeap::enter left the heap unable to move"), "{message}");
    assert!(message.contains("held from outside"), "{message}");

    // On another thread the pinned heap refuses to work, and dropping it
    // there leaks it (the stashed handle still uses it here).
    let vm = std::thread::spawn(move || {
        let used = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vm.usage()));
        assert!(used.is_err());
        vm
    })
    .join()
    .unwrap();
    STASH.with(|s| assert_eq!(s.borrow().as_ref().unwrap().name, "root"));

    // Back on its thread, with the stash emptied, the next enter unpins it.
    let mut vm = vm;
    STASH.with(|s| s.borrow_mut().take());
    vm.enter(|_| ());
    std::thread::spawn(move || vm.enter(|root| assert_eq!(root.name, "root"))).join().unwrap();
}

#[test]
fn a_pinned_heap_dropped_on_another_thread_is_leaked_not_freed() {
    let mut vm = vm();
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        vm.enter(|root| STASH.with(|s| *s.borrow_mut() = Some(root.clone())));
    }));
    std::thread::spawn(move || drop(vm)).join().unwrap();
    let root = STASH.with(|s| s.borrow_mut().take()).unwrap();
    assert_eq!(root.name, "root");
    assert_eq!(*root.items.borrow()[0], *"hello");
}

#[test]
fn objects_of_every_shape_travel() {
    trait Shape {
        fn area(&self) -> u32;
    }
    pygc::dyn_trace!(dyn Shape);
    #[derive(Trace)]
    struct Square(u32);
    impl Shape for Square {
        fn area(&self) -> u32 {
            self.0 * self.0
        }
    }
    #[derive(Trace)]
    struct Scene {
        shapes: GcCell<Vec<Gc<dyn Shape>>>,
        numbers: Gc<[u64]>,
        frozen: Gc<(u8, Gc<str>)>,
    }
    let heap = Heap::new();
    let root = heap.enter(|| {
        let sq = Gc::new(Square(3));
        Gc::new(Scene {
            shapes: GcCell::new(vec![unsize!(sq => dyn Shape)]),
            numbers: Gc::from(vec![1u64, 2, 3]),
            frozen: Gc::new((7, Gc::from("frozen"))),
        })
    });
    let mut vm = heap.into_send(root).expect("dyn, slices, str and frozen values are inside");
    let total = std::thread::spawn(move || {
        vm.enter(|s| s.shapes.borrow()[0].area() + s.numbers.iter().sum::<u64>() as u32)
    })
    .join()
    .unwrap();
    assert_eq!(total, 15);
}

#[test]
fn weakref_containers_and_finalizers_keep_a_heap_on_its_thread() {
    // A WeakValueDictionary inside the heap: its entries' callbacks are
    // closures of this thread.
    #[derive(Trace)]
    struct Registry {
        #[pygc(skip)]
        by_name: pygc::weakref::WeakValueDictionary<String, Node>,
        live: GcCell<Vec<Gc<Node>>>,
    }
    let heap = Heap::new();
    let root = heap.enter(|| {
        let r = Gc::new(Registry { by_name: Default::default(), live: GcCell::new(vec![]) });
        let n = node("n");
        r.by_name.insert("n".into(), &n);
        r.live.borrow_mut().push(n);
        r
    });
    let (refusal, _heap, root) = refusal_of(heap, root);
    assert!(matches!(refusal, Refusal::WeakCallbacks | Refusal::NotSend { .. }), "{refusal:?}");
    assert!(root.by_name.get(&"n".to_string()).is_some());

    // weakref.finalize: the finalizer lives in this thread's registry.
    let heap = Heap::new();
    let root = heap.enter(|| node("root"));
    let _fin = pygc::weakref::finalize(&root, || {});
    let (refusal, _heap, _root) = refusal_of(heap, root);
    assert!(
        matches!(refusal, Refusal::WeakCallbacks | Refusal::HeldOutside { weak: true, .. }),
        "{refusal:?}"
    );
}
