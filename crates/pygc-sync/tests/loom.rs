//! Loom models of the two protocols the heap is built on, run against the
//! crate's own `count` and `world` code (built with `--cfg loom`, which
//! swaps the atomics, mutexes and condvars for loom's).
//!
//! * The count protocol: an owner and another thread increment, decrement,
//!   queue and merge one object's counts. Every use of the value is a read
//!   of a loom `UnsafeCell` and the death writes it, so a death that is not
//!   ordered after every use is reported by loom as a causality violation;
//!   the deaths are counted (exactly one) and the final counts checked.
//! * The handshake: a collector stops the world while mutators attach,
//!   detach, park at safe points and exit. The mutators write the "heap" (a
//!   loom `UnsafeCell`) while attached and the collector writes it while
//!   the world is stopped, so any overlap is a reported race; a flag set
//!   inside the stopped section is also asserted clear by every running
//!   mutator.
//!
//! Run with `scripts/loom.sh` (bounded preemptions, release build).
#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use loom::sync::{Arc, Mutex};
use loom::thread;
use pygc_sync::__loom::{Dec, MergeQueue, RefCount, World, NOBODY, NO_OWNER, STOP_BIT};
use pygc_sync::{StopPolicy, ThreadState};

// ---------------------------------------------------------------------------
// The count protocol.

const OWNER: usize = 1;
const OTHER: usize = 2;
const DEAD: u64 = 0xdead;

/// One object and its owner's merge queue: a miniature of `life` and
/// `world::thread` (the same calls in the same order).
struct Obj {
    rc: RefCount,
    value: UnsafeCell<u64>,
    deaths: AtomicUsize,
    /// The owner's queue (entries carry a reference each).
    queue: MergeQueue<()>,
    /// The owner's breaker word (its MERGE bit).
    merge_pending: AtomicBool,
}

impl Obj {
    fn new() -> Arc<Obj> {
        Arc::new(Obj {
            rc: RefCount::new(OWNER),
            value: UnsafeCell::new(7),
            deaths: AtomicUsize::new(0),
            queue: MergeQueue::new(),
            merge_pending: AtomicBool::new(false),
        })
    }

    /// Reads the value through a handle the caller holds.
    fn use_value(&self) {
        // SAFETY: (in the model) a held reference keeps the value alive;
        // loom checks the read is ordered before the death's write.
        let v = self.value.with(|p| unsafe { *p });
        assert_ne!(v, DEAD, "a held handle saw a dead value");
    }

    /// The death: writes the value, so loom sees any unordered use.
    fn die(&self) {
        // SAFETY: (in the model) the caller owns the death (count zero).
        self.value.with_mut(|p| unsafe { *p = DEAD });
        self.deaths.fetch_add(1, Relaxed);
    }

    fn release(&self, d: Dec) {
        match d {
            Dec::Alive => {}
            Dec::Dealloc => self.die(),
            Dec::Queue => self.queue_to_owner(),
        }
    }

    /// `life::queue_to_owner`.
    fn queue_to_owner(&self) {
        if self.rc.owner() == NO_OWNER {
            let d = self.rc.decref_shared();
            self.release(d);
            return;
        }
        match self.queue.push(()) {
            Ok(()) => self.merge_pending.store(true, Release),
            Err(()) => {
                let d = self.rc.explicit_merge(-1);
                if d == Dec::Dealloc {
                    self.die();
                }
            }
        }
    }

    fn drop_ref(&self, me: usize) {
        let d = self.rc.decref(me);
        self.release(d);
    }

    /// The owner's safe point: merges what others queued.
    fn owner_safepoint(&self) {
        if self.merge_pending.load(Relaxed) {
            self.merge_pending.store(false, Relaxed);
            for () in self.queue.take() {
                if self.rc.explicit_merge(-1) == Dec::Dealloc {
                    self.die();
                }
            }
        }
    }

    /// The owner's exit (`world::thread`'s `Local::drop`).
    fn owner_exit(&self) {
        for () in self.queue.take() {
            if self.rc.explicit_merge(-1) == Dec::Dealloc {
                self.die();
            }
        }
        // Only live objects are in the owner's list: one whose death began
        // left it (a death the owner's own last drop started keeps `tid`).
        if self.rc.owner() == OWNER && self.deaths.load(Relaxed) == 0 {
            assert_eq!(self.rc.explicit_merge(0), Dec::Alive, "an owned object has local >= 1");
        }
        for () in self.queue.close() {
            if self.rc.explicit_merge(-1) == Dec::Dealloc {
                self.die();
            }
        }
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(3);
    }
    b.check(f);
}

