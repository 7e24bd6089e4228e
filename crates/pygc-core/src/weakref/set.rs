//! `WeakSet`: a set of objects held weakly, by identity.

use std::fmt;
use std::rc::Rc;

use super::table::{Core, Liveness};
use crate::addr_hash::AddrHash;
use crate::handle::gc::Gc;
use crate::handle::pointee::GcPointee;
use crate::handle::weak::Weak;
use crate::object::trace::{Trace, Visitor};

/// A set of objects held weakly (`weakref.WeakSet`): an object leaves the
/// set when it dies, by reference count or by the collector. Objects are
/// compared by identity ([`Gc::id`], Python's `is`; the
/// [module docs](super) say why).
///
/// ```
/// use pygc::weakref::WeakSet;
/// use pygc::Gc;
///
/// let open = WeakSet::<String>::new();
/// let f = Gc::new(String::from("log.txt"));
/// assert!(open.add(&f));                        // open.add(f)
/// assert!(!open.add(&f), "already there");
/// assert!(open.contains(&f));
/// assert_eq!(open.len(), 1);
/// drop(f);                                      // del f
/// assert!(open.is_empty());
/// ```
///
/// All methods take `&self`; the set can be a field of a pygc object and be
/// used from weakref callbacks and destructors, also while it is being
/// iterated. `Clone` copies the live members (`WeakSet.copy()`).
pub struct WeakSet<T: ?Sized + GcPointee> {
    /// Owned by this set alone (callbacks hold `rc::Weak`s).
    core: Rc<Core<usize, Weak<T>, AddrHash>>,
}

impl<T: ?Sized + GcPointee> WeakSet<T> {
    /// An empty set.
    pub fn new() -> Self {
        WeakSet { core: Core::new() }
    }

    /// Adds `item` (`s.add(item)`); returns whether it was not there.
    pub fn add(&self, item: &Gc<T>) -> bool {
        if self.contains(item) {
            return false;
        }
        let core = &self.core;
        let (_, old) =
            core.insert(Gc::id(item), |&k| k, |id| Gc::downgrade_with_callback(item, core.callback(id)));
        drop(old); // a dead entry at the same address (a collection in progress)
        true
    }

    /// Removes `item` (`s.discard(item)`); returns whether it was there.
    pub fn discard(&self, item: &Gc<T>) -> bool {
        self.core.flush();
        self.core.remove(&Gc::id(item)).is_some_and(|(_, w)| !w.is_dead())
    }

    /// Whether `item` is in the set (`item in s`).
    pub fn contains(&self, item: &Gc<T>) -> bool {
        self.core.flush();
        self.core.find(&Gc::id(item), |_, _| ()).is_some()
    }

    /// The number of members (`len(s)`): those that have not died, with the
    /// one exception the [module docs](super) describe.
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether [`len`](Self::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the live members in insertion order, as strong
    /// handles. No borrow is held between steps: the set may be mutated
    /// meanwhile, and a member that dies before its turn is not yielded.
    pub fn iter(&self) -> SetIter<'_, T> {
        self.core.flush();
        SetIter { set: self, cursor: 0 }
    }

    /// The live members, a snapshot of strong handles (`list(s)`).
    pub fn to_vec(&self) -> Vec<Gc<T>> {
        self.iter().collect()
    }

    /// Removes every member.
    pub fn clear(&self) {
        let all = self.core.take_all();
        drop(all); // outside the borrow
    }

    /// Removes the members that died but whose callback has not run yet
    /// (only possible while a collection runs), and the removals callbacks
    /// deferred.
    pub fn purge(&self) {
        self.core.purge();
    }
}

impl<T: ?Sized + GcPointee> Default for WeakSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized + GcPointee> Clone for WeakSet<T> {
    fn clone(&self) -> Self {
        let copy = Self::new();
        for x in self.iter() {
            copy.add(&x);
        }
        copy
    }
}

/// The iterator of [`WeakSet::iter`].
pub struct SetIter<'a, T: ?Sized + GcPointee> {
    set: &'a WeakSet<T>,
    cursor: u64,
}

impl<T: ?Sized + GcPointee> Iterator for SetIter<'_, T> {
    type Item = Gc<T>;
    fn next(&mut self) -> Option<Gc<T>> {
        self.set.core.next_live(&mut self.cursor, |_, w| w.upgrade())
    }
}

impl<'a, T: ?Sized + GcPointee> IntoIterator for &'a WeakSet<T> {
    type Item = Gc<T>;
    type IntoIter = SetIter<'a, T>;
    fn into_iter(self) -> SetIter<'a, T> {
        self.iter()
    }
}

impl<T: ?Sized + GcPointee + fmt::Debug> fmt::Debug for WeakSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSet")?;
        f.debug_set().entries(self.iter()).finish()
    }
}

// SAFETY: holds no strong handle (TRACKED = false) and reports none: each
// member's weak handle is reported as weak (it keeps nothing alive; the
// collector uses it to tell which callbacks belong to garbage), each once,
// the same ones on every call while the set is unchanged (it changes only
// through its methods, never from inside a `Trace`). The `Rc` is owned by
// this set alone. Nothing of the heap is touched; a table borrowed right now
// is reported as untraceable.
unsafe impl<T: ?Sized + GcPointee> Trace for WeakSet<T> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    fn trace<V: Visitor>(&self, v: &mut V) {
        self.core.trace_entries(v, |w, v| w.trace(v));
    }
}
