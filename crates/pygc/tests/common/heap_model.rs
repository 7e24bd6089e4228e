//! Random heap operations on two heaps at once (the thread's default heap
//! and an explicit `Heap`), through sized and `dyn` handles, checked against
//! a naive model (a BFS over the edges the program made), shared by the
//! property tests
//! (`tests/random_graphs.rs`) and the fuzzer (`fuzz/fuzz_targets/heap_ops.rs`).
//!
//! After every operation: nothing the model says is reachable was dropped,
//! finalized or made unreachable, and `inspect::verify` finds the heap's
//! invariants intact. At the end: a full collection frees exactly what the
//! model says is unreachable, then dropping the roots frees everything, each
//! node finalized once, dropped once, its weakref callback called once.
#![allow(dead_code)]

use pygc::{gc, inspect, unsize, Finalize, Gc, GcCell, Heap, Trace, Weak};
use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::rc::Rc;

/// Typed slots per node; one more slot holds a `Gc<dyn Linked>`.
pub const SLOTS: usize = 3;
/// All edges of a node: the typed slots and the `dyn` one.
const EDGES: usize = SLOTS + 1;

/// What the `dyn` slot holds: any node, behind a trait object.
pub trait Linked {
    fn node_id(&self) -> usize;
}
pygc::dyn_trace!(dyn Linked);

impl Linked for PNode {
    fn node_id(&self) -> usize {
        self.id
    }
}

/// One step of a run.
#[derive(Debug, Clone)]
pub enum Op {
    /// A new node, in the explicit heap if `other_heap`.
    New {
        other_heap: bool,
    },
    Link {
        from: usize,
        slot: usize,
        to: usize,
    },
    Unlink {
        from: usize,
        slot: usize,
    },
    DropRoot(usize),
    Collect(usize),
    /// A collection of the explicit heap.
    CollectOther(usize),
    Freeze,
    Unfreeze,
    /// A weak handle with a callback on a root.
    WeakCallback(usize),
    /// A root's finalizer will store a handle to it in a global (once).
    Resurrect(usize),
    /// Drops the handles finalizers stored.
    DropResurrected,
}

impl Op {
    /// Decodes a byte string into operations (the fuzzer's input).
    pub fn decode(bytes: &[u8]) -> Vec<Op> {
        let mut ops = Vec::new();
        let mut it = bytes.iter().copied();
        while let Some(b) = it.next() {
            let mut arg = || it.next().unwrap_or(0) as usize;
            ops.push(match b % 17 {
                0..=2 => Op::New { other_heap: arg() % 2 == 1 },
                3..=6 => Op::Link { from: arg(), slot: arg() % EDGES, to: arg() },
                7 => Op::Unlink { from: arg(), slot: arg() % EDGES },
                8 | 9 => Op::DropRoot(arg()),
                10 => Op::Collect(arg() % 3),
                16 => Op::CollectOther(arg() % 3),
                11 => Op::Freeze,
                12 => Op::Unfreeze,
                13 => Op::WeakCallback(arg()),
                14 => Op::Resurrect(arg()),
                _ => Op::DropResurrected,
            });
        }
        ops
    }
}

