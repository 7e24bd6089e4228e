//! pygc: `Gc<dyn Trait>` through `unsize!`, `Gc<str>` / `Gc<[T]>`, explicit
//! heaps and the byte-limit check.

use pygc::{gc, GcCell, Heap, HeapUsage, Trace};

type P<T> = pygc::Gc<T>;
type C<T> = GcCell<T>;

super::dyn_workloads!(; #[derive(Trace)]);
pygc::dyn_trace!(dyn Shape);
super::unsized_workloads!();

/// pygc counts its own bytes exactly.
const SLACK: usize = 0;

fn to_dyn<T: Shape + Trace + 'static>(p: P<T>) -> P<dyn Shape> {
    pygc::unsize!(p => dyn Shape)
}

fn collect() {
    gc::collect();
}

/// Bytes of the current heap's blocks.
fn live_bytes() -> usize {
    pygc::inspect::usage().bytes
}

/// The body `id`.
pub(super) fn body(id: &str) -> Option<super::Body> {
    dyn_body(id).or_else(|| unsized_body(id)).or_else(|| {
        Some(match id {
            "slice_exact" => slice_exact,
            "heap_empty" => heap_empty,
            "heap_garbage" => |r, s| heap_of_garbage(r, s, false),
            "heap_collect" => |r, s| heap_of_garbage(r, s, true),
            "heap_live" => heap_live,
            "limit_untracked" => |r, s| {
                limit_rows(
                    r,
                    s,
                    |i| Small { x: i, _t: Tally },
                    |v| v.x,
                    ["untracked_nolimit", "untracked_limit", "untracked_default"],
                )
            },
            "limit_tracked" => |r, s| {
                limit_rows(
                    r,
                    s,
                    |i| Node { x: i, next: GcCell::new(None), _t: Tally },
                    |v| v.x,
                    ["tracked_nolimit", "tracked_limit", "tracked_default"],
                )
            },
            _ => return None,
        })
    })
}

/// An 8-byte untracked value (16-byte header).
#[derive(Trace)]
struct Small {
    x: u64,
    _t: Tally,
}

/// A tracked node (32-byte header, joins generation 0).
#[derive(Trace)]
struct Node {
    x: u64,
    next: GcCell<Option<P<Node>>>,
    _t: Tally,
}

fn node(x: u64) -> P<Node> {
    P::new(Node { x, next: GcCell::new(None), _t: Tally })
}

fn slice_exact(r: &mut Recorder, scale: f64) -> Result<(), String> {
    let batches = iters(BATCHES, scale);
    let mut v: Vec<P<[u64]>> = Vec::with_capacity(N);
    let base = live_bytes();
    let k = black_box(7u64);
    for _ in 0..batches {
        r.time("slice_from_exact_iter", N as u64, || {
            for _ in 0..N {
                v.push(P::from_exact_iter(values(k)));
            }
        });
        check_slices(&v, N, 7)?;
        v.clear();
    }
    check_freed(base, live_bytes(), SLACK, "exact-iterator slices")
}

fn heap_empty(r: &mut Recorder, scale: f64) -> Result<(), String> {
    let n = iters(100_000, scale);
    r.time("heap_new_drop", n as u64, || {
        for _ in 0..n {
            drop(black_box(Heap::new()));
        }
    });
    let vm = Heap::new();
    check(vm.usage() == HeapUsage { bytes: 0, limit: None }, || format!("{:?}", vm.usage()))?;
    let m = iters(1_000_000, scale);
    let mut hits = 0u64;
    r.time("heap_enter", m as u64, || {
        for _ in 0..m {
            hits += vm.enter(|| black_box(1u64));
        }
    });
    check(hits == m as u64, || format!("{hits} calls returned"))
}

const HEAP_OBJECTS: usize = 100_000;

