//! gc-arena 0.5.3: branded `Gc<'gc, T>` inside `Arena::mutate`, incremental
//! mark and sweep (the collector of the piccolo Lua VM).
//!
//! gc-arena does not fit `gc_workloads!`: a `Gc` exists only inside an
//! `arena.mutate(|mc, root| ..)` callback, everything that outlives one is
//! reachable from the arena's root, cells are `Lock` / `RefLock` behind a write
//! barrier (`Gc::write`), and collection runs only between callbacks. So each
//! workload is written here again, building the same graphs, doing the same
//! operations and checking the same answers as its definition in `mod.rs`
//! (tree checksums, list lengths, values dropped, counted by the same
//! [`Tally`] field, whose `Drop` runs when gc-arena sweeps the value).
//!
//! How the macro's calls map onto gc-arena:
//! - `drop(handle)` is letting a `Gc` go out of scope or removing it from the
//!   root; it frees nothing until a collection.
//! - `collect()` is [`full_collect`]: `collect_all` twice when a cycle is under
//!   way (the first only finishes it, and what it marked black survives), once
//!   from the sleeping phase. Drop counts are checked after it.
//! - Automatic collection is piccolo's: after every `mutate`, `collect_debt()`
//!   when the allocation debt exceeds 1024 B ([`step`]). One `mutate` is one
//!   unit of program work: a tree, a list, a round of pairs, or 1024 random
//!   operations (piccolo steps its VM with a fuel budget the same way).
//! - `clone_drop` / `clone_vec` are not applicable: `Gc` is `Copy`, so a clone
//!   and a drop do no work to measure.
//! - Bytes: gc-arena allocates each `Gc` with `Box` (its 16-B header of list
//!   link and tagged vtable pointer, then the value), so the counting global
//!   allocator sees it like the peers' allocations; the figure is checked
//!   against `Metrics::total_gc_allocation`, which also gives it in tests
//!   where the counting allocator is not installed.

use gc_arena::barrier::unlock;
use gc_arena::lock::{Lock, RefLock};
use gc_arena::{Arena, Collect, Collection, CollectionPhase, Gc, Mutation, Rootable};
use std::time::Instant;

use super::{check, drops, expected_tree_checks, Rng, Sample, Tally};

// SAFETY: a tally holds no `Gc` (it is zero-sized), so there is nothing to trace.
unsafe impl Collect for Tally {
    #[inline]
    fn needs_trace() -> bool {
        false
    }
    fn trace(&self, _: &Collection) {}
}

/// Binary-trees node (leaf when both children are `None`).
#[derive(Collect)]
#[collect(no_drop)]
struct Tree<'gc> {
    left: Option<Gc<'gc, Tree<'gc>>>,
    right: Option<Gc<'gc, Tree<'gc>>>,
    _t: Tally,
}

/// Binary-trees node with a parent pointer.
#[derive(Collect)]
#[collect(no_drop)]
struct PTree<'gc> {
    parent: Lock<Option<Gc<'gc, PTree<'gc>>>>,
    left: Option<Gc<'gc, PTree<'gc>>>,
    right: Option<Gc<'gc, PTree<'gc>>>,
    _t: Tally,
}

/// Linked-list node (`prev` unused for singly linked lists).
#[derive(Collect)]
#[collect(no_drop)]
struct ListNode<'gc> {
    next: Lock<Option<Gc<'gc, ListNode<'gc>>>>,
    prev: Lock<Option<Gc<'gc, ListNode<'gc>>>>,
    _t: Tally,
}

/// Graph node of the stress, random-operation and live-set tests.
#[derive(Collect)]
#[collect(no_drop)]
struct GNode<'gc> {
    label: String,
    edges: RefLock<Vec<Gc<'gc, GNode<'gc>>>>,
    _t: Tally,
}

/// Empty payload.
#[derive(Collect)]
#[collect(no_drop)]
struct P0 {
    _t: Tally,
}

/// 8-byte payload.
#[derive(Collect)]
#[collect(no_drop)]
struct P8 {
    x: u64,
    _t: Tally,
}

/// 48-byte payload.
#[derive(Collect)]
#[collect(no_drop)]
struct P48 {
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    e: u64,
    f: u64,
    _t: Tally,
}

