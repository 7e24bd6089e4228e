//! `WeakKeyDictionary`: keys held weakly, by identity; values strongly.

use std::fmt;
use std::rc::Rc;

use super::table::{Core, Liveness};
use crate::addr_hash::AddrHash;
use crate::handle::gc::Gc;
use crate::handle::pointee::GcPointee;
use crate::handle::weak::Weak;
use crate::object::trace::{Trace, Visitor};

struct Entry<K: ?Sized + GcPointee, V: ?Sized + GcPointee> {
    /// Keeps the key's block (so its address, the entry's key) allocated
    /// while the entry exists: an address in the index never names another
    /// object.
    key: Weak<K>,
    value: Gc<V>,
}

impl<K: ?Sized + GcPointee, V: ?Sized + GcPointee> Liveness for Entry<K, V> {
    fn is_dead(&self) -> bool {
        self.key.is_dead()
    }
}

/// A map whose keys are held weakly (`weakref.WeakKeyDictionary`): an entry
/// vanishes when its key dies, by reference count or by the collector, and
/// its value is dropped then. Keys are compared by identity
/// ([`Gc::id`], Python's `is`; the [module docs](super) say why); values
/// are held strongly.
///
/// ```
/// use pygc::weakref::WeakKeyDictionary;
/// use pygc::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Widget { name: &'static str }
///
/// let labels = WeakKeyDictionary::<Widget, String>::new();
/// let ok = Gc::new(Widget { name: "ok" });
/// labels.insert(&ok, Gc::new(String::from("OK button")));    // labels[ok] = "OK button"
/// assert_eq!(labels.get(&ok).as_deref().map(String::as_str), Some("OK button"));
/// drop(ok);                                                  // del ok
/// assert!(labels.is_empty());
/// ```
///
/// As in CPython, **a value that refers to its key keeps it alive**: the
/// dictionary holds the value, the value holds the key, and the entry stays
/// for as long as the dictionary does, collections included (the collector
/// sees the dictionary's strong edge to the value like any other). When
/// values may refer to their keys, use an [`EphemeronMap`](crate::EphemeronMap),
/// whose values the collector treats as reachable only through their key.
///
/// All methods take `&self`; the dictionary can be a field of a pygc object
/// and be used from weakref callbacks and destructors, also while it is
/// being iterated. `Clone` copies the live entries
/// (`WeakKeyDictionary.copy()`).
pub struct WeakKeyDictionary<K: ?Sized + GcPointee, V: ?Sized + GcPointee> {
    /// Owned by this dictionary alone (callbacks hold `rc::Weak`s).
    core: Rc<Core<usize, Entry<K, V>, AddrHash>>,
}

impl<K: ?Sized + GcPointee, V: ?Sized + GcPointee> WeakKeyDictionary<K, V> {
    /// An empty dictionary.
    pub fn new() -> Self {
        WeakKeyDictionary { core: Core::new() }
    }

    /// Maps `key` to `value` (`d[key] = value`); returns the previous value.
    pub fn insert(&self, key: &Gc<K>, value: Gc<V>) -> Option<Gc<V>> {
        self.core.flush();
        let core = &self.core;
        let make = |id| Entry { key: Gc::downgrade_with_callback(key, core.callback(id)), value };
        let (_, old) = core.insert(Gc::id(key), |&k| k, make);
        let old = old.map(|e| (e.key.is_dead(), e.value));
        old.and_then(|(dead, value)| (!dead).then_some(value))
    }

    /// The value of `key`, if it is there (`d.get(key)`).
    #[must_use]
    pub fn get(&self, key: &Gc<K>) -> Option<Gc<V>> {
        self.core.flush();
        self.core.find(&Gc::id(key), |_, e| e.value.clone())
    }

    /// Whether `key` is there (`key in d`).
    pub fn contains_key(&self, key: &Gc<K>) -> bool {
        self.core.flush();
        self.core.find(&Gc::id(key), |_, _| ()).is_some()
    }

