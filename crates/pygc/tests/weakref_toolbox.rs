//! Python's weakref toolbox: WeakValueDictionary, WeakKeyDictionary, WeakSet,
//! finalize, getweakrefcount/getweakrefs; mutation from callbacks, heaps,
//! cycles, and a differential test against python3.

mod common;

use common::Node;
use pygc::weakref::{self, WeakKeyDictionary, WeakRefInfo, WeakSet, WeakValueDictionary};
use pygc::{gc, Gc, GcCell, Heap, Trace, Weak};
use std::cell::{Cell, RefCell};
use std::hash::{Hash, Hasher};
use std::rc::Rc;

fn cycle(name: &'static str) -> Gc<Node> {
    let n = Node::new(name);
    n.link(&n);
    n
}

fn counter() -> (Rc<Cell<usize>>, impl Fn() -> weakref::FinalizerFn) {
    let c = Rc::new(Cell::new(0));
    let c2 = c.clone();
    (c, move || {
        let c = c2.clone();
        Box::new(move || c.set(c.get() + 1))
    })
}

// ---------------------------------------------------------------- WeakValueDictionary

#[test]
fn value_entries_vanish_on_refcount_death() {
    let d = WeakValueDictionary::<String, Node>::new();
    let a = Node::new("a");
    let b = Node::new("b");
    assert!(d.insert("a".into(), &a).is_none());
    d.insert("b".into(), &b);
    assert_eq!(d.len(), 2);
    assert!(Gc::ptr_eq(&d.get("a").unwrap(), &a));
    assert_eq!(Gc::ref_count(&a), 1, "the dictionary holds no strong handle");
    drop(a);
    assert_eq!(d.len(), 1);
    assert!(d.get("a").is_none() && !d.contains_key("a"));
    assert_eq!(d.keys(), ["b"]);
    drop(b);
    assert!(d.is_empty());
    assert!(d.items().is_empty());
}

#[test]
fn value_entries_vanish_on_collection() {
    let d = WeakValueDictionary::<u32, Node>::new();
    let keep = cycle("keep");
    for i in 0..10 {
        d.insert(i, &cycle("garbage"));
    }
    d.insert(10, &keep);
    assert_eq!(d.len(), 11, "cycles keep their values alive until a collection");
    assert_eq!(gc::collect(), 10);
    assert_eq!(d.len(), 1);
    assert_eq!(d.keys(), [10]);
}

#[test]
fn replacing_a_value_keeps_the_new_entry_when_the_old_value_dies() {
    let d = WeakValueDictionary::<&str, Node>::new();
    let old = Node::new("old");
    let new = Node::new("new");
    d.insert("k", &old);
    d.insert("z", &new);
    let previous = d.insert("k", &new).unwrap();
    assert!(Gc::ptr_eq(&previous, &old));
    drop((previous, old)); // the old value dies after it was replaced
    assert_eq!(d.len(), 2, "no entry lost to the old value's callback");
    assert!(Gc::ptr_eq(&d.get("k").unwrap(), &new));
    assert_eq!(d.keys(), ["k", "z"], "a replaced key keeps its place");
}

