//! Weak references: ports of the relevant scenarios of test_weakref.py.

mod common;

use common::*;
use pygc::{gc, Gc, GcCell, Trace, Weak};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

#[test]
fn weak_dies_with_refcount() {
    let s = Gc::new(String::from("x"));
    let w = Gc::downgrade(&s);
    assert_eq!(w.strong_count(), 1);
    assert_eq!(w.weak_count(), 1);
    let w2 = w.clone();
    assert_eq!(w.weak_count(), 2);
    drop(s);
    assert!(w.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    drop((w, w2));
}

#[test]
fn callback_runs_on_refcount_death() {
    let hits = Rc::new(Cell::new(0));
    let h2 = hits.clone();
    let s = Gc::new(5u32);
    let w = Gc::downgrade_with_callback(&s, move || h2.set(h2.get() + 1));
    drop(s);
    assert_eq!(hits.get(), 1);
    drop(w);
    assert_eq!(hits.get(), 1);
}

#[test]
fn callback_not_run_when_the_weakref_died_first() {
    let hits = Rc::new(Cell::new(0));
    let h2 = hits.clone();
    let s = Gc::new(5u32);
    let w = Gc::downgrade_with_callback(&s, move || h2.set(h2.get() + 1));
    let w_clone = w.clone();
    drop(w);
    drop(s); // w_clone still alive: the callback runs once
    assert_eq!(hits.get(), 1);
    drop(w_clone);

    let s = Gc::new(6u32);
    let h3 = hits.clone();
    drop(Gc::downgrade_with_callback(&s, move || h3.set(h3.get() + 100)));
    drop(s);
    assert_eq!(hits.get(), 1, "no callback for a dead weakref");
}

#[test]
fn callbacks_run_for_collected_cycles_and_weakrefs_are_cleared_before_finalizers() {
    thread_local!(static SEEN_BY_FINALIZER: Cell<Option<bool>> = const { Cell::new(None) });
    thread_local!(static WEAK_TO_SELF: RefCell<Option<Weak<F>>> = const { RefCell::new(None) });
    #[derive(Trace)]
    #[pygc(finalize)]
    struct F(GcCell<Option<Gc<F>>>);
    impl pygc::Finalize for F {
        fn finalize(_: &Gc<Self>) {
            let alive = WEAK_TO_SELF.with(|w| w.borrow().as_ref().unwrap().upgrade().is_some());
            SEEN_BY_FINALIZER.with(|s| s.set(Some(alive)));
        }
    }
    let order = Rc::new(RefCell::new(Vec::new()));
    let o2 = order.clone();
    let f = Gc::new(F(GcCell::new(None)));
    *f.0.borrow_mut() = Some(f.clone());
    let w = Gc::downgrade_with_callback(&f, move || o2.borrow_mut().push("callback"));
    WEAK_TO_SELF.with(|s| *s.borrow_mut() = Some(Gc::downgrade(&f)));
    drop(f);
    assert_eq!(gc::collect(), 1);
    assert_eq!(*order.borrow(), vec!["callback"]);
    assert_eq!(SEEN_BY_FINALIZER.with(Cell::get), Some(false), "weakrefs are cleared before finalizers run");
    assert!(w.upgrade().is_none());
    WEAK_TO_SELF.with(|s| s.borrow_mut().take());
}

#[test]
fn callback_of_a_weakref_inside_the_garbage_is_not_called() {
    // CPython: a weakref that is itself part of the garbage never has its
    // callback called.
    #[derive(Trace)]
    struct Holder {
        me: GcCell<Option<Gc<Holder>>>,
        weak_to_me: GcCell<Option<Weak<Holder>>>,
    }
    let hits = Rc::new(Cell::new(0));
    let h = Gc::new(Holder { me: GcCell::new(None), weak_to_me: GcCell::new(None) });
    *h.me.borrow_mut() = Some(h.clone());
    let h2 = hits.clone();
    *h.weak_to_me.borrow_mut() = Some(Gc::downgrade_with_callback(&h, move || h2.set(h2.get() + 1)));
    // A second, external weakref with a callback: that one runs.
    let h3 = hits.clone();
    let outside = Gc::downgrade_with_callback(&h, move || h3.set(h3.get() + 10));
    drop(h);
    assert_eq!(gc::collect(), 1);
    assert_eq!(hits.get(), 10);
    drop(outside);
}

#[test]
fn weak_edges_are_labelled_and_marked_weak() {
    #[derive(Trace)]
    struct Parent {
        child: Gc<Child>,
    }
    #[derive(Trace)]
    struct Child {
        parent: GcCell<Option<Weak<Parent>>>,
    }
    let c = Gc::new(Child { parent: GcCell::new(None) });
    let p = Gc::new(Parent { child: c.clone() });
    *c.parent.borrow_mut() = Some(Gc::downgrade(&p));
    let edges = Gc::to_any(&c).edges();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].label, "parent");
    assert!(edges[0].weak);
    drop(edges);
    // Weak-only back references make no cycle: refcounting frees both.
    drop((p, c));
    assert_eq!(gc::collect(), 0);
    assert!(gc::get_objects(None).unwrap().is_empty());
}

