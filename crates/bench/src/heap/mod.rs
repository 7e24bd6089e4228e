//! The features an interpreter needs from its heap, measured against the
//! peers that have them (binary `heap_bench`, results in
//! `bench-results/heap-features.md`):
//!
//! * `Gc<dyn Trait>`: creation, a call through the handle, collection of
//!   cycles of trait objects, against `Rc<dyn Trait>`, dumpster's
//!   `Gc<dyn Trait>` (`coerce_gc!`) and rust-cc's `Cc<dyn Trait>` (which
//!   needs the nightly toolchain and rust-cc's `nightly` feature: this
//!   crate's feature `rustcc-nightly`);
//! * `Gc<str>` / `Gc<[T]>` against `Rc<str>` / `Rc<[T]>` (and dumpster's):
//!   creation from `&str`, `String`, `Vec`, slices and iterators, reading,
//!   dropping;
//! * explicit heaps (pygc only): an empty `Heap` created and dropped,
//!   entered, and a heap of N objects dropped (its finalization);
//! * the byte-limit check on `Gc::new`: the same allocation loop in a heap
//!   without a limit and in one whose limit is never reached.
//!
//! Every workload is written once (macros expanded in one module per crate,
//! as in [`crate::gc`]) and checks its answer: values dropped (the
//! [`Tally`](crate::gc::Tally) field), values read, objects collected,
//! bytes given back. A timed part runs inside [`Recorder::time`], which
//! reads the thread's CPU clock around it; under callgrind the one part
//! chosen with `--cg` runs inside a function of its own
//! (`callgrind_region`), so `--toggle-collect` counts its instructions alone.

mod dumpster_h;
mod pygc_h;
mod rc_h;
#[cfg(feature = "rustcc-nightly")]
mod rustcc_h;

use crate::measure::thread_cpu_ns;

/// Which table a metric belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `Gc<dyn Trait>` against the peers' trait-object handles.
    Dyn,
    /// `Gc<str>` / `Gc<[T]>` against `Rc<str>` / `Rc<[T]>`.
    Unsized,
    /// Explicit heaps (pygc only).
    Heap,
    /// The byte-limit check on `Gc::new` (pygc only).
    Limit,
}

/// One number of the tables: nanoseconds (thread CPU time) per operation.
#[derive(Clone, Copy, Debug)]
pub struct MetricInfo {
    /// Id, as printed by a child and given to `--cg`.
    pub id: &'static str,
    /// The workload body that produces it.
    pub body: &'static str,
    /// Its table.
    pub section: Section,
    /// Row label.
    pub label: &'static str,
}

const fn m(id: &'static str, body: &'static str, section: Section, label: &'static str) -> MetricInfo {
    MetricInfo { id, body, section, label }
}

use Section::{Dyn, Heap, Limit, Unsized};

