//! The process's one shared heap (free-threaded CPython has one per
//! interpreter): the thread registry, the object lists, the world.

use crate::object::list::ObjList;
use crate::world::thread::ThreadShared;
use crate::world::World;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, LazyLock};

pub(crate) struct Runtime {
    pub(crate) world: World,
    /// Live threads by id: where non-owners queue objects.
    pub(crate) threads: Mutex<HashMap<usize, Arc<ThreadShared>>>,
    /// Every list with objects (or whose thread is alive), walked by the
    /// collector. Empty lists of exited threads are dropped by it.
    pub(crate) lists: Mutex<Vec<Arc<ObjList>>>,
    /// Where threads without a registration (exiting) register objects.
    pub(crate) orphans: Arc<ObjList>,
    pub(crate) next_id: AtomicUsize,
}

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    let orphans = Arc::new(ObjList::default());
    orphans.orphan.store(true, std::sync::atomic::Ordering::Relaxed);
    Runtime {
        world: World::new(),
        threads: Mutex::new(HashMap::new()),
        lists: Mutex::new(vec![orphans.clone()]),
        orphans,
        next_id: AtomicUsize::new(1),
    }
});

#[inline]
pub(crate) fn runtime() -> &'static Runtime {
    &RUNTIME
}
