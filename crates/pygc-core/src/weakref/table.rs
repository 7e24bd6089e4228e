//! The table under the weak containers: entries in insertion order, each
//! with an id that never changes, found by key through an index, removed by
//! id from weakref callbacks.
//!
//! ```text
//! Core ─ table: RefCell<Table>   slots:  [ id 3 | (k, e) ][ id 5 | tomb ][ id 9 | (k, e) ]   ids increase
//!      │                         index:  { k → 3, k' → 9 }
//!      └ pending: RefCell<Vec<id>>   ids a callback could not remove (the table was borrowed)
//! ```
//!
//! Invariants (`Table`):
//!
//! 1. `slots` ids are strictly increasing (new entries are appended with
//!    `next_id`, compaction keeps the order), so an id is found by binary
//!    search and a cursor (the next id to visit) survives removals,
//!    insertions and compactions: iteration never holds a borrow between
//!    two steps, and whatever runs meanwhile (weakref callbacks, drops, the
//!    collector) may mutate the table.
//! 2. `live` = the number of occupied slots; `index` maps each of their keys
//!    to their id. An index entry may name a tombstone (after a panicking
//!    `Hash`), which counts as absent.
//! 3. No user code runs while `table` is borrowed, except the key type's own
//!    `Hash`, `Eq` and `Clone` (for `WeakValueDictionary`; identity keys are
//!    addresses). Everything removed (keys, weak handles, strong values) is
//!    moved out and dropped after the borrow ends, because dropping a handle
//!    can run a destructor, a weakref callback or a finalizer that uses the
//!    same container.
//!
//! A callback that finds the table borrowed (a key's `Hash` that drops the
//! last handle to a value, say) pushes its id on `pending`, which every
//! public operation flushes: an entry is never lost, and never removed
//! while its value lives (removal is "remove if dead", as CPython's
//! `_remove_dead_weakref`).

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::rc::{Rc, Weak as RcWeak};

use crate::object::trace::{Trace, Visitor};

/// What an entry knows about its weakly held part.
pub(crate) trait Liveness {
    /// Whether the weakly held object died (or the collector found it to
    /// be garbage and cleared its weak references).
    fn is_dead(&self) -> bool;
}

struct Slot<K, E> {
    id: u64,
    entry: Option<(K, E)>,
}

pub(crate) struct Table<K, E, S> {
    slots: Vec<Slot<K, E>>,
    index: HashMap<K, u64, S>,
    live: usize,
    next_id: u64,
}

impl<K, E, S: Default> Table<K, E, S> {
    fn new() -> Self {
        Table { slots: Vec::new(), index: HashMap::with_hasher(S::default()), live: 0, next_id: 0 }
    }
}

impl<K, E, S> Table<K, E, S> {
    fn position(&self, id: u64) -> Option<usize> {
        self.slots.binary_search_by_key(&id, |s| s.id).ok()
    }

    /// Compacts the slots once tombstones are the majority (no user code:
    /// tombstones own nothing).
    fn maybe_compact(&mut self) {
        let n = self.slots.len();
        if n > 16 && self.live * 2 < n {
            self.slots.retain(|s| s.entry.is_some());
        }
    }
}

/// What an operation displaced, dropped by the caller after the borrow.
pub(crate) type Removed<K, E> = Option<(K, E)>;

pub(crate) struct Core<K, E, S> {
    table: RefCell<Table<K, E, S>>,
    pending: RefCell<Vec<u64>>,
}

