//! Ephemerons: a value that refers to its key keeps a CPython-style weak-key
//! dictionary's pair alive for ever; an `EphemeronMap` lets both go.

use pygc::{gc, EphemeronMap, Gc, GcCell, Trace, Weak};

#[derive(Trace)]
struct Key {
    name: &'static str,
    _cell: GcCell<Option<Gc<Key>>>,
}

fn key(name: &'static str) -> Gc<Key> {
    Gc::new(Key { name, _cell: GcCell::new(None) })
}

#[derive(Trace)]
struct Meta {
    owner: Option<Gc<Key>>,
    next_key: Option<Gc<Key>>,
}

/// What CPython's `WeakKeyDictionary` is: weak keys, strong values.
#[derive(Trace)]
struct WeakKeyDict {
    entries: GcCell<Vec<(Weak<Key>, Gc<Meta>)>>,
}

#[test]
fn a_cpython_style_weak_key_dictionary_keeps_a_key_its_value_refers_to() {
    let dict = Gc::new(WeakKeyDict { entries: GcCell::new(Vec::new()) });
    let k = key("k");
    let w = Gc::downgrade(&k);
    dict.entries
        .borrow_mut()
        .push((Gc::downgrade(&k), Gc::new(Meta { owner: Some(k.clone()), next_key: None })));
    drop(k);
    assert_eq!(gc::collect(), 0);
    assert!(w.upgrade().is_some(), "the value holds its key: the pair leaks (CPython's behaviour)");
    dict.entries.borrow_mut().clear();
}

#[test]
fn an_ephemeron_lets_a_key_go_that_its_value_refers_to() {
    let map = EphemeronMap::<Key, Meta>::new();
    let k = key("k");
    let w = Gc::downgrade(&k);
    EphemeronMap::insert(&map, &k, Gc::new(Meta { owner: Some(k.clone()), next_key: None }));
    assert_eq!(map.get(&k).unwrap().owner.as_ref().unwrap().name, "k");
    assert_eq!(gc::collect(), 0, "the key is held from outside: everything stays");
    assert_eq!(map.len(), 1);
    drop(k);
    assert_eq!(gc::collect(), 2, "the key and its value");
    assert!(w.upgrade().is_none());
    assert_eq!(map.len(), 0);
}

#[test]
fn a_value_lives_while_its_key_lives() {
    let map = EphemeronMap::<Key, Meta>::new();
    let k = key("k");
    let v = Gc::new(Meta { owner: None, next_key: None });
    let wv = Gc::downgrade(&v);
    EphemeronMap::insert(&map, &k, v);
    gc::collect();
    assert!(wv.upgrade().is_some(), "held only through the map, for its live key");
    drop(k);
    assert!(wv.upgrade().is_none(), "the key died by refcount: its entry and value went with it");
    assert!(map.is_empty());
}

#[test]
fn chains_of_ephemerons_resolve_in_rounds() {
    // k1 -> v1 (which holds k2) ; k2 -> v2 (which holds k2 itself).
    let map = EphemeronMap::<Key, Meta>::new();
    let k1 = key("k1");
    let k2 = key("k2");
    let w2 = Gc::downgrade(&k2);
    EphemeronMap::insert(&map, &k1, Gc::new(Meta { owner: None, next_key: Some(k2.clone()) }));
    EphemeronMap::insert(&map, &k2, Gc::new(Meta { owner: Some(k2.clone()), next_key: None }));
    drop(k2);
    assert_eq!(gc::collect(), 0, "k1 is alive, so v1, so k2, so v2");
    assert!(w2.upgrade().is_some());
    assert_eq!(map.len(), 2);
    drop(k1);
    // k1 died by refcount, its entry (and v1) with it; k2 and v2 are left,
    // held only by each other through the ephemeron.
    assert_eq!(gc::collect(), 2);
    assert!(w2.upgrade().is_none());
    assert!(map.is_empty());
}

#[derive(Trace)]
struct MapOwner {
    map: Gc<EphemeronMap<Key, Meta>>,
    key: Gc<Key>,
    me: GcCell<Option<Gc<MapOwner>>>,
}

#[test]
fn a_garbage_map_goes_with_its_entries() {
    let map = EphemeronMap::<Key, Meta>::new();
    let k = key("k");
    EphemeronMap::insert(&map, &k, Gc::new(Meta { owner: Some(k.clone()), next_key: None }));
    let owner = Gc::new(MapOwner { map, key: k, me: GcCell::new(None) });
    *owner.me.borrow_mut() = Some(owner.clone());
    let w = Gc::downgrade(&owner.key);
    drop(owner);
    assert_eq!(gc::collect(), 4, "the owner, the map, the key and its value");
    assert!(w.upgrade().is_none());
    assert!(gc::get_objects(None).unwrap().is_empty());
}

#[test]
fn edges_of_an_ephemeron_are_labelled_key_and_value() {
    let map = EphemeronMap::<Key, Meta>::new();
    let k = key("k");
    EphemeronMap::insert(&map, &k, Gc::new(Meta { owner: None, next_key: None }));
    let labels: Vec<(String, bool)> =
        Gc::to_any(&map).edges().into_iter().map(|e| (e.label, e.weak)).collect();
    assert_eq!(labels, [("key".to_string(), true), ("value".to_string(), false)]);
    drop(k);
}

#[test]
fn an_untracked_key_is_refused_with_a_clear_panic() {
    let map = EphemeronMap::<u32, Meta>::new();
    let k = Gc::new(7u32);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        EphemeronMap::insert(&map, &k, Gc::new(Meta { owner: None, next_key: None }));
    }));
    let msg = r.unwrap_err().downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("keys must be of a type the collector tracks"), "{msg}");
    assert!(map.is_empty());
}
