//! `dict`: an insertion-ordered hash table (CPython's compact layout: an
//! index table into a dense entry array).
//!
//! The table only stores; deciding key equality (which may call Python
//! `__eq__`) is the VM's job: it asks for the entries whose hash matches
//! ([`DictTable::candidates`]) and compares them with no borrow held.

use std::cell::Cell;

use pygc::{gc, Gc, GcCell, Trace, Visitor};

use super::Value;

const EMPTY: i32 = -1;
const DUMMY: i32 = -2;

/// One key/value pair.
#[derive(Clone)]
pub struct Entry {
    /// The key's hash.
    pub hash: i64,
    /// The key.
    pub key: Value,
    /// The value.
    pub value: Value,
}

/// The table.
#[derive(Default)]
pub struct DictTable {
    indices: Vec<i32>,
    /// Entries in insertion order; `None` where one was deleted.
    pub entries: Vec<Option<Entry>>,
    used: usize,
}

/// A Python `dict`.
///
/// Tracked as CPython 3.11 tracks dicts: a new dict is untracked
/// ([`Dict::new_object`]) and becomes tracked when a key or value that may
/// be tracked is stored ([`DictObject`], CPython's `MAINTAIN_TRACKING`).
/// (CPython also untracks, in full collections, dicts whose contents
/// became atomic again; pygc-python does not, which only shows in
/// `gc.is_tracked` of such a dict.)
#[derive(Default)]
pub struct Dict {
    /// The table.
    pub table: GcCell<DictTable>,
    /// Bumped on every insertion or deletion (lookups restart when a
    /// Python `__eq__` changed the dict under them).
    pub version: Version,
}

// SAFETY: `trace` reports, for each live entry in table order, its key
// unless it is a `str` (untracked: skipping it cannot hide a cycle; CPython
// 3.11 does not visit str keys either) and its value, each once; the same
// ones on every call while the dict is unchanged; `untraceable` while the
// table is mutably borrowed. It reads the key's text only to label the
// edge: no handle is cloned or dropped, nothing is mutated or allocated.
#[allow(unsafe_code)]
unsafe impl Trace for Dict {
    fn trace<V: Visitor>(&self, v: &mut V) {
        match self.table.try_borrow() {
            Ok(t) => {
                for (i, e) in t.entries.iter().enumerate() {
                    let Some(e) = e else { continue };
                    match &e.key {
                        Value::Str(k) => v.attribute(&k.s, |v| e.value.trace(v)),
                        key => v.index(i, |v| {
                            key.trace(v);
                            e.value.trace(v);
                        }),
                    }
                }
            }
            Err(_) => v.untraceable(),
        }
    }

    fn dynamic_type_name(&self) -> Option<&str> {
        Some("dict")
    }
}

/// Whether CPython could track `v` (`_PyObject_GC_MAY_BE_TRACKED`): any
/// container, except a tuple that is untracked.
pub fn may_be_tracked(v: &Value) -> bool {
    match v {
        Value::None
        | Value::NotImplemented
        | Value::Ellipsis
        | Value::Bool(_)
        | Value::Int(_)
        | Value::Float(_)
        | Value::Long(_)
        | Value::Str(_)
        | Value::Bytes(_)
        | Value::Range(_)
        | Value::Code(_)
        | Value::Null => false,
        Value::Tuple(t) => gc::is_tracked(t),
        _ => true,
    }
}

/// Stores into a dict object, keeping its tracking as CPython does.
pub trait DictObject {
    /// Sets a `str` key natively; returns the old value.
    fn set_str(&self, key: &Gc<super::PyStr>, value: Value) -> Option<Value>;
    /// Call after storing `key: value` by other means: tracks the dict if
    /// either may be tracked (CPython's `MAINTAIN_TRACKING`).
    fn note_stored(&self, key: &Value, value: &Value);
}

impl DictObject for Gc<Dict> {
    #[inline]
    fn set_str(&self, key: &Gc<super::PyStr>, value: Value) -> Option<Value> {
        self.note_stored(&Value::None, &value);
        self.set_str_raw(key, value)
    }

    #[inline]
    fn note_stored(&self, key: &Value, value: &Value) {
        if (may_be_tracked(value) || may_be_tracked(key)) && !gc::is_tracked(self) {
            gc::track(self);
        }
    }
}

