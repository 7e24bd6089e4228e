//! The stop-the-world handshake seen from the outside: detached threads,
//! a thread that never reaches a safe point, locks held across a
//! collection, bad use.
#![cfg(not(loom))] // the loom build has only the protocols (tests/loom.rs)

mod common;
use common::*;
use pygc_sync::{detached, gc, safepoint, Gc, StopPolicy, ThreadState};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn a_detached_thread_does_not_hold_up_a_collection() {
    let _s = serial();
    let drops = counter();
    let (tx, rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let t = thread::Builder::new()
        .name("blocked-detached".into())
        .spawn(move || {
            let mine = node(1, counter()); // registers: attached
            ready_tx.send(()).unwrap();
            detached(|| rx.recv().unwrap()); // blocks, counted as stopped
            mine.id
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let a = node(1, drops);
    link(&a, &a);
    drop(a);
    gc::set_stop_policy(StopPolicy { warn_after: None, give_up_after: None });
    let n = gc::try_collect().expect("a detached thread counts as stopped");
    gc::set_stop_policy(StopPolicy::default());
    assert!(n >= 1);
    assert_eq!(load(drops), 1);
    tx.send(()).unwrap();
    assert_eq!(detached(|| t.join()).unwrap(), 1);
}

#[test]
fn a_thread_that_never_reaches_a_safe_point_makes_the_stop_give_up() {
    let _s = serial();
    let (tx, rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let t = thread::Builder::new()
        .name("stuck-attached".into())
        .spawn(move || {
            let _mine = Gc::new(1u32); // registers: attached
            ready_tx.send(()).unwrap();
            rx.recv().unwrap(); // blocks attached: never a safe point
            safepoint();
        })
        .unwrap();
    ready_rx.recv().unwrap();
    gc::set_stop_policy(StopPolicy { warn_after: None, give_up_after: Some(Duration::from_millis(50)) });
    let before = gc::get_stats().stop_timeouts;
    let r = gc::try_collect();
    let err = r.expect_err("the stuck thread cannot stop");
    assert_eq!(err.waiting_on, vec!["stuck-attached".to_string()]);
    assert!(err.to_string().contains("stuck-attached"));
    assert_eq!(gc::get_stats().stop_timeouts, before + 1);
    assert_eq!(gc::collect(), 0, "collect() reports a skipped collection as 0");
    gc::set_stop_policy(StopPolicy::default());
    // The world was restarted: the stuck thread and this one go on.
    tx.send(()).unwrap();
    detached(|| t.join()).unwrap();
    assert!(gc::try_collect().is_ok());
}

#[test]
fn the_warning_names_the_threads_a_stop_waits_for() {
    let _s = serial();
    let (tx, rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let t = thread::Builder::new()
        .name("slow-to-park".into())
        .spawn(move || {
            let _mine = Gc::new(1u32);
            ready_tx.send(()).unwrap();
            rx.recv().unwrap();
            // Reaches a safe point once released: the stop completes.
            loop {
                safepoint();
                if gc::waiting_on().is_empty() {
                    break;
                }
            }
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (seen2, tx2) = (seen.clone(), std::sync::Mutex::new(Some(tx)));
    gc::set_stop_warning(Some(Arc::new(move |names: &[String]| {
        seen2.lock().unwrap().extend(names.iter().cloned());
        // What another thread would see meanwhile.
        assert_eq!(gc::waiting_on(), names);
        if let Some(tx) = tx2.lock().unwrap().take() {
            tx.send(()).unwrap(); // let it reach its safe point
        }
    })));
    gc::set_stop_policy(StopPolicy { warn_after: Some(Duration::ZERO), give_up_after: None });
    let r = gc::try_collect();
    gc::set_stop_policy(StopPolicy::default());
    gc::set_stop_warning(None);
    assert!(r.is_ok());
    assert_eq!(*seen.lock().unwrap(), vec!["slow-to-park".to_string()]);
    detached(|| t.join()).unwrap();
}

#[test]
fn a_lock_held_across_a_collection_keeps_what_it_guards() {
    let _s = serial();
    let drops = counter();
    let a = node(1, drops);
    let b = node(2, drops);
    link(&a, &b);
    link(&b, &a);
    let a2 = a.clone();
    let guard = a2.edges.lock(); // held by this thread, the collector
    drop((a, b));
    // a's contents cannot be traced: a is kept, and so is b.
    collect_all();
    assert_eq!(load(drops), 0);
    assert_eq!(guard[0].id, 2);
    drop(guard);
    drop(a2);
    collect_all();
    assert_eq!(load(drops), 2);
}

#[test]
fn a_lock_held_by_a_parked_thread_is_not_read() {
    let _s = serial();
    let drops = counter();
    let a = node(1, drops);
    link(&a, &a);
    let a2 = a.clone();
    let go = Arc::new(Barrier::new(2));
    let go2 = go.clone();
    let t = thread::spawn(move || {
        let mut g = a2.edges.lock();
        go2.wait();
        // Parks at these allocations while holding the lock.
        for i in 0..1000 {
            g.push(node(100 + i, a2.drops));
        }
        drop(g);
        drop(a2);
    });
    detached(|| go.wait());
    drop(a);
    for _ in 0..10 {
        gc::collect();
    }
    detached(|| t.join()).unwrap();
    collect_all();
    assert_eq!(load(drops), 1001);
}

#[test]
fn threads_are_listed_with_their_state() {
    let _s = serial();
    let _mine = Gc::new(0u8);
    let me = thread::current().name().unwrap().to_string();
    assert!(gc::threads().iter().any(|(n, s)| *n == me && *s == ThreadState::Attached));
    detached(|| assert!(gc::threads().iter().any(|(n, s)| *n == me && *s == ThreadState::Detached)));
}

#[test]
fn handles_dropped_in_a_thread_local_destructor_after_the_thread_state() {
    let _s = serial();
    let drops = counter();
    thread_local! {
        static KEEP: std::cell::RefCell<Vec<Gc<Node>>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let shared = node(7, drops);
    let s2 = shared.clone();
    thread::spawn(move || {
        // Registered in KEEP before the heap's own thread state: destroyed
        // after it (reverse order), when the thread is no longer attached.
        KEEP.with(|k| k.borrow_mut().push(s2.clone()));
        let own = node(8, drops);
        link(&own, &own);
        KEEP.with(|k| k.borrow_mut().push(own));
        drop(s2);
    })
    .join()
    .unwrap();
    assert_eq!(shared.edges.lock().len(), 0);
    drop(shared);
    collect_all();
    safepoint();
    assert_eq!(load(drops), 2);
}

#[test]
fn a_panicking_finalizer_on_another_thread_is_reported_and_the_heap_goes_on() {
    let _s = serial();
    use pygc_sync::{sync_trace, Finalize, GcMutex};
    sync_trace! {
        finalize;
        struct Bomb { drops: &'static std::sync::atomic::AtomicUsize, me: GcMutex<Option<Gc<Bomb>>> }
    }
    impl Finalize for Bomb {
        fn finalize(_: &Gc<Self>) {
            panic!("boom in a finalizer");
        }
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            self.drops.fetch_add(1, SeqCst);
        }
    }
    let drops = counter();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    gc::set_unraisable_hook(Some(Box::new(move |u| seen2.lock().unwrap().push(u.clone()))));
    let b = Gc::new(Bomb { drops, me: GcMutex::new(None) });
    *b.me.lock() = Some(b.clone());
    let before = gc::unraisable_count();
    let t = thread::Builder::new()
        .name("collector-thread".into())
        .spawn(move || {
            drop(b);
            gc::collect();
        })
        .unwrap();
    detached(|| t.join()).unwrap();
    gc::set_unraisable_hook(None);
    assert_eq!(load(drops), 1, "cleared after its finalizer panicked");
    assert!(gc::unraisable_count() > before);
    let seen = seen.lock().unwrap();
    let u = seen.iter().find(|u| u.kind == "finalizer").expect("reported");
    assert_eq!(u.message, "boom in a finalizer");
    assert_eq!(u.thread, "collector-thread");
    gc::verify().unwrap();
}

#[test]
fn a_value_cleared_by_the_collector_panics_with_its_type_when_reached_from_a_drop() {
    let _s = serial();
    use pygc_sync::{sync_trace, GcMutex};
    use std::sync::atomic::AtomicUsize;
    sync_trace! {
        struct Peer { errors: &'static AtomicUsize, other: GcMutex<Option<Gc<Peer>>> }
    }
    impl Drop for Peer {
        fn drop(&mut self) {
            if let Some(o) = self.other.lock().as_ref() {
                if let Err(e) = o.try_get() {
                    assert!(e.to_string().contains("Peer was cleared by the garbage collector"));
                    self.errors.fetch_add(1, SeqCst);
                }
            }
        }
    }
    let errors = counter();
    let a = Gc::new(Peer { errors, other: GcMutex::new(None) });
    let b = Gc::new(Peer { errors, other: GcMutex::new(Some(a.clone())) });
    *a.other.lock() = Some(b.clone());
    drop((a, b));
    collect_all();
    assert_eq!(load(errors), 2, "each Drop found its peer cleared, not freed");
}