/// Every metric, in table order.
pub const METRICS: &[MetricInfo] = &[
    m("dyn_create", "dyn_new", Dyn, "create a tracked object and make it a trait-object handle (per object)"),
    m("dyn_drop", "dyn_new", Dyn, "drop those handles (per object)"),
    m("dyn_create_10k", "dyn_new_10k", Dyn, "the same, 10 000 alive per batch instead of 1000"),
    m("dyn_drop_10k", "dyn_new_10k", Dyn, "their drop, 10 000 per batch"),
    m(
        "dyn_call",
        "dyn_call",
        Dyn,
        "call a trait method through the handle (1000 handles, 2 types; per call)",
    ),
    m(
        "dyn_cycles",
        "dyn_cycles",
        Dyn,
        "2-cycles linked through trait-object handles: build, drop, collect (per object)",
    ),
    m("str_new_16", "str16", Unsized, "from `&str`, 16 bytes (per object)"),
    m("str_drop_16", "str16", Unsized, "drop, 16 bytes (per object)"),
    m("str_new_16_10k", "str16_10k", Unsized, "from `&str`, 16 bytes, 10 000 alive per batch"),
    m("str_drop_16_10k", "str16_10k", Unsized, "drop, 16 bytes, 10 000 per batch"),
    m("str_new_1000", "str1000", Unsized, "from `&str`, 1000 bytes (per object)"),
    m("str_drop_1000", "str1000", Unsized, "drop, 1000 bytes (per object)"),
    m(
        "str_from_string",
        "str_string",
        Unsized,
        "from `String`, 16 bytes (the `String` freed too; per object)",
    ),
    m("str_read", "str_read", Unsized, "read: sum the bytes of 1000 16-byte strings (per string)"),
    m("slice_from_slice", "slice_slice", Unsized, "`[u64]` from `&[u64]`, 16 elements (per object)"),
    m("slice_drop", "slice_slice", Unsized, "drop, 16 x `u64` (per object)"),
    m(
        "slice_from_slice_10k",
        "slice_slice_10k",
        Unsized,
        "`[u64]` from `&[u64]`, 16 elements, 10 000 alive per batch",
    ),
    m("slice_drop_10k", "slice_slice_10k", Unsized, "drop, 16 x `u64`, 10 000 per batch"),
    m(
        "slice_from_vec",
        "slice_vec",
        Unsized,
        "`[u64]` from `Vec<u64>`, 16 elements (the `Vec` freed too; per object)",
    ),
    m("slice_from_iter", "slice_iter", Unsized, "`[u64]` from `(0..16).map(..).collect()` (per object)"),
    m(
        "slice_from_exact_iter",
        "slice_exact",
        Unsized,
        "`[u64]` from pygc's `Gc::from_exact_iter((0..16).map(..))` (per object)",
    ),
    m(
        "slice_from_filter",
        "slice_filter",
        Unsized,
        "`[u64]` from `(0..32).filter(..).collect()`, 16 elements (per object)",
    ),
    m("slice_read", "slice_read", Unsized, "read: sum 1000 slices of 16 x `u64` (per slice)"),
    m("heap_new_drop", "heap_empty", Heap, "`Heap::new()` + drop, empty (per heap)"),
    m("heap_enter", "heap_empty", Heap, "`Heap::enter` with a closure returning a constant (per call)"),
    m(
        "heap_drop_garbage",
        "heap_garbage",
        Heap,
        "drop a heap holding 100k objects of uncollected 2-cycles (finalization; per object)",
    ),
    m(
        "heap_collect_garbage",
        "heap_collect",
        Heap,
        "for reference: `heap.collect()` of the same 100k objects (per object)",
    ),
    m(
        "heap_drop_live",
        "heap_live",
        Heap,
        "drop a heap whose 100k objects are still held from outside (cleared; per object)",
    ),
    m(
        "untracked_nolimit",
        "limit_untracked",
        Limit,
        "`Gc::new` of an 8-byte untracked value, explicit heap, no limit (per object)",
    ),
    m("untracked_limit", "limit_untracked", Limit, "the same, limit 1 TiB (never reached)"),
    m("untracked_default", "limit_untracked", Limit, "the same in the thread's default heap"),
    m(
        "tracked_nolimit",
        "limit_tracked",
        Limit,
        "`Gc::new` of a tracked node, explicit heap, no limit (per object)",
    ),
    m("tracked_limit", "limit_tracked", Limit, "the same, limit 1 TiB (never reached)"),
    m("tracked_default", "limit_tracked", Limit, "the same in the thread's default heap"),
];

/// The contenders, in column order.
pub const CRATES: &[&str] = &["pygc", "rc", "dumpster", "rust-cc"];

/// The workload bodies, in table order (each produces one or more metrics).
pub fn bodies() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for x in METRICS {
        if !v.contains(&x.body) {
            v.push(x.body);
        }
    }
    v
}

/// The metrics `body` produces.
pub fn metrics_of(body: &str) -> impl Iterator<Item = &'static MetricInfo> + '_ {
    METRICS.iter().filter(move |x| x.body == body)
}