#[test]
fn value_dictionary_remove_clear_setdefault_and_copy() {
    let d = WeakValueDictionary::<String, Node>::new();
    let a = Node::new("a");
    let made = d.get_or_insert_with("a".into(), || a.clone());
    assert!(Gc::ptr_eq(&made, &a));
    let again = d.get_or_insert_with("a".into(), || unreachable!("already there"));
    assert!(Gc::ptr_eq(&again, &a));
    let copy = d.clone();
    assert!(Gc::ptr_eq(&d.remove("a").unwrap(), &a));
    assert!(d.remove("a").is_none());
    assert_eq!((d.len(), copy.len()), (0, 1), "a copy is a dictionary of its own");
    copy.clear();
    assert!(copy.is_empty());
    copy.insert("a".into(), &a);
    drop((a, made, again));
    assert!(copy.is_empty());
    let named = WeakValueDictionary::<u8, String>::new();
    let s = Gc::new(String::from("s"));
    named.insert(1, &s);
    assert_eq!(format!("{named:?}"), r#"WeakValueDictionary{1: "s"}"#);
}

#[test]
fn iteration_skips_values_that_die_during_it() {
    let d = WeakValueDictionary::<u32, Node>::new();
    let mut values: Vec<Option<Gc<Node>>> = (0..6).map(|_| Some(Node::new("v"))).collect();
    for (i, v) in values.iter().enumerate() {
        d.insert(i as u32, v.as_ref().unwrap());
    }
    let mut seen = Vec::new();
    for (k, v) in &d {
        seen.push(k);
        drop(v);
        // Kill the entry after the next one, by refcount, mid-iteration.
        if let Some(slot) = values.get_mut(k as usize + 2) {
            *slot = None;
        }
    }
    assert_eq!(seen, [0, 1, 4, 5]);
    assert_eq!(d.len(), 4);
    assert_eq!(d.keys(), [0, 1, 4, 5]);
}

#[test]
fn iteration_survives_entries_removed_inserted_and_compacted_meanwhile() {
    let d = WeakValueDictionary::<u32, Node>::new();
    let values: Vec<Gc<Node>> = (0..100).map(|_| Node::new("v")).collect();
    for (i, v) in values.iter().enumerate() {
        d.insert(i as u32, v);
    }
    let extra = Node::new("extra");
    let mut seen = Vec::new();
    for (k, _) in d.iter() {
        seen.push(k);
        if k == 10 {
            // Remove most of the table (which compacts it) and add one.
            for j in 11..95 {
                d.remove(&j);
            }
            d.insert(1000, &extra);
        }
    }
    let expected: Vec<u32> = (0..=10).chain(95..100).chain([1000]).collect();
    assert_eq!(seen, expected);
    assert_eq!(d.len(), 17);
}

/// A key whose `Hash` drops the last handle to a stashed value: that value's
/// callback runs while the dictionary's table is borrowed.
#[derive(Clone, PartialEq, Eq)]
struct DroppingKey(u32);

thread_local!(static STASH: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) });

impl Hash for DroppingKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        STASH.with(|s| s.borrow_mut().clear());
        self.0.hash(h);
    }
}

// SAFETY: holds no handle, reports none.
unsafe impl Trace for DroppingKey {
    const TRACKED: bool = false;
    fn trace<V: pygc::Visitor>(&self, _: &mut V) {}
}

#[test]
fn a_callback_that_finds_the_table_borrowed_is_deferred_not_lost() {
    let d = WeakValueDictionary::<DroppingKey, Node>::new();
    let v = Node::new("stashed");
    d.insert(DroppingKey(1), &v);
    STASH.with(|s| s.borrow_mut().push(v));
    // The lookup hashes the key, which kills the value of entry 1 while the
    // table is borrowed: its removal waits on the pending list.
    assert!(d.get(&DroppingKey(2)).is_none());
    assert_eq!(d.len(), 0, "the deferred removal ran");
    assert!(d.get(&DroppingKey(1)).is_none());
    let w = Node::new("w");
    d.insert(DroppingKey(3), &w);
    assert_eq!(d.len(), 1);
}

#[test]
fn during_a_collection_dead_values_are_invisible_and_purge_removes_them() {
    let d = Rc::new(WeakValueDictionary::<u32, Node>::new());
    let a = cycle("a");
    let seen = Rc::new(RefCell::new(None));
    // Registered before the dictionary's own callback, so it runs first:
    // the collector has cleared the weak references, the dictionary's
    // callback has not run yet.
    let (d2, seen2) = (d.clone(), seen.clone());
    let w = Gc::downgrade_with_callback(&a, move || {
        let before = d2.len();
        let visible = (d2.iter().count(), d2.get(&1).is_some());
        d2.purge();
        *seen2.borrow_mut() = Some((before, visible, d2.len()));
    });
    d.insert(1, &a);
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(
        *seen.borrow(),
        Some((1, (0, false), 0)),
        "len counts it as CPython's does; nothing else sees it"
    );
    assert!(d.is_empty());
    drop(w);
}

// ---------------------------------------------------------------- mutation from callbacks and destructors

/// A value whose destructor mutates the dictionary that held it.
#[derive(Trace)]
struct Meddler {
    dict: Rc<WeakKeyDictionary<Node, Meddler>>,
    victim: Option<Gc<Node>>,
    newcomer: Option<(Gc<Node>, Gc<Meddler>)>,
}

