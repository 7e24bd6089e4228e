//! Property tests: random object graphs and random drop orders, checked
//! against an independent reachability oracle (a BFS over a model).
//! Every unreachable object is finalized once and dropped once, nothing
//! reachable is touched, and the heap returns to empty.

use proptest::prelude::*;
use pygc::{gc, Finalize, Gc, GcCell, Trace, Weak};
use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};

const SLOTS: usize = 3;

thread_local! {
    static DROPS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static FINALS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
#[pygc(finalize)]
struct PNode {
    #[pygc(skip)]
    id: usize,
    slots: GcCell<[Option<Gc<PNode>>; SLOTS]>,
}

impl Finalize for PNode {
    fn finalize(this: &Gc<Self>) {
        FINALS.with(|f| f.borrow_mut()[this.id] += 1);
    }
}

impl Drop for PNode {
    fn drop(&mut self) {
        DROPS.with(|d| d.borrow_mut()[self.id] += 1);
    }
}

#[derive(Debug, Clone)]
enum Op {
    New,
    Link { from: usize, slot: usize, to: usize },
    Unlink { from: usize, slot: usize },
    DropRoot(usize),
    Collect(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::New),
        5 => (any::<usize>(), 0..SLOTS, any::<usize>()).prop_map(|(from, slot, to)| Op::Link { from, slot, to }),
        1 => (any::<usize>(), 0..SLOTS).prop_map(|(from, slot)| Op::Unlink { from, slot }),
        3 => any::<usize>().prop_map(Op::DropRoot),
        1 => (0usize..3).prop_map(Op::Collect),
    ]
}

/// The model: which ids are roots, and the edges.
struct Model {
    edges: Vec<[Option<usize>; SLOTS]>,
    roots: Vec<usize>,
}

impl Model {
    fn reachable(&self) -> HashSet<usize> {
        let mut seen: HashSet<usize> = self.roots.iter().copied().collect();
        let mut queue: VecDeque<usize> = seen.iter().copied().collect();
        while let Some(n) = queue.pop_front() {
            for t in self.edges[n].iter().flatten() {
                if seen.insert(*t) {
                    queue.push_back(*t);
                }
            }
        }
        seen
    }
}

fn run(ops: Vec<Op>, thresholds: (usize, usize, usize)) -> Result<(), TestCaseError> {
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2).unwrap();
    DROPS.with(|d| d.borrow_mut().clear());
    FINALS.with(|f| f.borrow_mut().clear());
    let mut model = Model { edges: Vec::new(), roots: Vec::new() };
    let mut roots: Vec<Gc<PNode>> = Vec::new();
    let mut weaks: Vec<Weak<PNode>> = Vec::new();
    for op in ops {
        match op {
            Op::New => {
                let id = model.edges.len();
                DROPS.with(|d| d.borrow_mut().push(0));
                FINALS.with(|f| f.borrow_mut().push(0));
                let n = Gc::new(PNode { id, slots: GcCell::new(Default::default()) });
                weaks.push(Gc::downgrade(&n));
                model.edges.push([None; SLOTS]);
                model.roots.push(id);
                roots.push(n);
            }
            Op::Link { from, slot, to } if !roots.is_empty() => {
                let (from, to) = (from % roots.len(), to % roots.len());
                roots[from].slots.borrow_mut()[slot] = Some(roots[to].clone());
                model.edges[model.roots[from]][slot] = Some(model.roots[to]);
            }
            Op::Unlink { from, slot } if !roots.is_empty() => {
                let from = from % roots.len();
                let old = roots[from].slots.borrow_mut()[slot].take();
                drop(old);
                model.edges[model.roots[from]][slot] = None;
            }
            Op::DropRoot(i) if !roots.is_empty() => {
                let i = i % roots.len();
                roots.swap_remove(i);
                model.roots.swap_remove(i);
            }
            Op::Collect(g) => {
                gc::collect_generation(g).unwrap();
            }
            _ => {}
        }
        // Nothing reachable is ever touched.
        let reachable = model.reachable();
        for &id in &reachable {
            let w = weaks[id].upgrade();
            prop_assert!(w.is_some(), "reachable node {} was freed", id);
            prop_assert_eq!(DROPS.with(|d| d.borrow()[id]), 0);
            prop_assert_eq!(FINALS.with(|f| f.borrow()[id]), 0);
        }
    }
    // A full collection frees exactly the unreachable ones.
    gc::collect();
    let reachable = model.reachable();
    for (id, w) in weaks.iter().enumerate() {
        let alive = w.upgrade().is_some();
        prop_assert_eq!(alive, reachable.contains(&id), "node {}", id);
        let drops = DROPS.with(|d| d.borrow()[id]);
        prop_assert_eq!(drops, if alive { 0 } else { 1 }, "node {} dropped {} times", id, drops);
    }
    // Everything goes once the roots go; each finalizer ran at most once and
    // every node was dropped exactly once.
    drop(roots);
    gc::collect();
    let n = weaks.len();
    prop_assert!(weaks.iter().all(|w| w.upgrade().is_none()));
    drop(weaks);
    prop_assert_eq!(DROPS.with(|d| d.borrow().clone()), vec![1; n]);
    prop_assert_eq!(FINALS.with(|f| f.borrow().clone()), vec![1; n]);
    prop_assert!(gc::get_objects(None).unwrap().is_empty(), "heap back to baseline");
    Ok(())
}

fn cases() -> u32 {
    if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() {
        8
    } else {
        128
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_graphs_manual_collections(ops in prop::collection::vec(op(), 1..150)) {
        run(ops, (0, 10, 10))?;
    }

    #[test]
    fn random_graphs_automatic_collections(ops in prop::collection::vec(op(), 1..150), t0 in 1usize..8, t1 in 0usize..4, t2 in 0usize..4) {
        // Tiny thresholds reach every generation and the 25 % rule.
        run(ops, (t0, t1, t2))?;
    }
}
