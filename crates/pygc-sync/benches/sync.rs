//! pygc-sync against `Arc`, `dumpster::sync::Gc` and gcmodule's
//! `ThreadedCc`, and against the single-threaded `pygc::Gc`, side by side in
//! one process. Plain timing loops (no criterion): each number is the
//! median of `REPS` runs; every workload checks its answer (counts, drops,
//! what a collection freed) and panics on a wrong one.
//!
//! ```text
//! cargo bench -p pygc-sync --bench sync            # full size
//! PYGC_SYNC_BENCH_SCALE=0.1 cargo bench -p pygc-sync --bench sync
//! ```
//!
//! Workloads:
//! * `clone_drop/owner`: clone and drop a handle on the thread that made
//!   the object (pygc-sync's owner path);
//! * `clone_drop/other`: the same from another thread (pygc-sync's shared,
//!   atomic path), the object's maker keeping its own handle;
//! * `alloc_drop/1t` and `/2t`: rounds of allocating 1000 small objects and
//!   dropping them, by one thread, then by two threads at once; the ratio
//!   is the two threads' total throughput over one thread's;
//! * `pause`: a full collection over 1M live objects (a chain, all rooted
//!   from a `Vec`), single-threaded pygc, pygc-sync with only the collecting
//!   thread attached, and with a second thread attached (running a loop
//!   with safe points) that the collection must stop;
//! * `bt14` and `dll30x4096`: two of `crates/bench`'s single-threaded
//!   `gc_bench` workloads on the thread-safe heaps: binary trees of depth
//!   4..14 (acyclic: allocate, walk, drop) and 30 doubly linked lists of
//!   4096 nodes dropped as garbage cycles and collected.

#[cfg(not(loom))]
fn main() {
    imp::main()
}

/// The loom build has only the protocols: nothing to measure.
#[cfg(loom)]
fn main() {}

