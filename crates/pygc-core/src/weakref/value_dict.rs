//! `WeakValueDictionary`: values held weakly, entries gone with them.

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::Hash;
use std::rc::Rc;

use super::table::Core;
use crate::handle::gc::Gc;
use crate::handle::pointee::GcPointee;
use crate::handle::weak::Weak;
use crate::object::trace::{Trace, Visitor};

/// A map whose values are held weakly (`weakref.WeakValueDictionary`): an
/// entry vanishes when its value dies, by reference count or by the
/// collector. Keys are ordinary Rust keys (`Hash + Eq + Clone`), held
/// strongly; values are pygc objects, given as `&Gc<V>` and returned as
/// strong handles.
///
/// ```
/// use pygc::weakref::WeakValueDictionary;
/// use pygc::Gc;
///
/// let cache = WeakValueDictionary::<&str, String>::new();
/// let spam = Gc::new(String::from("spam"));
/// cache.insert("a", &spam);                                   // cache['a'] = spam
/// assert_eq!(cache.get("a").as_deref().map(String::as_str), Some("spam"));
/// assert_eq!(cache.len(), 1);
/// drop(spam);                                                 // del spam
/// assert_eq!(cache.len(), 0);
/// assert!(cache.get("a").is_none());
/// ```
///
/// All methods take `&self`, so the dictionary can be a field of a pygc
/// object and be used from weakref callbacks and destructors, also while it
/// is being iterated (see the [module docs](super)). The key type's `Hash`,
/// `Eq` and `Clone` run while the table is borrowed: they must not use the
/// dictionary (a `RefCell` panic says so if they do).
///
/// `Clone` makes a new dictionary with the same live entries
/// (`WeakValueDictionary.copy()`).
pub struct WeakValueDictionary<K, V: ?Sized + GcPointee> {
    /// Owned by this dictionary alone (callbacks hold `rc::Weak`s): the
    /// `Trace` impl reports what it holds exactly once.
    core: Rc<Core<K, Weak<V>, RandomState>>,
}

impl<K, V> WeakValueDictionary<K, V>
where
    K: Hash + Eq + Clone + 'static,
    V: ?Sized + GcPointee,
{
    /// An empty dictionary.
    pub fn new() -> Self {
        WeakValueDictionary { core: Core::new() }
    }

    /// Maps `key` to `value` (`d[key] = value`), held weakly; returns the
    /// previous value if it is alive. A key already present keeps its place
    /// in the iteration order.
    pub fn insert(&self, key: K, value: &Gc<V>) -> Option<Gc<V>> {
        self.core.flush();
        let core = &self.core;
        let (spare_key, old) =
            core.insert(key, K::clone, |id| Gc::downgrade_with_callback(value, core.callback(id)));
        let previous = old.as_ref().and_then(Weak::upgrade);
        drop((spare_key, old)); // outside the borrow: user code
        previous
    }

    /// The value of `key`, if it is there and alive (`d.get(key)`).
    #[must_use]
    pub fn get<Q>(&self, key: &Q) -> Option<Gc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.core.flush();
        self.core.find(key, |_, w| w.upgrade()).flatten()
    }

    /// The value of `key`; if there is none, inserts and returns `default()`
    /// (`d.setdefault(key, default)`, the usual interning cache).
    pub fn get_or_insert_with(&self, key: K, default: impl FnOnce() -> Gc<V>) -> Gc<V> {
        if let Some(v) = self.get(&key) {
            return v;
        }
        let v = default();
        drop(self.insert(key, &v));
        v
    }

    /// Whether `key` maps to a live value (`key in d`).
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Removes `key`'s entry (`d.pop(key, None)`), returning its value if it
    /// was alive.
    pub fn remove<Q>(&self, key: &Q) -> Option<Gc<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.core.flush();
        let removed = self.core.remove(key);
        let value = removed.as_ref().and_then(|(_, w)| w.upgrade());
        drop(removed);
        value
    }

    /// The number of entries (`len(d)`): the entries whose value has not
    /// died, with the one exception the [module docs](super) describe.
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether [`len`](Self::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the live entries in insertion order, yielding each key
    /// (cloned) with a strong handle to its value. No borrow is held between
    /// steps: the dictionary may be mutated meanwhile, and a value that dies
    /// before its turn is not yielded.
    pub fn iter(&self) -> ValueDictIter<'_, K, V> {
        self.core.flush();
        ValueDictIter { dict: self, cursor: 0 }
    }

    /// The keys of the live entries, a snapshot (`list(d.keys())`).
    pub fn keys(&self) -> Vec<K> {
        self.iter().map(|(k, _)| k).collect()
    }

    /// The live values, a snapshot of strong handles (`list(d.values())`).
    pub fn values(&self) -> Vec<Gc<V>> {
        self.iter().map(|(_, v)| v).collect()
    }

    /// The live entries, a snapshot (`list(d.items())`).
    pub fn items(&self) -> Vec<(K, Gc<V>)> {
        self.iter().collect()
    }

    /// Removes every entry.
    pub fn clear(&self) {
        let all = self.core.take_all();
        drop(all); // outside the borrow
    }

    /// Removes the entries whose value died but whose callback has not run
    /// yet (only possible while a collection runs), and the removals
    /// callbacks deferred. Every other operation does the latter already.
    pub fn purge(&self) {
        self.core.purge();
    }
}