impl<K, E, S> Core<K, E, S>
where
    K: Hash + Eq + 'static,
    E: Liveness + 'static,
    S: BuildHasher + Default + 'static,
{
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(Core { table: RefCell::new(Table::new()), pending: RefCell::new(Vec::new()) })
    }

    /// The weakref callback of entry `id`: removes it if it is dead, when
    /// called (the referent died) and also when dropped uncalled (the
    /// collector drops the callbacks of weak handles that are part of the
    /// same garbage, and a replaced entry's handle takes its callback with
    /// it: then the entry is alive, or gone, and nothing happens).
    pub(crate) fn callback(self: &Rc<Self>, id: u64) -> impl FnOnce() + 'static {
        let remover = Remover { core: Rc::downgrade(self), id };
        move || drop(remover)
    }

    /// Inserts `key` with the entry `make(id)` makes, or replaces the entry
    /// of an existing key (keeping its place, its id and its original key,
    /// as a Python dict keeps the first key object). `make` is given the id
    /// the entry will have; it must not run user code. Returns what was
    /// displaced (the new key if an old one stays, the old entry), to be
    /// dropped by the caller.
    pub(crate) fn insert(
        &self,
        key: K,
        index_key: impl FnOnce(&K) -> K,
        make: impl FnOnce(u64) -> E,
    ) -> (Option<K>, Option<E>) {
        let mut guard = self.table.borrow_mut();
        let t = &mut *guard;
        if let Some(&id) = t.index.get(&key) {
            if let Some(pos) = t.position(id) {
                if let Some((_, e)) = &mut t.slots[pos].entry {
                    let old = std::mem::replace(e, make(id));
                    self.note_if_born_dead(e, id);
                    return (Some(key), Some(old));
                }
            }
        }
        // A new entry (or a key whose index entry names a tombstone).
        let copy = index_key(&key);
        let id = t.next_id;
        t.next_id += 1;
        // A stale index entry (naming a tombstone) is pointed at the new
        // slot; the copy is then not needed (dropped by the caller).
        let leftover = match t.index.get_mut(&copy) {
            Some(stale) => {
                *stale = id;
                Some(copy)
            }
            None => {
                t.index.insert(copy, id);
                None
            }
        };
        let entry = make(id);
        self.note_if_born_dead(&entry, id);
        t.slots.push(Slot { id, entry: Some((key, entry)) });
        t.live += 1;
        (leftover, None)
    }

    /// An entry made for an object the collector already condemned (only a
    /// PEP 442 finalizer of the same garbage can hand one over) is dead from
    /// the start, and no callback will come for it: the next operation
    /// removes it.
    fn note_if_born_dead(&self, entry: &E, id: u64) {
        if entry.is_dead() {
            self.pending.borrow_mut().push(id);
        }
    }

    /// Calls `f` on the entry of `key`, if there is one and it is alive.
    /// `f` must not run user code. A dead entry found on the way is purged.
    pub(crate) fn find<Q, R>(&self, key: &Q, f: impl FnOnce(&K, &E) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let dead = {
            let t = self.table.borrow();
            let id = *t.index.get(key)?;
            let (k, e) = t.position(id).and_then(|p| t.slots[p].entry.as_ref())?;
            if !e.is_dead() {
                return Some(f(k, e));
            }
            id
        };
        self.remove_dead(dead);
        None
    }

    /// Removes the entry of `key` (alive or dead) and returns it.
    pub(crate) fn remove<Q>(&self, key: &Q) -> Removed<K, E>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut guard = self.table.borrow_mut();
        let t = &mut *guard;
        let (index_key, id) = t.index.remove_entry(key)?;
        let removed = t.position(id).and_then(|p| t.slots[p].entry.take());
        if removed.is_some() {
            t.live -= 1;
            t.maybe_compact();
        }
        drop(guard);
        drop(index_key); // user code, outside the borrow
        removed
    }

    /// Removes entry `id` if it is dead; defers to `pending` if the table is
    /// borrowed right now.
    pub(crate) fn remove_dead(&self, id: u64) {
        let Ok(mut guard) = self.table.try_borrow_mut() else {
            self.pending.borrow_mut().push(id);
            return;
        };
        let t = &mut *guard;
        let Some(pos) = t.position(id) else { return };
        if !t.slots[pos].entry.as_ref().is_some_and(|(_, e)| e.is_dead()) {
            return;
        }
        let removed = t.slots[pos].entry.take();
        t.live -= 1;
        // If the key's `Hash` panics here, the entry is still gone and the
        // index keeps a stale entry naming a tombstone (invariant 2).
        let index_entry = removed.as_ref().and_then(|(k, _)| t.index.remove_entry(k));
        t.maybe_compact();
        drop(guard);
        drop(index_entry);
        drop(removed);
    }

    /// Runs the removals callbacks had to defer. Leaves them pending if the
    /// table is borrowed (a call from a key's `Hash`).
    pub(crate) fn flush(&self) {
        loop {
            if self.table.try_borrow_mut().is_err() {
                return;
            }
            let ids = std::mem::take(&mut *self.pending.borrow_mut());
            if ids.is_empty() {
                return;
            }
            for id in ids {
                self.remove_dead(id);
            }
        }
    }

    /// Removes every dead entry (those whose callback has not run yet: a
    /// collection in progress), then the deferred ones.
    pub(crate) fn purge(&self) {
        self.flush();
        let dead: Vec<u64> = self
            .table
            .borrow()
            .slots
            .iter()
            .filter(|s| s.entry.as_ref().is_some_and(|(_, e)| e.is_dead()))
            .map(|s| s.id)
            .collect();
        for id in dead {
            self.remove_dead(id);
        }
    }

    /// Entries not yet removed.
    pub(crate) fn len(&self) -> usize {
        self.flush();
        self.table.borrow().live
    }

    /// The next live entry at or after `*cursor` (an id), mapped by `f`
    /// (which returns `None` to skip it and must not run user code);
    /// advances the cursor past it.
    pub(crate) fn next_live<R>(&self, cursor: &mut u64, mut f: impl FnMut(&K, &E) -> Option<R>) -> Option<R> {
        let t = self.table.borrow();
        let start = t.slots.partition_point(|s| s.id < *cursor);
        for s in &t.slots[start..] {
            *cursor = s.id + 1;
            if let Some((k, e)) = &s.entry {
                if !e.is_dead() {
                    if let Some(r) = f(k, e) {
                        return Some(r);
                    }
                }
            }
        }
        None
    }

    /// Takes every entry out (to be dropped by the caller).
    pub(crate) fn take_all(&self) -> (Vec<(K, E)>, HashMap<K, u64, S>) {
        let mut guard = self.table.borrow_mut();
        let t = &mut *guard;
        t.live = 0;
        let slots = std::mem::take(&mut t.slots);
        let index = std::mem::replace(&mut t.index, HashMap::with_hasher(S::default()));
        drop(guard);
        (slots.into_iter().filter_map(|s| s.entry).collect(), index)
    }
}

