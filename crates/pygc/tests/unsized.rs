//! Unsized values in one allocation: `Gc<str>`, `Gc<[T]>`, and trait
//! objects (`Gc<dyn Trait>`, `Weak<dyn Trait>`) made with `unsize!`.

use pygc::{gc, objgraph, sys, unsize, Gc, GcAny, GcCell, Trace, Weak};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn strings_live_in_their_object() {
    let a: Gc<str> = Gc::from("hello");
    let b: Gc<str> = Gc::from(String::from("hello"));
    assert_eq!(&*a, "hello");
    assert_eq!(a, b, "compared by value");
    assert!(!Gc::ptr_eq(&a, &b));
    assert_eq!(format!("{a} {b:?}"), "hello \"hello\"");
    assert_eq!(Gc::to_any(&a).type_name(), "str");
    // header 16 + the length word 16 + 5 bytes
    assert_eq!(sys::getsizeof(&a), 16 + 16 + 5);
    assert!(!gc::is_tracked(&a));
    let empty: Gc<str> = Gc::from("");
    assert_eq!(empty.len(), 0);
}

thread_local!(static DROPS: Cell<usize> = const { Cell::new(0) });

#[derive(Trace, Clone)]
struct Counted(u64);

impl Drop for Counted {
    fn drop(&mut self) {
        DROPS.with(|d| d.set(d.get() + 1));
    }
}

#[test]
fn slices_from_vecs_slices_and_iterators_drop_each_element_once() {
    DROPS.with(|d| d.set(0));
    let from_vec: Gc<[Counted]> = Gc::from(vec![Counted(1), Counted(2), Counted(3)]);
    let from_slice: Gc<[Counted]> = Gc::from(&from_vec[..]);
    let collected: Gc<[u64]> = (0..1000u64).collect();
    assert_eq!(from_vec.iter().map(|c| c.0).sum::<u64>(), 6);
    assert_eq!(from_slice.len(), 3);
    assert_eq!(collected.iter().sum::<u64>(), 499_500);
    assert_eq!(sys::getsizeof(&collected), 16 + 16 + 8000);
    assert_eq!(Gc::to_any(&from_vec).short_type_name(), "[Counted]");
    let again = from_vec.clone();
    drop(from_vec);
    assert_eq!(DROPS.with(Cell::get), 0);
    drop((again, from_slice));
    assert_eq!(DROPS.with(Cell::get), 6);
}

/// An iterator that lies about its length, or panics.
struct Liar {
    left: usize,
    said: usize,
    panic_at: Option<usize>,
}

impl Iterator for Liar {
    type Item = Counted;
    fn next(&mut self) -> Option<Counted> {
        if Some(self.left) == self.panic_at {
            panic!("iterator failed");
        }
        self.left = self.left.checked_sub(1)?;
        Some(Counted(self.left as u64))
    }
}

impl ExactSizeIterator for Liar {
    fn len(&self) -> usize {
        self.said
    }
}

#[test]
fn an_iterator_that_lies_or_panics_loses_nothing() {
    DROPS.with(|d| d.set(0));
    let short = catch_unwind(|| Gc::from_exact_iter(Liar { left: 2, said: 5, panic_at: None }));
    assert!(short.is_err(), "fewer elements than promised is a clear panic");
    assert_eq!(DROPS.with(Cell::get), 2, "the two written were dropped");
    let long = Gc::from_exact_iter(Liar { left: 9, said: 3, panic_at: None });
    assert_eq!(long.len(), 3, "extra elements are not taken");
    drop(long);
    DROPS.with(|d| d.set(0));
    let r =
        catch_unwind(AssertUnwindSafe(|| Gc::from_exact_iter(Liar { left: 6, said: 6, panic_at: Some(2) })));
    assert!(r.is_err());
    assert_eq!(DROPS.with(Cell::get), 4, "the four written before the panic");
}

#[derive(Trace)]
struct Node {
    children: GcCell<Option<Gc<[Gc<Node>]>>>,
}

/// The same liar for `collect()`: its `size_hint` claims exactly `said`.
struct HintLiar(Liar);

impl Iterator for HintLiar {
    type Item = Counted;
    fn next(&mut self) -> Option<Counted> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.said, Some(self.0.said))
    }
}