type NoRoot = Rootable!['gc => ()];
type ListRoot = Rootable!['gc => Option<Gc<'gc, ListNode<'gc>>>];
type GraphRoot = Rootable!['gc => Vec<Gc<'gc, GNode<'gc>>>];

/// Debt (bytes) below which piccolo's `Lua::enter` skips `collect_debt`.
const COLLECTOR_GRANULARITY: f64 = 1024.0;

/// Random operations per `mutate` call in `randops`.
const OPS_PER_MUTATE: usize = 1024;

/// The body of `workload` at the sizes of the table.
pub(crate) fn body(workload: &str) -> Option<super::Body> {
    Some(match workload {
        "bt11" => || binary_trees(11),
        "bt16" => || binary_trees(16),
        "ptree11" => || ptree(11),
        "dll30x4096" => || dll_lists(30, 4096),
        "dll1m_garbage" => || dll_garbage(1_000_000),
        "dll1m_live" => || dll_live(1_000_000),
        "list1m_drop" => || list_drop(1_000_000),
        "stress" => stress,
        "randops" => || randops(1_000_000),
        "live1m_explicit" => || live(Trigger::Explicit, 1_000_000, 100),
        "live1m_full" => || live(Trigger::Explicit, 1_000_000, 100),
        "live1m_auto" => || live(Trigger::Auto, 1_000_000, 100),
        "bytes_empty" => || bytes_empty(1_000_000),
        "bytes_8" => || bytes_8(1_000_000),
        "bytes_48" => || bytes_48(1_000_000),
        "bytes_node" => || bytes_node(1_000_000),
        // `clone_drop`, `clone_vec`: `Gc` is `Copy` (see `applicable`).
        _ => return None,
    })
}

/// piccolo's automatic collection after a `mutate` call.
fn step<R: for<'a> Rootable<'a>>(arena: &mut Arena<R>) {
    if arena.metrics().allocation_debt() > COLLECTOR_GRANULARITY {
        arena.collect_debt();
    }
}

/// A full collection: afterwards every value unreachable from the root when
/// it was called has been dropped.
fn full_collect<R: for<'a> Rootable<'a>>(arena: &mut Arena<R>) {
    if arena.collection_phase() != CollectionPhase::Sleeping {
        // Finishes the cycle under way; what it had already marked (or
        // allocated while sweeping) survives it.
        arena.collect_all();
    }
    arena.collect_all();
}

fn elapsed(t: Instant) -> f64 {
    t.elapsed().as_nanos() as f64
}

fn ok(ns: f64) -> Result<Sample, String> {
    Ok(Sample { value: ns, note: None })
}

fn expect_drops(before: u64, n: u64, what: &str) -> Result<(), String> {
    let got = drops() - before;
    check(got == n, || format!("{what}: expected {n} values dropped, got {got}"))
}

fn make_tree<'gc>(mc: &Mutation<'gc>, depth: usize) -> Gc<'gc, Tree<'gc>> {
    if depth == 0 {
        return Gc::new(mc, Tree { left: None, right: None, _t: Tally });
    }
    let left = Some(make_tree(mc, depth - 1));
    let right = Some(make_tree(mc, depth - 1));
    Gc::new(mc, Tree { left, right, _t: Tally })
}

fn tree_check(t: &Tree<'_>) -> usize {
    match (t.left, t.right) {
        (Some(l), Some(r)) => tree_check(&l) + tree_check(&r) + 1,
        _ => 1,
    }
}

/// `binary_trees` of the macro: one tree per `mutate`, then piccolo's step.
pub(super) fn binary_trees(max: usize) -> Result<Sample, String> {
    let mut arena = Arena::<NoRoot>::new(|_| ());
    let before = drops();
    let t = Instant::now();
    let mut res = Vec::new();
    let mut made = 0u64;
    for depth in (4..max).step_by(2) {
        let iterations = 1usize << (max - depth + 4);
        let mut sum = 0;
        for _ in 0..iterations {
            sum += arena.mutate(|mc, _| tree_check(&make_tree(mc, depth)));
            made += (1u64 << (depth + 1)) - 1;
            step(&mut arena);
        }
        res.push(sum);
    }
    full_collect(&mut arena);
    let ns = elapsed(t);
    check(res == expected_tree_checks(max), || format!("tree checks {res:?}"))?;
    expect_drops(before, made, "binary-trees")?;
    ok(ns)
}

fn ptree_nested<'gc>(mc: &Mutation<'gc>, depth: usize) -> Gc<'gc, PTree<'gc>> {
    if depth == 0 {
        return Gc::new(mc, PTree { parent: Lock::new(None), left: None, right: None, _t: Tally });
    }
    let left = Some(ptree_nested(mc, depth - 1));
    let right = Some(ptree_nested(mc, depth - 1));
    let node = Gc::new(mc, PTree { parent: Lock::new(None), left, right, _t: Tally });
    for child in [node.left, node.right].into_iter().flatten() {
        if child.left.is_some() {
            unlock!(Gc::write(mc, child), PTree, parent).set(Some(node));
        }
    }
    node
}

fn ptree_check(t: &PTree<'_>) -> usize {
    match (t.left, t.right) {
        (Some(l), Some(r)) => ptree_check(&l) + ptree_check(&r) + 1,
        _ => 1,
    }
}

/// `ptree11` of the macro at depth `max`: one tree per `mutate`.
pub(super) fn ptree(max: usize) -> Result<Sample, String> {
    let mut arena = Arena::<NoRoot>::new(|_| ());
    let before = drops();
    let t = Instant::now();
    let mut res = Vec::new();
    let mut made = 0u64;
    for depth in (4..max).step_by(2) {
        let iterations = 1usize << (max - depth + 4);
        let mut sum = 0;
        for _ in 0..iterations {
            sum += arena.mutate(|mc, _| ptree_check(&ptree_nested(mc, depth)));
            made += (1u64 << (depth + 1)) - 1;
            step(&mut arena);
        }
        res.push(sum);
    }
    full_collect(&mut arena);
    let ns = elapsed(t);
    check(res == expected_tree_checks(max), || format!("tree checks {res:?}"))?;
    expect_drops(before, made, "parent-pointer trees")?;
    ok(ns)
}

fn new_list_node<'gc>(mc: &Mutation<'gc>, next: Option<Gc<'gc, ListNode<'gc>>>) -> Gc<'gc, ListNode<'gc>> {
    Gc::new(mc, ListNode { next: Lock::new(next), prev: Lock::new(None), _t: Tally })
}

