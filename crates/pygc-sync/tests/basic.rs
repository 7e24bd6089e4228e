//! Single- and multi-threaded scenarios of the shared heap: cycles, handles
//! across threads, weak handles, finalizers, the gc surface.
#![cfg(not(loom))] // the loom build has only the protocols (tests/loom.rs)

mod common;
use common::*;
use pygc_sync::{gc, sync_trace, Finalize, Gc, GcMutex, GcRwLock, Weak, WeakRef};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

#[test]
fn a_cycle_is_freed_by_the_collector_and_only_then() {
    let _s = serial();
    let drops = counter();
    let a = node(1, drops);
    let b = node(2, drops);
    link(&a, &b);
    link(&b, &a);
    drop(b);
    collect_all();
    assert_eq!(load(drops), 0, "a is held from outside: nothing is garbage");
    assert_eq!(a.edges.lock()[0].id, 2);
    drop(a);
    collect_all();
    assert_eq!(load(drops), 2);
    gc::verify().unwrap();
}

#[test]
fn acyclic_objects_die_at_count_zero_on_any_thread() {
    let drops = counter();
    let a = node(1, drops);
    let b = a.clone();
    thread::spawn(move || drop(b)).join_detached();
    assert_eq!(load(drops), 0);
    drop(a);
    // The other thread's drop queued its reference to the owner (this
    // thread), which merges the counts at its next safe point.
    pygc_sync::safepoint();
    assert_eq!(load(drops), 1);
}

#[test]
fn the_last_drop_on_a_non_owner_thread_frees_through_the_owner_queue() {
    let drops = counter();
    let a = node(1, drops);
    let b = a.clone();
    drop(a); // owner: local 1 -> ... the clone is still counted locally
    let t = thread::spawn(move || {
        drop(b); // shared count 0: queued to the owner
    });
    t.join_detached();
    // The owner merges at its next safe point (an allocation), or another
    // test's collection does.
    let _x = Gc::new(0u8);
    pygc_sync::safepoint();
    let _y = node(9, counter());
    wait_until(|| load(drops) == 1);
    assert_eq!(load(drops), 1);
}

#[test]
fn a_cycle_shared_and_dropped_by_other_threads_is_collected() {
    let _s = serial();
    let drops = counter();
    let a = node(1, drops);
    let b = node(2, drops);
    link(&a, &b);
    link(&b, &a);
    let (a2, b2) = (a.clone(), b.clone());
    drop((a, b));
    let t = thread::spawn(move || {
        link(&a2, &node(3, a2.drops));
        drop((a2, b2));
        gc::collect()
    });
    // Joining blocks: detached, so the other thread's collection does not
    // wait for this one.
    pygc_sync::detached(|| t.join()).unwrap();
    collect_all();
    assert_eq!(load(drops), 3);
    gc::verify().unwrap();
}

#[test]
fn objects_outlive_their_owner_thread() {
    let _s = serial();
    let drops = counter();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let a = node(1, drops);
        let b = node(2, drops);
        link(&a, &b);
        link(&b, &a);
        for _ in 0..100 {
            link(&a, &node(3, drops));
        }
        tx.send(a.clone()).unwrap();
        // a, b and the 100 children are owned here; the thread exits with
        // local counts, which it merges.
    })
    .join_detached();
    let a = rx.recv().unwrap();
    assert_eq!(a.edges.lock().len(), 101);
    let c = a.clone();
    drop(c);
    gc::verify().unwrap();
    drop(a);
    collect_all();
    assert_eq!(load(drops), 102);
}

#[test]
fn weak_handles_die_with_the_value_and_call_back_after_the_restart() {
    let _s = serial();
    let drops = counter();
    let called = counter();
    let a = node(1, drops);
    link(&a, &a);
    let w: Weak<Node> = Gc::downgrade(&a);
    let wr = WeakRef::new(&a, move || {
        called.fetch_add(1, SeqCst);
    });
    assert_eq!(w.upgrade().unwrap().id, 1);
    drop(a);
    assert!(w.upgrade().is_some(), "a cycle keeps it until collected");
    collect_all();
    assert!(w.upgrade().is_none());
    assert!(wr.upgrade().is_none());
    assert_eq!(load(called), 1);
    assert_eq!(load(drops), 1);
}

#[test]
fn a_weak_ref_dropped_first_calls_nothing() {
    let called = counter();
    let a = Gc::new(5u32);
    let wr = WeakRef::new(&a, move || {
        called.fetch_add(1, SeqCst);
    });
    drop(wr);
    drop(a);
    assert_eq!(load(called), 0);
}

sync_trace! {
    finalize;
    struct Phoenix {
        me: GcMutex<Option<Gc<Phoenix>>>,
        finalized: &'static AtomicUsize,
        drops: &'static AtomicUsize,
    }
}

static SAVED: GcMutex<Vec<Gc<Phoenix>>> = GcMutex::new(Vec::new());