impl Drop for Meddler {
    fn drop(&mut self) {
        if let Some(v) = &self.victim {
            self.dict.remove(v);
        }
        if let Some((k, v)) = self.newcomer.take() {
            self.dict.insert(&k, v);
        }
    }
}

fn plain(dict: &Rc<WeakKeyDictionary<Node, Meddler>>) -> Gc<Meddler> {
    Gc::new(Meddler { dict: dict.clone(), victim: None, newcomer: None })
}

#[test]
fn a_key_dictionary_mutated_by_the_destructor_of_a_value_it_drops() {
    let d = Rc::new(WeakKeyDictionary::<Node, Meddler>::new());
    let (k1, k2, k3) = (Node::new("k1"), Node::new("k2"), Node::new("k3"));
    d.insert(&k2, plain(&d));
    // When k1 dies, its value is dropped; that destructor removes k2's entry
    // and inserts k3's.
    let newcomer = Some((k3.clone(), plain(&d)));
    d.insert(&k1, Gc::new(Meddler { dict: d.clone(), victim: Some(k2.clone()), newcomer }));
    assert_eq!(d.len(), 2);
    drop(k1);
    assert_eq!(d.len(), 1);
    assert!(!d.contains_key(&k2));
    assert!(d.contains_key(&k3));
    // The same through clear(): every value dropped after the table is empty.
    let k4 = Node::new("k4");
    d.insert(&k4, Gc::new(Meddler { dict: d.clone(), victim: Some(k3.clone()), newcomer: None }));
    d.clear();
    assert!(d.is_empty());
    drop((k2, k3, k4));
    // The values hold the dictionary (through `Rc`): break that by hand.
    assert_eq!(Rc::strong_count(&d), 1);
}

#[test]
fn a_weakref_callback_mutates_a_dictionary_while_it_is_iterated() {
    let d = Rc::new(WeakValueDictionary::<u32, Node>::new());
    let values: Vec<Gc<Node>> = (0..5).map(|_| Node::new("v")).collect();
    for (i, v) in values.iter().enumerate() {
        d.insert(i as u32, v);
    }
    let late = Node::new("late");
    let trigger = Node::new("trigger");
    let (d2, late2) = (d.clone(), late.clone());
    let w = Gc::downgrade_with_callback(&trigger, move || {
        d2.remove(&3);
        d2.insert(7, &late2);
        d2.insert(0, &late2);
    });
    let mut trigger = Some(trigger);
    let mut seen = Vec::new();
    for (k, _) in d.iter() {
        seen.push(k);
        if k == 1 {
            trigger = None; // its callback runs now
        }
    }
    assert!(trigger.is_none());
    assert_eq!(seen, [0, 1, 2, 4, 7]);
    assert_eq!(d.keys(), [0, 1, 2, 4, 7]);
    assert!(Gc::ptr_eq(&d.get(&0).unwrap(), &late));
    drop(w);
}

#[test]
fn a_set_mutated_by_callbacks_of_its_own_members() {
    let s = Rc::new(WeakSet::<Node>::new());
    let members: Vec<Gc<Node>> = (0..4).map(|_| Node::new("m")).collect();
    for m in &members {
        s.add(m);
    }
    let extra = Node::new("extra");
    let (s2, extra2, m3) = (s.clone(), extra.clone(), members[3].clone());
    let w = Gc::downgrade_with_callback(&members[0], move || {
        s2.discard(&m3);
        s2.add(&extra2);
    });
    let mut members = members.into_iter().map(Some).collect::<Vec<_>>();
    let mut seen = 0;
    for m in s.iter() {
        seen += 1;
        drop(m);
        members[0] = None;
    }
    assert_eq!(seen, 4, "m0 (which dies as it is visited), m1, m2 and extra, not m3");
    assert_eq!(s.len(), 3);
    drop(w);
}

// ---------------------------------------------------------------- WeakKeyDictionary

