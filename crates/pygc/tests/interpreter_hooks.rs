//! What an interpreter's object model needs from the heap: run-time type
//! names and attribute labels (one Rust type, many classes), finalizers that
//! get a handle to their object, and tracking controlled by the runtime.

use pygc::{gc, objgraph, Finalize, Gc, GcCell, Trace, Visitor};
use std::cell::{Cell, RefCell};

/// A class: its name and its attribute names, in slot order.
#[derive(Trace)]
struct Class {
    name: String,
    attrs: Vec<&'static str>,
}

/// An instance: every Python object of every class is this one Rust type.
#[derive(Trace)]
#[pygc(dynamic_type_name = Instance::class_name)]
struct Instance {
    class: Gc<Class>,
    slots: Slots,
}

impl Instance {
    fn class_name(&self) -> Option<&str> {
        Some(&self.class.name)
    }
}

/// Attribute values, labelled by their names at run time.
struct Slots {
    names: Gc<Class>,
    values: GcCell<Vec<Option<Gc<Instance>>>>,
}

// SAFETY: reports each value handle once, in slot order, through
// `attribute`; the class handle is reported as `__class__`; nothing else.
unsafe impl Trace for Slots {
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.field("__class__", |v| self.names.trace(v));
        match self.values.try_borrow() {
            Ok(values) => {
                for (name, value) in self.names.attrs.iter().zip(values.iter()) {
                    v.attribute(name, |v| value.trace(v));
                }
            }
            Err(_) => v.untraceable(),
        }
    }
}

