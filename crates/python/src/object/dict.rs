//! `dict`: an insertion-ordered hash table (CPython's compact layout: an
//! index table into a dense entry array).
//!
//! The table only stores; deciding key equality (which may call Python
//! `__eq__`) is the VM's job: it asks for the entries whose hash matches
//! ([`DictTable::candidates`]) and compares them with no borrow held.

use std::cell::Cell;

use pygc::{GcCell, Trace};

use super::Value;

const EMPTY: i32 = -1;
const DUMMY: i32 = -2;

/// One key/value pair.
#[derive(Trace, Clone)]
pub struct Entry {
    /// The key's hash.
    pub hash: i64,
    /// The key.
    pub key: Value,
    /// The value.
    pub value: Value,
}

/// The table.
#[derive(Trace, Default)]
pub struct DictTable {
    indices: Vec<i32>,
    /// Entries in insertion order; `None` where one was deleted.
    pub entries: Vec<Option<Entry>>,
    used: usize,
}

/// A Python `dict`.
#[derive(Trace, Default)]
pub struct Dict {
    /// The table.
    pub table: GcCell<DictTable>,
    /// Bumped on every insertion or deletion (lookups restart when a
    /// Python `__eq__` changed the dict under them).
    pub version: Version,
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
    /// An empty dict.
    pub fn new() -> Dict {
        Dict::default()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.table.borrow().len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Looks up a `str` key natively (no Python code runs).
    pub fn get_str(&self, key: &str) -> Option<Value> {
        let h = super::str::str_hash(key);
        let t = self.table.borrow();
        t.find_with(h, |k| matches!(k, Value::Str(s) if &*s.s == key))
            .map(|i| t.entries[i].as_ref().map(|e| e.value.clone()).unwrap_or(Value::None))
    }

    /// Sets a `str` key natively; returns the old value.
    pub fn set_str(&self, key: &pygc::Gc<super::PyStr>, value: Value) -> Option<Value> {
        let h = key.hash();
        let mut t = self.table.borrow_mut();
        match t.find_with(h, |k| matches!(k, Value::Str(s) if s.s == key.s)) {
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