#[test]
fn key_entries_vanish_on_refcount_death_and_collection() {
    thread_local!(static DROPS: Cell<usize> = const { Cell::new(0) });
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPS.with(|d| d.set(d.get() + 1));
        }
    }
    // SAFETY: no handles.
    unsafe impl Trace for Counted {
        const TRACKED: bool = false;
        fn trace<V: pygc::Visitor>(&self, _: &mut V) {}
    }
    let d = WeakKeyDictionary::<Node, Counted>::new();
    let a = Node::new("a");
    let c = cycle("c");
    d.insert(&a, Gc::new(Counted));
    d.insert(&c, Gc::new(Counted));
    assert_eq!(d.len(), 2);
    assert!(d.get(&a).is_some());
    drop(a);
    assert_eq!((d.len(), DROPS.with(Cell::get)), (1, 1), "the value goes with its key");
    drop(c);
    assert_eq!(d.len(), 1);
    assert_eq!(gc::collect(), 1);
    assert_eq!((d.len(), DROPS.with(Cell::get)), (0, 2));
}

#[test]
fn key_dictionary_uses_identity() {
    let d = WeakKeyDictionary::<String, u32>::new();
    let x = Gc::new(String::from("same"));
    let y = Gc::new(String::from("same"));
    assert_eq!(x, y, "equal values");
    d.insert(&x, Gc::new(1));
    d.insert(&y, Gc::new(2));
    assert_eq!(d.len(), 2, "two objects, two keys");
    assert_eq!(d.insert(&x, Gc::new(3)).as_deref(), Some(&1));
    assert_eq!(*d.get(&x).unwrap(), 3);
    assert_eq!(d.remove(&y).as_deref(), Some(&2));
    let keys = d.keys();
    assert!(keys.len() == 1 && Gc::ptr_eq(&keys[0], &x));
}

#[derive(Trace)]
struct Key {
    _cell: GcCell<Option<Gc<Key>>>,
}

#[derive(Trace)]
struct Meta {
    owner: Gc<Key>,
}

#[test]
fn a_value_that_refers_to_its_key_keeps_it_alive_as_in_cpython() {
    let d = WeakKeyDictionary::<Key, Meta>::new();
    let k = Gc::new(Key { _cell: GcCell::new(None) });
    let w = Gc::downgrade(&k);
    d.insert(&k, Gc::new(Meta { owner: k.clone() }));
    drop(k);
    assert_eq!(gc::collect(), 0);
    assert!(w.upgrade().is_some(), "the pair stays: use an EphemeronMap to let it go");
    assert_eq!(d.len(), 1);
    d.clear();
    assert!(w.upgrade().is_none());
}

// ---------------------------------------------------------------- WeakSet

#[test]
fn weak_set_basics() {
    let s = WeakSet::<Node>::new();
    let a = Node::new("a");
    let b = cycle("b");
    assert!(s.add(&a) && s.add(&b) && !s.add(&a));
    assert!(s.contains(&a));
    assert_eq!(s.len(), 2);
    let members: Vec<&str> = s.iter().map(|n| n.name).collect();
    assert_eq!(members, ["a", "b"]);
    assert!(s.discard(&a) && !s.discard(&a));
    s.add(&a);
    drop(a);
    assert_eq!(s.len(), 1, "refcount death");
    drop(b);
    assert_eq!(gc::collect(), 1);
    assert!(s.is_empty(), "collection");
    let c = Node::new("c");
    s.add(&c);
    let copy = s.clone();
    s.clear();
    assert_eq!((s.len(), copy.len()), (0, 1));
    assert!(Gc::ptr_eq(&copy.to_vec()[0], &c));
}

#[test]
fn weak_set_of_trait_objects() {
    trait Shape {
        fn sides(&self) -> u32;
    }
    pygc::dyn_trace!(dyn Shape);
    #[derive(Trace)]
    struct Square;
    impl Shape for Square {
        fn sides(&self) -> u32 {
            4
        }
    }
    let s = WeakSet::<dyn Shape>::new();
    let sq: Gc<dyn Shape> = pygc::unsize!(Gc::new(Square) => dyn Shape);
    s.add(&sq);
    assert_eq!(s.iter().map(|x| x.sides()).sum::<u32>(), 4);
    drop(sq);
    assert!(s.is_empty());
}

// ---------------------------------------------------------------- finalize

#[test]
fn finalize_runs_once_on_refcount_death() {
    let (ran, func) = counter();
    let obj = Gc::new(String::from("x"));
    let f = weakref::finalize(&obj, func());
    let f2 = f.clone();
    drop(f); // the handle is not the finalizer
    assert!(f2.alive() && f2.atexit());
    assert!(Gc::ptr_eq(&f2.peek().unwrap(), &obj));
    drop(obj);
    assert_eq!(ran.get(), 1);
    assert!(!f2.alive() && !f2.call() && f2.detach().is_none() && f2.peek().is_none());
    assert_eq!(ran.get(), 1);
    assert!(format!("{f2:?}").ends_with("; dead>"));
}