/// A mutation counter.
#[derive(Default, Trace)]
pub struct Version(pub Cell<u64>);

impl Version {
    /// Bumps the counter.
    pub fn bump(&self) {
        self.0.set(self.0.get().wrapping_add(1))
    }
}

impl DictTable {
    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    fn mask(&self) -> usize {
        self.indices.len().wrapping_sub(1)
    }

    /// Entry indices whose hash equals `hash`, in probe order.
    pub fn candidates(&self, hash: i64, out: &mut Vec<usize>) {
        out.clear();
        if self.indices.is_empty() {
            return;
        }
        let mask = self.mask();
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        loop {
            let ix = self.indices[i];
            if ix == EMPTY {
                return;
            }
            if ix >= 0 {
                if let Some(e) = &self.entries[ix as usize] {
                    if e.hash == hash {
                        out.push(ix as usize);
                    }
                }
            }
            perturb >>= 5;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        }
    }

    /// Looks a key up with a native equality (no Python code can run).
    pub fn find_with(&self, hash: i64, mut eq: impl FnMut(&Value) -> bool) -> Option<usize> {
        if self.indices.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        loop {
            let ix = self.indices[i];
            if ix == EMPTY {
                return None;
            }
            if ix >= 0 {
                if let Some(e) = &self.entries[ix as usize] {
                    if e.hash == hash && eq(&e.key) {
                        return Some(ix as usize);
                    }
                }
            }
            perturb >>= 5;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        }
    }

    /// Appends a new entry (the caller checked the key is absent).
    pub fn insert_new(&mut self, hash: i64, key: Value, value: Value) {
        if (self.entries.len() + 1) * 3 >= self.indices.len() * 2 {
            self.resize((self.used + 1) * 3);
        }
        let idx = self.entries.len();
        self.entries.push(Some(Entry { hash, key, value }));
        self.used += 1;
        self.place(hash, idx);
    }

    fn place(&mut self, hash: i64, idx: usize) {
        let mask = self.mask();
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        while self.indices[i] >= 0 {
            perturb >>= 5;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        }
        self.indices[i] = idx as i32;
    }

    fn resize(&mut self, min: usize) {
        let mut size = 8;
        while size < min {
            size <<= 1;
        }
        let old = std::mem::take(&mut self.entries);
        self.entries = Vec::with_capacity(self.used + 1);
        self.entries.extend(old.into_iter().flatten().map(Some));
        self.indices = vec![EMPTY; size];
        for idx in 0..self.entries.len() {
            let h = self.entries[idx].as_ref().map(|e| e.hash).unwrap_or(0);
            self.place(h, idx);
        }
    }

    /// Removes the entry at `idx` and returns it.
    pub fn remove_at(&mut self, idx: usize) -> Option<Entry> {
        let e = self.entries[idx].take()?;
        let mask = self.mask();
        let mut perturb = e.hash as u64;
        let mut i = (e.hash as u64 as usize) & mask;
        loop {
            if self.indices[i] == idx as i32 {
                self.indices[i] = DUMMY;
                break;
            }
            perturb >>= 5;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb as usize)) & mask;
        }
        self.used -= 1;
        if self.used == 0 {
            self.entries.clear();
            self.indices.iter_mut().for_each(|x| *x = EMPTY);
        }
        Some(e)
    }

    /// Removes everything, returning the entries (dropped by the caller
    /// outside any borrow).
    pub fn clear(&mut self) -> Vec<Option<Entry>> {
        self.used = 0;
        self.indices.clear();
        std::mem::take(&mut self.entries)
    }

    /// Live entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().flatten()
    }

    /// The `n`-th live entry from position `pos` on: returns the position
    /// after it.
    pub fn next_from(&self, pos: usize) -> Option<(usize, &Entry)> {
        let mut p = pos;
        while p < self.entries.len() {
            if let Some(e) = &self.entries[p] {
                return Some((p + 1, e));
            }
            p += 1;
        }
        None
    }
}

impl Dict {
    /// An empty dict value (see [`Dict::new_object`] for a dict object).
    pub fn new() -> Dict {
        Dict::default()
    }

