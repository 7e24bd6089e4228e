//! Weak-handle callbacks, in a side table keyed by object address (rare:
//! most objects have none, so no header carries them).

use crate::object::header::ObjPtr;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A weak-handle callback.
pub(crate) type Callback = Box<dyn FnOnce() + Send>;

type Table = BTreeMap<usize, Vec<(u64, Callback)>>;
static TABLE: Mutex<Table> = Mutex::new(BTreeMap::new());
static NEXT: AtomicU64 = AtomicU64::new(1);

/// Registers `cb` to run when `p`'s value dies; returns its id.
pub(crate) fn register(p: ObjPtr, cb: Callback) -> u64 {
    let id = NEXT.fetch_add(1, Relaxed);
    TABLE.lock().entry(p.addr()).or_default().push((id, cb));
    id
}

/// Drops the callback `id` of `p` (its weak handle was dropped first).
pub(crate) fn unregister(p: ObjPtr, id: u64) {
    let mut t = TABLE.lock();
    if let Some(v) = t.get_mut(&p.addr()) {
        if let Some(i) = v.iter().position(|(j, _)| *j == id) {
            let cb = v.swap_remove(i);
            if v.is_empty() {
                t.remove(&p.addr());
            }
            drop(t);
            drop(cb); // outside the lock: a closure's drop may drop handles
        }
    }
}

/// Takes every callback of `p` (its weak handles are now dead).
pub(crate) fn take(p: ObjPtr) -> Vec<Callback> {
    let v = TABLE.lock().remove(&p.addr());
    v.map(|v| v.into_iter().map(|(_, cb)| cb).collect()).unwrap_or_default()
}

/// Takes and calls every callback of `p`, each guarded.
pub(crate) fn fire(p: ObjPtr) {
    for cb in take(p) {
        crate::collect::user_code::guarded("weakref callback", "", cb);
    }
}