#[test]
fn finalize_runs_once_on_collection() {
    let (ran, func) = counter();
    let a = cycle("a");
    let f = weakref::finalize(&a, func());
    assert!(format!("{f:?}").contains("for 'weakref_toolbox::common::Node'"), "{f:?}");
    drop(a);
    assert_eq!(ran.get(), 0);
    assert_eq!(gc::collect(), 1);
    assert_eq!(ran.get(), 1);
    gc::collect();
    assert_eq!(ran.get(), 1);
    assert!(!f.alive());
}

#[derive(Trace)]
struct SelfFinalized {
    me: GcCell<Option<Gc<SelfFinalized>>>,
    finalizer: GcCell<Option<weakref::Finalizer<SelfFinalized>>>,
}

#[test]
fn a_finalizer_held_by_its_own_garbage_still_runs() {
    let (ran, func) = counter();
    let a = Gc::new(SelfFinalized { me: GcCell::new(None), finalizer: GcCell::new(None) });
    *a.me.borrow_mut() = Some(a.clone());
    *a.finalizer.borrow_mut() = Some(weakref::finalize(&a, func()));
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(ran.get(), 1, "the registry owns the finalizer, not the garbage that holds a handle");
}

#[test]
fn finalize_detach_gives_back_the_object_and_the_function() {
    let (ran, func) = counter();
    let obj = Node::new("x");
    let f = weakref::finalize(&obj, func());
    let (back, func) = f.detach().unwrap();
    assert!(Gc::ptr_eq(&back, &obj));
    assert!(!f.alive() && f.detach().is_none());
    drop((obj, back));
    assert_eq!(ran.get(), 0, "detached: not run at death");
    func();
    assert_eq!(ran.get(), 1);
}

#[test]
fn finalize_call_runs_it_early_once() {
    let (ran, func) = counter();
    let obj = Node::new("x");
    let f = weakref::finalize(&obj, func());
    assert!(f.call());
    assert!(!f.call());
    assert_eq!(ran.get(), 1);
    drop(obj);
    assert_eq!(ran.get(), 1);
}

#[test]
fn finalize_runs_at_heap_drop_newest_first_and_not_when_atexit_is_false() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let vm = Heap::new();
    let (tracked, untracked, garbage, quiet) = vm.enter(|| {
        let g = cycle("garbage");
        (Node::new("tracked"), Gc::new(String::from("untracked")), Gc::downgrade(&g), Gc::new(7u32))
    });
    let push = |name: &'static str| {
        let o = order.clone();
        move || o.borrow_mut().push(name)
    };
    let f1 = weakref::finalize(&tracked, push("tracked"));
    let f2 = weakref::finalize(&untracked, push("untracked"));
    let f3 = weakref::finalize(&garbage.upgrade().unwrap(), push("garbage"));
    let f4 = weakref::finalize(&quiet, push("quiet"));
    f4.set_atexit(false);
    assert!(!f4.atexit());
    drop(vm);
    assert_eq!(
        *order.borrow(),
        ["garbage", "untracked", "tracked"],
        "newest first, as CPython's atexit pass"
    );
    assert!(!f1.alive() && !f2.alive() && !f3.alive());
    assert!(!f4.alive(), "discarded at teardown (CPython's finalize._shutdown)");
    assert!(Gc::try_get(&tracked).is_err(), "the heap cleared what was held from outside");
    assert_eq!(&*untracked, "untracked", "untracked values stay valid");
    drop(quiet);
    assert_eq!(order.borrow().len(), 3);
}

#[test]
fn a_finalizer_made_during_heap_teardown_runs_too() {
    let ran = Rc::new(RefCell::new(Vec::new()));
    let vm = Heap::new();
    let (a, b) = vm.enter(|| (Gc::new(1u8), Gc::new(2u8)));
    let (r, b2) = (ran.clone(), b.clone());
    let _f = weakref::finalize(&a, move || {
        r.borrow_mut().push("a");
        let r = r.clone();
        drop(weakref::finalize(&b2, move || r.borrow_mut().push("b, made by a")));
    });
    drop(vm);
    assert_eq!(*ran.borrow(), ["a", "b, made by a"]);
    drop((a, b));
}

