//! Cycle-collector benchmarks: pygc against `Rc`, gcmodule, rust-cc,
//! dumpster, bacon_rajan_cc, gc and gc-arena, on the workloads the peers
//! publish (binary trees, doubly linked lists, parent trees, the dumpster and
//! rust-cc stress tests; each described where it is defined below).
//!
//! Every workload is written once (the `gc_workloads!` macro) and expanded
//! in one module per crate over that crate's handle, cell and collect
//! function, so all crates run exactly the same code (gc-arena's branded
//! handles live only inside `Arena::mutate` and cannot be put behind the
//! macro's names: `gcarena_impl` writes each workload again over the same
//! graphs and checks). Each workload checks its answer (tree checksums,
//! list lengths, and the number of values dropped, counted by a zero-sized
//! [`Tally`] field in every node), so a collector that frees too little or
//! too much cannot post a fast number.
//!
//! The driver ([`driver`]) runs each (crate, workload) pair in a child
//! process, so a crate that overflows the stack or panics is reported as
//! such without ending the suite.

pub mod driver;

mod bacon_impl;
mod dumpster_impl;
mod gcarena_impl;
mod gcmodule_impl;
mod pygc_impl;
mod rc_impl;
mod rgc_impl;
mod rustcc_impl;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a workload measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nanoseconds of the timed part.
    Time,
    /// Bytes per object (one sample is enough: it is deterministic).
    Bytes,
}

/// A workload: its id (as given on the command line), a description for
/// the table, what it measures, and whether it needs a cycle collector.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Command-line id.
    pub id: &'static str,
    /// Row label in the markdown table.
    pub label: &'static str,
    /// What the number is.
    pub kind: Kind,
    /// Whether the workload creates cyclic garbage (so `Rc` cannot run it).
    pub cyclic: bool,
    /// Whether it needs automatic triggering (manual-only crates skip it).
    pub auto: bool,
}

/// All workloads, in table order.
pub const WORKLOADS: &[Workload] = &[
    w("bt11", "binary-trees, depth 4..11 (acyclic)", Kind::Time, false),
    w("bt16", "binary-trees, depth 4..16 (acyclic)", Kind::Time, false),
    w("ptree11", "binary-trees with parent pointers, depth 11", Kind::Time, true),
    w("dll30x4096", "doubly linked lists, 30 x 4096 (garbage)", Kind::Time, true),
    w("dll1m_garbage", "doubly linked list 1M: build + drop + collect", Kind::Time, true),
    w("dll1m_live", "doubly linked list 1M: collect while live", Kind::Time, true),
    w("list1m_drop", "singly linked list 1M: drop (acyclic)", Kind::Time, false),
    w("stress", "stress: 2^15 nodes, 2^15 random edges, 32 truncations + collect", Kind::Time, true),
    w("randops", "random ops: 50 seeds, 1M ops (create/edge/drop root/drop edge)", Kind::Time, true),
    w("live1m_explicit", "1M live + 100 x (1k garbage 2-cycles + explicit collect)", Kind::Time, true),
    w("live1m_full", "1M live + 100 x (1k garbage 2-cycles + full collect)", Kind::Time, true),
    Workload {
        id: "live1m_auto",
        label: "1M live + 100 x (1k garbage 2-cycles), automatic collection",
        kind: Kind::Time,
        cyclic: true,
        auto: true,
    },
    w("clone_drop", "clone + drop of one handle (ns per pair)", Kind::Time, false),
    w("clone_vec", "clone 1000 handles into a Vec, drop them (ns per handle)", Kind::Time, false),
    w("bytes_empty", "bytes per object, empty payload", Kind::Bytes, false),
    w("bytes_8", "bytes per object, 8-B payload", Kind::Bytes, false),
    w("bytes_48", "bytes per object, 48-B payload", Kind::Bytes, false),
    w("bytes_node", "bytes per object, list node (2 edges, tracked)", Kind::Bytes, false),
];

const fn w(id: &'static str, label: &'static str, kind: Kind, cyclic: bool) -> Workload {
    Workload { id, label, kind, cyclic, auto: false }
}

/// Looks a workload up by id.
pub fn workload(id: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.id == id)
}