impl Finalize for Phoenix {
    fn finalize(this: &Gc<Self>) {
        if this.finalized.fetch_add(1, SeqCst) == 0 {
            SAVED.lock().push(this.clone()); // resurrect, once
        }
    }
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

#[test]
fn a_finalizer_runs_once_and_may_resurrect() {
    let _s = serial();
    let (fin, drops) = (counter(), counter());
    let p = Gc::new(Phoenix { me: GcMutex::new(None), finalized: fin, drops });
    *p.me.lock() = Some(p.clone());
    drop(p);
    collect_all();
    assert_eq!(load(fin), 1);
    assert_eq!(load(drops), 0, "resurrected");
    let p = SAVED.lock().pop().unwrap();
    assert!(p.me.lock().is_some());
    drop(p);
    collect_all();
    assert_eq!(load(fin), 1, "finalizers run once");
    assert_eq!(load(drops), 1);
}

#[test]
fn a_finalizer_at_count_zero_runs_once_after_a_drop_on_another_thread() {
    let _s = serial();
    let (fin, drops) = (counter(), counter());
    let p = Gc::new(Phoenix { me: GcMutex::new(None), finalized: fin, drops });
    fin.store(5, SeqCst); // no resurrection
    thread::spawn(move || drop(p)).join_detached();
    // The other thread's drop queued its reference to us, the owner: our
    // next safe point merges it and frees (or another test's collection
    // does, see `wait_until`).
    wait_until(|| load(fin) != 5 && load(drops) == 1);
    assert_eq!(load(fin), 6);
    assert_eq!(load(drops), 1);
}

#[test]
fn rwlock_contents_are_traced() {
    let _s = serial();
    sync_trace! {
        struct Holder { drops: &'static AtomicUsize, slot: GcRwLock<Option<Gc<Holder>>> }
    }
    impl Drop for Holder {
        fn drop(&mut self) {
            self.drops.fetch_add(1, SeqCst);
        }
    }
    let drops = counter();
    let h = Gc::new(Holder { drops, slot: GcRwLock::new(None) });
    *h.slot.write() = Some(h.clone());
    assert!(h.slot.read().is_some());
    drop(h);
    collect_all();
    assert_eq!(load(drops), 1);
}

#[test]
fn gc_surface_objects_referrers_freeze() {
    let _s = serial();
    let drops = counter();
    let a = node(1, drops);
    let b = node(2, drops);
    link(&a, &b);
    let objs = gc::get_objects();
    assert!(objs.iter().any(|o| o.is(&a)) && objs.iter().any(|o| o.is(&b)));
    drop(objs);
    let b_any = pygc_sync::GcAny::from(b.clone());
    let refs = gc::get_referrers(&[&b_any]);
    assert_eq!(refs.len(), 1);
    assert!(refs[0].is(&a));
    let a_any = pygc_sync::GcAny::from(a.clone());
    let out = gc::get_referents(&a_any);
    assert!(out.len() == 1 && out[0].is(&b));
    assert_eq!(out[0].downcast::<Node>().unwrap().id, 2);
    drop((refs, out, a_any, b_any));

    link(&b, &a);
    assert!(gc::freeze() >= 2);
    drop((a, b));
    collect_all();
    assert_eq!(load(drops), 0, "frozen objects are not collected");
    gc::unfreeze();
    collect_all();
    assert_eq!(load(drops), 2);
    assert!(gc::get_stats().collections > 0);
    let (t0, _, _) = gc::get_threshold();
    gc::set_threshold(t0 + 1, 10, 0);
    assert_eq!(gc::get_threshold().0, t0 + 1);
    gc::set_threshold(t0, 10, 0);
}

#[test]
fn saveall_keeps_garbage() {
    let _s = serial();
    let drops = counter();
    let a = node(1, drops);
    link(&a, &a);
    drop(a);
    gc::set_debug(gc::DEBUG_SAVEALL);
    collect_all();
    gc::set_debug(0);
    assert_eq!(load(drops), 0);
    assert!(gc::garbage().iter().any(|g| g.downcast::<Node>().is_some_and(|n| std::ptr::eq(n.drops, drops))));
    gc::clear_garbage();
    collect_all();
    assert_eq!(load(drops), 1);
}

#[test]
fn callbacks_see_each_collection() {
    let _s = serial();
    let seen = counter();
    let id = gc::callbacks_add(move |phase, info| {
        if phase == gc::Phase::Stop && info.examined > 0 {
            seen.fetch_add(1, SeqCst);
        }
    });
    let _keep = node(1, counter());
    gc::collect();
    assert!(gc::callbacks_remove(id));
    assert!(load(seen) >= 1);
}

#[test]
fn a_chain_of_a_million_drops_with_constant_stack() {
    sync_trace! {
        struct Link { next: Option<Gc<Link>> }
    }
    let mut head = None;
    for _ in 0..1_000_000 {
        head = Some(Gc::new(Link { next: head }));
    }
    drop(head);
}