#[test]
fn finalize_runs_at_thread_exit_for_the_default_heap() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    std::thread::spawn(move || {
        let kept = Gc::new(String::from("kept until the thread ends"));
        let (r1, r2) = (r.clone(), r.clone());
        weakref::finalize(&kept, move || {
            r1.fetch_add(1, Ordering::SeqCst);
        });
        let f = weakref::finalize(&kept, move || {
            r2.fetch_add(100, Ordering::SeqCst);
        });
        f.set_atexit(false);
        std::mem::forget(kept);
    })
    .join()
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the atexit one ran, the other was discarded");
}

#[test]
fn a_panicking_finalizer_at_teardown_is_reported_and_the_others_still_run() {
    let (ran, func) = counter();
    let vm = Heap::new();
    let (a, b) = vm.enter(|| (Gc::new(1u8), Gc::new(2u8)));
    let _f1 = weakref::finalize(&a, func());
    let _f2 = weakref::finalize(&b, || panic!("finalizer failed"));
    drop(vm);
    assert_eq!(ran.get(), 1);
    drop((a, b));
}

// ---------------------------------------------------------------- getweakrefcount, getweakrefs

#[test]
fn weakref_counts_and_descriptions() {
    let x = Node::new("x");
    assert_eq!(weakref::getweakrefcount(&x), 0);
    assert!(weakref::getweakrefs(&x).is_empty());
    let d = WeakValueDictionary::<u8, Node>::new();
    d.insert(1, &x);
    d.insert(2, &x);
    let s = WeakSet::<Node>::new();
    s.add(&x);
    let plain: Weak<Node> = Gc::downgrade(&x);
    let plain2 = plain.clone();
    let f = weakref::finalize(&x, || ());
    assert_eq!(weakref::getweakrefcount(&x), 6);
    assert_eq!(weakref::getweakrefcount(&Gc::to_any(&x)), 6);
    let refs = weakref::getweakrefs(&x);
    let one = WeakRefInfo { handles: 1, has_callback: true };
    assert_eq!(refs, [one, one, one, one, WeakRefInfo { handles: 2, has_callback: false }]);
    d.remove(&1);
    f.call();
    assert_eq!(weakref::getweakrefcount(&x), 4);
    drop((plain, plain2));
    assert_eq!(weakref::getweakrefs(&x), [one, one]);
}

thread_local!(static SEEN_IN_FINALIZER: Cell<Option<(usize, usize)>> = const { Cell::new(None) });

#[derive(Trace)]
#[pygc(finalize)]
struct Condemned {
    me: GcCell<Option<Gc<Condemned>>>,
}

thread_local!(static LATE: WeakSet<Condemned> = WeakSet::new());

impl pygc::Finalize for Condemned {
    fn finalize(this: &Gc<Self>) {
        let n = (weakref::getweakrefcount(this), weakref::getweakrefs(this).len());
        SEEN_IN_FINALIZER.with(|s| s.set(Some(n)));
        // Added after the collector cleared its weak references: no
        // callback will ever come, so it counts as dead at once.
        LATE.with(|l| l.add(this));
    }
}

#[test]
fn weak_references_to_garbage_are_cleared_before_its_finalizers_run() {
    let a = Gc::new(Condemned { me: GcCell::new(None) });
    *a.me.borrow_mut() = Some(a.clone());
    let w = Gc::downgrade(&a);
    assert_eq!(weakref::getweakrefcount(&a), 1);
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(SEEN_IN_FINALIZER.with(Cell::get), Some((0, 0)), "as CPython: cleared, so not counted");
    assert_eq!(LATE.with(WeakSet::len), 0);
    drop(w);
}

// ---------------------------------------------------------------- inside pygc objects

thread_local!(static OWNERS_DROPPED: Cell<usize> = const { Cell::new(0) });

#[derive(Trace)]
struct Owner {
    me: GcCell<Option<Gc<Owner>>>,
    by_name: WeakValueDictionary<String, Owner>,
    extra: WeakKeyDictionary<Owner, Owner>,
    seen: WeakSet<Owner>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        OWNERS_DROPPED.with(|d| d.set(d.get() + 1));
    }
}