    /// Removes `key`'s entry (`d.pop(key, None)`), returning its value.
    pub fn remove(&self, key: &Gc<K>) -> Option<Gc<V>> {
        self.core.flush();
        let (_, e) = self.core.remove(&Gc::id(key))?;
        (!e.key.is_dead()).then_some(e.value)
    }

    /// The number of entries (`len(d)`): those whose key has not died, with
    /// the one exception the [module docs](super) describe.
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether [`len`](Self::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the live entries in insertion order, as strong handles
    /// to the key and the value. No borrow is held between steps: the
    /// dictionary may be mutated meanwhile, and a key that dies before its
    /// turn is not yielded.
    pub fn iter(&self) -> KeyDictIter<'_, K, V> {
        self.core.flush();
        KeyDictIter { dict: self, cursor: 0 }
    }

    /// The live keys, a snapshot of strong handles (`list(d.keys())`).
    pub fn keys(&self) -> Vec<Gc<K>> {
        self.iter().map(|(k, _)| k).collect()
    }

    /// The values of the live keys, a snapshot (`list(d.values())`).
    pub fn values(&self) -> Vec<Gc<V>> {
        self.iter().map(|(_, v)| v).collect()
    }

    /// The live entries, a snapshot (`list(d.items())`).
    pub fn items(&self) -> Vec<(Gc<K>, Gc<V>)> {
        self.iter().collect()
    }

    /// Removes every entry.
    pub fn clear(&self) {
        let all = self.core.take_all();
        drop(all); // outside the borrow: the values' destructors are user code
    }

    /// Removes the entries whose key died but whose callback has not run
    /// yet (only possible while a collection runs), and the removals
    /// callbacks deferred.
    pub fn purge(&self) {
        self.core.purge();
    }
}

impl<K: ?Sized + GcPointee, V: ?Sized + GcPointee> Default for WeakKeyDictionary<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized + GcPointee, V: ?Sized + GcPointee> Clone for WeakKeyDictionary<K, V> {
    fn clone(&self) -> Self {
        let copy = Self::new();
        for (k, v) in self.iter() {
            copy.insert(&k, v);
        }
        copy
    }
}

/// The iterator of [`WeakKeyDictionary::iter`].
pub struct KeyDictIter<'a, K: ?Sized + GcPointee, V: ?Sized + GcPointee> {
    dict: &'a WeakKeyDictionary<K, V>,
    cursor: u64,
}

impl<K: ?Sized + GcPointee, V: ?Sized + GcPointee> Iterator for KeyDictIter<'_, K, V> {
    type Item = (Gc<K>, Gc<V>);
    fn next(&mut self) -> Option<Self::Item> {
        self.dict.core.next_live(&mut self.cursor, |_, e| Some((e.key.upgrade()?, e.value.clone())))
    }
}

impl<'a, K: ?Sized + GcPointee, V: ?Sized + GcPointee> IntoIterator for &'a WeakKeyDictionary<K, V> {
    type Item = (Gc<K>, Gc<V>);
    type IntoIter = KeyDictIter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: ?Sized + GcPointee + fmt::Debug, V: ?Sized + GcPointee + fmt::Debug> fmt::Debug
    for WeakKeyDictionary<K, V>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakKeyDictionary")?;
        f.debug_map().entries(self.iter()).finish()
    }
}

// SAFETY: reports exactly what the dictionary owns, each once: per entry
// the key's weak handle (as weak: it keeps nothing alive) and the value's
// strong handle (which the entry owns). The index holds addresses, no
// handles. The `Rc` is owned by this dictionary alone (callbacks keep
// `rc::Weak`s), so no other traced value reports the same handles. The
// table changes only through the dictionary's methods, never from inside a
// `Trace`, so the report is the same on every call while the dictionary is
// unchanged. Nothing of the heap is touched; a table borrowed right now is
// reported as untraceable, which keeps what it holds.
unsafe impl<K: ?Sized + GcPointee, V: ?Sized + GcPointee> Trace for WeakKeyDictionary<K, V> {
    fn trace<Vis: Visitor>(&self, v: &mut Vis) {
        self.core.trace_entries(v, |e, v| {
            v.field("key", |v| e.key.trace(v));
            v.field("value", |v| e.value.trace(v));
        });
    }
}