/// Prepends `n` nodes to a one-node list, linking `prev` back (the macro's
/// `build_list`).
fn build_list<'gc>(mc: &Mutation<'gc>, n: usize, doubly: bool) -> Gc<'gc, ListNode<'gc>> {
    let mut head = new_list_node(mc, None);
    for _ in 0..n {
        let cons = new_list_node(mc, Some(head));
        if doubly {
            unlock!(Gc::write(mc, head), ListNode, prev).set(Some(cons));
        }
        head = cons;
    }
    head
}

fn list_len(head: Gc<'_, ListNode<'_>>) -> usize {
    let mut n = 0;
    let mut cur = head.next.get();
    while let Some(c) = cur {
        n += 1;
        cur = c.next.get();
    }
    n
}

/// `dll30x4096` of the macro: `lists` garbage lists of `len` + 1 nodes, one
/// per `mutate`.
pub(super) fn dll_lists(lists: usize, len: usize) -> Result<Sample, String> {
    let mut arena = Arena::<NoRoot>::new(|_| ());
    let before = drops();
    let t = Instant::now();
    let mut lens = Vec::new();
    for _ in 0..lists {
        lens.push(arena.mutate(|mc, _| list_len(build_list(mc, len, true))));
        step(&mut arena);
    }
    full_collect(&mut arena);
    let ns = elapsed(t);
    check(lens.len() == lists && lens.iter().all(|&l| l == len), || format!("lengths {lens:?}"))?;
    expect_drops(before, (lists * (len + 1)) as u64, "linked lists")?;
    ok(ns)
}

/// `dll1m_garbage`: build, measure and drop an `n`-node list in one
/// `mutate` (the macro's three statements), then a full collection.
pub(super) fn dll_garbage(n: usize) -> Result<Sample, String> {
    let mut arena = Arena::<NoRoot>::new(|_| ());
    let before = drops();
    let t = Instant::now();
    let len = arena.mutate(|mc, _| list_len(build_list(mc, n, true)));
    full_collect(&mut arena);
    let ns = elapsed(t);
    check(len == n, || format!("length {len}"))?;
    expect_drops(before, n as u64 + 1, "1M garbage list")?;
    ok(ns)
}

/// `dll1m_live`: a full collection (timed) while the root holds the list.
/// The macro's `drop(list.clone())` has no counterpart (`Gc` is `Copy`); a
/// full collection traces the whole chain anyway.
pub(super) fn dll_live(n: usize) -> Result<Sample, String> {
    let mut arena = Arena::<ListRoot>::new(|_| None);
    arena.mutate_root(|mc, root| *root = Some(build_list(mc, n, true)));
    full_collect(&mut arena);
    let before = drops();
    let t = Instant::now();
    full_collect(&mut arena);
    let ns = elapsed(t);
    expect_drops(before, 0, "collect with a live list")?;
    let len = arena.mutate(|_, root| root.map_or(0, list_len));
    check(len == n, || format!("length after collect {len}"))?;
    arena.mutate_root(|_, root| *root = None);
    full_collect(&mut arena);
    expect_drops(before, n as u64 + 1, "unrooted list")?;
    ok(ns)
}