fn owner() -> Gc<Owner> {
    Gc::new(Owner {
        me: GcCell::new(None),
        by_name: WeakValueDictionary::new(),
        extra: WeakKeyDictionary::new(),
        seen: WeakSet::new(),
    })
}

#[test]
fn containers_inside_a_cycle_are_collected() {
    let before = OWNERS_DROPPED.with(Cell::get);
    let a = owner();
    let b = owner();
    *a.me.borrow_mut() = Some(b.clone()); // a -> b
    a.by_name.insert("b".into(), &b);
    a.by_name.insert("a".into(), &a);
    a.seen.add(&a);
    a.seen.add(&b);
    // b -> a only through b's WeakKeyDictionary's strong value: a cycle the
    // collector sees only if the dictionary reports its values.
    b.extra.insert(&b, a.clone());
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert!(wa.upgrade().is_none() && wb.upgrade().is_none());
    assert_eq!(OWNERS_DROPPED.with(Cell::get) - before, 2);
    assert!(pygc::inspect::verify().is_ok());
}

#[test]
fn a_dictionary_that_survives_loses_the_entries_of_collected_values() {
    let holder = owner();
    let x = owner();
    *x.me.borrow_mut() = Some(x.clone());
    holder.by_name.insert("x".into(), &x);
    holder.seen.add(&x);
    drop(x);
    assert_eq!(gc::collect(), 1);
    assert!(holder.by_name.is_empty() && holder.seen.is_empty());
}

thread_local!(static RESURRECTED: RefCell<Option<Gc<Phoenix>>> = const { RefCell::new(None) });

#[derive(Trace)]
#[pygc(finalize)]
struct Phoenix {
    me: GcCell<Option<Gc<Phoenix>>>,
    cache: WeakValueDictionary<u32, Phoenix>,
    members: WeakSet<Phoenix>,
}

impl pygc::Finalize for Phoenix {
    fn finalize(this: &Gc<Self>) {
        RESURRECTED.with(|r| *r.borrow_mut() = Some(this.clone()));
    }
}

