//! Python's `weakref` toolbox over [`Weak`]:
//! [`WeakValueDictionary`], [`WeakKeyDictionary`], [`WeakSet`],
//! [`finalize`] and [`getweakrefcount`] / [`getweakrefs`].
//!
//! ```
//! use pygc::weakref::{self, WeakSet, WeakValueDictionary};
//! use pygc::{gc, Gc, GcCell, Trace};
//!
//! #[derive(Trace)]
//! struct Node { next: GcCell<Option<Gc<Node>>> }
//!
//! let cache = WeakValueDictionary::<String, Node>::new();
//! let live = WeakSet::<Node>::new();
//! let a = Gc::new(Node { next: GcCell::new(None) });
//! *a.next.borrow_mut() = Some(a.clone());              // a.next = a: a cycle
//! cache.insert("a".to_string(), &a);                   // cache["a"] = a
//! live.add(&a);                                        // live.add(a)
//! let done = weakref::finalize(&a, || println!("a is gone"));
//! assert_eq!(weakref::getweakrefcount(&a), 3);
//! drop(a);                                             // del a
//! assert_eq!((cache.len(), live.len()), (1, 1));       // the cycle keeps it
//! gc::collect();                                       // "a is gone"
//! assert_eq!((cache.len(), live.len()), (0, 0));
//! assert!(!done.alive());
//! ```
//!
//! The containers are plain values with `&self` methods: they can be fields
//! of pygc objects (they implement [`Trace`](crate::Trace): weakly held parts
//! are reported as weak handles, strongly held ones as strong handles) and
//! be used from inside weakref callbacks, finalizers and destructors,
//! including while they are being iterated or mutated: no borrow is held
//! while user code runs, removals made by callbacks are applied at once or,
//! if the container is borrowed at that instant, deferred to its next
//! operation (CPython's `_IterationGuard` and `_pending_removals`). Their
//! objects may belong to any heap ([`Heap`](crate::Heap)); a heap that is
//! dropped clears its objects' weak references, and the entries go.
//!
//! Differences from CPython, and why:
//!
//! * [`WeakKeyDictionary`] and [`WeakSet`] compare objects by identity
//!   ([`Gc::id`](crate::Gc::id), Python's `is`), not by `__hash__`/`__eq__`.
//!   `Gc<T>`'s `Hash` and `Eq` are those of the value, which may change
//!   behind a `GcCell` while the key is in the table (CPython forbids
//!   unhashable keys; Rust cannot tell), and would run user code inside the
//!   table; identity is stable, cheap, and what Python objects without
//!   `__eq__` use. It is also what [`EphemeronMap`](crate::EphemeronMap)
//!   uses, so the two are interchangeable. Two distinct but equal objects
//!   are two keys.
//! * `len()` counts the entries whose callbacks have not removed them yet,
//!   as CPython's does: during a collection, between the moment the
//!   collector clears the weak references of the garbage and the moment it
//!   calls their callbacks, entries of dying objects are still counted (a
//!   callback that looks sees them); `get`, `contains` and iteration never
//!   return them, and `purge` removes them.
//! * Iteration tolerates mutation: entries removed meanwhile are not
//!   yielded, entries added meanwhile are (CPython raises "dictionary
//!   changed size during iteration").
//! * pygc's `Weak` handles are not heap objects, so [`getweakrefs`] cannot
//!   return them: it describes them ([`WeakRefInfo`]).

mod finalize;
mod key_dict;
mod set;
mod table;
mod value_dict;

pub use finalize::{finalize, Finalizer, FinalizerFn};
pub use key_dict::{KeyDictIter, WeakKeyDictionary};
pub use set::{SetIter, WeakSet};
pub use value_dict::{ValueDictIter, WeakValueDictionary};

pub(crate) use finalize::heap_teardown;

use crate::handle::any::{obj_of, Handle};
use crate::handle::pointee::GcPointee;
use crate::handle::weak::Weak;
use crate::object::header::flags;
use crate::state::thread;

impl<T: ?Sized + GcPointee> table::Liveness for Weak<T> {
    fn is_dead(&self) -> bool {
        self.strong_count() == 0
    }
}

/// One of the weak references to an object, as
/// [`getweakrefs`] lists them.
///
/// A CPython `weakref.ref(obj, callback)` is an object that may be shared;
/// its pygc counterpart is a [`Weak`] and its clones, which
/// share its callback. So each entry is one callback and the handles that
/// share it, or the handles made without a callback (CPython shares one
/// callback-less `ref` per object; pygc does not, and counts them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeakRefInfo {
    /// The live `Weak` handles in this entry.
    pub handles: usize,
    /// Whether they share a callback that has not run yet.
    pub has_callback: bool,
}

/// The number of live [`Weak`] handles to the object
/// (`weakref.getweakrefcount(obj)`): every handle, clones included, those
/// inside the containers of this module too. 0 once the object died or the
/// collector cleared its weak references.
///
/// ```
/// use pygc::{weakref, Gc};
/// let x = Gc::new(String::from("x"));
/// assert_eq!(weakref::getweakrefcount(&x), 0);
/// let w = Gc::downgrade(&x);
/// let w2 = w.clone();
/// assert_eq!(weakref::getweakrefcount(&x), 2);
/// # drop((w, w2));
/// ```
pub fn getweakrefcount(obj: &impl Handle) -> usize {
    let o = obj_of(obj);
    if o.has(flags::CLEARED) {
        return 0;
    }
    // Handles of an epoch the collector ended do not count (`current`).
    thread::with_heap_of(o, |s| s.weak.current_count(o.ptr())).unwrap_or(0)
}

/// The weak references to the object (`weakref.getweakrefs(obj)`): one
/// [`WeakRefInfo`] per callback that has not run (with the handles that
/// share it), then one for the handles without a callback, if any. The
/// handles add up to [`getweakrefcount`]. Empty once the object died or the
/// collector cleared its weak references.
///
/// ```
/// use pygc::weakref::{self, WeakRefInfo};
/// use pygc::Gc;
/// let x = Gc::new(1u32);
/// let plain = Gc::downgrade(&x);
/// let with_cb = Gc::downgrade_with_callback(&x, || ());
/// let shared = with_cb.clone();
/// assert_eq!(
///     weakref::getweakrefs(&x),
///     [WeakRefInfo { handles: 2, has_callback: true }, WeakRefInfo { handles: 1, has_callback: false }]
/// );
/// # drop((plain, with_cb, shared));
/// ```
pub fn getweakrefs(obj: &impl Handle) -> Vec<WeakRefInfo> {
    let o = obj_of(obj);
    if o.has(flags::CLEARED) {
        return Vec::new();
    }
    let (total, shared) =
        thread::with_heap_of(o, |s| s.weak.handles_by_callback(o.ptr())).unwrap_or_default();
    let mut out: Vec<WeakRefInfo> =
        shared.iter().map(|&handles| WeakRefInfo { handles, has_callback: true }).collect();
    let plain = total.saturating_sub(shared.iter().sum::<usize>());
    if plain > 0 {
        out.push(WeakRefInfo { handles: plain, has_callback: false });
    }
    out
}