/// `list1m_drop`: unroot an `n`-node singly linked list and collect (timed).
pub(super) fn list_drop(n: usize) -> Result<Sample, String> {
    let mut arena = Arena::<ListRoot>::new(|_| None);
    arena.mutate_root(|mc, root| *root = Some(build_list(mc, n, false)));
    let before = drops();
    let t = Instant::now();
    arena.mutate_root(|_, root| *root = None);
    full_collect(&mut arena);
    let ns = elapsed(t);
    expect_drops(before, n as u64 + 1, "acyclic list drop")?;
    ok(ns)
}

fn new_gnode<'gc>(mc: &Mutation<'gc>, label: String) -> Gc<'gc, GNode<'gc>> {
    Gc::new(mc, GNode { label, edges: RefLock::new(Vec::new()), _t: Tally })
}

fn add_edge<'gc>(mc: &Mutation<'gc>, a: Gc<'gc, GNode<'gc>>, b: Gc<'gc, GNode<'gc>>) {
    unlock!(Gc::write(mc, a), GNode, edges).borrow_mut().push(b);
}

/// The macro's `stress`: the graph lives in the root's `Vec`, each
/// truncation is a root mutation followed by a full collection.
fn stress() -> Result<Sample, String> {
    const NODE_COUNT: usize = 1 << 15;
    const EDGE_COUNT: usize = 1 << 15;
    const SHRINK_DIV: usize = 1 << 10;
    let mut arena = Arena::<GraphRoot>::new(|_| Vec::new());
    let before = drops();
    let t = Instant::now();
    let mut rng = Rng::new(0xCAFE);
    arena.mutate_root(|mc, nodes| {
        for i in 0..=NODE_COUNT {
            nodes.push(new_gnode(mc, format!("Node {i}")));
        }
    });
    step(&mut arena);
    arena.mutate(|mc, nodes| {
        for _ in 0..=EDGE_COUNT {
            let a = rng.below(nodes.len());
            let b = rng.below(nodes.len());
            add_edge(mc, nodes[a], nodes[b]);
        }
    });
    step(&mut arena);
    let mut res = Vec::new();
    for i in (0..NODE_COUNT).step_by(SHRINK_DIV) {
        arena.mutate_root(|_, nodes| nodes.truncate(NODE_COUNT - i));
        full_collect(&mut arena);
        res.push(arena.mutate(|_, nodes| nodes.len()));
    }
    let (edges, label_ok) = arena.mutate(|_, nodes| {
        let edges: usize = nodes.iter().map(|n| n.edges.borrow().len()).sum();
        (edges, nodes.last().map(|n| n.label.as_str()) == Some("Node 1023"))
    });
    arena.mutate_root(|_, nodes| nodes.clear());
    full_collect(&mut arena);
    let ns = elapsed(t);
    check(res.len() == 32 && res[31] == 1024 && label_ok, || format!("truncations {res:?}"))?;
    check(edges > 0, || "no edges left among the last roots".into())?;
    expect_drops(before, NODE_COUNT as u64 + 1, "stress")?;
    ok(ns)
}

/// The macro's `randops` with `ops` operations, [`OPS_PER_MUTATE`] per
/// `mutate_root` call (the roots are the arena's root), piccolo's step
/// between calls. Removing an edge goes through the write barrier too: the
/// safe API has no other way to mutate a `RefLock` inside a `Gc`.
pub(super) fn randops(ops: usize) -> Result<Sample, String> {
    let mut arena = Arena::<GraphRoot>::new(|_| Vec::new());
    let before = drops();
    let t = Instant::now();
    let mut rng = Rng::new(12345);
    arena.mutate_root(|mc, roots| roots.extend((0..50).map(|_| new_gnode(mc, String::new()))));
    let mut created = 50u64;
    let mut done = 0;
    while done < ops {
        let batch = OPS_PER_MUTATE.min(ops - done);
        arena.mutate_root(|mc, roots| {
            for _ in 0..batch {
                match rng.below(4) {
                    0 => {
                        roots.push(new_gnode(mc, String::new()));
                        created += 1;
                    }
                    1 if !roots.is_empty() => {
                        let a = rng.below(roots.len());
                        let b = rng.below(roots.len());
                        add_edge(mc, roots[a], roots[b]);
                    }
                    2 if !roots.is_empty() => {
                        let i = rng.below(roots.len());
                        roots.swap_remove(i);
                    }
                    3 if !roots.is_empty() => {
                        let a = roots[rng.below(roots.len())];
                        let len = a.edges.borrow().len();
                        if len > 0 {
                            let j = rng.below(len);
                            unlock!(Gc::write(mc, a), GNode, edges).borrow_mut().swap_remove(j);
                        }
                    }
                    _ => {}
                }
            }
        });
        done += batch;
        step(&mut arena);
    }
    let live = arena.mutate(|_, roots| roots.len());
    arena.mutate_root(|_, roots| roots.clear());
    full_collect(&mut arena);
    let ns = elapsed(t);
    check(live > 0, || "no roots left".into())?;
    expect_drops(before, created, "random ops")?;
    ok(ns)
}