#[cfg(not(loom))]
mod imp {
    use std::hint::black_box;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
    use std::sync::{Arc, Barrier, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    const REPS: usize = 5;

    fn scale() -> f64 {
        std::env::var("PYGC_SYNC_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0)
    }

    fn n(base: usize) -> usize {
        ((base as f64 * scale()) as usize).max(1)
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    }

    fn row(workload: &str, impl_: &str, value: f64, unit: &str, note: &str) {
        println!("| {workload} | {impl_} | {value:.2} | {unit} | {note} |");
    }

    /// Median over `REPS` runs of `f`, which returns a duration.
    fn med(mut f: impl FnMut() -> Duration) -> Duration {
        let v: Vec<f64> = (0..REPS).map(|_| f().as_secs_f64()).collect();
        Duration::from_secs_f64(median(v))
    }

    // ---------------------------------------------------------------------------
    // Types.

    pygc_sync::sync_trace! {
        /// A tracked node of the shared heap.
        struct SNode {
            id: usize,
            next: pygc_sync::GcMutex<Option<pygc_sync::Gc<SNode>>>,
        }
    }

    #[derive(pygc::Trace)]
    struct PNode {
        id: usize,
        next: pygc::GcCell<Option<pygc::Gc<PNode>>>,
    }

    // ---------------------------------------------------------------------------
    // clone/drop.

    /// ns per clone+drop pair of `h` on the calling thread.
    fn clone_drop<H: Clone>(h: &H, iters: usize) -> f64 {
        let d = med(|| {
            let t = Instant::now();
            for _ in 0..iters {
                let c = black_box(h).clone();
                drop(black_box(c));
            }
            t.elapsed()
        });
        d.as_nanos() as f64 / iters as f64
    }

    /// ns per clone+drop pair, done on a second thread with a handle the
    /// calling thread made (and keeps).
    fn clone_drop_other<H: Clone + Send + 'static>(h: &H, iters: usize) -> f64 {
        let h2 = h.clone();
        thread::spawn(move || {
            let r = clone_drop(&h2, iters);
            drop(h2);
            r
        })
        .join()
        .unwrap()
    }

    fn bench_clone_drop() {
        let iters = n(10_000_000);
        let note = format!("{iters} pairs");

        let s = pygc_sync::Gc::new(7u64);
        row("clone_drop/owner", "pygc-sync Gc", clone_drop(&s, iters), "ns/op", &note);
        let p = pygc::Gc::new(7u64);
        row("clone_drop/owner", "pygc Gc (single-threaded)", clone_drop(&p, iters), "ns/op", &note);
        let a = Arc::new(7u64);
        row("clone_drop/owner", "Arc", clone_drop(&a, iters), "ns/op", &note);
        let d = dumpster::sync::Gc::new(7u64);
        row("clone_drop/owner", "dumpster::sync::Gc", clone_drop(&d, iters), "ns/op", &note);
        let space = gcmodule::ThreadedObjectSpace::default();
        let g: gcmodule::ThreadedCc<u64> = space.create(7u64);
        row("clone_drop/owner", "gcmodule ThreadedCc", clone_drop(&g, iters), "ns/op", &note);

        row("clone_drop/other", "pygc-sync Gc", clone_drop_other(&s, iters), "ns/op", &note);
        row("clone_drop/other", "Arc", clone_drop_other(&a, iters), "ns/op", &note);
        row("clone_drop/other", "dumpster::sync::Gc", clone_drop_other(&d, iters), "ns/op", &note);
        row("clone_drop/other", "gcmodule ThreadedCc", clone_drop_other(&g, iters), "ns/op", &note);

        // The counts came back: exactly the handles we hold.
        assert_eq!(Arc::strong_count(&a), 1);
        assert_eq!(*s, 7);
        drop((s, p, a, d, g));
        assert_eq!(space.count_tracked(), 0);
    }

    // ---------------------------------------------------------------------------
    // Allocation throughput, one thread and two.

    const BATCH: usize = 1000;

    /// One batch: allocate `BATCH` objects, read them, drop them.
    type Batch = fn(usize) -> usize;

    /// CPU time of the calling thread.
    fn thread_cpu() -> Duration {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is a
        // constant Linux supports.
        let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(r, 0, "clock_gettime");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    /// Allocates and drops `rounds` batches with `alloc`, on `threads` threads
    /// at once. Returns (objects per microsecond of wall time over all threads,
    /// objects per microsecond of CPU time per thread), medians. The second
    /// does not depend on how many cores are free: if it stays the same with two
    /// threads, they do not slow each other down, and the wall-time ratio is
    /// bounded by the cores the machine gives them.
    fn alloc_throughput(threads: usize, rounds: usize, alloc: Batch) -> (f64, f64) {
        let mut wall = Vec::new();
        let mut cpu = Vec::new();
        for _ in 0..REPS {
            let start = Arc::new(Barrier::new(threads + 1));
            let hs: Vec<_> = (0..threads)
                .map(|_| {
                    let start = start.clone();
                    thread::spawn(move || {
                        start.wait();
                        let t = Instant::now();
                        let c = thread_cpu();
                        let mut sum = 0;
                        for r in 0..rounds {
                            sum += alloc(r);
                        }
                        assert_eq!(sum, rounds * (BATCH * (BATCH - 1) / 2), "wrong answer");
                        (t.elapsed(), thread_cpu() - c)
                    })
                })
                .collect();
            start.wait();
            let r: Vec<(Duration, Duration)> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            // The wall time of the slowest thread; the mean CPU time.
            wall.push(r.iter().map(|x| x.0).max().unwrap().as_secs_f64());
            cpu.push(r.iter().map(|x| x.1.as_secs_f64()).sum::<f64>() / threads as f64);
        }
        let objs = (rounds * BATCH) as f64;
        (threads as f64 * objs / median(wall) / 1e6, objs / median(cpu) / 1e6)
    }

    fn alloc_sync(_: usize) -> usize {
        let v: Vec<pygc_sync::Gc<SNode>> = (0..BATCH)
            .map(|i| pygc_sync::Gc::new(SNode { id: i, next: pygc_sync::GcMutex::new(None) }))
            .collect();
        v.iter().map(|n| n.id).sum()
    }

    fn alloc_sync_untracked(_: usize) -> usize {
        let v: Vec<pygc_sync::Gc<usize>> = (0..BATCH).map(pygc_sync::Gc::new).collect();
        v.iter().map(|n| **n).sum()
    }

    struct ANode {
        id: usize,
        _next: Mutex<Option<Arc<ANode>>>,
    }

    fn alloc_arc(_: usize) -> usize {
        let v: Vec<Arc<ANode>> =
            (0..BATCH).map(|i| Arc::new(ANode { id: i, _next: Mutex::new(None) })).collect();
        v.iter().map(|n| n.id).sum()
    }

    fn alloc_dumpster(_: usize) -> usize {
        let v: Vec<dumpster::sync::Gc<usize>> = (0..BATCH).map(dumpster::sync::Gc::new).collect();
        v.iter().map(|n| **n).sum()
    }

    fn bench_alloc() {
        let rounds = n(2000);
        let note = format!("{rounds} rounds of {BATCH} per thread");
        let cases: [(&str, Batch); 4] = [
            ("pygc-sync Gc<SNode> (tracked)", alloc_sync),
            ("pygc-sync Gc<usize> (untracked)", alloc_sync_untracked),
            ("Arc<ANode> (system malloc)", alloc_arc),
            ("dumpster::sync::Gc<usize>", alloc_dumpster),
        ];
        for (name, f) in cases {
            let (one, one_cpu) = alloc_throughput(1, rounds, f);
            let (two, two_cpu) = alloc_throughput(2, rounds, f);
            row("alloc_drop/1t", name, one, "Mobj/s", &note);
            row("alloc_drop/2t", name, two, "Mobj/s", &note);
            row("alloc_drop/ratio", name, two / one, "x", "2 threads over 1, wall time");
            row("alloc_drop/1t cpu", name, one_cpu, "Mobj/cpu-s", "per thread");
            row("alloc_drop/2t cpu", name, two_cpu, "Mobj/cpu-s", "per thread");
            row("alloc_drop/ratio cpu", name, 2.0 * two_cpu / one_cpu, "x", "2 threads over 1, CPU time");
        }
        let _ = pygc_sync::gc::collect();
    }

    // ---------------------------------------------------------------------------
    // Collection pause over 1M live objects.

    fn bench_pause() {
        let count = n(1_000_000);
        let note = format!("{count} live objects, a rooted chain");

        // Single-threaded pygc.
        {
            let v: Vec<pygc::Gc<PNode>> =
                (0..count).map(|i| pygc::Gc::new(PNode { id: i, next: pygc::GcCell::new(None) })).collect();
            for w in v.windows(2) {
                *w[0].next.borrow_mut() = Some(w[1].clone());
            }
            pygc::gc::collect();
            let d = med(|| {
                let t = Instant::now();
                let freed = pygc::gc::collect();
                let e = t.elapsed();
                assert_eq!(freed, 0, "everything is reachable");
                e
            });
            row("pause", "pygc (single-threaded)", d.as_secs_f64() * 1e3, "ms", &note);
            assert_eq!(v.iter().map(|n| n.id).sum::<usize>(), count * (count - 1) / 2);
        }

        let v: Vec<pygc_sync::Gc<SNode>> = (0..count)
            .map(|i| pygc_sync::Gc::new(SNode { id: i, next: pygc_sync::GcMutex::new(None) }))
            .collect();
        for w in v.windows(2) {
            *w[0].next.lock() = Some(w[1].clone());
        }
        pygc_sync::gc::collect();
        let pause = || {
            med(|| {
                let t = Instant::now();
                let freed = pygc_sync::gc::collect();
                let e = t.elapsed();
                assert_eq!(freed, 0, "everything is reachable");
                e
            })
        };
        let one = pause();
        row("pause", "pygc-sync, 1 thread attached", one.as_secs_f64() * 1e3, "ms", &note);

        // A second attached thread, busy with safe points (and no allocation).
        let stop = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicUsize::new(0));
        let (stop2, spins2) = (stop.clone(), spins.clone());
        let ready = Arc::new(Barrier::new(2));
        let ready2 = ready.clone();
        let t = thread::spawn(move || {
            let mine = pygc_sync::Gc::new(1u64); // registers: attached
            ready2.wait();
            while !stop2.load(Relaxed) {
                pygc_sync::safepoint();
                spins2.fetch_add(1, Relaxed);
            }
            drop(mine);
        });
        ready.wait();
        let two = pause();
        stop.store(true, Relaxed);
        pygc_sync::detached(|| t.join()).unwrap();
        assert!(spins.load(Relaxed) > 0);
        row("pause", "pygc-sync, 2 threads attached", two.as_secs_f64() * 1e3, "ms", &note);
        assert_eq!(v.iter().map(|n| n.id).sum::<usize>(), count * (count - 1) / 2);
        drop(v);
    }

    // -----------------------------------------------------------------------
    // Two gc_bench workloads on the thread-safe heaps.

    pygc_sync::sync_trace! {
        /// A binary-tree node (handles fixed at birth: no lock needed).
        struct STree {
            left: Option<pygc_sync::Gc<STree>>,
            right: Option<pygc_sync::Gc<STree>>,
        }
    }

    struct DTree {
        left: Option<dumpster::sync::Gc<DTree>>,
        right: Option<dumpster::sync::Gc<DTree>>,
    }
    // SAFETY: visits both fields, the only ones that can hold a `Gc`.
    unsafe impl<V: dumpster::Visitor> dumpster::TraceWith<V> for DTree {
        fn accept(&self, v: &mut V) -> Result<(), ()> {
            self.left.accept(v)?;
            self.right.accept(v)
        }
    }

    struct GTree {
        left: Option<gcmodule::ThreadedCc<GTree>>,
        right: Option<gcmodule::ThreadedCc<GTree>>,
    }
    impl gcmodule::Trace for GTree {
        fn trace(&self, t: &mut gcmodule::Tracer) {
            self.left.trace(t);
            self.right.trace(t);
        }
    }

    struct ATree {
        left: Option<Arc<ATree>>,
        right: Option<Arc<ATree>>,
    }

    fn bt_sync(d: u32) -> pygc_sync::Gc<STree> {
        if d == 0 {
            return pygc_sync::Gc::new(STree { left: None, right: None });
        }
        pygc_sync::Gc::new(STree { left: Some(bt_sync(d - 1)), right: Some(bt_sync(d - 1)) })
    }
    fn count_sync(t: &STree) -> usize {
        1 + t.left.as_deref().map_or(0, count_sync) + t.right.as_deref().map_or(0, count_sync)
    }
    fn bt_dumpster(d: u32) -> dumpster::sync::Gc<DTree> {
        if d == 0 {
            return dumpster::sync::Gc::new(DTree { left: None, right: None });
        }
        dumpster::sync::Gc::new(DTree { left: Some(bt_dumpster(d - 1)), right: Some(bt_dumpster(d - 1)) })
    }
    fn count_dumpster(t: &DTree) -> usize {
        1 + t.left.as_deref().map_or(0, count_dumpster) + t.right.as_deref().map_or(0, count_dumpster)
    }
    fn bt_gcmodule(s: &gcmodule::ThreadedObjectSpace, d: u32) -> gcmodule::ThreadedCc<GTree> {
        if d == 0 {
            return s.create(GTree { left: None, right: None });
        }
        s.create(GTree { left: Some(bt_gcmodule(s, d - 1)), right: Some(bt_gcmodule(s, d - 1)) })
    }
    fn count_gcmodule(t: &gcmodule::ThreadedCc<GTree>) -> usize {
        let b = t.borrow();
        1 + b.left.as_ref().map_or(0, count_gcmodule) + b.right.as_ref().map_or(0, count_gcmodule)
    }
    fn bt_arc(d: u32) -> Arc<ATree> {
        if d == 0 {
            return Arc::new(ATree { left: None, right: None });
        }
        Arc::new(ATree { left: Some(bt_arc(d - 1)), right: Some(bt_arc(d - 1)) })
    }
    fn count_arc(t: &ATree) -> usize {
        1 + t.left.as_deref().map_or(0, count_arc) + t.right.as_deref().map_or(0, count_arc)
    }

    /// Binary trees of depth 4, 6, .. `max`, `2^(max - d + 4)` of each:
    /// every tree is built, its nodes counted (checked) and dropped.
    fn binary_trees(max: u32, mut tree: impl FnMut(u32) -> usize) -> Duration {
        med(|| {
            let t = Instant::now();
            for d in (4..=max).step_by(2) {
                for _ in 0..1usize << (max - d + 4) {
                    assert_eq!(tree(d), (1 << (d + 1)) - 1, "wrong node count");
                }
            }
            t.elapsed()
        })
    }

    pygc_sync::sync_trace! {
        /// A doubly linked list node.
        struct SList {
            next: pygc_sync::GcMutex<Option<pygc_sync::Gc<SList>>>,
            prev: pygc_sync::GcMutex<Option<pygc_sync::Gc<SList>>>,
        }
    }

    static SLIST_DROPS: AtomicUsize = AtomicUsize::new(0);
    impl Drop for SList {
        fn drop(&mut self) {
            SLIST_DROPS.fetch_add(1, Relaxed);
        }
    }

    struct DList {
        next: Mutex<Option<dumpster::sync::Gc<DList>>>,
        prev: Mutex<Option<dumpster::sync::Gc<DList>>>,
    }
    static DLIST_DROPS: AtomicUsize = AtomicUsize::new(0);
    impl Drop for DList {
        fn drop(&mut self) {
            DLIST_DROPS.fetch_add(1, Relaxed);
        }
    }
    // SAFETY: visits both fields, the only ones that can hold a `Gc`.
    unsafe impl<V: dumpster::Visitor> dumpster::TraceWith<V> for DList {
        fn accept(&self, v: &mut V) -> Result<(), ()> {
            self.next.accept(v)?;
            self.prev.accept(v)
        }
    }

    struct GList {
        next: Mutex<Option<gcmodule::ThreadedCc<GList>>>,
        prev: Mutex<Option<gcmodule::ThreadedCc<GList>>>,
    }
    impl gcmodule::Trace for GList {
        fn trace(&self, t: &mut gcmodule::Tracer) {
            self.next.trace(t);
            self.prev.trace(t);
        }
    }

    const LISTS: usize = 30;
    const LIST_LEN: usize = 4096;

    fn bench_gc_workloads() {
        let max = if scale() < 0.5 { 8 } else { 14 };
        let nodes: usize =
            (4..=max).step_by(2).map(|d| (1usize << (max - d + 4)) * ((1 << (d + 1)) - 1)).sum();
        let note = format!("depth 4..{max}, {nodes} nodes");
        let w = format!("bt{max} (acyclic)");
        let d = binary_trees(max, |d| count_sync(&bt_sync(d)));
        row(&w, "pygc-sync Gc", d.as_secs_f64() * 1e3, "ms", &note);
        let d = binary_trees(max, |d| count_arc(&bt_arc(d)));
        row(&w, "Arc (no cycle collection)", d.as_secs_f64() * 1e3, "ms", &note);
        let d = binary_trees(max, |d| count_dumpster(&bt_dumpster(d)));
        row(&w, "dumpster::sync::Gc", d.as_secs_f64() * 1e3, "ms", &note);
        let space = gcmodule::ThreadedObjectSpace::default();
        let d = binary_trees(max, |d| count_gcmodule(&bt_gcmodule(&space, d)));
        row(&w, "gcmodule ThreadedCc", d.as_secs_f64() * 1e3, "ms", &note);
        assert_eq!(space.count_tracked(), 0);

        let lists = if scale() < 0.5 { 3 } else { LISTS };
        let note = format!("{lists} x {LIST_LEN} nodes, all garbage cycles, build + drop + collect");
        let w = format!("dll{lists}x{LIST_LEN} (cycles)");
        let _ = pygc_sync::gc::collect();
        let d = med(|| {
            let rep_start = SLIST_DROPS.load(Relaxed);
            let t = Instant::now();
            for _ in 0..lists {
                let head = pygc_sync::Gc::new(SList {
                    next: pygc_sync::GcMutex::new(None),
                    prev: pygc_sync::GcMutex::new(None),
                });
                let mut cur = head.clone();
                for _ in 1..LIST_LEN {
                    let n = pygc_sync::Gc::new(SList {
                        next: pygc_sync::GcMutex::new(None),
                        prev: pygc_sync::GcMutex::new(Some(cur.clone())),
                    });
                    *cur.next.lock() = Some(n.clone());
                    cur = n;
                }
                *cur.next.lock() = Some(head.clone());
                *head.prev.lock() = Some(cur);
            }
            while pygc_sync::gc::collect() > 0 {}
            let e = t.elapsed();
            // Freed by its automatic collections meanwhile or by these.
            let freed = SLIST_DROPS.load(Relaxed) - rep_start;
            assert_eq!(freed, lists * LIST_LEN, "pygc-sync freed every list");
            e
        });
        row(&w, "pygc-sync Gc", d.as_secs_f64() * 1e3, "ms", &note);

        let d = med(|| {
            let rep_start = DLIST_DROPS.load(Relaxed);
            let t = Instant::now();
            for _ in 0..lists {
                let head = dumpster::sync::Gc::new(DList { next: Mutex::new(None), prev: Mutex::new(None) });
                let mut cur = head.clone();
                for _ in 1..LIST_LEN {
                    let n = dumpster::sync::Gc::new(DList {
                        next: Mutex::new(None),
                        prev: Mutex::new(Some(cur.clone())),
                    });
                    *cur.next.lock().unwrap() = Some(n.clone());
                    cur = n;
                }
                *cur.next.lock().unwrap() = Some(head.clone());
                *head.prev.lock().unwrap() = Some(cur);
            }
            dumpster::sync::collect();
            let e = t.elapsed();
            // Freed by its automatic collections meanwhile or by this one.
            let freed = DLIST_DROPS.load(Relaxed) - rep_start;
            assert_eq!(freed, lists * LIST_LEN, "dumpster freed every list");
            e
        });
        row(&w, "dumpster::sync::Gc", d.as_secs_f64() * 1e3, "ms", &note);

        let space = gcmodule::ThreadedObjectSpace::default();
        let d = med(|| {
            let t = Instant::now();
            for _ in 0..lists {
                let head: gcmodule::ThreadedCc<GList> =
                    space.create(GList { next: Mutex::new(None), prev: Mutex::new(None) });
                let mut cur = head.clone();
                for _ in 1..LIST_LEN {
                    let n =
                        space.create(GList { next: Mutex::new(None), prev: Mutex::new(Some(cur.clone())) });
                    *cur.borrow().next.lock().unwrap() = Some(n.clone());
                    cur = n;
                }
                *cur.borrow().next.lock().unwrap() = Some(head.clone());
                *head.borrow().prev.lock().unwrap() = Some(cur);
            }
            let freed = space.collect_cycles();
            let e = t.elapsed();
            assert_eq!(freed, lists * LIST_LEN);
            e
        });
        row(&w, "gcmodule ThreadedCc", d.as_secs_f64() * 1e3, "ms", &note);
    }

    pub fn main() {
        // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
        // of the kind and gets a tiny run.
        let is_bench = std::env::args().any(|a| a == "--bench");
        if !is_bench {
            std::env::set_var("PYGC_SYNC_BENCH_SCALE", "0.001");
        }
        println!("| workload | implementation | value | unit | note |");
        println!("|---|---|---|---|---|");
        let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
        let run = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
        if run("clone_drop") {
            bench_clone_drop();
        }
        if run("alloc") {
            bench_alloc();
        }
        if run("pause") {
            bench_pause();
        }
        if run("gc_workloads") {
            bench_gc_workloads();
        }
    }
}