/// The contenders, in column order (CPython is run by the driver from the
/// Python script).
pub const CRATES: &[&str] =
    &["pygc", "pygc-noauto", "rc", "gcmodule", "rust-cc", "dumpster", "bacon_rajan_cc", "gc", "gc-arena"];

/// One measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Nanoseconds (time workloads, already divided per unit where the
    /// label says so) or bytes per object.
    pub value: f64,
    /// Something the reader must know (e.g. how much garbage an automatic
    /// trigger actually freed, or the RSS per object).
    pub note: Option<String>,
}

/// A workload body: one repetition, or the reason its answer was wrong.
pub type Body = fn() -> Result<Sample, String>;

/// Whether `krate` can run workload `w`, and if not why (shown in the table).
pub fn applicable(krate: &str, w: &Workload) -> Result<(), &'static str> {
    // The stress graph (SplitMix64 seeded 0xCAFE) happens to hold no
    // cycle, so Rc can run it and show the collectors' overhead.
    if krate == "rc" && w.cyclic && w.id != "stress" {
        return Err("n/a (leaks cycles)");
    }
    if w.auto && matches!(krate, "gcmodule" | "bacon_rajan_cc") {
        return Err("n/a (manual collection only)");
    }
    if krate == "pygc-noauto" && (w.cyclic || w.kind == Kind::Bytes) {
        return Err("–");
    }
    // A gc-arena `Gc` is `Copy`: a clone and a drop are a register copy
    // and nothing, with no count to change.
    if krate == "gc-arena" && w.id.starts_with("clone") {
        return Err("n/a (Gc is Copy: no clone/drop work)");
    }
    if w.id == "live1m_full" && krate != "pygc" {
        return Err("= row above");
    }
    Ok(())
}

/// The body of `workload` for `krate`.
pub fn body(krate: &str, workload: &str) -> Option<Body> {
    match krate {
        "pygc" => pygc_impl::body(workload),
        "pygc-noauto" => pygc_impl::body_noauto(workload),
        "rc" => rc_impl::body(workload),
        "gcmodule" => gcmodule_impl::body(workload),
        "rust-cc" => rustcc_impl::body(workload),
        "dumpster" => dumpster_impl::body(workload),
        "bacon_rajan_cc" => bacon_impl::body(workload),
        "gc" => rgc_impl::body(workload),
        "gc-arena" => gcarena_impl::body(workload),
        _ => None,
    }
}

thread_local! {
    static DROPS: Cell<u64> = const { Cell::new(0) };
}

/// A zero-sized field put in every benchmark node: its `Drop` counts how
/// many values the crate really dropped, which every workload checks.
#[derive(Default, Debug)]
pub struct Tally;

impl Drop for Tally {
    #[inline]
    fn drop(&mut self) {
        DROPS.with(|d| d.set(d.get() + 1));
    }
}

/// Values dropped so far on this thread.
pub fn drops() -> u64 {
    DROPS.with(Cell::get)
}

/// Fails with a message naming the check unless `ok`.
pub fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

/// SplitMix64: tiny, and the Python script repeats it bit for bit, so the
/// random graphs are the same in every crate and in CPython.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that counts the bytes requested through it, for the
/// bytes-per-object rows. The `gc_bench` binary installs it.
pub struct CountingAlloc;

// SAFETY: forwards every call to `System` unchanged; only adds counting.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size, Ordering::Relaxed);
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Bytes currently allocated through [`CountingAlloc`] (0 if not installed).
pub fn allocated_bytes() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// Resident set size of this process in bytes (Linux), 0 if unknown.
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Rounds `n` up to obmalloc's 16-byte size classes.
pub fn size_class(n: usize) -> usize {
    n.div_ceil(16) * 16
}

/// Binary-trees (rust-cc-benchmarks, after shredder): the expected sum of
/// checks at each depth.
pub fn expected_tree_checks(max: usize) -> Vec<usize> {
    (4..max).step_by(2).map(|d| (1usize << (max - d + 4)) * ((1usize << (d + 1)) - 1)).collect()
}