#[test]
fn weak_keeps_block_not_value() {
    let n = Node::new("n");
    let w = Gc::downgrade(&n);
    drop(n);
    assert!(w.upgrade().is_none());
    assert_eq!(dropped(), 0);
    drop(w); // frees the block now
}

/// `__del__` with a weak reference to itself, as CPython runs it at
/// refcount death: the object is held while the finalizer runs, so
/// `self.wr() is self`, and the finalizer may resurrect it.
#[derive(Trace)]
#[pygc(finalize)]
struct SelfAware {
    wr: GcCell<Option<Weak<SelfAware>>>,
    resurrect: bool,
    /// Makes the type a container (tracked), as every Python instance is.
    _other: GcCell<Option<Gc<SelfAware>>>,
}

thread_local! {
    static SEEN_SELF: Cell<Option<bool>> = const { Cell::new(None) };
    static RESURRECTED: RefCell<Option<Gc<SelfAware>>> = const { RefCell::new(None) };
    static FINALIZER_RUNS: Cell<u32> = const { Cell::new(0) };
}

impl pygc::Finalize for SelfAware {
    fn finalize(this: &Gc<Self>) {
        FINALIZER_RUNS.with(|c| c.set(c.get() + 1));
        let me = this.wr.borrow().as_ref().and_then(Weak::upgrade);
        SEEN_SELF.with(|s| s.set(Some(me.as_ref().is_some_and(|m| Gc::ptr_eq(m, this)))));
        if this.resurrect {
            RESURRECTED.with(|r| *r.borrow_mut() = me);
        }
    }
}

fn self_aware(resurrect: bool) -> Gc<SelfAware> {
    let x = Gc::new(SelfAware { wr: GcCell::new(None), resurrect, _other: GcCell::new(None) });
    *x.wr.borrow_mut() = Some(Gc::downgrade(&x));
    x
}

#[test]
fn a_finalizer_at_refcount_death_sees_itself_through_its_weakref() {
    let x = self_aware(false);
    let w = Gc::downgrade(&x);
    drop(x);
    assert_eq!(SEEN_SELF.with(Cell::get), Some(true), "self.wr() is self inside __del__");
    assert!(w.upgrade().is_none(), "weak references are cleared after the finalizer");
}

#[test]
fn a_finalizer_at_refcount_death_may_resurrect_and_runs_once() {
    FINALIZER_RUNS.with(|c| c.set(0));
    let x = self_aware(true);
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let w = Gc::downgrade_with_callback(&x, move || c.set(c.get() + 1));
    drop(x);
    assert_eq!(FINALIZER_RUNS.with(Cell::get), 1);
    let back = RESURRECTED.with(|r| r.borrow_mut().take()).expect("resurrected");
    assert_eq!(calls.get(), 0, "a resurrected object's weakrefs stay");
    assert!(Gc::ptr_eq(&w.upgrade().unwrap(), &back));
    assert!(gc::is_tracked(&back), "it is in a generation again");
    drop(back);
    assert_eq!(FINALIZER_RUNS.with(Cell::get), 1, "PEP 442: the finalizer runs once");
    assert_eq!(calls.get(), 1, "the second death clears the weakrefs");
    assert!(w.upgrade().is_none());
}