/// How `live` collects after each round of garbage.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Trigger {
    /// `full_collect` (gc-arena has no generations: explicit = full).
    Explicit,
    /// piccolo's `step`.
    Auto,
}

/// The macro's `live1m`: `live_n` live nodes in the root, then `rounds` x
/// (1000 garbage 2-cycles in one `mutate`, then the trigger), timed.
pub(super) fn live(trigger: Trigger, live_n: usize, rounds: usize) -> Result<Sample, String> {
    let mut arena = Arena::<GraphRoot>::new(|_| Vec::new());
    arena.mutate_root(|mc, live| live.extend((0..live_n).map(|_| new_gnode(mc, String::new()))));
    full_collect(&mut arena);
    let before = drops();
    let t = Instant::now();
    for _ in 0..rounds {
        arena.mutate(|mc, _| {
            let mut pairs = Vec::with_capacity(1000);
            for _ in 0..1000 {
                let a = new_gnode(mc, String::new());
                let b = new_gnode(mc, String::new());
                add_edge(mc, a, b);
                add_edge(mc, b, a);
                pairs.push(a);
            }
            drop(pairs);
        });
        match trigger {
            Trigger::Explicit => full_collect(&mut arena),
            Trigger::Auto => step(&mut arena),
        }
    }
    let ns = elapsed(t);
    let freed = drops() - before;
    full_collect(&mut arena);
    let garbage = 2000 * rounds as u64;
    expect_drops(before, garbage, "garbage pairs")?;
    let len = arena.mutate(|_, live| live.len());
    check(len == live_n, || "live set changed".into())?;
    let note = (trigger == Trigger::Auto).then(|| format!("{}% freed in run", freed * 100 / garbage));
    arena.mutate_root(|_, live| live.clear());
    full_collect(&mut arena);
    expect_drops(before, garbage + live_n as u64, "live set, unrooted")?;
    Ok(Sample { value: ns, note })
}

/// One bytes row: `n` values made by `$make(i)` held in the root's `Vec`
/// (allocated before the first reading, like the macro's), bytes per value
/// from the counting allocator, checked against gc-arena's own count.
macro_rules! bytes_row {
    ($name:ident, $lt:lifetime, $ty:ty, $make:expr) => {
        pub(super) fn $name(n: usize) -> Result<Sample, String> {
            let mut arena = Arena::<Rootable![$lt => Vec<Gc<$lt, $ty>>]>::new(|_| Vec::with_capacity(n));
            let a0 = super::allocated_bytes();
            let g0 = arena.metrics().total_gc_allocation();
            let r0 = super::rss_bytes();
            arena.mutate_root(|mc, v| {
                for i in 0..n as u64 {
                    v.push(Gc::new(mc, ($make)(i)));
                }
            });
            let a1 = super::allocated_bytes();
            let g1 = arena.metrics().total_gc_allocation();
            let r1 = super::rss_bytes();
            let counted = a1 - a0;
            let boxes = g1 - g0;
            // The counting allocator reads 0 where it is not installed (tests).
            check(a1 == 0 || counted == boxes, || {
                format!("global allocator counted {counted} B, gc-arena {boxes} B")
            })?;
            let handles = n * std::mem::size_of::<Gc<'static, ()>>();
            let rss = (r1.saturating_sub(r0 + handles)) as f64 / n as f64;
            let before = drops();
            arena.mutate_root(|_, v| v.clear());
            full_collect(&mut arena);
            expect_drops(before, n as u64, "bytes")?;
            Ok(Sample { value: boxes as f64 / n as f64, note: Some(format!("RSS {rss:.0}")) })
        }
    };
}

bytes_row!(bytes_empty, 'gc, P0, |_| P0 { _t: Tally });
bytes_row!(bytes_8, 'gc, P8, |x| P8 { x, _t: Tally });
bytes_row!(bytes_48, 'gc, P48, |i| P48 { a: i, b: i, c: i, d: i, e: i, f: i, _t: Tally });
bytes_row!(bytes_node, 'gc, ListNode<'gc>, |_| ListNode {
    next: Lock::new(None),
    prev: Lock::new(None),
    _t: Tally
});