impl<K, V> Default for WeakValueDictionary<K, V>
where
    K: Hash + Eq + Clone + 'static,
    V: ?Sized + GcPointee,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Clone for WeakValueDictionary<K, V>
where
    K: Hash + Eq + Clone + 'static,
    V: ?Sized + GcPointee,
{
    fn clone(&self) -> Self {
        let copy = Self::new();
        for (k, v) in self.iter() {
            copy.insert(k, &v);
        }
        copy
    }
}

/// The iterator of [`WeakValueDictionary::iter`].
pub struct ValueDictIter<'a, K, V: ?Sized + GcPointee> {
    dict: &'a WeakValueDictionary<K, V>,
    /// The id of the next entry to visit (ids only grow: see `table.rs`).
    cursor: u64,
}

impl<K, V> Iterator for ValueDictIter<'_, K, V>
where
    K: Hash + Eq + Clone + 'static,
    V: ?Sized + GcPointee,
{
    type Item = (K, Gc<V>);
    fn next(&mut self) -> Option<Self::Item> {
        self.dict.core.next_live(&mut self.cursor, |k, w| Some((k.clone(), w.upgrade()?)))
    }
}

impl<'a, K, V> IntoIterator for &'a WeakValueDictionary<K, V>
where
    K: Hash + Eq + Clone + 'static,
    V: ?Sized + GcPointee,
{
    type Item = (K, Gc<V>);
    type IntoIter = ValueDictIter<'a, K, V>;
    fn into_iter(self) -> ValueDictIter<'a, K, V> {
        self.iter()
    }
}

impl<K, V> fmt::Debug for WeakValueDictionary<K, V>
where
    K: Hash + Eq + Clone + fmt::Debug + 'static,
    V: ?Sized + GcPointee + fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakValueDictionary")?;
        f.debug_map().entries(self.iter()).finish()
    }
}

// SAFETY: reports exactly what the dictionary owns, each once: every key it
// holds (two copies of each: the entry's and the index's, two values)
// through the key type's own impl, and every value's weak handle as a weak
// handle (it keeps nothing alive). The `Rc` is owned by this dictionary
// alone (callbacks keep `rc::Weak`s), so no other traced value reports the
// same handles. The table changes only through the dictionary's methods,
// never from inside a `Trace`, so the report is the same on every call
// while the dictionary is unchanged. Nothing of the heap is touched; a table borrowed right now is reported as
// untraceable, which keeps what it holds. TRACKED: only keys can hold
// strong handles.
unsafe impl<K, V> Trace for WeakValueDictionary<K, V>
where
    K: Hash + Eq + Clone + Trace + 'static,
    V: ?Sized + GcPointee,
{
    const TRACKED: bool = K::TRACKED;
    const FROZEN: bool = !K::TRACKED;
    fn trace<Vis: Visitor>(&self, v: &mut Vis) {
        self.core.trace_entries(v, |w, v| v.field("value", |v| w.trace(v)));
    }
}
