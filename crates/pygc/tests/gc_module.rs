//! Ports of the scenarios of CPython's Lib/test/test_gc.py (in our words),
//! over the `gc` module surface.

mod common;

use common::*;
use pygc::gc::{self, CallbackInfo, CallbackPhase as Phase, DebugFlags, GcError};
use pygc::{sys, Finalize, Gc, GcAny, GcCell, Trace};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

#[test]
fn fresh_heap_collects_nothing() {
    assert_eq!(gc::collect(), 0);
}

#[test]
fn getrefcount_of_a_new_list_is_two() {
    let x = Gc::new(Vec::<i32>::new());
    assert_eq!(sys::getrefcount(&x), 2);
    let y = x.clone();
    assert_eq!(sys::getrefcount(&x), 3);
    drop(y);
    assert_eq!(sys::getrefcount(&x), 2);
}

#[test]
fn self_referencing_instance() {
    let a = Node::new("a");
    a.link(&a);
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn self_appended_list() {
    #[derive(Trace)]
    struct List(GcCell<Vec<Gc<List>>>);
    let l = Gc::new(List(GcCell::new(Vec::new())));
    l.0.borrow_mut().push(l.clone());
    drop(l);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn two_node_cycle() {
    let a = Node::new("a");
    let b = Node::new("b");
    a.link(&b);
    b.link(&a);
    drop((a, b));
    assert_eq!(gc::collect(), 2);
}

#[test]
fn cycle_through_a_map() {
    #[derive(Trace)]
    struct Dict(GcCell<HashMap<String, Gc<Dict>>>);
    let d = Gc::new(Dict(GcCell::new(HashMap::new())));
    d.0.borrow_mut().insert("self".into(), d.clone());
    let labels: Vec<String> = Gc::to_any(&d).edges().into_iter().map(|e| e.label).collect();
    assert_eq!(labels, vec!["0[0].value".to_string()]);
    drop(d);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn reachable_cycle_survives() {
    let a = Node::new("a");
    let b = Node::new("b");
    a.link(&b);
    b.link(&a);
    drop(b);
    assert_eq!(gc::collect(), 0);
    assert_eq!(a.r#ref.borrow().as_ref().unwrap().name, "b");
    drop(a);
    assert_eq!(gc::collect(), 2);
}

#[test]
fn finalizer_in_cycle_runs_once_and_is_collected() {
    let a = with_del();
    *a.r#ref.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert_eq!(finalized(), 1);
    assert_eq!(dropped(), 1);
}

#[test]
fn finalizer_runs_on_refcount_death_too() {
    drop(with_del());
    assert_eq!((finalized(), dropped()), (1, 1));
}

thread_local! {
    static SAVED: RefCell<Option<Gc<Lazarus>>> = const { RefCell::new(None) };
}

#[derive(Trace)]
#[pygc(finalize)]
struct Lazarus {
    me: GcCell<Option<Gc<Lazarus>>>,
    calls: std::cell::Cell<u32>,
}

impl Finalize for Lazarus {
    fn finalize(this: &Gc<Self>) {
        this.calls.set(this.calls.get() + 1);
        // Resurrect: store a handle where the program can reach it.
        let me = this.me.borrow().clone();
        SAVED.with(|s| *s.borrow_mut() = me);
    }
}

#[test]
fn resurrection_by_finalizer_is_not_counted_and_finalizer_runs_once() {
    let l = Gc::new(Lazarus { me: GcCell::new(None), calls: Default::default() });
    *l.me.borrow_mut() = Some(l.clone());
    drop(l);
    assert_eq!(gc::collect(), 0, "resurrected objects are not counted");
    let back = SAVED.with(|s| s.borrow_mut().take()).expect("resurrected");
    assert_eq!(back.calls.get(), 1);
    assert!(gc::is_finalized(&back));
    drop(back);
    // Garbage again: collected this time, and the finalizer does not rerun.
    assert_eq!(gc::collect(), 1);
    assert!(SAVED.with(|s| s.borrow().is_none()));
}

#[derive(Trace)]
#[pygc(finalize, legacy)]
struct Legacy {
    other: GcCell<Option<Gc<Node>>>,
    me: GcCell<Option<Gc<Legacy>>>,
}

impl Finalize for Legacy {
    fn finalize(_: &Gc<Self>) {}
}

#[test]
fn legacy_finalizer_cycle_is_uncollectable() {
    // CPython: a tp_del object in a cycle with a list: 2 uncollectable, and
    // gc.garbage holds only the tp_del object.
    let l = Gc::new(Legacy { other: GcCell::new(None), me: GcCell::new(None) });
    let n = Node::new("list");
    *l.other.borrow_mut() = Some(n.clone());
    n.link(&Node::new("tail"));
    *l.me.borrow_mut() = Some(l.clone());
    drop((l, n));
    let mut out = Vec::new();
    gc::set_debug(gc::DEBUG_UNCOLLECTABLE);
    let buf = Rc::new(RefCell::new(Vec::<u8>::new()));
    gc::set_debug_output(Some(Box::new(SharedBuf(buf.clone()))));
    assert_eq!(gc::collect(), 3);
    out.extend(gc::garbage());
    assert_eq!(out.len(), 1);
    assert!(out[0].is::<Legacy>());
    assert_eq!(gc::get_stats()[2].uncollectable, 3);
    let text = String::from_utf8(buf.borrow().clone()).unwrap();
    assert_eq!(text.matches("gc: uncollectable <").count(), 3, "{text}");
    gc::set_debug_output(None);
}

struct SharedBuf(Rc<RefCell<Vec<u8>>>);
impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn debug_stats_and_collectable_lines_match_cpython_format() {
    let buf = Rc::new(RefCell::new(Vec::<u8>::new()));
    gc::set_debug_output(Some(Box::new(SharedBuf(buf.clone()))));
    gc::set_debug(gc::DEBUG_STATS | gc::DEBUG_COLLECTABLE);
    let keep = Node::new("kept");
    let a = Node::new("a");
    a.link(&a);
    drop(a);
    assert_eq!(gc::collect(), 1);
    gc::set_debug(DebugFlags::empty());
    gc::set_debug_output(None);
    let text = String::from_utf8(buf.borrow().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "gc: collecting generation 2...");
    assert_eq!(lines[1], "gc: objects in each generation: 2 0 0");
    assert_eq!(lines[2], "gc: objects in permanent generation: 0");
    assert!(lines[3].starts_with("gc: collectable <Node 0x"), "{}", lines[3]);
    assert!(lines[4].starts_with("gc: done, 1 unreachable, 0 uncollectable, "), "{}", lines[4]);
    assert!(lines[4].ends_with("s elapsed"));
    let secs = lines[4].rsplit(", ").next().unwrap().trim_end_matches("s elapsed");
    assert_eq!(secs.split('.').nth(1).map(str::len), Some(4), "%.4f");
    drop(keep);
}

#[test]
fn saveall_keeps_garbage_and_counts_it() {
    gc::set_debug(gc::DEBUG_SAVEALL);
    let a = Node::new("a");
    a.link(&a);
    drop(a);
    assert_eq!(gc::collect(), 1);
    let g = gc::take_garbage();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].ref_count(), 2, "the garbage list and the self edge");
    gc::set_debug(DebugFlags::empty());
    drop(g);
    assert_eq!(gc::collect(), 1);
    assert!(gc::garbage().is_empty());
}

#[test]
fn invalid_generation_errors() {
    assert_eq!(gc::collect_generation(3), Err(GcError::InvalidGeneration(3)));
    assert_eq!(
        GcError::InvalidGeneration(3).to_string(),
        "invalid generation 3: there are 3 generations (0 to 2)"
    );
    assert_eq!(gc::get_objects(Some(7)).unwrap_err(), GcError::InvalidGeneration(7), "one error for both");
    assert!(gc::set_threshold(1 << 40, 10, 10).is_err());
    assert_eq!(gc::get_threshold(), (700, 10, 10), "a failed set changes nothing");
}

#[test]
fn thresholds_and_enable() {
    assert_eq!(gc::get_threshold(), (700, 10, 10));
    gc::set_threshold(5, 2, 3).unwrap();
    assert_eq!(gc::get_threshold(), (5, 2, 3));
    assert!(gc::isenabled());
    gc::disable();
    assert!(!gc::isenabled());
    let a = Node::new("a");
    a.link(&a);
    drop(a);
    let _more: Vec<_> = (0..20).map(|_| Node::new("x")).collect();
    assert_eq!(gc::get_stats()[0].collections, 0, "disabled: no automatic collection");
    assert_eq!(gc::collect(), 1, "collect() works while disabled");
    gc::enable();
}

#[test]
fn get_count_arithmetic() {
    gc::collect();
    assert_eq!(gc::get_count(), (0, 0, 0));
    let v: Vec<_> = (0..5).map(|_| Node::new("n")).collect();
    assert_eq!(gc::get_count().0, 5);
    drop(v);
    assert_eq!(gc::get_count().0, 0, "deallocations decrement count0");
    let _k = Node::new("k");
    // Untracked objects do not count.
    let _s = Gc::new(String::from("s"));
    assert_eq!(gc::get_count().0, 1);
    gc::collect_generation(0).unwrap();
    assert_eq!(gc::get_count(), (0, 1, 0));
    gc::collect_generation(1).unwrap();
    assert_eq!(gc::get_count(), (0, 0, 1));
    gc::collect_generation(2).unwrap();
    assert_eq!(gc::get_count(), (0, 0, 0));
}

#[test]
fn automatic_collection_follows_cpython_thresholds() {
    // The measured CPython run with thresholds (10, 3, 2): each gen-0
    // collection starts at count0 = 11; after four gen-0 collections a
    // gen-1 collection runs; gen 2 is held back by the 25 % rule.
    gc::collect();
    gc::set_threshold(10, 3, 2).unwrap();
    let starts = Rc::new(RefCell::new(Vec::new()));
    let s2 = starts.clone();
    gc::add_callback(move |phase, info| {
        if phase == Phase::Start {
            s2.borrow_mut().push((info.generation, gc::get_count().0));
        }
    });
    let mut keep = Vec::new();
    for _ in 0..200 {
        keep.push(Node::new("n"));
    }
    let starts = starts.borrow().clone();
    assert!(starts.iter().all(|&(_, c0)| c0 == 11), "{starts:?}");
    let gens: Vec<usize> = starts.iter().map(|&(g, _)| g).collect();
    assert_eq!(&gens[..5], &[0, 0, 0, 0, 1]);
    assert!(gens.contains(&1));
    gc::clear_callbacks();
}

#[test]
fn threshold_zero_disables_automatic_collection() {
    gc::set_threshold(0, 10, 10).unwrap();
    let v: Vec<_> = (0..2000).map(|_| Node::new("n")).collect();
    assert_eq!(gc::get_stats()[0].collections, 0);
    assert_eq!(gc::get_count().0, 2000);
    drop(v);
}

#[test]
fn get_objects_by_generation() {
    let a = Node::new("a");
    let s = Gc::new(5u32);
    let all = gc::get_objects(None).unwrap();
    assert!(all.iter().any(|o| o == &Gc::to_any(&a)));
    assert!(!all.iter().any(|o| o == &Gc::to_any(&s)), "untracked objects are not listed");
    assert_eq!(gc::get_objects(Some(0)).unwrap().len(), 1);
    gc::collect_generation(0).unwrap();
    assert_eq!(gc::get_objects(Some(0)).unwrap().len(), 0);
    assert_eq!(gc::get_objects(Some(1)).unwrap().len(), 1);
}

#[test]
fn referrers_and_referents() {
    let a = Node::new("a");
    let b = Node::new("b");
    a.link(&b);
    let referrers = gc::get_referrers(&[&b]);
    assert_eq!(referrers.len(), 1);
    assert_eq!(referrers[0], Gc::to_any(&a));
    let referents = gc::get_referents(&[&a]);
    assert_eq!(referents, vec![Gc::to_any(&b)]);
    assert!(gc::get_referents(&[&b]).is_empty());
    // get_referents of an untracked object is empty, as get_referents(1).
    assert!(gc::get_referents(&[&Gc::new(1u8)]).is_empty());
}

#[test]
fn is_tracked_follows_the_type() {
    assert!(!gc::is_tracked(&Gc::new(3i64)));
    assert!(!gc::is_tracked(&Gc::new(String::from("s"))));
    assert!(gc::is_tracked(&Node::new("n")));
    assert!(!gc::is_tracked(&Gc::new(Vec::<u8>::new())));
    // An immutable container is tracked only if it holds a tracked object
    // (as CPython's `()` is untracked): otherwise it can never be in a cycle.
    assert!(!gc::is_tracked(&Gc::new(Vec::<Gc<Node>>::new())));
    assert!(gc::is_tracked(&Gc::new(vec![Node::new("n")])));
    assert!(gc::is_tracked(&Gc::new(GcCell::new(Vec::<Gc<Node>>::new()))));
}

#[test]
fn freeze_hides_objects_from_collection() {
    let a = Node::new("a");
    a.link(&a);
    let _b = Node::new("b");
    gc::freeze();
    assert_eq!(gc::get_freeze_count(), 2);
    assert_eq!(gc::get_count(), (0, 0, 0));
    assert!(gc::get_objects(None).unwrap().is_empty());
    drop(a);
    assert_eq!(gc::collect(), 0, "the permanent generation is not collected");
    gc::unfreeze();
    assert_eq!(gc::get_freeze_count(), 0);
    assert_eq!(gc::get_objects(Some(2)).unwrap().len(), 2);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn callbacks_get_start_and_stop_with_counts() {
    let log = Rc::new(RefCell::new(Vec::<(Phase, CallbackInfo)>::new()));
    let l2 = log.clone();
    let id = gc::add_callback(move |p, i| l2.borrow_mut().push((p, *i)));
    let a = Node::new("a");
    a.link(&a);
    drop(a);
    gc::collect();
    assert_eq!(
        *log.borrow(),
        vec![
            (Phase::Start, CallbackInfo { generation: 2, collected: 0, uncollectable: 0 }),
            (Phase::Stop, CallbackInfo { generation: 2, collected: 1, uncollectable: 0 }),
        ]
    );
    assert!(gc::remove_callback(id));
    assert!(!gc::remove_callback(id));
    gc::collect();
    assert_eq!(log.borrow().len(), 2);
}

#[test]
fn stats_accumulate_per_generation() {
    let a = Node::new("a");
    a.link(&a);
    drop(a);
    gc::collect_generation(0).unwrap();
    gc::collect();
    let s = gc::get_stats();
    assert_eq!((s[0].collections, s[0].collected), (1, 1));
    assert_eq!((s[2].collections, s[2].collected), (1, 0));
}

#[test]
fn collect_inside_a_collection_returns_zero() {
    thread_local!(static INNER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) });
    #[derive(Trace)]
    #[pygc(finalize)]
    struct Collector(GcCell<Option<Gc<Collector>>>);
    impl Finalize for Collector {
        fn finalize(_: &Gc<Self>) {
            INNER.with(|c| c.set(Some(gc::collect())));
        }
    }
    let c = Gc::new(Collector(GcCell::new(None)));
    *c.0.borrow_mut() = Some(c.clone());
    drop(c);
    assert_eq!(gc::collect(), 1);
    assert_eq!(INNER.with(|c| c.get()), Some(0));
}

#[test]
fn downcast_and_type_names() {
    let n = Node::new("n");
    let any: GcAny = Gc::to_any(&n);
    assert_eq!(any.short_type_name(), "Node");
    assert!(any.type_name().ends_with("::Node"));
    assert_eq!(format!("{any:?}"), format!("<Node object at {:#x}>", Gc::id(&n)));
    let any = any.downcast::<String>().unwrap_err();
    let back = any.downcast::<Node>().unwrap();
    assert!(Gc::ptr_eq(&back, &n));
}

#[test]
fn header_sizes() {
    // sys.getsizeof includes the header: 32 bytes tracked, 16 untracked.
    assert_eq!(sys::getsizeof(&Gc::new(0u64)), 24);
    assert_eq!(sys::getsizeof(&Node::new("n")), 32 + std::mem::size_of::<Node>());
    assert_eq!(pygc::TRACKED_HEADER_SIZE, 32);
    assert_eq!(pygc::UNTRACKED_HEADER_SIZE, 16);
}

/// An immutable pair, like a Python tuple: its handles never change.
#[derive(Trace)]
struct Pair {
    left: Option<Gc<Pair>>,
    right: Option<Gc<Node>>,
}

#[test]
fn frozen_values_pointing_only_at_untracked_objects_are_never_tracked() {
    // CPython untracks a tuple once all its items are untracked: it can only
    // point at older objects, which cannot be made to point back. pygc
    // applies that to every type whose handles cannot change, at birth.
    const { assert!(<Pair as Trace>::FROZEN && !<Node as Trace>::FROZEN) };
    let leaf = Gc::new(Pair { left: None, right: None });
    let parent = Gc::new(Pair { left: Some(leaf.clone()), right: None });
    assert!(!gc::is_tracked(&leaf), "no handles at all");
    assert!(!gc::is_tracked(&parent), "only untracked handles");
    assert_eq!(gc::get_count().0, 2, "still counted as container allocations");

    // A pair holding a mutable (tracked) object is tracked: the object could
    // later point back at the pair and close a cycle.
    let n = Node::new("n");
    let holder = Gc::new(Pair { left: Some(parent.clone()), right: Some(n.clone()) });
    assert!(gc::is_tracked(&holder));
    gc::collect();
    assert!(gc::is_tracked(&holder), "collections keep it tracked");
    drop((leaf, parent));
    // The holder dies by reference count; the node's self-cycle it held is
    // left for the collector.
    n.link(&n);
    drop((n, holder));
    assert_eq!(gc::collect(), 1);
    assert!(gc::get_objects(None).unwrap().is_empty());
}

#[test]
fn frozen_cycle_through_a_mutable_object_is_collected() {
    // holder (frozen) -> back (GcCell) -> holder: the holder is tracked
    // because it points at a tracked object, so the cycle is found.
    #[derive(Trace)]
    struct Back {
        to: GcCell<Option<Gc<Holder>>>,
    }
    #[derive(Trace)]
    struct Holder {
        back: Gc<Back>,
    }
    let back = Gc::new(Back { to: GcCell::new(None) });
    let h = Gc::new(Holder { back: back.clone() });
    assert!(gc::is_tracked(&h));
    *back.to.borrow_mut() = Some(h.clone());
    drop((h, back));
    assert_eq!(gc::collect(), 2);
}

#[test]
fn count0_drops_on_every_container_deallocation() {
    gc::collect();
    let p = Gc::new(Pair { left: None, right: None });
    gc::collect();
    assert!(!gc::is_tracked(&p), "frozen and pointing at nothing: never tracked");
    let _a = Node::new("a");
    let _b = Node::new("b");
    assert_eq!(gc::get_count().0, 2);
    drop(p); // untracked at death, still a container deallocation
    assert_eq!(gc::get_count().0, 1);
}