/// The work of every crate, written once. Expanded inside each crate
/// module, which defines: `P<T>` (handle), `C<T>` (cell), node types
/// `Tree`, `PTree`, `ListNode`, `GNode`, `P0`, `P8`, `P48`, and functions
/// `collect()`, `collect_young()`, `prepare_auto()`, `obj_bytes(&P<T>)`.
macro_rules! gc_workloads {
    () => {
        use std::hint::black_box;
        use std::time::Instant;
        use $crate::gc::{check, drops, expected_tree_checks, Rng, Sample, Tally};

        /// The body of `workload`, if this crate has it.
        pub(crate) fn body(workload: &str) -> Option<$crate::gc::Body> {
            Some(match workload {
                "bt11" => || binary_trees(11),
                "bt16" => || binary_trees(16),
                "ptree11" => ptree11,
                "dll30x4096" => dll30x4096,
                "dll1m_garbage" => dll1m_garbage,
                "dll1m_live" => dll1m_live,
                "list1m_drop" => list1m_drop,
                "stress" => stress,
                "randops" => randops,
                "live1m_explicit" => || live1m(Trigger::Young),
                "live1m_full" => || live1m(Trigger::Full),
                "live1m_auto" => || live1m(Trigger::Auto),
                "clone_drop" => clone_drop,
                "clone_vec" => clone_vec,
                "bytes_empty" => || bytes(|_| P::new(P0 { _t: Tally })),
                "bytes_8" => || bytes(|i| P::new(P8 { x: i, _t: Tally })),
                "bytes_48" => || bytes(|i| P::new(P48 { a: i, b: i, c: i, d: i, e: i, f: i, _t: Tally })),
                "bytes_node" => || bytes(|_| new_list_node(None)),
                _ => return None,
            })
        }

        fn ms(t: Instant) -> f64 {
            t.elapsed().as_nanos() as f64
        }

        fn ok(ns: f64) -> Result<Sample, String> {
            Ok(Sample { value: ns, note: None })
        }

        fn expect_drops(before: u64, n: u64, what: &str) -> Result<(), String> {
            let got = drops() - before;
            check(got == n, || format!("{what}: expected {n} values dropped, got {got}"))
        }

        fn make_tree(depth: usize) -> P<Tree> {
            if depth == 0 {
                return P::new(Tree { left: None, right: None, _t: Tally });
            }
            P::new(Tree { left: Some(make_tree(depth - 1)), right: Some(make_tree(depth - 1)), _t: Tally })
        }

        fn tree_check(t: &Tree) -> usize {
            match (&t.left, &t.right) {
                (Some(l), Some(r)) => tree_check(l) + tree_check(r) + 1,
                _ => 1,
            }
        }

        fn binary_trees(max: usize) -> Result<Sample, String> {
            let before = drops();
            let t = Instant::now();
            let mut res = Vec::new();
            let mut made = 0u64;
            for depth in (4..max).step_by(2) {
                let iterations = 1usize << (max - depth + 4);
                let mut sum = 0;
                for _ in 0..iterations {
                    let tree = make_tree(depth);
                    sum += tree_check(&tree);
                    made += (1u64 << (depth + 1)) - 1;
                }
                res.push(sum);
            }
            collect();
            let ns = ms(t);
            check(res == expected_tree_checks(max), || format!("tree checks {res:?}"))?;
            expect_drops(before, made, "binary-trees")?;
            ok(ns)
        }

        fn ptree_nested(depth: usize) -> P<PTree> {
            if depth == 0 {
                return P::new(PTree { parent: C::new(None), left: None, right: None, _t: Tally });
            }
            let node = P::new(PTree {
                parent: C::new(None),
                left: Some(ptree_nested(depth - 1)),
                right: Some(ptree_nested(depth - 1)),
                _t: Tally,
            });
            for child in [&node.left, &node.right].into_iter().flatten() {
                if child.left.is_some() {
                    *child.parent.borrow_mut() = Some(node.clone());
                }
            }
            node
        }

        fn ptree_check(t: &PTree) -> usize {
            match (&t.left, &t.right) {
                (Some(l), Some(r)) => ptree_check(l) + ptree_check(r) + 1,
                _ => 1,
            }
        }

        fn ptree11() -> Result<Sample, String> {
            let max = 11;
            let before = drops();
            let t = Instant::now();
            let mut res = Vec::new();
            let mut made = 0u64;
            for depth in (4..max).step_by(2) {
                let iterations = 1usize << (max - depth + 4);
                let mut sum = 0;
                for _ in 0..iterations {
                    let tree = ptree_nested(depth);
                    sum += ptree_check(&tree);
                    made += (1u64 << (depth + 1)) - 1;
                }
                res.push(sum);
            }
            collect();
            let ns = ms(t);
            check(res == expected_tree_checks(max), || format!("tree checks {res:?}"))?;
            expect_drops(before, made, "parent-pointer trees")?;
            ok(ns)
        }

        fn new_list_node(next: Option<P<ListNode>>) -> P<ListNode> {
            P::new(ListNode { next: C::new(next), prev: C::new(None), _t: Tally })
        }

        /// Prepends `n` nodes to a one-node list, linking `prev` back:
        /// the shape of rust-cc-benchmarks' `large_linked_list`.
        fn build_list(n: usize, doubly: bool) -> P<ListNode> {
            let mut head = new_list_node(None);
            for _ in 0..n {
                let cons = new_list_node(Some(head.clone()));
                if doubly {
                    *head.prev.borrow_mut() = Some(cons.clone());
                }
                head = cons;
            }
            head
        }

        fn list_len(head: &P<ListNode>) -> usize {
            let mut n = 0;
            let mut cur = head.next.borrow().clone();
            while let Some(c) = cur {
                n += 1;
                cur = c.next.borrow().clone();
            }
            n
        }

        /// Unlinks a list front to back without recursion (cleanup only).
        fn dismantle(head: P<ListNode>) {
            let mut cur = Some(head);
            while let Some(c) = cur {
                let prev = c.prev.borrow_mut().take();
                drop(prev);
                cur = c.next.borrow_mut().take();
            }
        }

        fn dll30x4096() -> Result<Sample, String> {
            let before = drops();
            let t = Instant::now();
            let mut lens = Vec::new();
            for _ in 0..30 {
                let list = build_list(4096, true);
                lens.push(list_len(&list));
            }
            collect();
            let ns = ms(t);
            check(lens.iter().all(|&l| l == 4096), || format!("lengths {lens:?}"))?;
            expect_drops(before, 30 * 4097, "linked lists")?;
            ok(ns)
        }

        fn dll1m_garbage() -> Result<Sample, String> {
            let n = 1_000_000;
            let before = drops();
            let t = Instant::now();
            let list = build_list(n, true);
            let len = list_len(&list);
            drop(list);
            collect();
            let ns = ms(t);
            check(len == n, || format!("length {len}"))?;
            expect_drops(before, n as u64 + 1, "1M garbage list")?;
            ok(ns)
        }

        fn dll1m_live() -> Result<Sample, String> {
            let n = 1_000_000;
            let list = build_list(n, true);
            collect();
            let before = drops();
            let t = Instant::now();
            // Drop a second handle to the head, so candidate-buffer
            // collectors (rust-cc, bacon_rajan_cc, dumpster) must trace
            // the whole live chain from it, as a full collection does.
            drop(list.clone());
            collect();
            let ns = ms(t);
            expect_drops(before, 0, "collect with a live list")?;
            let len = list_len(&list);
            check(len == n, || format!("length after collect {len}"))?;
            dismantle(list);
            collect();
            expect_drops(before, n as u64 + 1, "dismantled list")?;
            ok(ns)
        }

        fn list1m_drop() -> Result<Sample, String> {
            let n = 1_000_000;
            let list = build_list(n, false);
            let before = drops();
            let t = Instant::now();
            drop(list);
            collect();
            let ns = ms(t);
            expect_drops(before, n as u64 + 1, "acyclic list drop")?;
            ok(ns)
        }

        fn new_gnode(label: String) -> P<GNode> {
            P::new(GNode { label, edges: C::new(Vec::new()), _t: Tally })
        }

        fn add_edge(a: &P<GNode>, b: &P<GNode>) {
            let b = b.clone();
            a.edges.borrow_mut().push(b);
        }

        fn stress() -> Result<Sample, String> {
            const NODE_COUNT: usize = 1 << 15;
            const EDGE_COUNT: usize = 1 << 15;
            const SHRINK_DIV: usize = 1 << 10;
            let before = drops();
            let t = Instant::now();
            let mut rng = Rng::new(0xCAFE);
            let mut nodes = Vec::new();
            for i in 0..=NODE_COUNT {
                nodes.push(new_gnode(format!("Node {i}")));
            }
            for _ in 0..=EDGE_COUNT {
                let a = rng.below(nodes.len());
                let b = rng.below(nodes.len());
                add_edge(&nodes[a], &nodes[b]);
            }
            let mut res = Vec::new();
            for i in (0..NODE_COUNT).step_by(SHRINK_DIV) {
                nodes.truncate(NODE_COUNT - i);
                collect();
                res.push(nodes.len());
            }
            let edges: usize = nodes.iter().map(|n| n.edges.borrow().len()).sum();
            let label_ok = nodes.last().map(|n| n.label.as_str()) == Some("Node 1023");
            drop(nodes);
            collect();
            let ns = ms(t);
            check(res.len() == 32 && res[31] == 1024 && label_ok, || format!("truncations {res:?}"))?;
            check(edges > 0, || "no edges left among the last roots".into())?;
            expect_drops(before, NODE_COUNT as u64 + 1, "stress")?;
            ok(ns)
        }

        fn randops() -> Result<Sample, String> {
            let before = drops();
            let t = Instant::now();
            let mut rng = Rng::new(12345);
            let mut roots: Vec<P<GNode>> = (0..50).map(|_| new_gnode(String::new())).collect();
            let mut created = 50u64;
            for _ in 0..1_000_000 {
                match rng.below(4) {
                    0 => {
                        roots.push(new_gnode(String::new()));
                        created += 1;
                    }
                    1 if !roots.is_empty() => {
                        let a = rng.below(roots.len());
                        let b = rng.below(roots.len());
                        add_edge(&roots[a], &roots[b]);
                    }
                    2 if !roots.is_empty() => {
                        let i = rng.below(roots.len());
                        drop(roots.swap_remove(i));
                    }
                    3 if !roots.is_empty() => {
                        let a = rng.below(roots.len());
                        let len = roots[a].edges.borrow().len();
                        if len > 0 {
                            let j = rng.below(len);
                            let gone = roots[a].edges.borrow_mut().swap_remove(j);
                            drop(gone);
                        }
                    }
                    _ => {}
                }
            }
            let live = roots.len();
            drop(roots);
            collect();
            let ns = ms(t);
            check(live > 0, || "no roots left".into())?;
            expect_drops(before, created, "random ops")?;
            ok(ns)
        }

        #[derive(Clone, Copy, PartialEq)]
        enum Trigger {
            Young,
            Full,
            Auto,
        }

        fn live1m(trigger: Trigger) -> Result<Sample, String> {
            let live: Vec<P<GNode>> = (0..1_000_000).map(|_| new_gnode(String::new())).collect();
            collect();
            prepare_auto();
            let before = drops();
            let t = Instant::now();
            for _ in 0..100 {
                let mut pairs = Vec::with_capacity(1000);
                for _ in 0..1000 {
                    let a = new_gnode(String::new());
                    let b = new_gnode(String::new());
                    add_edge(&a, &b);
                    add_edge(&b, &a);
                    pairs.push(a);
                }
                drop(pairs);
                match trigger {
                    Trigger::Young => collect_young(),
                    Trigger::Full => collect(),
                    Trigger::Auto => {}
                }
            }
            let ns = ms(t);
            let freed = drops() - before;
            collect();
            expect_drops(before, 200_000, "garbage pairs")?;
            check(live.len() == 1_000_000, || "live set changed".into())?;
            let note = (trigger == Trigger::Auto).then(|| format!("{}% freed in run", freed * 100 / 200_000));
            drop(live);
            collect();
            Ok(Sample { value: ns, note })
        }

        fn clone_drop() -> Result<Sample, String> {
            const N: usize = 20_000_000;
            let x = new_gnode(String::new());
            let before = drops();
            let t = Instant::now();
            for _ in 0..N {
                let c = black_box(&x).clone();
                black_box(&c);
                drop(c);
            }
            let ns = ms(t) / N as f64;
            expect_drops(before, 0, "clone/drop")?;
            drop(x);
            collect();
            expect_drops(before, 1, "clone/drop, final drop")?;
            ok(ns)
        }

        fn clone_vec() -> Result<Sample, String> {
            const ROUNDS: usize = 20_000;
            let x = new_gnode(String::new());
            let mut v = Vec::with_capacity(1000);
            let before = drops();
            let t = Instant::now();
            for _ in 0..ROUNDS {
                for _ in 0..1000 {
                    v.push(black_box(&x).clone());
                }
                black_box(&v);
                v.clear();
            }
            let ns = ms(t) / (ROUNDS * 1000) as f64;
            expect_drops(before, 0, "clone into vec")?;
            drop(x);
            collect();
            expect_drops(before, 1, "clone into vec, final drop")?;
            ok(ns)
        }

        fn bytes<T: Obj>(make: impl Fn(u64) -> P<T>) -> Result<Sample, String> {
            let n = 1_000_000usize;
            let mut v: Vec<P<T>> = Vec::with_capacity(n);
            let a0 = $crate::gc::allocated_bytes();
            let r0 = $crate::gc::rss_bytes();
            for i in 0..n {
                v.push(make(i as u64));
            }
            let a1 = $crate::gc::allocated_bytes();
            let r1 = $crate::gc::rss_bytes();
            let requested = match obj_bytes(&v[0]) {
                Some(b) => b as f64,
                None => (a1 - a0) as f64 / n as f64,
            };
            let handles = n * std::mem::size_of::<P<T>>();
            let rss = (r1.saturating_sub(r0 + handles)) as f64 / n as f64;
            let before = drops();
            drop(v);
            collect();
            expect_drops(before, n as u64, "bytes")?;
            Ok(Sample { value: requested, note: Some(format!("RSS {rss:.0}")) })
        }
    };
}

