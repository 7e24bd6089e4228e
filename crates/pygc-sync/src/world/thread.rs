//! The calling thread's side: its id, its attach state, its safe point, and
//! what it does when it exits.
//!
//! A thread registers on its first use of the heap and is then Attached
//! until it exits, except inside [`crate::detached`]. Its id (never reused)
//! is what the count protocol compares with an object's owner; the
//! thread-local `CURRENT` holds it while the thread is attached and
//! [`NOBODY`] otherwise, so the owner test doubles as the attach test: a
//! thread that is not attached never takes the owner path, and its shared
//! path first attaches ([`attach`]).

use crate::count::queue::MergeQueue;
use crate::count::{Dec, NOBODY};
use crate::object::header::ObjPtr;
use crate::object::list::ObjList;
use crate::runtime::runtime;
use crate::world::{MERGE_BIT, STOP_BIT};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// What other threads and the collector see of a thread.
#[derive(Debug)]
pub(crate) struct ThreadShared {
    pub(crate) id: usize,
    pub(crate) breaker: Arc<AtomicUsize>,
    pub(crate) queue: MergeQueue<ObjPtr>,
    pub(crate) list: Arc<ObjList>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Unregistered,
    Attached,
    Detached,
    Exited,
}

/// Owns the registration; its destructor is the thread's exit.
struct Local {
    shared: RefCell<Option<Arc<ThreadShared>>>,
}

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(NOBODY) };
    static MODE: Cell<Mode> = const { Cell::new(Mode::Unregistered) };
    static BREAKER: Cell<*const AtomicUsize> = const { Cell::new(std::ptr::null()) };
    static LIST: Cell<*const ObjList> = const { Cell::new(std::ptr::null()) };
    static ANONYMOUS: Cell<usize> = const { Cell::new(0) };
    static LOCAL: Local = const { Local { shared: RefCell::new(None) } };
}

/// The calling thread's id if it is attached, else [`NOBODY`].
#[inline]
pub(crate) fn me() -> usize {
    CURRENT.with(Cell::get)
}

/// The list the calling thread registers its objects in (null if it is not
/// attached with a registration of its own).
#[inline]
pub(crate) fn my_list() -> *const ObjList {
    LIST.with(Cell::get)
}

/// The calling thread's shared state, if registered and not exited.
pub(crate) fn shared() -> Option<Arc<ThreadShared>> {
    LOCAL.try_with(|l| l.shared.borrow().clone()).ok().flatten()
}

/// Proof that the calling thread is attached, for as long as it lives.
#[must_use]
pub(crate) struct Attached {
    tid: usize,
    kind: Kind,
}

enum Kind {
    Already,
    Temporary(usize),
    Anonymous,
}

impl Attached {
    /// The id to count with ([`NOBODY`] for an anonymous thread: shared
    /// path for every object).
    #[inline]
    pub(crate) fn tid(&self) -> usize {
        self.tid
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        match self.kind {
            Kind::Already => {}
            Kind::Temporary(id) => {
                CURRENT.with(|c| c.set(NOBODY));
                MODE.with(|m| m.set(Mode::Detached));
                runtime().world.detach(id);
            }
            Kind::Anonymous => {
                let n = ANONYMOUS.with(|a| {
                    a.set(a.get() - 1);
                    a.get()
                });
                if n == 0 {
                    runtime().world.detach_anonymous();
                }
            }
        }
    }
}

/// Makes sure the calling thread is attached: registers it on first use,
/// re-attaches it for the guard's life inside a detached scope (waiting for
/// a collection in progress), or attaches it anonymously once its
/// thread-local state is gone.
#[inline]
pub(crate) fn attach() -> Attached {
    let me = me();
    if me != NOBODY {
        return Attached { tid: me, kind: Kind::Already };
    }
    attach_slow()
}

#[cold]
#[inline(never)]
fn attach_slow() -> Attached {
    match MODE.with(Cell::get) {
        Mode::Unregistered if register() => Attached { tid: me(), kind: Kind::Already },
        Mode::Detached => {
            let id = shared().map(|s| s.id).expect("a detached thread is registered");
            runtime().world.attach(id);
            MODE.with(|m| m.set(Mode::Attached));
            CURRENT.with(|c| c.set(id));
            Attached { tid: id, kind: Kind::Temporary(id) }
        }
        Mode::Attached => Attached { tid: me(), kind: Kind::Already },
        Mode::Unregistered | Mode::Exited => {
            if ANONYMOUS.with(Cell::get) == 0 {
                runtime().world.attach_anonymous();
            }
            ANONYMOUS.with(|a| a.set(a.get() + 1));
            Attached { tid: NOBODY, kind: Kind::Anonymous }
        }
    }
}