/// Looks a metric up by id.
pub fn metric(id: &str) -> Option<&'static MetricInfo> {
    METRICS.iter().find(|x| x.id == id)
}

/// Whether `krate` can run `body`, and if not why (shown in the table).
pub fn applicable(krate: &str, body: &str) -> Result<(), &'static str> {
    let section = metrics_of(body).next().map(|x| x.section).ok_or("unknown workload")?;
    match (krate, section) {
        ("pygc", _) => Ok(()),
        (_, Heap) => Err("n/a (no explicit heaps)"),
        (_, Limit) => Err("n/a (no byte limits)"),
        ("rc", Dyn) if body == "dyn_cycles" => Err("n/a (leaks cycles)"),
        ("rust-cc", Dyn) if cfg!(not(feature = "rustcc-nightly")) => {
            Err("n/a (`Cc<dyn Trait>` needs nightly and rust-cc's `nightly` feature)")
        }
        ("rust-cc", Unsized) => Err("n/a (no `Cc<str>` / `Cc<[T]>` constructors)"),
        (_, Unsized) if body == "slice_exact" => Err("n/a (pygc's API; `collect` is the row above)"),
        _ => Ok(()),
    }
}

/// One repetition of a workload body: records its metrics, or says why its
/// answer was wrong.
pub type Body = fn(&mut Recorder, f64) -> Result<(), String>;

/// The body `body` of `krate`.
pub fn body(krate: &str, body: &str) -> Option<Body> {
    match krate {
        "pygc" => pygc_h::body(body),
        "rc" => rc_h::body(body),
        "dumpster" => dumpster_h::body(body),
        #[cfg(feature = "rustcc-nightly")]
        "rust-cc" => rustcc_h::body(body),
        _ => None,
    }
}

/// One metric's account in a repetition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Metric id.
    pub id: &'static str,
    /// Thread CPU nanoseconds (user + kernel), less the clock's own cost.
    pub ns: u64,
    /// Page faults taken meanwhile (minor: memory the allocator got back
    /// from the kernel and touched again).
    pub faults: u64,
    /// Operations done.
    pub ops: u64,
}

/// The timed parts of one repetition, per metric.
#[derive(Debug, Default)]
pub struct Recorder {
    cg: Option<String>,
    /// What an empty timed part measures (the clock reads' own cost, about
    /// half a microsecond here: the thread CPU clock is a system call).
    overhead: u64,
    entries: Vec<Entry>,
}

/// Minor page faults of the calling thread so far.
fn thread_faults() -> u64 {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage; RUSAGE_THREAD exists on Linux.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD) failed");
    ru.ru_minflt as u64
}

impl Recorder {
    /// A recorder; `cg` names the metric whose timed part runs inside
    /// `callgrind_region` (for `--toggle-collect`). Measures the cost of an
    /// empty timed part first (median of 101), which `time` subtracts.
    pub fn new(cg: Option<String>) -> Recorder {
        let mut empty: Vec<u64> = (0..101)
            .map(|_| {
                let t0 = thread_cpu_ns();
                region(|| ());
                thread_cpu_ns() - t0
            })
            .collect();
        empty.sort_unstable();
        Recorder { cg, overhead: empty[50], entries: Vec::new() }
    }

    /// What an empty timed part costs (subtracted from each).
    pub fn overhead_ns(&self) -> u64 {
        self.overhead
    }

    /// Runs `f`, which does `ops` operations of metric `id`, on the clock.
    #[inline(always)]
    pub fn time<R>(&mut self, id: &'static str, ops: u64, f: impl FnOnce() -> R) -> R {
        let counted = self.cg.as_deref() == Some(id);
        let f0 = thread_faults();
        let t0 = thread_cpu_ns();
        let r = if counted { callgrind_region(f) } else { region(f) };
        let dt = (thread_cpu_ns() - t0).saturating_sub(self.overhead);
        let df = thread_faults() - f0;
        match self.entries.iter_mut().find(|e| e.id == id) {
            Some(e) => {
                e.ns += dt;
                e.faults += df;
                e.ops += ops;
            }
            None => self.entries.push(Entry { id, ns: dt, faults: df, ops }),
        }
        r
    }