    /// A new, empty dict object: untracked until something that may be
    /// tracked is stored in it, as in CPython.
    #[track_caller]
    pub fn new_object() -> Gc<Dict> {
        let d = Gc::new(Dict::default());
        gc::untrack(&d);
        d
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.table.borrow().len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks up a `str` object natively: its cached hash, and the same
    /// object before comparing text (names are interned by the compiler).
    #[inline]
    pub fn get_name(&self, key: &pygc::Gc<super::PyStr>) -> Option<Value> {
        let t = self.table.borrow();
        t.find_with(key.hash(), |k| matches!(k, Value::Str(s) if pygc::Gc::ptr_eq(s, key) || s.s == key.s))
            .map(|i| t.entries[i].as_ref().map(|e| e.value.clone()).unwrap_or(Value::None))
    }

    /// Looks up a `str` key natively (no Python code runs).
    pub fn get_str(&self, key: &str) -> Option<Value> {
        let h = super::str::str_hash(key);
        let t = self.table.borrow();
        t.find_with(h, |k| matches!(k, Value::Str(s) if &*s.s == key))
            .map(|i| t.entries[i].as_ref().map(|e| e.value.clone()).unwrap_or(Value::None))
    }

    /// Sets a `str` key natively; returns the old value. The caller keeps
    /// the tracking right ([`DictObject::set_str`] does).
    fn set_str_raw(&self, key: &pygc::Gc<super::PyStr>, value: Value) -> Option<Value> {
        let h = key.hash();
        let mut t = self.table.borrow_mut();
        match t.find_with(h, |k| matches!(k, Value::Str(s) if pygc::Gc::ptr_eq(s, key) || s.s == key.s)) {
            Some(i) => {
                let e = t.entries[i].as_mut().expect("found entry");
                Some(std::mem::replace(&mut e.value, value))
            }
            None => {
                t.insert_new(h, Value::Str(key.clone()), value);
                drop(t);
                self.version.bump();
                None
            }
        }
    }

    /// Removes a `str` key natively.
    pub fn del_str(&self, key: &str) -> Option<Entry> {
        let h = super::str::str_hash(key);
        let mut t = self.table.borrow_mut();
        let i = t.find_with(h, |k| matches!(k, Value::Str(s) if &*s.s == key))?;
        let e = t.remove_at(i);
        drop(t);
        self.version.bump();
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::PyStr;

    fn key(s: &str) -> Gc<PyStr> {
        Gc::new(PyStr::new(s.into()))
    }

    #[test]
    fn the_table_keeps_insertion_order_through_deletions_and_growth() {
        let d = Dict::new_object();
        for i in 0..100 {
            d.set_str(&key(&format!("k{i}")), Value::Int(i));
        }
        assert_eq!(d.len(), 100);
        for i in (0..100).step_by(2) {
            assert!(d.del_str(&format!("k{i}")).is_some());
        }
        let keys: Vec<String> = d
            .table
            .borrow()
            .iter()
            .map(|e| match &e.key {
                Value::Str(s) => s.s.to_string(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(keys.len(), 50);
        assert_eq!(&keys[..3], ["k1", "k3", "k5"]);
        assert!(matches!(d.get_str("k99"), Some(Value::Int(99))));
        assert!(d.get_str("k98").is_none());
    }

    #[test]
    fn a_dict_is_tracked_once_it_may_hold_a_container() {
        let d = Dict::new_object();
        assert!(!gc::is_tracked(&d), "new dicts are untracked");
        d.set_str(&key("n"), Value::Int(1));
        d.set_str(&key("s"), Value::str("x"));
        d.set_str(&key("t"), Value::tuple(vec![]));
        assert!(!gc::is_tracked(&d), "atomic values keep it untracked");
        d.set_str(&key("l"), Value::list(vec![]));
        assert!(gc::is_tracked(&d), "a list may make a cycle");
    }

    #[test]
    fn may_be_tracked_follows_cpython() {
        assert!(!may_be_tracked(&Value::Int(1)));
        assert!(!may_be_tracked(&Value::str("s")));
        assert!(!may_be_tracked(&Value::tuple(vec![])));
        assert!(may_be_tracked(&Value::tuple(vec![Value::Int(1)])), "tracked until a collection");
        assert!(may_be_tracked(&Value::list(vec![])));
        assert!(may_be_tracked(&Value::Dict(Dict::new_object())), "any dict");
    }
}