/// A cycle whose finalizer resurrects it, and (optionally) makes a new weak
/// handle to itself with a callback while it runs.
#[derive(Trace)]
#[pygc(finalize)]
struct Phoenix {
    me: GcCell<Option<Gc<Phoenix>>>,
    #[pygc(skip)]
    resurrect: bool,
}

thread_local! {
    static PHOENIX: RefCell<Option<Gc<Phoenix>>> = const { RefCell::new(None) };
    static MADE_IN_FINALIZER: RefCell<Option<Weak<Phoenix>>> = const { RefCell::new(None) };
    static LATE_CALLBACKS: Cell<u32> = const { Cell::new(0) };
}

impl pygc::Finalize for Phoenix {
    fn finalize(this: &Gc<Self>) {
        let w = Gc::downgrade_with_callback(this, || LATE_CALLBACKS.with(|c| c.set(c.get() + 1)));
        MADE_IN_FINALIZER.with(|m| *m.borrow_mut() = Some(w));
        if this.resurrect {
            PHOENIX.with(|p| *p.borrow_mut() = Some(this.clone()));
        }
    }
}

fn phoenix_cycle(resurrect: bool) -> Gc<Phoenix> {
    let x = Gc::new(Phoenix { me: GcCell::new(None), resurrect });
    *x.me.borrow_mut() = Some(x.clone());
    x
}

#[test]
fn weak_handles_made_after_a_resurrection_refer_to_the_object() {
    let x = phoenix_cycle(true);
    let old = Gc::downgrade(&x);
    drop(x);
    gc::collect();
    let back = PHOENIX.with(|p| p.borrow_mut().take()).expect("resurrected by its finalizer");
    assert!(old.upgrade().is_none(), "the collector cleared the weakrefs of that moment");
    assert_eq!(old.strong_count(), 0);
    assert_eq!(pygc::weakref::getweakrefcount(&back), 1, "only the finalizer's handle counts");
    // CPython: a weakref made after the resurrection is an ordinary one.
    let new = Gc::downgrade(&back);
    assert!(Gc::ptr_eq(&new.upgrade().expect("a new handle upgrades"), &back));
    assert!(new.clone().upgrade().is_some(), "and so do its clones");
    assert_eq!(pygc::weakref::getweakrefcount(&back), 2, "the finalizer's handle and the new one");
    assert!(old.clone().upgrade().is_none(), "an old handle's clone stays dead");
    // The finalizer's own handle belongs to the new epoch too.
    let made = MADE_IN_FINALIZER.with(|m| m.borrow_mut().take()).unwrap();
    assert!(made.upgrade().is_some());
    pygc::inspect::verify().unwrap();
    drop((back, old, made));
    // The cycle (finalized once already) is freed by the next collection.
    assert_eq!(gc::collect(), 1);
    assert!(new.upgrade().is_none(), "the second death clears the new handle");
}

#[test]
fn a_weakref_made_by_a_finalizer_of_garbage_gets_its_callback() {
    LATE_CALLBACKS.with(|c| c.set(0));
    let x = phoenix_cycle(false);
    drop(x);
    assert_eq!(gc::collect(), 1);
    let made = MADE_IN_FINALIZER.with(|m| m.borrow_mut().take()).unwrap();
    assert!(made.upgrade().is_none(), "cleared with the garbage");
    assert_eq!(LATE_CALLBACKS.with(Cell::get), 1, "its callback ran, as CPython runs it at dealloc");
    pygc::inspect::verify().unwrap();
}