    /// What was recorded, in the order first seen.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// The timed part of the metric callgrind counts (`--toggle-collect=*callgrind_region*`).
#[inline(never)]
fn callgrind_region<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The timed part of every other metric: not inlined either, so both
/// builds of a body are alike; the `black_box` keeps LLVM from merging it
/// with `callgrind_region` (one symbol would then collect both).
#[inline(never)]
fn region<R>(f: impl FnOnce() -> R) -> R {
    std::hint::black_box(f())
}

/// `base` scaled (at least 1).
pub fn iters(base: usize, scale: f64) -> usize {
    ((base as f64 * scale).round() as usize).max(1)
}

/// Bytes in use in glibc's malloc (`mallinfo2().uordblks`): the peers'
/// blocks come from the global allocator (here the system one).
pub fn malloc_in_use() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    unsafe { libc::mallinfo2() }.uordblks
}

/// Checks that `live` (bytes in use now) came back to `before`: exactly
/// for pygc's own count, within `slack` for malloc (whose thread cache keeps
/// a few freed blocks counted as in use).
pub fn check_freed(before: usize, live: usize, slack: usize, what: &str) -> Result<(), String> {
    crate::gc::check(live <= before + slack, || {
        format!("{what}: {} bytes not given back ({before} before, {live} after)", live - before)
    })
}