/// A heap holding `HEAP_OBJECTS` objects in uncollected 2-cycles (automatic
/// collection off in it); the heap's drop (or, with `collect_only`, a
/// collection in it) is timed.
fn heap_of_garbage(r: &mut Recorder, scale: f64, collect_only: bool) -> Result<(), String> {
    let heaps = iters(10, scale);
    for _ in 0..heaps {
        let vm = Heap::new();
        vm.enter(|| {
            gc::disable();
            for i in 0..(HEAP_OBJECTS / 2) as u64 {
                let (a, b) = (node(i), node(i));
                *a.next.borrow_mut() = Some(b.clone());
                *b.next.borrow_mut() = Some(a);
            }
        });
        check(vm.usage().bytes > 0, || "the heap holds its garbage".into())?;
        let before = drops();
        if collect_only {
            let found = r.time("heap_collect_garbage", HEAP_OBJECTS as u64, || vm.collect());
            check(found == HEAP_OBJECTS, || format!("collected {found}"))?;
            check(vm.usage().bytes == 0, || format!("{:?} after the collection", vm.usage()))?;
            drop(vm);
        } else {
            r.time("heap_drop_garbage", HEAP_OBJECTS as u64, || drop(vm));
        }
        expect_drops(before, HEAP_OBJECTS as u64, "heap garbage")?;
    }
    Ok(())
}

/// A heap whose objects are all held from outside: its drop clears them.
fn heap_live(r: &mut Recorder, scale: f64) -> Result<(), String> {
    let heaps = iters(10, scale);
    for _ in 0..heaps {
        let vm = Heap::new();
        let held: Vec<P<Node>> = vm.enter(|| {
            gc::disable();
            (0..HEAP_OBJECTS as u64).map(node).collect()
        });
        let before = drops();
        r.time("heap_drop_live", HEAP_OBJECTS as u64, || drop(vm));
        expect_drops(before, HEAP_OBJECTS as u64, "values cleared by the heap's drop")?;
        check(held.iter().all(|h| P::try_get(h).is_err()), || "a held object survived its heap".into())?;
        drop(held);
    }
    Ok(())
}

/// The same allocation loop in a heap without a limit, in one with a limit
/// it never reaches, and in the default heap, interleaved batch by batch
/// (the order rotated), so that drift hits the three alike. Two explicit
/// heaps swap roles every three batches (the limit set on one, removed from
/// the other), so a difference between the two heaps themselves (where
/// their state lies in memory) cannot pass for the cost of the limit.
fn limit_rows<T: Trace + 'static>(
    r: &mut Recorder,
    scale: f64,
    make: fn(u64) -> T,
    read: fn(&T) -> u64,
    ids: [&'static str; 3],
) -> Result<(), String> {
    const N: usize = 10_000;
    const LIMIT: usize = 1 << 40;
    let batches = iters(120, scale);
    let heaps = [Heap::new(), Heap::new()];
    let default_before = live_bytes();
    let before = drops();
    let mut v: Vec<P<T>> = Vec::with_capacity(N);
    let want = (N * (N - 1) / 2) as u64;
    // One untimed batch in each heap first: the pools and the lists are
    // warm before any batch is measured.
    for heap in &heaps {
        heap.enter(|| v.extend((0..N as u64).map(|i| P::new(make(i)))));
        v.clear();
    }
    v.extend((0..N as u64).map(|i| P::new(make(i))));
    v.clear();
    for b in 0..batches {
        // Heap `capped` has the limit for these batches, the other none.
        let capped = (b / 3) % 2;
        heaps[capped].set_limit(Some(LIMIT));
        heaps[1 - capped].set_limit(None);
        check(
            heaps[capped].usage().limit == Some(LIMIT) && heaps[1 - capped].usage().limit.is_none(),
            || "the limits as set".into(),
        )?;
        for k in 0..3 {
            let which = (b + k) % 3;
            let id = ids[which];
            let mut run = || {
                r.time(id, N as u64, || {
                    for i in 0..N {
                        v.push(P::new(make(i as u64)));
                    }
                })
            };
            match which {
                0 => heaps[1 - capped].enter(run),
                1 => heaps[capped].enter(run),
                _ => run(),
            }
            let got: u64 = v.iter().map(|x| read(x)).sum();
            check(got == want, || format!("{id}: read {got}"))?;
            v.clear();
        }
    }
    expect_drops(before, (3 * (batches + 1) * N) as u64, "limit rows")?;
    for h in &heaps {
        check(h.usage().bytes == 0, || format!("{:?}", h.usage()))?;
    }
    check_freed(default_before, live_bytes(), 0, "default heap")
}