/// Registers the calling thread; false if its thread-local state is
/// already destroyed (it is exiting).
fn register() -> bool {
    let rt = runtime();
    LOCAL
        .try_with(|l| {
            let id = rt.next_id.fetch_add(1, Relaxed);
            let breaker = Arc::new(AtomicUsize::new(0));
            let list = Arc::new(ObjList::default());
            let ts = Arc::new(ThreadShared {
                id,
                breaker: breaker.clone(),
                queue: MergeQueue::new(),
                list: list.clone(),
            });
            let name =
                std::thread::current().name().map(str::to_owned).unwrap_or_else(|| format!("thread-{id}"));
            rt.lists.lock().push(list.clone());
            rt.threads.lock().insert(id, ts.clone());
            rt.world.register(id, name, breaker);
            BREAKER.with(|b| b.set(Arc::as_ptr(&ts.breaker)));
            LIST.with(|b| b.set(Arc::as_ptr(&ts.list)));
            *l.shared.borrow_mut() = Some(ts);
            MODE.with(|m| m.set(Mode::Attached));
            CURRENT.with(|c| c.set(id));
        })
        .is_ok()
}

/// A safe point: parks if a collection is stopping the world, merges the
/// counts other threads queued. One relaxed load when there is nothing to do.
#[inline]
pub(crate) fn safepoint() {
    let b = BREAKER.with(Cell::get);
    // SAFETY: BREAKER points into this thread's `ThreadShared`, kept alive
    // by LOCAL until the exit path sets BREAKER to null first.
    if !b.is_null() && unsafe { (*b).load(Relaxed) } != 0 {
        safepoint_slow();
    }
}

#[cold]
#[inline(never)]
fn safepoint_slow() {
    if MODE.with(Cell::get) != Mode::Attached {
        return;
    }
    let Some(ts) = shared() else { return };
    let bits = ts.breaker.load(Relaxed);
    if bits & STOP_BIT != 0 {
        runtime().world.park(ts.id);
    }
    if bits & MERGE_BIT != 0 {
        ts.breaker.fetch_and(!MERGE_BIT, Relaxed);
        merge_queue(&ts);
    }
}

/// Merges the objects queued to `ts`, freeing those whose count is zero.
/// The caller is `ts`'s thread, attached.
fn merge_queue(ts: &ThreadShared) {
    for p in ts.queue.take() {
        // SAFETY: the queue entry held a reference until this merge.
        let d = unsafe { p.header() }.rc.explicit_merge(-1);
        if d == Dec::Dealloc {
            // SAFETY: the merge found the count zero: we own its death.
            unsafe { crate::life::dealloc(p) };
        }
    }
}

/// Runs `f` detached: the calling thread counts as stopped for collections
/// while `f` runs (run blocking calls this way). A handle used inside `f`
/// re-attaches the thread for that operation, waiting for a collection in
/// progress; reading through a handle needs no attachment.
pub fn detached<R>(f: impl FnOnce() -> R) -> R {
    if MODE.with(Cell::get) != Mode::Attached {
        return f();
    }
    let id = me();
    MODE.with(|m| m.set(Mode::Detached));
    CURRENT.with(|c| c.set(NOBODY));
    runtime().world.detach(id);
    struct Reattach(usize);
    impl Drop for Reattach {
        fn drop(&mut self) {
            runtime().world.attach(self.0);
            MODE.with(|m| m.set(Mode::Attached));
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _g = Reattach(id);
    f()
}

impl Drop for Local {
    /// The thread exits: merge what it owns (afterwards every thread counts
    /// its objects on the shared count), close its queue, unregister.
    fn drop(&mut self) {
        let Some(ts) = self.shared.borrow_mut().take() else { return };
        let id = ts.id;
        if MODE.with(Cell::get) == Mode::Detached {
            runtime().world.attach(id);
            MODE.with(|m| m.set(Mode::Attached));
            CURRENT.with(|c| c.set(id));
        }
        merge_queue(&ts);
        {
            let objs = ts.list.objs.lock();
            for &p in objs.iter() {
                // SAFETY: registered objects are allocated.
                let h = unsafe { p.header() };
                if h.rc.owner() == id {
                    // An owned object has local >= 1, so the count stays
                    // positive: nothing is freed under the list lock.
                    let d = h.rc.explicit_merge(0);
                    debug_assert_eq!(d, Dec::Alive);
                }
            }
        }
        ts.list.orphan.store(true, Relaxed);
        CURRENT.with(|c| c.set(NOBODY));
        MODE.with(|m| m.set(Mode::Exited));
        BREAKER.with(|b| b.set(std::ptr::null()));
        LIST.with(|b| b.set(std::ptr::null()));
        let mut dead = Vec::new();
        for p in ts.queue.close() {
            // SAFETY: the queue entry held a reference until this merge.
            if unsafe { p.header() }.rc.explicit_merge(-1) == Dec::Dealloc {
                dead.push(p);
            }
        }
        runtime().threads.lock().remove(&id);
        runtime().world.unregister(id);
        if !dead.is_empty() {
            let _a = attach();
            for p in dead {
                // SAFETY: the merge found the count zero: we own its death.
                unsafe { crate::life::dealloc(p) };
            }
        }
    }
}
