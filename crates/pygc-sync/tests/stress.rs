//! N threads build, share, mutate and drop cyclic graphs, send handles to
//! each other, collect from any thread and exit while others still use
//! their objects. At quiescence a BFS oracle from the roots decides what is
//! reachable: every unreachable node was finalized and dropped exactly once,
//! every reachable one was touched by neither.
//!
//! `PYGC_STRESS_OPS` sets the operations per thread (default 3000),
//! `PYGC_STRESS_SEED` the seed.
#![cfg(not(loom))] // the loom build has only the protocols (tests/loom.rs)

use pygc_sync::{detached, gc, sync_trace, Finalize, Gc, GcMutex, Weak};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::LazyLock;

const THREADS: usize = 4;
const ROOTS: usize = 16;

fn ops() -> usize {
    std::env::var("PYGC_STRESS_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(3000)
}

struct Book {
    drops: Vec<AtomicU32>,
    finals: Vec<AtomicU32>,
    next: AtomicUsize,
}

static BOOK: LazyLock<Book> = LazyLock::new(|| {
    let n = ops() * THREADS * 2 + 16;
    Book {
        drops: (0..n).map(|_| AtomicU32::new(0)).collect(),
        finals: (0..n).map(|_| AtomicU32::new(0)).collect(),
        next: AtomicUsize::new(0),
    }
});

sync_trace! {
    finalize;
    struct Node {
        id: usize,
        check: usize,
        edges: GcMutex<Vec<Gc<Node>>>,
    }
}

impl Finalize for Node {
    fn finalize(this: &Gc<Self>) {
        BOOK.finals[this.id].fetch_add(1, SeqCst);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        assert_eq!(self.check, self.id.wrapping_mul(0x9e37_79b9), "a node's value was corrupted");
        BOOK.drops[self.id].fetch_add(1, SeqCst);
    }
}

fn new_node() -> Gc<Node> {
    let id = BOOK.next.fetch_add(1, SeqCst);
    Gc::new(Node { id, check: id.wrapping_mul(0x9e37_79b9), edges: GcMutex::new(Vec::new()) })
}

/// The roots: outside the heap, so their handles count as references from
/// outside.
static ROOT: LazyLock<Vec<GcMutex<Option<Gc<Node>>>>> =
    LazyLock::new(|| (0..ROOTS).map(|_| GcMutex::new(None)).collect());

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn pick(rng: &mut Rng, local: &[Gc<Node>]) -> Option<Gc<Node>> {
    let start = if !local.is_empty() && rng.below(2) == 0 {
        Some(local[rng.below(local.len())].clone())
    } else {
        ROOT[rng.below(ROOTS)].lock().clone()
    };
    let mut cur = start?;
    for _ in 0..rng.below(4) {
        let next = {
            let e = cur.edges.lock();
            if e.is_empty() {
                break;
            }
            e[rng.below(e.len())].clone()
        };
        cur = next;
    }
    Some(cur)
}

/// A thread's inbox: handles other threads send it (a GcMutex, so a
/// ThreadSanitizer build sees the hand-over; std's channels are
/// precompiled without instrumentation).
type Inbox = GcMutex<Vec<Gc<Node>>>;

fn worker(seed: u64, me: usize, inboxes: &'static [Inbox], weaks: &GcMutex<Vec<Weak<Node>>>) {
    let mut rng = Rng(seed);
    let mut local: Vec<Gc<Node>> = Vec::new();
    for _ in 0..ops() {
        let got = std::mem::take(&mut *inboxes[me].lock());
        local.extend(got);
        match rng.below(100) {
            0..=24 => {
                let n = new_node();
                if rng.below(2) == 0 {
                    *ROOT[rng.below(ROOTS)].lock() = Some(n);
                } else {
                    local.push(n);
                }
            }
            25..=49 => {
                if let (Some(a), Some(b)) = (pick(&mut rng, &local), pick(&mut rng, &local)) {
                    a.edges.lock().push(b);
                }
            }
            50..=59 => {
                if let Some(a) = pick(&mut rng, &local) {
                    let removed = {
                        let mut e = a.edges.lock();
                        if e.is_empty() {
                            None
                        } else {
                            let i = rng.below(e.len());
                            Some(e.swap_remove(i))
                        }
                    };
                    drop(removed); // outside the lock
                }
            }
            60..=69 => {
                let old = ROOT[rng.below(ROOTS)].lock().take();
                drop(old);
            }
            70..=79 => {
                if !local.is_empty() {
                    let i = rng.below(local.len());
                    local.swap_remove(i);
                }
            }
            80..=87 => {
                if let Some(a) = pick(&mut rng, &local) {
                    inboxes[rng.below(inboxes.len())].lock().push(a);
                }
            }
            88..=93 => {
                if let Some(a) = pick(&mut rng, &local) {
                    weaks.lock().push(Gc::downgrade(&a));
                }
            }
            94..=95 => {
                if std::env::var_os("PYGC_STRESS_NO_COLLECT").is_none() {
                    gc::collect();
                }
            }
            _ => {
                if let Some(a) = pick(&mut rng, &local) {
                    *ROOT[rng.below(ROOTS)].lock() = Some(a);
                }
            }
        }
    }
    drop(local);
}

#[test]
fn stress_with_a_reachability_oracle() {
    if std::env::var_os("PYGC_STRESS_NO_COLLECT").is_some() {
        gc::disable();
    }
    let weaks: &'static GcMutex<Vec<Weak<Node>>> = Box::leak(Box::new(GcMutex::new(Vec::new())));
    let inboxes: &'static [Inbox] = Box::leak((0..THREADS).map(|_| GcMutex::new(Vec::new())).collect());
    // Initialised before the threads start (thread creation orders it).
    LazyLock::force(&BOOK);
    LazyLock::force(&ROOT);
    let mut handles = Vec::new();
    for i in 0..THREADS {
        let seed: u64 =
            std::env::var("PYGC_STRESS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x1234_5678);
        handles.push(std::thread::spawn(move || worker(seed + i as u64 * 7919, i, inboxes, weaks)));
    }
    for h in handles {
        detached(|| h.join()).unwrap();
    }
    for inbox in inboxes {
        let left = std::mem::take(&mut *inbox.lock());
        drop(left);
    }
    // Quiescence: only this thread.
    for _ in 0..3 {
        gc::collect();
    }
    pygc_sync::safepoint();
    gc::verify().unwrap();

    // The oracle: BFS from the roots.
    let mut reachable = HashSet::new();
    let mut stack: Vec<Gc<Node>> = ROOT.iter().filter_map(|r| r.lock().clone()).collect();
    while let Some(n) = stack.pop() {
        if reachable.insert(n.id) {
            stack.extend(n.edges.lock().iter().cloned());
        }
    }
    let made = BOOK.next.load(SeqCst);
    assert!(made > 100, "the run made objects");
    let mut freed = 0;
    for id in 0..made {
        let d = BOOK.drops[id].load(SeqCst);
        let f = BOOK.finals[id].load(SeqCst);
        if reachable.contains(&id) {
            assert_eq!((d, f), (0, 0), "reachable node {id} was finalized or dropped");
        } else {
            assert_eq!((d, f), (1, 1), "unreachable node {id}: dropped {d} times, finalized {f} times");
            freed += 1;
        }
    }
    for w in weaks.lock().iter() {
        if let Some(n) = w.upgrade() {
            assert!(reachable.contains(&n.id), "a weak handle upgraded to a dead node");
        }
    }
    eprintln!("stress: {made} nodes, {} reachable, {freed} freed, {:?}", reachable.len(), gc::get_stats());
    for r in ROOT.iter() {
        let old = r.lock().take();
        drop(old);
    }
    weaks.lock().clear();
    for _ in 0..2 {
        gc::collect();
    }
    for id in 0..made {
        assert_eq!(BOOK.drops[id].load(SeqCst), 1, "node {id} after clearing the roots");
    }
}