thread_local! {
    static DROPS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static FINALS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static CALLBACKS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static RESURRECTED: RefCell<Vec<Gc<PNode>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
#[pygc(finalize)]
pub struct PNode {
    #[pygc(skip)]
    id: usize,
    #[pygc(skip)]
    resurrect: Cell<bool>,
    #[pygc(skip)]
    other_heap: bool,
    slots: GcCell<[Option<Gc<PNode>>; SLOTS]>,
    dyn_slot: GcCell<Option<Gc<dyn Linked>>>,
}

impl PNode {
    fn set(&self, slot: usize, to: Option<Gc<PNode>>) {
        if slot < SLOTS {
            let old = std::mem::replace(&mut self.slots.borrow_mut()[slot], to);
            drop(old);
        } else {
            let old = self.dyn_slot.replace(to.map(|t| unsize!(t => dyn Linked)));
            drop(old);
        }
    }
}

impl Finalize for PNode {
    fn finalize(this: &Gc<Self>) {
        FINALS.with(|f| f.borrow_mut()[this.id] += 1);
        if this.resurrect.replace(false) {
            RESURRECTED.with(|r| r.borrow_mut().push(this.clone()));
        }
    }
}

impl Drop for PNode {
    fn drop(&mut self) {
        DROPS.with(|d| d.borrow_mut()[self.id] += 1);
    }
}

/// The model: which ids the program holds, and the edges it made.
struct Model {
    edges: Vec<[Option<usize>; EDGES]>,
    roots: Vec<usize>,
    /// Ids whose handles a finalizer stored (roots too).
    resurrected: Vec<usize>,
}

impl Model {
    fn reachable(&self) -> HashSet<usize> {
        let mut seen: HashSet<usize> = self.roots.iter().chain(&self.resurrected).copied().collect();
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

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// Runs `ops` with the given thresholds on this thread's heap, then frees
/// what a failed run left behind, so the next run starts from an empty heap.
pub fn run(ops: &[Op], thresholds: (usize, usize, usize)) -> Result<(), String> {
    let other = Heap::new();
    let result = run_checked(ops, thresholds, &other);
    gc::set_threshold(700, 10, 10).unwrap();
    gc::unfreeze();
    drop(RESURRECTED.with(|r| std::mem::take(&mut *r.borrow_mut())));
    gc::collect();
    other.collect();
    result
}

fn run_checked(ops: &[Op], thresholds: (usize, usize, usize), other: &Heap) -> Result<(), String> {
    gc::set_threshold(thresholds.0, thresholds.1, thresholds.2).unwrap();
    other.enter(|| gc::set_threshold(thresholds.0, thresholds.1, thresholds.2)).unwrap();
    let collect_both = || {
        gc::collect();
        other.collect();
    };
    for t in [&DROPS, &FINALS, &CALLBACKS] {
        t.with(|d| d.borrow_mut().clear());
    }
    let mut model = Model { edges: Vec::new(), roots: Vec::new(), resurrected: Vec::new() };
    let mut roots: Vec<Gc<PNode>> = Vec::new();
    let mut weaks: Vec<Weak<PNode>> = Vec::new();
    let mut callback_weaks: Vec<(usize, Weak<PNode>)> = Vec::new();
    let calls = Rc::new(RefCell::new(Vec::<u32>::new()));
    for op in ops {
        match *op {
            Op::New { other_heap } => {
                let id = model.edges.len();
                for t in [&DROPS, &FINALS] {
                    t.with(|d| d.borrow_mut().push(0));
                }
                calls.borrow_mut().push(0);
                let make = || {
                    Gc::new(PNode {
                        id,
                        resurrect: Cell::new(false),
                        other_heap,
                        slots: GcCell::new(Default::default()),
                        dyn_slot: GcCell::new(None),
                    })
                };
                let n = if other_heap { other.enter(make) } else { make() };
                weaks.push(Gc::downgrade(&n));
                model.edges.push([None; EDGES]);
                model.roots.push(id);
                roots.push(n);
            }
            // Within a heap only: an edge between heaps is an external
            // reference, so a cycle through two heaps is never collected
            // (tests/heaps.rs shows it); the model would not predict it.
            Op::Link { from, slot, to }
                if !roots.is_empty()
                    && roots[from % roots.len()].other_heap == roots[to % roots.len()].other_heap =>
            {
                let (from, to) = (from % roots.len(), to % roots.len());
                roots[from].set(slot, Some(roots[to].clone()));
                model.edges[model.roots[from]][slot] = Some(model.roots[to]);
            }
            Op::Unlink { from, slot } if !roots.is_empty() => {
                let from = from % roots.len();
                roots[from].set(slot, None);
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
            Op::CollectOther(g) => {
                other.enter(|| gc::collect_generation(g)).unwrap();
            }
            Op::Freeze => gc::freeze(),
            Op::Unfreeze => gc::unfreeze(),
            Op::WeakCallback(i) if !roots.is_empty() => {
                let i = i % roots.len();
                let id = model.roots[i];
                let calls = calls.clone();
                let w = Gc::downgrade_with_callback(&roots[i], move || calls.borrow_mut()[id] += 1);
                callback_weaks.push((id, w));
            }
            Op::Resurrect(i) if !roots.is_empty() => {
                let i = i % roots.len();
                if FINALS.with(|f| f.borrow()[model.roots[i]]) == 0 {
                    roots[i].resurrect.set(true);
                }
            }
            Op::DropResurrected => {
                drop(RESURRECTED.with(|r| std::mem::take(&mut *r.borrow_mut())));
                model.resurrected.clear();
            }
            _ => {}
        }
        // Handles finalizers stored are roots from now on.
        model.resurrected = RESURRECTED.with(|r| r.borrow().iter().map(|n| n.id).collect());
        inspect::verify().map_err(|e| format!("after {op:?}: {e}"))?;
        other.enter(inspect::verify).map_err(|e| format!("after {op:?}, explicit heap: {e}"))?;
        // Nothing reachable is ever touched (a weak handle may fail to
        // upgrade for a node a finalizer resurrected in a collection: its
        // weakrefs were cleared first, as in CPython), and no finalizer runs
        // twice.
        for id in model.reachable() {
            check(DROPS.with(|d| d.borrow()[id]) == 0, || {
                format!("after {op:?}: reachable node {id} dropped")
            })?;
        }
        check(FINALS.with(|f| f.borrow().iter().all(|&n| n <= 1)), || {
            format!("after {op:?}: a node finalized twice")
        })?;
    }
    // A full collection (frozen objects included) frees exactly the
    // unreachable ones.
    gc::unfreeze();
    collect_both();
    model.resurrected = RESURRECTED.with(|r| r.borrow().iter().map(|n| n.id).collect());
    let reachable = model.reachable();
    for id in 0..weaks.len() {
        let alive = DROPS.with(|d| d.borrow()[id]) == 0;
        check(alive == reachable.contains(&id), || format!("node {id}: alive {alive}, model {}", !alive))?;
    }
    // Everything goes once the roots go (a finalizer that had not run yet
    // may resurrect its node once more: collect until none does).
    drop(roots);
    loop {
        let kept = RESURRECTED.with(|r| std::mem::take(&mut *r.borrow_mut()));
        let none = kept.is_empty();
        drop(kept);
        collect_both();
        if none && RESURRECTED.with(|r| r.borrow().is_empty()) {
            break;
        }
    }
    inspect::verify()?;
    other.enter(inspect::verify)?;
    let n = weaks.len();
    check(weaks.iter().all(|w| w.upgrade().is_none()), || "a node outlived its roots".into())?;
    drop(weaks);
    let drops = DROPS.with(|d| d.borrow().clone());
    check(drops == vec![1; n], || {
        let left: Vec<String> = gc::get_objects(None)
            .unwrap()
            .into_iter()
            .map(|o| format!("{o:?} rc={} tracked={}", o.ref_count(), gc::is_tracked(&o)))
            .collect();
        format!("every node dropped exactly once: {drops:?}; left in the heap: {left:?}; ops: {ops:?}")
    })?;
    let finals = FINALS.with(|f| f.borrow().clone());
    check(finals == vec![1; n], || format!("every node finalized exactly once: {finals:?}"))?;
    let mut expected_calls = vec![0u32; n];
    for (id, _) in &callback_weaks {
        expected_calls[*id] += 1;
    }
    check(*calls.borrow() == expected_calls, || {
        format!("weakref callbacks: {:?}, expected {expected_calls:?}", calls.borrow())
    })?;
    drop(callback_weaks);
    check(other.usage().bytes == 0, || format!("the explicit heap still holds {:?}", other.usage()))?;
    check(gc::get_objects(None).unwrap().is_empty(), || "heap back to baseline".into())?;
    Ok(())
}