pub(crate) use gc_workloads;

/// The node types, identical in every crate module except for the derive
/// attributes (crates without a usable derive implement `Trace` by hand).
macro_rules! define_nodes {
    ($(#[$a:meta])*) => {
        use $crate::gc::Tally as TallyField;

        /// Binary-trees node (leaf when both children are `None`).
        #[allow(dead_code)]
        $(#[$a])*
        struct Tree {
            left: Option<P<Tree>>,
            right: Option<P<Tree>>,
            _t: TallyField,
        }

        /// Binary-trees node with a parent pointer.
        #[allow(dead_code)]
        $(#[$a])*
        struct PTree {
            parent: C<Option<P<PTree>>>,
            left: Option<P<PTree>>,
            right: Option<P<PTree>>,
            _t: TallyField,
        }

        /// Linked-list node (`prev` unused for singly linked lists).
        #[allow(dead_code)]
        $(#[$a])*
        struct ListNode {
            next: C<Option<P<ListNode>>>,
            prev: C<Option<P<ListNode>>>,
            _t: TallyField,
        }

        /// Graph node of the stress and random-operation tests.
        #[allow(dead_code)]
        $(#[$a])*
        struct GNode {
            label: String,
            edges: C<Vec<P<GNode>>>,
            _t: TallyField,
        }

        /// Empty payload.
        #[allow(dead_code)]
        $(#[$a])*
        struct P0 {
            _t: TallyField,
        }

        /// 8-byte payload.
        #[allow(dead_code)]
        $(#[$a])*
        struct P8 {
            x: u64,
            _t: TallyField,
        }

        /// 48-byte payload.
        #[allow(dead_code)]
        $(#[$a])*
        struct P48 {
            a: u64,
            b: u64,
            c: u64,
            d: u64,
            e: u64,
            f: u64,
            _t: TallyField,
        }
    };
}

pub(crate) use define_nodes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_matches_the_python_script_sequence() {
        // First outputs of SplitMix64 seeded with 0, a published test vector.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn expected_checks_match_a_direct_count() {
        // depth 4 tree has 31 nodes; max 6 → depth 4 only, 2^(6-4+4) = 64 trees.
        assert_eq!(expected_tree_checks(6), vec![64 * 31]);
        assert_eq!(expected_tree_checks(11).len(), 4);
    }

    #[test]
    fn tally_counts_drops() {
        let b = drops();
        drop(Tally);
        drop(vec![Tally, Tally]);
        assert_eq!(drops() - b, 3);
    }

    /// The workload bodies check their own answers; run the small ones for
    /// every crate (the 1M-object ones are too slow in debug builds).
    #[test]
    fn small_workloads_pass_their_checks_in_every_crate() {
        if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() {
            eprintln!("skipped under valgrind: too slow");
            return;
        }
        let _allocating = crate::malloc_stats_lock(false);
        // The peers drop and mark recursively, and debug frames are big:
        // give them the room a release build has on the main thread.
        let run = || {
            for krate in CRATES {
                for id in ["bt11", "ptree11", "dll30x4096", "stress"] {
                    let w = workload(id).unwrap();
                    if applicable(krate, w).is_err() {
                        continue;
                    }
                    let f = body(krate, id).unwrap();
                    let s = f().unwrap_or_else(|e| panic!("{krate}/{id}: {e}"));
                    assert!(s.value > 0.0, "{krate}/{id}");
                }
            }
        };
        std::thread::Builder::new().stack_size(256 << 20).spawn(run).unwrap().join().unwrap();
    }

    /// gc-arena's workloads are its own code, not the macro's: run each at a
    /// small size (the table's sizes are too slow in debug builds) and check
    /// its answer, including the bytes rows' box sizes (16-B header).
    #[test]
    fn gc_arena_workloads_pass_their_checks_at_small_scale() {
        if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() {
            eprintln!("skipped under valgrind: too slow");
            return;
        }
        let _allocating = crate::malloc_stats_lock(false);
        use gcarena_impl as a;
        use gcarena_impl::Trigger;
        // bt11, ptree11, dll30x4096 and stress run at full size above.
        let timed: [(&str, Body); 8] = [
            ("bt8", || a::binary_trees(8)),
            ("ptree8", || a::ptree(8)),
            ("dll3x100", || a::dll_lists(3, 100)),
            ("dll_garbage", || a::dll_garbage(10_000)),
            ("dll_live", || a::dll_live(10_000)),
            ("list_drop", || a::list_drop(10_000)),
            ("randops", || a::randops(20_000)),
            ("live_explicit", || a::live(Trigger::Explicit, 10_000, 5)),
        ];
        for (id, f) in timed {
            let s = f().unwrap_or_else(|e| panic!("gc-arena/{id}: {e}"));
            assert!(s.value > 0.0, "gc-arena/{id}");
        }
        // 2.9 MB of garbage over a 720 KB live set: the default pacing starts
        // a cycle after allocating half the surviving heap and finishes it
        // within 1.5 heaps more, so the run frees some of its garbage.
        let auto = a::live(Trigger::Auto, 10_000, 20).unwrap();
        let note = auto.note.unwrap_or_default();
        let freed: u32 = note.strip_suffix("% freed in run").and_then(|p| p.parse().ok()).unwrap();
        assert!(freed > 0, "{note}");
        let bytes: [(Body, f64); 4] = [
            (|| a::bytes_empty(1000), 16.0),
            (|| a::bytes_8(1000), 24.0),
            (|| a::bytes_48(1000), 64.0),
            (|| a::bytes_node(1000), 32.0),
        ];
        for (f, want) in bytes {
            assert_eq!(f().unwrap().value, want);
        }
        for id in ["bt11", "list1m_drop", "live1m_auto", "bytes_node"] {
            assert!(body("gc-arena", id).is_some(), "{id}");
        }
        for id in ["clone_drop", "clone_vec"] {
            assert!(applicable("gc-arena", workload(id).unwrap()).is_err(), "{id}");
        }
    }

    #[test]
    fn unknown_names_have_no_body() {
        assert!(body("pygc", "nope").is_none());
        assert!(body("nope", "bt11").is_none());
        assert!(workload("nope").is_none());
    }

    #[test]
    fn applicability() {
        let cyc = workload("ptree11").unwrap();
        assert!(applicable("rc", cyc).is_err());
        assert!(applicable("pygc", cyc).is_ok());
        let auto = workload("live1m_auto").unwrap();
        assert!(applicable("gcmodule", auto).is_err());
        assert!(applicable("gc", auto).is_ok());
    }
}