/// The text of the string rows: `len` ASCII bytes.
pub fn text(len: usize) -> String {
    (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

/// `Gc<dyn Trait>` workloads. Expanded in each crate module, which defines
/// `P<T>` (handle), `C<T>` (cell), `to_dyn`, `collect()`, and passes the
/// supertrait its handles need of a trait object (if any) and the derive
/// attributes of the node types.
macro_rules! dyn_workloads {
    ($($bound:path)?; $(#[$a:meta])*) => {
        use std::hint::black_box;
        use $crate::gc::{check, drops, Tally};
        use $crate::heap::{iters, Recorder};

        /// The trait the objects are used through.
        trait Shape $(: $bound)? {
            fn area(&self) -> u64;
        }

        /// A tracked object: it can hold a trait-object handle.
        #[allow(dead_code)]
        $(#[$a])*
        struct Linked {
            side: u64,
            next: C<Option<P<dyn Shape>>>,
            _t: Tally,
        }

        /// A second type behind the same trait (holds no handle).
        #[allow(dead_code)]
        $(#[$a])*
        struct Square {
            side: u64,
            _t: Tally,
        }

        impl Shape for Linked {
            fn area(&self) -> u64 {
                self.side
            }
        }

        impl Shape for Square {
            fn area(&self) -> u64 {
                self.side * self.side
            }
        }

        fn linked(side: u64) -> P<Linked> {
            P::new(Linked { side, next: C::new(None), _t: Tally })
        }

        fn expect_drops(before: u64, n: u64, what: &str) -> Result<(), String> {
            let got = drops() - before;
            check(got == n, || format!("{what}: expected {n} values dropped, got {got}"))
        }

        fn dyn_body(id: &str) -> Option<$crate::heap::Body> {
            Some(match id {
                "dyn_new" => |r, s| dyn_new(r, s, 1000, ["dyn_create", "dyn_drop"]),
                "dyn_new_10k" => |r, s| dyn_new(r, s, 10_000, ["dyn_create_10k", "dyn_drop_10k"]),
                "dyn_call" => dyn_call,
                "dyn_cycles" => dyn_cycles,
                _ => return None,
            })
        }

        /// `n` objects made per batch, then dropped; 1M objects in all.
        fn dyn_new(r: &mut Recorder, scale: f64, n: usize, ids: [&'static str; 2]) -> Result<(), String> {
            let batches = iters(1_000_000 / n, scale);
            let before = drops();
            let mut v: Vec<P<dyn Shape>> = Vec::with_capacity(n);
            let mut sum = 0u64;
            for _ in 0..batches {
                r.time(ids[0], n as u64, || {
                    for i in 0..n {
                        v.push(to_dyn(linked(i as u64)));
                    }
                });
                sum += black_box(&v).iter().map(|s| s.area()).sum::<u64>();
                r.time(ids[1], n as u64, || v.clear());
            }
            collect();
            let total = (batches * n) as u64;
            check(sum == batches as u64 * (n as u64 * (n as u64 - 1) / 2), || format!("areas {sum}"))?;
            expect_drops(before, total, "dyn objects")
        }

        fn dyn_call(r: &mut Recorder, scale: f64) -> Result<(), String> {
            const N: u64 = 1000;
            let rounds = iters(10_000, scale) as u64;
            let before = drops();
            let v: Vec<P<dyn Shape>> = (0..N)
                .map(|i| if i % 2 == 0 { to_dyn(linked(i)) } else { to_dyn(P::new(Square { side: i, _t: Tally })) })
                .collect();
            let expected: u64 = (0..N).map(|i| if i % 2 == 0 { i } else { i * i }).sum();
            let mut total = 0u64;
            r.time("dyn_call", N * rounds, || {
                for _ in 0..rounds {
                    for s in black_box(&v) {
                        total = total.wrapping_add(s.area());
                    }
                }
            });
            check(total == expected * rounds, || format!("sum of areas {total}"))?;
            drop(v);
            collect();
            expect_drops(before, N, "called objects")
        }

        fn dyn_cycles(r: &mut Recorder, scale: f64) -> Result<(), String> {
            const PAIRS: usize = 5_000;
            let batches = iters(100, scale);
            let before = drops();
            let mut seen = 0u64;
            for _ in 0..batches {
                r.time("dyn_cycles", 2 * PAIRS as u64, || {
                    for i in 0..PAIRS as u64 {
                        let a = linked(i);
                        let b = linked(i + 1);
                        *a.next.borrow_mut() = Some(to_dyn(b.clone()));
                        *b.next.borrow_mut() = Some(to_dyn(a.clone()));
                        seen += a.next.borrow().as_ref().map_or(0, |n| n.area());
                    }
                    collect();
                });
            }
            let n = (batches * 2 * PAIRS) as u64;
            check(seen == batches as u64 * (PAIRS as u64 * (PAIRS as u64 + 1) / 2), || format!("read {seen}"))?;
            expect_drops(before, n, "dyn cycles")
        }
    };
}

pub(crate) use dyn_workloads;

/// `Gc<str>` / `Gc<[T]>` workloads, for crates whose handle has `Rc`'s
/// constructors (`From<&str>`, `From<String>`, `From<Vec<T>>`,
/// `From<&[T]>`, `FromIterator`). The module defines `P<T>` and
/// `live_bytes()` (and `SLACK`, what its allocator may keep counted after
/// a free).
macro_rules! unsized_workloads {
    () => {
        use $crate::heap::{check_freed, text};

        /// Objects alive at once in a batch (the `_10k` rows: 10 000).
        const N: usize = 1000;
        /// Batches: 1M objects in all.
        const BATCHES: usize = 1000;
        const LEN: usize = 16;

        fn unsized_body(id: &str) -> Option<$crate::heap::Body> {
            Some(match id {
                "str16" => |r, s| str_rows(r, s, N, 16, ["str_new_16", "str_drop_16"]),
                "str16_10k" => |r, s| str_rows(r, s, 10 * N, 16, ["str_new_16_10k", "str_drop_16_10k"]),
                "str1000" => |r, s| str_rows(r, s, N, 1000, ["str_new_1000", "str_drop_1000"]),
                "str_string" => str_string,
                "str_read" => str_read,
                "slice_slice" => |r, s| slice_slice(r, s, N, ["slice_from_slice", "slice_drop"]),
                "slice_slice_10k" => {
                    |r, s| slice_slice(r, s, 10 * N, ["slice_from_slice_10k", "slice_drop_10k"])
                }
                "slice_vec" => slice_vec,
                "slice_iter" => |r, s| slice_collect(r, s, "slice_from_iter", false),
                "slice_filter" => |r, s| slice_collect(r, s, "slice_from_filter", true),
                "slice_read" => slice_read,
                _ => return None,
            })
        }

        fn str_rows(
            r: &mut Recorder,
            scale: f64,
            n: usize,
            len: usize,
            ids: [&'static str; 2],
        ) -> Result<(), String> {
            let src = text(len);
            let batches = iters(BATCHES * N / n, scale);
            let mut v: Vec<P<str>> = Vec::with_capacity(n);
            let base = live_bytes();
            for _ in 0..batches {
                r.time(ids[0], n as u64, || {
                    for _ in 0..n {
                        v.push(P::from(black_box(src.as_str())));
                    }
                });
                check(v.len() == n && v.iter().all(|s| **s == *src), || "string contents".into())?;
                r.time(ids[1], n as u64, || v.clear());
            }
            check_freed(base, live_bytes(), SLACK, "strings")
        }

        fn str_string(r: &mut Recorder, scale: f64) -> Result<(), String> {
            let src = text(LEN);
            let batches = iters(BATCHES, scale);
            let mut strings: Vec<String> = Vec::with_capacity(N);
            let mut v: Vec<P<str>> = Vec::with_capacity(N);
            let base = live_bytes();
            for _ in 0..batches {
                strings.extend((0..N).map(|_| src.clone()));
                r.time("str_from_string", N as u64, || {
                    for s in strings.drain(..) {
                        v.push(P::from(s));
                    }
                });
                check(v.len() == N && v.iter().all(|s| **s == *src), || "string contents".into())?;
                v.clear();
            }
            check_freed(base, live_bytes(), SLACK, "strings from String")
        }

        fn str_read(r: &mut Recorder, scale: f64) -> Result<(), String> {
            const K: usize = 1000;
            let rounds = iters(10_000, scale);
            let src = text(LEN);
            let v: Vec<P<str>> = (0..K).map(|_| P::from(src.as_str())).collect();
            let one: u64 = src.bytes().map(u64::from).sum();
            let mut total = 0u64;
            r.time("str_read", (K * rounds) as u64, || {
                for _ in 0..rounds {
                    for s in black_box(&v) {
                        total += s.bytes().map(u64::from).sum::<u64>();
                    }
                }
            });
            check(total == one * (K * rounds) as u64, || format!("sum of bytes {total}"))
        }

        /// Exact-size (and trusted-length) on a `usize` range.
        fn values(k: u64) -> impl ExactSizeIterator<Item = u64> {
            (0..LEN).map(move |i| i as u64 * 3 + k)
        }

        fn expected_sum(k: u64) -> u64 {
            values(k).sum()
        }

        fn check_slices(v: &[P<[u64]>], n: usize, k: u64) -> Result<(), String> {
            let want = expected_sum(k);
            check(v.len() == n && v.iter().all(|s| s.len() == LEN && s.iter().sum::<u64>() == want), || {
                "slice contents".into()
            })
        }

        fn slice_slice(r: &mut Recorder, scale: f64, n: usize, ids: [&'static str; 2]) -> Result<(), String> {
            let src: Vec<u64> = values(7).collect();
            let batches = iters(BATCHES * N / n, scale);
            let mut v: Vec<P<[u64]>> = Vec::with_capacity(n);
            let base = live_bytes();
            for _ in 0..batches {
                r.time(ids[0], n as u64, || {
                    for _ in 0..n {
                        v.push(P::from(black_box(&src[..])));
                    }
                });
                check_slices(&v, n, 7)?;
                r.time(ids[1], n as u64, || v.clear());
            }
            check_freed(base, live_bytes(), SLACK, "slices")
        }

        fn slice_vec(r: &mut Recorder, scale: f64) -> Result<(), String> {
            let batches = iters(BATCHES, scale);
            let mut vecs: Vec<Vec<u64>> = Vec::with_capacity(N);
            let mut v: Vec<P<[u64]>> = Vec::with_capacity(N);
            let base = live_bytes();
            for _ in 0..batches {
                vecs.extend((0..N).map(|_| values(7).collect::<Vec<u64>>()));
                r.time("slice_from_vec", N as u64, || {
                    for x in vecs.drain(..) {
                        v.push(P::from(x));
                    }
                });
                check_slices(&v, N, 7)?;
                v.clear();
            }
            check_freed(base, live_bytes(), SLACK, "slices from Vec")
        }

        fn slice_collect(r: &mut Recorder, scale: f64, id: &'static str, filter: bool) -> Result<(), String> {
            let batches = iters(BATCHES, scale);
            let mut v: Vec<P<[u64]>> = Vec::with_capacity(N);
            let base = live_bytes();
            let k = black_box(7u64);
            for _ in 0..batches {
                r.time(id, N as u64, || {
                    for _ in 0..N {
                        let s: P<[u64]> = if filter {
                            (0..2 * LEN).filter(|i| i % 2 == 0).map(|i| (i / 2) as u64 * 3 + k).collect()
                        } else {
                            values(k).collect()
                        };
                        v.push(s);
                    }
                });
                check_slices(&v, N, 7)?;
                v.clear();
            }
            check_freed(base, live_bytes(), SLACK, "collected slices")
        }

        fn slice_read(r: &mut Recorder, scale: f64) -> Result<(), String> {
            const K: usize = 1000;
            let rounds = iters(10_000, scale);
            let v: Vec<P<[u64]>> = (0..K).map(|_| P::from(values(7).collect::<Vec<u64>>())).collect();
            let mut total = 0u64;
            r.time("slice_read", (K * rounds) as u64, || {
                for _ in 0..rounds {
                    for s in black_box(&v) {
                        total += s.iter().sum::<u64>();
                    }
                }
            });
            check(total == expected_sum(7) * (K * rounds) as u64, || format!("sum {total}"))
        }
    };
}

pub(crate) use unsized_workloads;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every applicable body runs and passes its checks at a tiny scale.
    #[test]
    fn every_body_passes_its_checks() {
        if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() {
            eprintln!("skipped under valgrind: too slow");
            return;
        }
        let _quiet = crate::malloc_stats_lock(true);
        for krate in CRATES {
            for b in bodies() {
                if applicable(krate, b).is_err() {
                    continue;
                }
                let f = body(krate, b).unwrap_or_else(|| panic!("{krate}/{b} has no body"));
                let mut r = Recorder::new(None);
                f(&mut r, 0.001).unwrap_or_else(|e| panic!("{krate}/{b}: {e}"));
                let ids: Vec<&str> = metrics_of(b).map(|x| x.id).collect();
                let got: Vec<&str> = r.entries().iter().map(|e| e.id).collect();
                assert_eq!(got, ids, "{krate}/{b} records its metrics in table order");
            }
        }
    }

    #[test]
    fn metrics_are_unique_and_known() {
        for (i, x) in METRICS.iter().enumerate() {
            assert!(METRICS[..i].iter().all(|y| y.id != x.id), "{}", x.id);
            assert_eq!(metric(x.id).unwrap().body, x.body);
        }
        assert!(applicable("rc", "dyn_cycles").is_err());
        assert!(applicable("dumpster", "heap_empty").is_err());
        assert!(applicable("pygc", "slice_exact").is_ok());
    }
}