impl<K: Trace, E, S> Core<K, E, S> {
    /// Reports the keys (both copies, in the slots and the index) and what
    /// `entry` reports of each entry; `untraceable` if the table is borrowed
    /// right now (a collection started by a key's `Hash`).
    pub(crate) fn trace_entries<V: Visitor>(&self, v: &mut V, mut entry: impl FnMut(&E, &mut V)) {
        let Ok(t) = self.table.try_borrow() else {
            v.untraceable();
            return;
        };
        for (i, (k, e)) in t.slots.iter().filter_map(|s| s.entry.as_ref()).enumerate() {
            v.index(i, |v| {
                if K::TRACKED {
                    v.field("key", |v| k.trace(v));
                }
                entry(e, v);
            });
        }
        if K::TRACKED {
            for k in t.index.keys() {
                v.field("key", |v| k.trace(v));
            }
        }
    }
}

/// The state a weakref callback carries: which entry to remove (by id: no
/// copy of the key, which may hold handles a callback must not root).
struct Remover<K, E, S>
where
    K: Hash + Eq + 'static,
    E: Liveness + 'static,
    S: BuildHasher + Default + 'static,
{
    core: RcWeak<Core<K, E, S>>,
    id: u64,
}

impl<K, E, S> Drop for Remover<K, E, S>
where
    K: Hash + Eq + 'static,
    E: Liveness + 'static,
    S: BuildHasher + Default + 'static,
{
    fn drop(&mut self) {
        // The container may be gone (then its table went with it).
        if let Some(core) = self.core.upgrade() {
            core.remove_dead(self.id);
        }
    }
}
