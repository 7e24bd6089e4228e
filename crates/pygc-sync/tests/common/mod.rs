//! Helpers shared by the scenario tests.
#![allow(dead_code)]

use parking_lot::Mutex;
use pygc_sync::{sync_trace, Gc, GcMutex};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// Tests of one binary share the process's heap; the ones that count what
/// a collection freed run one at a time (parking_lot: a ThreadSanitizer
/// build sees it, std's mutex is precompiled without instrumentation).
pub fn serial() -> parking_lot::MutexGuard<'static, ()> {
    static M: Mutex<()> = Mutex::new(());
    pygc_sync::detached(|| M.lock())
}

/// A drop counter of its own for each test.
pub fn counter() -> &'static AtomicUsize {
    Box::leak(Box::new(AtomicUsize::new(0)))
}

sync_trace! {
    /// A graph node that counts its drops.
    pub struct Node {
        pub id: usize,
        pub drops: &'static AtomicUsize,
        pub edges: GcMutex<Vec<Gc<Node>>>,
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

pub fn node(id: usize, drops: &'static AtomicUsize) -> Gc<Node> {
    Gc::new(Node { id, drops, edges: GcMutex::new(Vec::new()) })
}

pub fn link(a: &Gc<Node>, b: &Gc<Node>) {
    a.edges.lock().push(b.clone());
}

/// Collects until a collection finds nothing (other tests' threads may
/// hold the role for a moment).
pub fn collect_all() -> usize {
    let mut total = 0;
    for _ in 0..3 {
        total += pygc_sync::gc::collect();
    }
    total
}

pub fn load(c: &AtomicUsize) -> usize {
    c.load(SeqCst)
}

/// Waits (at most 20 s) until `cond` holds, reaching safe points meanwhile.
/// For frees that a collection started by another test's thread may take
/// over: it merges the queued reference while the world is stopped and
/// frees the object after its restart, on its own thread.
pub fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !cond() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        let _ = Gc::new(1u8);
        pygc_sync::safepoint();
        std::thread::yield_now();
    }
    true
}

/// Joining a thread blocks; a test thread that is attached to the heap
/// must do it detached, or a collection started meanwhile (by another test)
/// waits for it until its deadline, while the joined thread may be waiting
/// for that collection to end.
pub trait JoinDetached<T> {
    /// `join().unwrap()`, detached.
    fn join_detached(self) -> T;
}

impl<T> JoinDetached<T> for std::thread::JoinHandle<T> {
    fn join_detached(self) -> T {
        pygc_sync::detached(|| self.join()).unwrap()
    }
}