#[test]
fn collect_takes_every_element_whatever_the_size_hint_says() {
    let values = |g: &Gc<[Counted]>| g.iter().map(|c| c.0).collect::<Vec<_>>();
    DROPS.with(|d| d.set(0));
    // Exact hint: one block, elements in order.
    let exact: Gc<[Counted]> = HintLiar(Liar { left: 3, said: 3, panic_at: None }).collect();
    assert_eq!(values(&exact), [2, 1, 0]);
    // Fewer than promised: what came is kept, nothing dropped on the way.
    let short: Gc<[Counted]> = HintLiar(Liar { left: 2, said: 5, panic_at: None }).collect();
    assert_eq!(values(&short), [1, 0]);
    // More than promised: the rest is taken too.
    let long: Gc<[Counted]> = HintLiar(Liar { left: 6, said: 2, panic_at: None }).collect();
    assert_eq!(values(&long), [5, 4, 3, 2, 1, 0]);
    assert_eq!(DROPS.with(Cell::get), 0, "moving elements out of a wrong-sized block drops none");
    drop((exact, short, long));
    assert_eq!(DROPS.with(Cell::get), 11, "each element dropped once");
    // A panic while filling drops what was written, once.
    DROPS.with(|d| d.set(0));
    let r =
        catch_unwind(|| HintLiar(Liar { left: 6, said: 6, panic_at: Some(2) }).collect::<Gc<[Counted]>>());
    assert!(r.is_err());
    assert_eq!(DROPS.with(Cell::get), 4);
    // Tracked elements collected from an exact iterator join the collector.
    let inner = Gc::new(Node { children: GcCell::new(None) });
    let parent: Gc<[Gc<Node>]> = (0..3).map(|_| inner.clone()).collect();
    *inner.children.borrow_mut() = Some(parent);
    drop(inner);
    assert_eq!(gc::collect(), 2, "the node and the slice it holds, a cycle");
}

#[test]
fn a_cycle_through_a_slice_is_collected() {
    let n = Gc::new(Node { children: GcCell::new(None) });
    let kids: Gc<[Gc<Node>]> = Gc::from(vec![n.clone(), n.clone()]);
    assert!(gc::is_tracked(&kids), "a slice of tracked handles is a container");
    *n.children.borrow_mut() = Some(kids);
    let labels: Vec<String> =
        gc::get_referents(&[&n]).iter().flat_map(GcAny::edges).map(|e| e.label).collect();
    assert_eq!(labels, ["[0]", "[1]"]);
    drop(n);
    assert_eq!(gc::collect(), 2, "the node and its slice");
}

trait Shape {
    fn area(&self) -> f64;
    fn neighbour(&self) -> Option<Gc<dyn Shape>> {
        None
    }
}
pygc::dyn_trace!(dyn Shape);

#[derive(Trace)]
struct Square(f64);
impl Shape for Square {
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

#[derive(Trace)]
struct Linked {
    side: f64,
    next: GcCell<Option<Gc<dyn Shape>>>,
}
impl Shape for Linked {
    fn area(&self) -> f64 {
        self.side
    }
    fn neighbour(&self) -> Option<Gc<dyn Shape>> {
        self.next.borrow().clone()
    }
}

#[test]
fn trait_objects_share_the_object_and_its_count() {
    let sq = Gc::new(Square(3.0));
    let id = Gc::id(&sq);
    let shape: Gc<dyn Shape> = unsize!(sq.clone() => dyn Shape);
    assert_eq!(shape.area(), 9.0);
    assert_eq!(Gc::id(&shape), id, "the same object, no second allocation");
    assert_eq!(Gc::ref_count(&sq), 2);
    let w: Weak<dyn Shape> = Gc::downgrade(&shape);
    assert_eq!(w.upgrade().unwrap().area(), 9.0);
    // Round trip through GcAny: the concrete type is what it reports.
    let any = Gc::to_any(&shape);
    assert!(any.type_name().ends_with("Square"));
    let back: Gc<Square> = any.downcast().unwrap();
    assert!(Gc::ptr_eq(&back, &sq));
    drop((sq, back, shape));
    assert!(w.upgrade().is_none());
}

#[test]
fn dyn_cycles_are_collected_and_counted_by_concrete_type() {
    let a = Gc::new(Linked { side: 1.0, next: GcCell::new(None) });
    let b = Gc::new(Linked { side: 2.0, next: GcCell::new(None) });
    *a.next.borrow_mut() = Some(unsize!(b.clone() => dyn Shape));
    *b.next.borrow_mut() = Some(unsize!(a.clone() => dyn Shape));
    assert_eq!(a.neighbour().unwrap().area(), 2.0);
    assert_eq!(objgraph::count("Linked", None), 2);
    let edges = Gc::to_any(&a).edges();
    assert_eq!(edges.len(), 1);
    assert!(edges[0].target.as_ref().unwrap().type_name().ends_with("Linked"));
    drop((a, b, edges));
    assert_eq!(gc::collect(), 2);
}
