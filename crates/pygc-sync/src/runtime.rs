//! The process's one shared heap (free-threaded CPython has one per
//! interpreter): the thread registry, the object lists, the world. Built
//! in constant context (no lazy initialisation, whose std `Once` a
//! ThreadSanitizer build could not see).

use crate::object::list::ObjList;
use crate::world::thread::ThreadShared;
use crate::world::World;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

pub(crate) struct Runtime {
    pub(crate) world: World,
    /// Live threads by id: where non-owners queue objects.
    pub(crate) threads: Mutex<BTreeMap<usize, Arc<ThreadShared>>>,
    /// Every thread's list, walked by the collector. Empty lists of exited
    /// threads are dropped by it.
    pub(crate) lists: Mutex<Vec<Arc<ObjList>>>,
    /// Where threads without a registration (exiting) register objects.
    pub(crate) orphans: ObjList,
    pub(crate) next_id: AtomicUsize,
}

static RUNTIME: Runtime = Runtime {
    world: World::new(),
    threads: Mutex::new(BTreeMap::new()),
    lists: Mutex::new(Vec::new()),
    orphans: ObjList::new(),
    next_id: AtomicUsize::new(1),
};

#[inline]
pub(crate) fn runtime() -> &'static Runtime {
    &RUNTIME
}