/// The owner hands a reference to another thread, which clones it (shared
/// count), uses and drops both while the owner uses and drops its own and
/// reaches a safe point, then exits. Whatever the order, the object dies
/// exactly once, after every use.
#[test]
fn count_owner_and_other_drop() {
    model(|| {
        let o = Obj::new();
        o.rc.incref(OWNER); // the handle sent to the other thread
        let o2 = o.clone();
        let t = thread::spawn(move || {
            o2.rc.incref(OTHER);
            o2.use_value();
            o2.drop_ref(OTHER);
            o2.use_value();
            o2.drop_ref(OTHER);
        });
        o.use_value();
        o.drop_ref(OWNER);
        o.owner_safepoint();
        o.owner_exit();
        t.join().unwrap();
        assert_eq!(o.deaths.load(Relaxed), 1, "the object died {} times", o.deaths.load(Relaxed));
        assert_eq!(o.rc.total(), 0);
    });
}

/// The other thread keeps its reference past the owner's exit (the owner
/// merges at exit) and then drops it; also while a queue entry may be in
/// flight. Before the last drop the count is exact and the invariants hold.
#[test]
fn count_owner_exits_first() {
    model(|| {
        let o = Obj::new();
        o.rc.incref(OWNER);
        o.rc.incref(OWNER);
        let o2 = o.clone();
        let t = thread::spawn(move || {
            // Drops one of its two references now (maybe queued, maybe a
            // shared decrement after the owner merged).
            o2.drop_ref(OTHER);
            o2.use_value();
        });
        o.drop_ref(OWNER);
        o.owner_exit();
        t.join().unwrap();
        // One reference is left, with nobody owning the object.
        assert_eq!(o.deaths.load(Relaxed), 0);
        assert_eq!(o.rc.total(), 1, "exact count");
        o.rc.verify().unwrap();
        assert_eq!(o.rc.owner(), NO_OWNER);
        o.use_value();
        o.drop_ref(NOBODY);
        assert_eq!(o.deaths.load(Relaxed), 1);
    });
}

/// The owner exits (merging) while the other thread uses and drops its
/// reference, then drops its own on the shared path: whichever drop is
/// last frees, after the other thread's uses (the Release of the shared
/// decrement and the Acquire fence before the free).
#[test]
fn count_last_drop_on_shared_path() {
    model(|| {
        let o = Obj::new();
        o.rc.incref(OWNER);
        let o2 = o.clone();
        let t = thread::spawn(move || {
            o2.use_value();
            o2.drop_ref(OTHER);
        });
        o.owner_exit();
        o.use_value();
        o.drop_ref(NOBODY);
        t.join().unwrap();
        assert_eq!(o.deaths.load(Relaxed), 1);
    });
}

/// A handle goes to another thread and comes back: the other thread clones
/// it (a shared reference) and returns the original, which the owner drops
/// with its own, so the owner's count reaches zero while a shared
/// reference lives (the merge CAS of the owner's last drop) and that
/// reference's drop races with it.
#[test]
fn count_handle_round_trip() {
    model(|| {
        let o = Obj::new();
        o.rc.incref(OWNER); // the handle sent
        let (tx, rx) = loom::sync::mpsc::channel::<()>();
        let o2 = o.clone();
        let t = thread::spawn(move || {
            o2.rc.incref(OTHER); // a clone of its own
            tx.send(()).unwrap(); // the original goes back
            o2.use_value();
            o2.drop_ref(OTHER);
        });
        rx.recv().unwrap();
        o.use_value();
        o.drop_ref(OWNER); // the returned handle
        o.drop_ref(OWNER); // the owner's own: local reaches zero
        o.owner_safepoint();
        o.owner_exit();
        t.join().unwrap();
        assert_eq!(o.deaths.load(Relaxed), 1);
        assert_eq!(o.rc.total(), 0);
    });
}

/// A weak upgrade on another thread races with the owner's last drop: the
/// upgrade either fails, or succeeds and the value stays alive until the
/// upgraded reference is dropped.
#[test]
fn count_weak_upgrade_vs_owner_drop() {
    model(|| {
        let o = Obj::new();
        o.rc.set_maybe_weak(); // a weak handle was made
        let o2 = o.clone();
        let t = thread::spawn(move || {
            if o2.rc.try_incref(OTHER) {
                o2.use_value();
                o2.drop_ref(OTHER);
            }
        });
        o.drop_ref(OWNER);
        o.owner_safepoint();
        o.owner_exit();
        t.join().unwrap();
        assert_eq!(o.deaths.load(Relaxed), 1);
    });
}

// ---------------------------------------------------------------------------
// The handshake.

const COLLECTOR: usize = 1;

fn no_deadline() -> StopPolicy {
    // loom's condvar has no timeouts: wait for ever.
    StopPolicy { warn_after: None, give_up_after: None }
}

struct Heap {
    world: World,
    /// What the threads and the collector write: any overlap is a race.
    cell: UnsafeCell<u64>,
    /// Set while a collector is inside its stopped section.
    stopped: AtomicBool,
}