fn class(name: &str, attrs: &[&'static str]) -> Gc<Class> {
    Gc::new(Class { name: name.into(), attrs: attrs.to_vec() })
}

fn instance(class: &Gc<Class>) -> Gc<Instance> {
    let values = GcCell::new(vec![None; class.attrs.len()]);
    Gc::new(Instance { class: class.clone(), slots: Slots { names: class.clone(), values } })
}

fn set(obj: &Gc<Instance>, attr: &str, value: &Gc<Instance>) {
    let i = obj.class.attrs.iter().position(|a| *a == attr).unwrap();
    obj.slots.values.borrow_mut()[i] = Some(value.clone());
}

#[test]
fn objgraph_counts_instances_by_their_class() {
    let node = class("Node", &["ref", "next"]);
    let tree = class("Tree", &["left"]);
    let nodes: Vec<_> = (0..3).map(|_| instance(&node)).collect();
    let trees: Vec<_> = (0..2).map(|_| instance(&tree)).collect();
    assert_eq!(objgraph::count("Node", None), 3);
    assert_eq!(objgraph::count("Tree", None), 2);
    assert_eq!(objgraph::count("Instance", None), 0, "counted by class, not by Rust type");
    let stats = objgraph::typestats(&Default::default());
    assert!(stats.iter().any(|s| s.name == "Node" && s.count == 3), "{stats:?}");
    assert_eq!(objgraph::by_type("Tree", None).len(), 2);
    assert_eq!(format!("{:?}", Gc::to_any(&nodes[0])).split(' ').next(), Some("<Node"));
    drop((nodes, trees));
}

#[test]
fn edges_are_labelled_by_attribute_names() {
    let node = class("Node", &["ref", "next"]);
    let (a, b) = (instance(&node), instance(&node));
    set(&a, "next", &b);
    set(&a, "ref", &a);
    let labels: Vec<String> = Gc::to_any(&a).edges().into_iter().map(|e| e.label).collect();
    assert_eq!(labels, ["class", "slots.__class__", "slots.ref", "slots.next"]);
    let mut dot = Vec::new();
    let opts = objgraph::GraphOptions { output: Some(&mut dot), max_depth: 1, ..Default::default() };
    objgraph::show_refs(&[Gc::to_any(&a)], opts).unwrap();
    let dot = String::from_utf8(dot).unwrap();
    assert!(dot.contains("label=\"slots.next\""), "{dot}");
    assert!(dot.contains("Node"), "{dot}");
    a.slots.values.borrow_mut().clear();
}

#[test]
fn debug_output_names_the_class() {
    let node = class("Node", &["ref"]);
    let a = instance(&node);
    set(&a, "ref", &a);
    drop(a);
    let out = std::rc::Rc::new(RefCell::new(Vec::new()));
    struct Sink(std::rc::Rc<RefCell<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    gc::set_debug(gc::DEBUG_COLLECTABLE);
    gc::set_debug_output(Some(Box::new(Sink(out.clone()))));
    assert_eq!(gc::collect(), 1);
    gc::set_debug(gc::DebugFlags::empty());
    gc::set_debug_output(None);
    let text = String::from_utf8(out.borrow().clone()).unwrap();
    assert!(text.starts_with("gc: collectable <Node 0x"), "{text}");
}

thread_local! {
    static KEPT: RefCell<Vec<Gc<Resurrecting>>> = const { RefCell::new(Vec::new()) };
    static FINALIZED: Cell<u32> = const { Cell::new(0) };
}

/// `__del__` that stores `self` in a global, with the real handle.
#[derive(Trace)]
#[pygc(finalize)]
struct Resurrecting {
    me: GcCell<Option<Gc<Resurrecting>>>,
}

impl Finalize for Resurrecting {
    fn finalize(this: &Gc<Self>) {
        FINALIZED.with(|f| f.set(f.get() + 1));
        KEPT.with(|k| k.borrow_mut().push(this.clone()));
    }
}

#[test]
fn a_finalizer_resurrects_its_object_through_its_handle() {
    // At refcount death.
    let x = Gc::new(Resurrecting { me: GcCell::new(None) });
    let id = Gc::id(&x);
    drop(x);
    let back = KEPT.with(|k| k.borrow_mut().pop()).expect("resurrected");
    assert_eq!(Gc::id(&back), id, "the same object, not a copy");
    assert_eq!(Gc::ref_count(&back), 1);
    drop(back);
    assert_eq!(FINALIZED.with(Cell::get), 1, "once");
    // In a garbage cycle: resurrected by its finalizer, so not collected.
    let y = Gc::new(Resurrecting { me: GcCell::new(None) });
    *y.me.borrow_mut() = Some(y.clone());
    drop(y);
    assert_eq!(gc::collect(), 0);
    let y = KEPT.with(|k| k.borrow_mut().pop()).expect("resurrected by the collection's finalizer");
    assert!(y.me.borrow().is_some(), "intact: nothing was cleared");
    y.me.borrow_mut().take();
}

#[test]
fn the_runtime_can_untrack_and_track_a_container() {
    let node = class("Node", &["ref"]);
    let a = instance(&node);
    set(&a, "ref", &a);
    gc::untrack(&a);
    assert!(!gc::is_tracked(&a));
    assert!(!gc::get_objects(None).unwrap().contains(&Gc::to_any(&a)));
    let w = Gc::downgrade(&a);
    drop(a);
    assert_eq!(gc::collect(), 0, "an untracked cycle is not collected");
    let a = w.upgrade().unwrap();
    gc::track(&a);
    drop(a);
    assert_eq!(gc::collect(), 1, "tracked again, it is");
}

/// One Rust type for every instance, a finalizer only for the classes that
/// define `__del__`, as an interpreter has it.
#[derive(Trace)]
#[pygc(finalize)]
struct PyInstance {
    has_del: bool,
    panics_when_asked: bool,
    peer: GcCell<Option<Gc<PyInstance>>>,
}

thread_local!(static DELS: Cell<u32> = const { Cell::new(0) });

impl Finalize for PyInstance {
    fn finalize(_: &Gc<Self>) {
        DELS.with(|d| d.set(d.get() + 1));
    }

    fn needs_finalize(&self) -> bool {
        assert!(!self.panics_when_asked, "needs_finalize panics");
        self.has_del
    }
}

fn py_instance(has_del: bool) -> Gc<PyInstance> {
    Gc::new(PyInstance { has_del, panics_when_asked: false, peer: GcCell::new(None) })
}

#[test]
fn a_value_without_work_for_its_finalizer_skips_it() {
    let dels = || DELS.with(|d| d.get());
    let start = dels();

    // refcount death
    drop(py_instance(false));
    assert_eq!(dels(), start);
    drop(py_instance(true));
    assert_eq!(dels(), start + 1);

    // garbage cycles: only the instance whose class has `__del__` is finalized
    let (a, b) = (py_instance(false), py_instance(false));
    *a.peer.borrow_mut() = Some(b.clone());
    *b.peer.borrow_mut() = Some(a.clone());
    let c = py_instance(true);
    *c.peer.borrow_mut() = Some(c.clone());
    assert!(!pygc::GcAny::from(a.clone()).has_finalizer());
    assert!(pygc::GcAny::from(c.clone()).has_finalizer());
    drop((a, b, c));
    assert_eq!(gc::collect(), 3);
    assert_eq!(dels(), start + 2);

    // a panic while asking counts as "yes": the finalizer runs
    let d = Gc::new(PyInstance { has_del: false, panics_when_asked: true, peer: GcCell::new(None) });
    *d.peer.borrow_mut() = Some(d.clone());
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    drop(d);
    assert_eq!(gc::collect(), 1);
    std::panic::set_hook(quiet);
    assert_eq!(dels(), start + 3);
}
