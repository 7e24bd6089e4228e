//! `EphemeronMap`: a weak-keyed map whose values do not keep their keys
//! alive, even when a value refers to its key (JavaScript's `WeakMap`).
//! CPython's `WeakKeyDictionary` holds its values strongly, so a value that
//! refers to its key keeps the pair alive for ever; here the collector
//! understands the entry (`Visitor::visit_ephemeron`): a value is reachable
//! through the map only if its key is reachable from elsewhere.

use std::collections::HashMap;

use super::cell::GcCell;
use super::gc::Gc;
use super::pointee::GcPointee;
use super::weak::Weak;
use crate::object::trace::{Trace, Visitor};

struct Entry<K: ?Sized + GcPointee, V: ?Sized + GcPointee> {
    /// Carries the callback that removes the entry when the key dies.
    key: Weak<K>,
    value: Gc<V>,
}

/// A map from objects (by identity) to values, holding each value only as
/// long as its key is alive.
///
/// ```
/// use pygc::{gc, EphemeronMap, Gc, GcCell, Trace};
///
/// #[derive(Trace)]
/// #[pygc(tracked)] // ephemeron keys must be of a type the collector tracks
/// struct Key { name: &'static str }
/// #[derive(Trace)]
/// struct Meta { owner: Gc<Key> } // refers back to its key
///
/// let map = EphemeronMap::<Key, Meta>::new();
/// let k = Gc::new(Key { name: "k" });
/// EphemeronMap::insert(&map, &k, Gc::new(Meta { owner: k.clone() }));
/// assert_eq!(map.get(&k).unwrap().owner.name, "k");
/// drop(k);
/// gc::collect(); // the value's reference to its key keeps nothing alive
/// assert_eq!(map.len(), 0);
/// ```
pub struct EphemeronMap<K: ?Sized + GcPointee, V: ?Sized + GcPointee> {
    entries: GcCell<HashMap<usize, Entry<K, V>>>,
}

impl<K: ?Sized + GcPointee, V: ?Sized + GcPointee> EphemeronMap<K, V> {
    /// An empty map (in the current heap).
    #[track_caller]
    pub fn new() -> Gc<EphemeronMap<K, V>> {
        Gc::new(EphemeronMap { entries: GcCell::new(HashMap::new()) })
    }

    /// Maps `key` to `value` (replacing and returning an earlier value).
    ///
    /// The collector must be able to decide the key's reachability, so its
    /// type must be one it tracks (it can hold handles, or is
    /// `#[pygc(tracked)]`): panics otherwise. Key and value join a
    /// generation if they were never linked (frozen values are untracked at
    /// birth; here their reachability matters).
    #[track_caller]
    pub fn insert(this: &Gc<Self>, key: &Gc<K>, value: Gc<V>) -> Option<Gc<V>> {
        assert!(
            crate::gc::is_trackable(key),
            "EphemeronMap: keys must be of a type the collector tracks ({} is not: add #[pygc(tracked)])",
            Gc::to_any(key).type_name()
        );
        crate::gc::track(key);
        crate::gc::track(&value);
        let map = Gc::downgrade(this);
        let id = Gc::id(key);
        // When the key dies (by refcount or collection) the entry goes, and
        // with it the map's hold on the value.
        let key = Gc::downgrade_with_callback(key, move || {
            if let Some(map) = map.upgrade() {
                // If the map is borrowed right now, the entry waits for the
                // next purge (dead keys are never visible meanwhile).
                let gone = map.entries.try_borrow_mut().ok().and_then(|mut e| e.remove(&id));
                drop(gone); // outside the borrow: the value's Drop is user code
            }
        });
        this.purge();
        let old = this.entries.borrow_mut().insert(id, Entry { key, value });
        old.map(|e| e.value)
    }

    /// Drops the entries whose key died while the map was borrowed.
    pub fn purge(&self) {
        let dead: Vec<Entry<K, V>> = {
            let mut entries = self.entries.borrow_mut();
            let ids: Vec<usize> =
                entries.iter().filter(|(_, e)| e.key.upgrade().is_none()).map(|(&id, _)| id).collect();
            ids.iter().filter_map(|id| entries.remove(id)).collect()
        };
        drop(dead); // outside the borrow
    }

    /// The value of `key`, if mapped.
    pub fn get(&self, key: &Gc<K>) -> Option<Gc<V>> {
        let entries = self.entries.borrow();
        let e = entries.get(&Gc::id(key))?;
        // The same object, not a new one at a reused address.
        e.key.upgrade().filter(|k| Gc::ptr_eq(k, key))?;
        Some(e.value.clone())
    }

    /// Removes `key`'s entry, returning its value.
    pub fn remove(&self, key: &Gc<K>) -> Option<Gc<V>> {
        let e = self.entries.borrow_mut().remove(&Gc::id(key))?;
        Some(e.value)
    }

    /// Whether `key` is mapped.
    pub fn contains_key(&self, key: &Gc<K>) -> bool {
        self.get(key).is_some()
    }

    /// Entries whose key is alive.
    pub fn len(&self) -> usize {
        self.entries.borrow().values().filter(|e| e.key.upgrade().is_some()).count()
    }

    /// Whether no key is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live entries, as strong handles.
    pub fn items(&self) -> Vec<(Gc<K>, Gc<V>)> {
        self.entries.borrow().values().filter_map(|e| Some((e.key.upgrade()?, e.value.clone()))).collect()
    }
}

// SAFETY: each entry reports its value once, as an ephemeron of its key (a
// strong handle the map owns, reachable only through a live key); the keys
// are weak handles, reported with it; a borrowed map reports itself
// untraceable, which keeps what it holds.
unsafe impl<K: ?Sized + GcPointee, V: ?Sized + GcPointee> Trace for EphemeronMap<K, V> {
    // Apart from its handles the map is a `HashMap` of `usize` keys.
    const SEND: bool = true;
    const HOLDS_WEAK: bool = true;
    fn trace<Vis: Visitor>(&self, v: &mut Vis) {
        match self.entries.try_borrow() {
            Ok(entries) => {
                for e in entries.values() {
                    v.visit_ephemeron(&e.key, &e.value);
                }
            }
            Err(_) => v.untraceable(),
        }
    }
}