#[test]
fn a_resurrected_container_drops_the_entries_the_collector_cleared() {
    let a = Gc::new(Phoenix {
        me: GcCell::new(None),
        cache: WeakValueDictionary::new(),
        members: WeakSet::new(),
    });
    *a.me.borrow_mut() = Some(a.clone());
    a.cache.insert(1, &a);
    a.members.add(&a);
    drop(a);
    assert_eq!(gc::collect(), 0, "resurrected by its finalizer");
    let a = RESURRECTED.with(|r| r.borrow_mut().take()).unwrap();
    // The weak handles were inside the garbage: the collector dropped their
    // callbacks uncalled, and dropping them removed the dead entries
    // (CPython leaves such entries in, and still counts them).
    assert_eq!((a.cache.len(), a.members.len()), (0, 0));
    drop(a);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn objects_of_other_heaps() {
    let d = WeakValueDictionary::<u32, Node>::new();
    let s = WeakSet::<Node>::new();
    let (vm1, vm2) = (Heap::new(), Heap::new());
    let a = vm1.enter(|| Node::new("in vm1"));
    let b = vm2.enter(|| cycle("in vm2"));
    let c = Node::new("default heap");
    for (i, n) in [&a, &b, &c].into_iter().enumerate() {
        d.insert(i as u32, n);
        s.add(n);
    }
    drop(b);
    assert_eq!(gc::collect(), 0, "the default heap's collector does not touch vm2");
    assert_eq!(d.len(), 3);
    assert_eq!(vm2.collect(), 1);
    assert_eq!((d.len(), s.len()), (2, 2));
    drop(vm1); // clears `a`, held from outside: its weak references go
    assert_eq!(d.keys(), [2]);
    assert_eq!(s.len(), 1);
    assert!(Gc::try_get(&a).is_err());
}

// ---------------------------------------------------------------- against CPython

#[derive(Trace)]
struct PNode {
    r#ref: GcCell<Option<Gc<PNode>>>,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn program(seed: u64) -> String {
    let mut r = Rng(seed * 0x9E37_79B9 + 7);
    let mut ops: Vec<String> = (0..8).map(|i| format!("new {i}")).collect();
    for _ in 0..(10 + r.next(50)) {
        let (i, j) = (r.next(8), r.next(8));
        ops.push(match r.next(16) {
            0 => format!("new {i}"),
            1..=3 => format!("link {i} {j}"),
            4 => format!("unlink {i}"),
            5 | 6 => format!("del {i}"),
            7 | 8 => format!("vd {} {i}", r.next(5)),
            9 => format!("kd {i} {j}"),
            10 | 11 => format!("ws {i}"),
            12 => format!("fin {i}"),
            13 | 14 => "len".to_string(),
            _ => "collect".to_string(),
        });
    }
    ops.join(";")
}

/// The numbers `collect` printed in a program's output (each `len` prints
/// four, the end of the program ten, two of them collections).
fn collections(program: &str, out: &[usize]) -> usize {
    let mut at = 0;
    let mut sum = 0;
    for op in program.split(';') {
        match op.split_whitespace().next() {
            Some("len") => at += 4,
            Some("collect") => {
                sum += out[at];
                at += 1;
            }
            _ => {}
        }
    }
    sum + out[at] + out[at + 5]
}

/// The same program as `weakref_toolbox.py`, with pygc.
fn run(program: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let ran = Rc::new(Cell::new(0));
    let mut nodes: Vec<Option<Gc<PNode>>> = vec![None; 8];
    let wvd = WeakValueDictionary::<usize, PNode>::new();
    let wkd = WeakKeyDictionary::<PNode, PNode>::new();
    let wset = WeakSet::<PNode>::new();
    let lens = |out: &mut Vec<usize>| out.extend([wvd.len(), wkd.len(), wset.len(), ran.get()]);
    for op in program.split(';') {
        let words: Vec<&str> = op.split_whitespace().collect();
        let args: Vec<usize> = words[1..].iter().map(|w| w.parse().unwrap()).collect();
        match words[0] {
            "new" => nodes[args[0]] = Some(Gc::new(PNode { r#ref: GcCell::new(None) })),
            "link" => {
                if let Some(n) = &nodes[args[0]] {
                    *n.r#ref.borrow_mut() = nodes[args[1]].clone();
                }
            }
            "unlink" => {
                if let Some(n) = &nodes[args[0]] {
                    n.r#ref.borrow_mut().take();
                }
            }
            "del" => nodes[args[0]] = None,
            "vd" => {
                if let Some(n) = &nodes[args[1]] {
                    wvd.insert(args[0], n);
                }
            }
            "kd" => {
                if let (Some(k), Some(v)) = (&nodes[args[0]], &nodes[args[1]]) {
                    wkd.insert(k, v.clone());
                }
            }
            "ws" => {
                if let Some(n) = &nodes[args[0]] {
                    wset.add(n);
                }
            }
            "fin" => {
                if let Some(n) = &nodes[args[0]] {
                    let ran = ran.clone();
                    weakref::finalize(n, move || ran.set(ran.get() + 1));
                }
            }
            "len" => lens(&mut out),
            "collect" => out.push(gc::collect()),
            other => panic!("unknown op {other}"),
        }
    }
    drop(nodes);
    out.push(gc::collect());
    lens(&mut out);
    wkd.clear();
    out.push(gc::collect());
    lens(&mut out);
    out
}

#[test]
fn observable_sequence_matches_cpython() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let programs: Vec<String> = (0..150).map(program).collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/weakref_toolbox.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 is required as the oracle: {e}"));
    child.stdin.take().unwrap().write_all((programs.join("\n") + "\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<Vec<usize>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(|n| n.parse().unwrap()).collect())
        .collect();
    gc::disable();
    let got: Vec<Vec<usize>> = programs.iter().map(|p| run(p.as_str())).collect();
    gc::enable();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "program {i}: {}", programs[i]);
    }
    let collected: usize = programs.iter().zip(&expected).map(|(p, e)| collections(p, e)).sum();
    let finalized: usize = expected.iter().map(|e| e[e.len() - 1]).sum();
    let watched: usize = expected.iter().map(|e| e[e.len() - 9..e.len() - 6].iter().sum::<usize>()).sum();
    assert!(
        collected > 40 && finalized > 100 && watched > 40,
        "the programs exercise cycles, finalizers and leaks: {collected} {finalized} {watched}"
    );
}