impl Heap {
    fn new() -> Arc<Heap> {
        Arc::new(Heap { world: World::new(), cell: UnsafeCell::new(0), stopped: AtomicBool::new(false) })
    }

    /// A mutator touches the heap (it must be attached and running).
    fn mutate(&self) {
        assert!(!self.stopped.load(SeqCst), "a mutator runs while the world is stopped");
        // SAFETY: (in the model) only attached threads and the collector of
        // a stopped world write the cell; loom reports any overlap.
        self.cell.with_mut(|p| unsafe { *p += 1 });
    }

    /// The collector's stopped section.
    fn collect(&self, me: usize) {
        self.world.stop(me, no_deadline(), &mut |_| panic!("no deadline, no warning")).unwrap();
        self.stopped.store(true, SeqCst);
        for (name, st) in self.world.threads() {
            assert!(
                name == format!("t{me}") || st != ThreadState::Attached,
                "{name} is attached in a stopped world"
            );
        }
        // SAFETY: (in the model) the world is stopped.
        self.cell.with_mut(|p| unsafe { *p += 100 });
        self.stopped.store(false, SeqCst);
        self.world.restart();
    }

    /// A safe point (`world::thread::safepoint`).
    fn safepoint(&self, me: usize, breaker: &AtomicUsize) {
        if breaker.load(Relaxed) & STOP_BIT != 0 {
            self.world.park(me);
        }
    }
}

fn register(h: &Heap, id: usize) -> std::sync::Arc<AtomicUsize> {
    let b = std::sync::Arc::new(AtomicUsize::new(0));
    h.world.register(id, format!("t{id}"), b.clone());
    b
}

/// A mutator that mutates, reaches a safe point, mutates again and exits,
/// against a collector that stops the world once.
#[test]
fn handshake_safepoint() {
    model(|| {
        let h = Heap::new();
        let h2 = h.clone();
        let m = thread::spawn(move || {
            let b = register(&h2, 2);
            h2.mutate();
            h2.safepoint(2, &b);
            h2.mutate();
            h2.world.unregister(2);
        });
        let _b = register(&h, COLLECTOR);
        h.collect(COLLECTOR);
        h.world.unregister(COLLECTOR);
        m.join().unwrap();
    });
}

/// A mutator that runs a detached scope (a blocking call) between two
/// mutations: detached, it counts as stopped; re-attaching waits for the
/// restart.
#[test]
fn handshake_detach_attach() {
    model(|| {
        let h = Heap::new();
        let h2 = h.clone();
        let m = thread::spawn(move || {
            let _b = register(&h2, 2);
            h2.mutate();
            h2.world.detach(2);
            // detached: touches nothing
            h2.world.attach(2);
            h2.mutate();
            h2.world.unregister(2);
        });
        let _b = register(&h, COLLECTOR);
        h.collect(COLLECTOR);
        h.world.unregister(COLLECTOR);
        m.join().unwrap();
    });
}

/// Two collectors one after the other (the role serialises them; the
/// one that waits for it waits detached, as `collect::take_role`) and a
/// parked mutator: it must stay parked through a second stop that begins
/// before it wakes from the first. (Leaving on the first restart ran the
/// mutator inside the second collector's stopped section.)
#[test]
fn handshake_two_collectors() {
    model(|| {
        let h = Heap::new();
        let role = Arc::new(Mutex::new(()));
        let mut ts = Vec::new();
        for id in [1, 3] {
            let h = h.clone();
            let role = role.clone();
            ts.push(thread::spawn(move || {
                let _b = register(&h, id);
                {
                    // `collect::take_role`: wait for the role detached
                    // (a collector blocked on it must count as stopped).
                    // The model always takes the detached path: loom 0.7
                    // blocks a `try_lock` that races with an acquisition
                    // instead of failing it, a deadlock the real
                    // `try_lock` cannot have.
                    h.world.detach(id);
                    let _r = role.lock().unwrap();
                    h.world.attach(id);
                    h.collect(id);
                }
                h.world.unregister(id);
            }));
        }
        let b = register(&h, 2);
        h.safepoint(2, &b);
        h.mutate();
        h.safepoint(2, &b);
        h.mutate();
        h.world.unregister(2);
        for t in ts {
            t.join().unwrap();
        }
    });
}

/// A thread that exits while a stop is pending and touches the heap
/// afterwards anonymously (its drop of a handle after its thread-local
/// state is gone) is waited for as well.
#[test]
fn handshake_anonymous() {
    model(|| {
        let h = Heap::new();
        let h2 = h.clone();
        let m = thread::spawn(move || {
            let _b = register(&h2, 2);
            h2.mutate();
            h2.world.unregister(2);
            h2.world.attach_anonymous();
            h2.mutate();
            h2.world.detach_anonymous();
        });
        let _b = register(&h, COLLECTOR);
        h.collect(COLLECTOR);
        h.world.unregister(COLLECTOR);
        m.join().unwrap();
    });
}
