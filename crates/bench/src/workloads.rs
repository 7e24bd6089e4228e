//! The seven allocator workloads (pair, batch, shuffled free, churn,
//! producer→consumer, RSS after free, binary trees; see the table in
//! `BENCHMARKS.md`), each returning its result lines or a [`CheckError`]
//! when the allocator corrupted blocks.
//!
//! Iteration counts are the plan's, multiplied by [`Config::scale`]: the
//! driver script uses `1.0`, the unit tests a tiny scale so they only check
//! that each workload runs and verifies its answers.

use std::fmt;
use std::ptr::null_mut;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::block::{free_block, layout, new_block, RawArray, Tally};
use crate::measure::{kib_to_mib, lazyfree_kib, mem_status, thread_cpu_ns, wall_ns};
use crate::stats::{percentile, Summary};

/// The sizes of the single-size workloads (pair, batch1k).
pub const SIZES: [usize; 4] = [16, 64, 256, 512];

/// Every workload name, in the order the harness runs them.
pub const WORKLOADS: [&str; 7] = ["pair", "batch1k", "shuffled", "churn", "pc", "scaling", "lifecycle"];

/// How much work each workload does.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Multiplier on the spec's operation counts (1.0 = full size).
    pub scale: f64,
    /// Repetitions inside one process for the fast single-thread loops.
    pub reps: usize,
    /// The allocator's explicit "return free memory to the OS" call
    /// (`malloc_trim(0)`, `mi_collect(true)`, jemalloc's arena purge,
    /// `obmalloc::collect()`), run at the very end of the life cycle.
    pub trim: Option<fn()>,
}

impl Default for Config {
    fn default() -> Self {
        Config { scale: 1.0, reps: 5, trim: None }
    }
}

impl Config {
    fn n(&self, base: usize) -> usize {
        ((base as f64 * self.scale).round() as usize).max(1)
    }
}

/// One measured quantity.
#[derive(Debug, Clone)]
pub struct Record {
    /// Workload name (one of [`WORKLOADS`]).
    pub workload: &'static str,
    /// Block size in bytes, or 0 where the workload mixes sizes.
    pub size: usize,
    /// What was measured, e.g. `ns_op` or `rss_all_live`.
    pub metric: &'static str,
    /// Unit of the numbers: `ns`, `us`, `MiB`, `Mops` or `x`.
    pub unit: &'static str,
    /// Median, min and max over the repetitions in this process.
    pub summary: Summary,
}

impl Record {
    /// The record as one JSON object on one line, tagged with the allocator.
    /// (All strings are fixed identifiers, so no escaping is needed.)
    pub fn to_json(&self, alloc: &str) -> String {
        let s = &self.summary;
        format!(
            "{{\"alloc\":\"{alloc}\",\"workload\":\"{}\",\"size\":{},\"metric\":\"{}\",\"unit\":\"{}\",\"median\":{:.4},\"min\":{:.4},\"max\":{:.4},\"n\":{}}}",
            self.workload, self.size, self.metric, self.unit, s.median, s.min, s.max, s.n
        )
    }
}

/// An allocator returned blocks whose contents did not survive, or a count
/// did not add up: its timings are void.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError(pub String);

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "answer check failed: {}", self.0)
    }
}

impl std::error::Error for CheckError {}

/// Errors a workload can end with.
#[derive(Debug)]
pub enum Error {
    /// Corrupted or lost blocks.
    Check(CheckError),
    /// Mapping the pointer tables or reading `/proc` failed.
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Check(e) => e.fmt(f),
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<CheckError> for Error {
    fn from(e: CheckError) -> Self {
        Error::Check(e)
    }
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), CheckError> {
    if ok {
        Ok(())
    } else {
        Err(CheckError(what()))
    }
}

fn check_tally(workload: &str, wrote: Tally, read: Tally) -> Result<(), CheckError> {
    check(wrote == read, || format!("{workload}: tags written {wrote:?} != tags read back {read:?}"))
}

fn rec(
    workload: &'static str,
    size: usize,
    metric: &'static str,
    unit: &'static str,
    samples: &[f64],
) -> Record {
    Record {
        workload,
        size,
        metric,
        unit,
        summary: Summary::of(samples).unwrap_or(Summary::single(f64::NAN)),
    }
}

fn rss_mib() -> Result<f64, Error> {
    Ok(kib_to_mib(mem_status()?.rss_kib))
}

/// Records the RSS of one life-cycle step and returns it.
fn step(metric: &'static str, out: &mut Vec<Record>) -> Result<f64, Error> {
    let rss = rss_mib()?;
    out.push(rec("lifecycle", 0, metric, "MiB", &[rss]));
    Ok(rss)
}

/// Runs the workload called `name`; `None` if there is no such workload.
pub fn run(name: &str, cfg: &Config) -> Option<Result<Vec<Record>, Error>> {
    Some(match name {
        "pair" => pair(cfg),
        "batch1k" => batch1k(cfg),
        "shuffled" => shuffled(cfg),
        "churn" => churn(cfg),
        "pc" => producer_consumer(cfg),
        "scaling" => scaling(cfg),
        "lifecycle" => lifecycle(cfg),
        _ => return None,
    })
}

/// Workload 1, pair: allocate then immediately free (LIFO), thread CPU ns per pair.
pub fn pair(cfg: &Config) -> Result<Vec<Record>, Error> {
    let n = cfg.n(4_000_000);
    let mut out = Vec::new();
    for size in SIZES {
        let l = layout(size);
        let mut samples = Vec::with_capacity(cfg.reps);
        let mut bad = 0u32;
        for _ in 0..cfg.reps {
            let t0 = thread_cpu_ns();
            for i in 0..n {
                let tag = i as u32;
                let p = new_block(l, tag);
                // SAFETY: `p` is the live block just allocated with `l`.
                bad |= unsafe { free_block(p, l) } ^ tag;
            }
            samples.push((thread_cpu_ns() - t0) as f64 / n as f64);
        }
        check(bad == 0, || format!("pair {size}: a tag changed"))?;
        out.push(rec("pair", size, "ns_op", "ns", &samples));
    }
    Ok(out)
}

/// Allocates `rounds` times 1000 blocks into `ptrs`, freeing each round in
/// allocation order; returns the OR of all tag mismatches (0 = correct).
fn batch_rounds(ptrs: &mut [*mut u8], size: usize, rounds: usize) -> u32 {
    let l = layout(size);
    let mut bad = 0u32;
    for _ in 0..rounds {
        for (j, slot) in ptrs.iter_mut().enumerate() {
            *slot = new_block(l, j as u32);
        }
        for (j, &p) in ptrs.iter().enumerate() {
            // SAFETY: `p` was allocated with `l` in the loop above and is
            // freed exactly once here.
            bad |= unsafe { free_block(p, l) } ^ j as u32;
        }
    }
    bad
}

/// Workload 2, batch1k: 1000 live blocks allocated then freed in order, thread CPU
/// ns per alloc+free.
pub fn batch1k(cfg: &Config) -> Result<Vec<Record>, Error> {
    let rounds = (cfg.n(2_000_000) / 1000).max(1);
    let mut ptrs = vec![null_mut::<u8>(); 1000];
    let mut out = Vec::new();
    for size in SIZES {
        let mut samples = Vec::with_capacity(cfg.reps);
        let mut bad = 0;
        for _ in 0..cfg.reps {
            let t0 = thread_cpu_ns();
            bad |= batch_rounds(&mut ptrs, size, rounds);
            samples.push((thread_cpu_ns() - t0) as f64 / (rounds * 1000) as f64);
        }
        check(bad == 0, || format!("batch1k {size}: a tag changed"))?;
        out.push(rec("batch1k", size, "ns_op", "ns", &samples));
    }
    Ok(out)
}

/// Workload 3, shuffled free: 1M blocks allocated, then freed in random order.
/// Reports ns per alloc+free, and the free phase alone.
pub fn shuffled(cfg: &Config) -> Result<Vec<Record>, Error> {
    let count = cfg.n(1_000_000);
    let reps = cfg.reps.min(3);
    let mut ptrs = RawArray::<*mut u8>::new(count)?;
    let mut out = Vec::new();
    for size in [64, 256] {
        let l = layout(size);
        let (mut total, mut frees) = (Vec::new(), Vec::new());
        for rep in 0..reps {
            let (mut wrote, mut read) = (Tally::default(), Tally::default());
            let ptrs = ptrs.as_mut_slice();
            let t0 = thread_cpu_ns();
            for (i, slot) in ptrs.iter_mut().enumerate() {
                *slot = new_block(l, i as u32);
            }
            let t_alloc = thread_cpu_ns() - t0;
            (0..count as u32).for_each(|i| wrote.add(i));
            fastrand::Rng::with_seed(rep as u64 + 1).shuffle(ptrs);
            let t1 = thread_cpu_ns();
            for &p in ptrs.iter() {
                // SAFETY: every pointer in the table is a distinct live
                // block of layout `l` (the shuffle only permutes them).
                read.add(unsafe { free_block(p, l) });
            }
            let t_free = thread_cpu_ns() - t1;
            check_tally("shuffled", wrote, read)?;
            total.push((t_alloc + t_free) as f64 / count as f64);
            frees.push(t_free as f64 / count as f64);
        }
        out.push(rec("shuffled", size, "ns_op", "ns", &total));
        out.push(rec("shuffled", size, "free_ns_op", "ns", &frees));
    }
    Ok(out)
}

/// A size drawn from the Python-like mix of the spec: 20% 16 B, 25% 32 B,
/// 15% 48 B, 15% 64 B, 10% 96 B, 5% 128 B, 5% 256 B, 3% 512 B, 2% 1–4 KiB.
pub fn py_size(rng: &mut fastrand::Rng) -> usize {
    match rng.u32(0..100) {
        0..=19 => 16,
        20..=44 => 32,
        45..=59 => 48,
        60..=74 => 64,
        75..=84 => 96,
        85..=89 => 128,
        90..=94 => 256,
        95..=97 => 512,
        _ => rng.usize(64..=256) * 16,
    }
}

/// Workload 4, churn: 1M live blocks of Python-like sizes; 10M steps each free a
/// random live block and allocate a new one of a random size in its place.
/// Reports thread CPU ns per step (5 chunks) and RSS after the steps.
pub fn churn(cfg: &Config) -> Result<Vec<Record>, Error> {
    let live = cfg.n(1_000_000);
    let chunks = 5;
    let per_chunk = (cfg.n(10_000_000) / chunks).max(1);
    let mut rng = fastrand::Rng::with_seed(42);
    let mut ptrs = RawArray::<*mut u8>::new(live)?;
    let mut sizes = RawArray::<u32>::new(live)?;
    let mut tags = RawArray::<u32>::new(live)?;
    let (ptrs, sizes, tags) = (ptrs.as_mut_slice(), sizes.as_mut_slice(), tags.as_mut_slice());
    let base = rss_mib()?;
    for i in 0..live {
        let size = py_size(&mut rng);
        ptrs[i] = new_block(layout(size), i as u32);
        sizes[i] = size as u32;
        tags[i] = i as u32;
    }
    let mut bad = 0u32;
    let mut next_tag = live as u32;
    let mut samples = Vec::new();
    for _ in 0..chunks {
        let t0 = thread_cpu_ns();
        for _ in 0..per_chunk {
            let k = rng.usize(0..live);
            // SAFETY: slot `k` always holds a live block of size `sizes[k]`.
            bad |= unsafe { free_block(ptrs[k], layout(sizes[k] as usize)) } ^ tags[k];
            let size = py_size(&mut rng);
            ptrs[k] = new_block(layout(size), next_tag);
            sizes[k] = size as u32;
            tags[k] = next_tag;
            next_tag = next_tag.wrapping_add(1);
        }
        samples.push((thread_cpu_ns() - t0) as f64 / per_chunk as f64);
    }
    let status = mem_status()?;
    let payload: u64 = sizes.iter().map(|&s| u64::from(s)).sum();
    for k in 0..live {
        // SAFETY: slot `k` holds a live block of size `sizes[k]`, freed once.
        bad |= unsafe { free_block(ptrs[k], layout(sizes[k] as usize)) } ^ tags[k];
    }
    check(bad == 0, || "churn: a tag changed".into())?;
    let rss = kib_to_mib(status.rss_kib);
    Ok(vec![
        rec("churn", 0, "ns_op", "ns", &samples),
        rec("churn", 0, "rss", "MiB", &[rss]),
        rec("churn", 0, "rss_over_base", "MiB", &[rss - base]),
        rec("churn", 0, "live_payload", "MiB", &[payload as f64 / 1048576.0]),
    ])
}

/// A batch of block pointers sent between threads.
struct Batch(Vec<*mut u8>);

// SAFETY: the blocks in a batch are owned by whichever thread holds the
// batch; the global allocator lets any thread free them.
unsafe impl Send for Batch {}

/// Batches of one pc run in flight: 4 in the channel, the rest recycled.
const PC_BATCHES: usize = 8;

/// One producer→consumer run; returns (CPU ns of both threads, wall ns).
fn pc_once(size: usize, batches: usize) -> Result<(u64, u64), CheckError> {
    let l = layout(size);
    let (tx, rx) = sync_channel::<Batch>(4);
    let (ret_tx, ret_rx) = sync_channel::<Batch>(PC_BATCHES);
    for _ in 0..PC_BATCHES {
        ret_tx.send(Batch(Vec::with_capacity(1000))).expect("receiver is alive");
    }
    let t0 = wall_ns();
    let producer = std::thread::spawn(move || {
        let c0 = thread_cpu_ns();
        for b in 0..batches {
            let Ok(Batch(mut v)) = ret_rx.recv() else {
                break;
            };
            for j in 0..1000 {
                v.push(new_block(l, (b * 1000 + j) as u32));
            }
            if tx.send(Batch(v)).is_err() {
                break;
            }
        }
        thread_cpu_ns() - c0
    });
    let consumer = std::thread::spawn(move || {
        let c0 = thread_cpu_ns();
        let (mut expected, mut bad) = (0u32, 0u32);
        while let Ok(Batch(mut v)) = rx.recv() {
            for p in v.drain(..) {
                // SAFETY: the producer sent each live block exactly once.
                bad |= unsafe { free_block(p, l) } ^ expected;
                expected = expected.wrapping_add(1);
            }
            // The producer may already be done; then the batch is dropped.
            let _ = ret_tx.send(Batch(v));
        }
        (thread_cpu_ns() - c0, expected, bad)
    });
    let cpu_p = producer.join().expect("producer panicked");
    let (cpu_c, count, bad) = consumer.join().expect("consumer panicked");
    let wall = wall_ns() - t0;
    check(bad == 0 && count as usize == batches * 1000, || {
        format!("pc {size}: {count} of {} blocks freed, tag mismatch {bad:#x}", batches * 1000)
    })?;
    Ok((cpu_p + cpu_c, wall))
}

/// Workload 5, producer→consumer: one thread allocates batches of 1000, the other
/// frees them (every free is remote). CPU ns (both threads) and wall ns per
/// object.
pub fn producer_consumer(cfg: &Config) -> Result<Vec<Record>, Error> {
    let batches = (cfg.n(2_000_000) / 1000).max(1);
    let mut out = Vec::new();
    for size in [64, 256] {
        let (mut cpu, mut wall) = (Vec::new(), Vec::new());
        for _ in 0..cfg.reps.min(3) {
            let (c, w) = pc_once(size, batches)?;
            let objs = (batches * 1000) as f64;
            cpu.push(c as f64 / objs);
            wall.push(w as f64 / objs);
        }
        out.push(rec("pc", size, "cpu_ns_obj", "ns", &cpu));
        out.push(rec("pc", size, "wall_ns_obj", "ns", &wall));
    }
    Ok(out)
}

/// `threads` threads each run `rounds` batch1k rounds of 64 B, released
/// together by a barrier; returns (wall ns from the first thread's start to
/// the last one's end, total thread CPU ns). Each thread reads its own clocks,
/// so a descheduled main thread cannot shrink the interval.
fn threads_once(threads: usize, rounds: usize) -> Result<(u64, u64), CheckError> {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut ptrs = vec![null_mut::<u8>(); 1000];
                barrier.wait();
                let (w0, c0) = (wall_ns(), thread_cpu_ns());
                let bad = batch_rounds(&mut ptrs, 64, rounds);
                (w0, wall_ns(), thread_cpu_ns() - c0, bad)
            })
        })
        .collect();
    let (mut start, mut end, mut cpu, mut bad) = (u64::MAX, 0, 0, 0);
    for h in handles {
        let (w0, w1, c, b) = h.join().expect("worker panicked");
        start = start.min(w0);
        end = end.max(w1);
        cpu += c;
        bad |= b;
    }
    check(bad == 0, || "scaling: a tag changed".into())?;
    Ok((end - start, cpu))
}

/// Workload 6, scaling: independent batch1k loops (64 B) on 1 thread, then on 2.
/// Reports total Mops/s for each, their ratio, and CPU ns per op (a ratio
/// under 2 on a busy VM may be other tenants; rising CPU ns/op is contention).
pub fn scaling(cfg: &Config) -> Result<Vec<Record>, Error> {
    let rounds = (cfg.n(10_000_000) / 1000).max(1);
    let ops = (rounds * 1000) as f64;
    let (mut m1, mut m2, mut ratio, mut c1, mut c2) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cfg.reps.min(3) {
        let (w1, cpu1) = threads_once(1, rounds)?;
        let (w2, cpu2) = threads_once(2, rounds)?;
        let t1 = ops / w1 as f64 * 1e3;
        let t2 = 2.0 * ops / w2 as f64 * 1e3;
        m1.push(t1);
        m2.push(t2);
        ratio.push(t2 / t1);
        c1.push(cpu1 as f64 / ops);
        c2.push(cpu2 as f64 / (2.0 * ops));
    }
    Ok(vec![
        rec("scaling", 64, "mops_1t", "Mops", &m1),
        rec("scaling", 64, "mops_2t", "Mops", &m2),
        rec("scaling", 64, "ratio", "x", &ratio),
        rec("scaling", 64, "cpu_ns_op_1t", "ns", &c1),
        rec("scaling", 64, "cpu_ns_op_2t", "ns", &c2),
    ])
}

/// Workload 7, RSS life cycle: fill 2M × 64 B, free 75% at random, refill 1.5M × 48 B,
/// free all; RSS after each step, then again after 1 s of light activity
/// (no explicit trim call), then after the explicit trim call if the
/// harness has one, plus VmHWM, LazyFree and the thread CPU time of
/// every 1000-operation batch (p50, p99.9, max).
pub fn lifecycle(cfg: &Config) -> Result<Vec<Record>, Error> {
    let n_fill = cfg.n(2_000_000);
    let n_refill = cfg.n(1_500_000);
    let (l64, l48) = (layout(64), layout(48));
    let mut a = RawArray::<*mut u8>::new(n_fill)?;
    let mut b = RawArray::<*mut u8>::new(n_refill)?;
    let (a, b) = (a.as_mut_slice(), b.as_mut_slice());
    let mut lat: Vec<f64> = Vec::with_capacity((2 * n_fill + 2 * n_refill) / 1000 + 8);
    let (mut wrote, mut read) = (Tally::default(), Tally::default());
    let mut rng = fastrand::Rng::with_seed(7);
    let mut out = Vec::new();
    let base = step("rss_baseline", &mut out)?;

    for (c, chunk) in a.chunks_mut(1000).enumerate() {
        let t0 = thread_cpu_ns();
        for (j, slot) in chunk.iter_mut().enumerate() {
            *slot = new_block(l64, (c * 1000 + j) as u32);
        }
        lat.push((thread_cpu_ns() - t0) as f64);
    }
    (0..n_fill as u32).for_each(|t| wrote.add(t));
    step("rss_all_live", &mut out)?;

    let mut kept = 0;
    for start in (0..n_fill).step_by(1000) {
        let t0 = thread_cpu_ns();
        for i in start..(start + 1000).min(n_fill) {
            let p = a[i];
            if rng.u32(0..4) == 0 {
                a[kept] = p;
                kept += 1;
            } else {
                // SAFETY: `a[i]` is a live 64 B block; it is freed here and
                // not kept, so never freed again.
                read.add(unsafe { free_block(p, l64) });
            }
        }
        lat.push((thread_cpu_ns() - t0) as f64);
    }
    step("rss_freed_75pct", &mut out)?;

    for (c, chunk) in b.chunks_mut(1000).enumerate() {
        let t0 = thread_cpu_ns();
        for (j, slot) in chunk.iter_mut().enumerate() {
            *slot = new_block(l48, (n_fill + c * 1000 + j) as u32);
        }
        lat.push((thread_cpu_ns() - t0) as f64);
    }
    (0..n_refill).for_each(|i| wrote.add((n_fill + i) as u32));
    step("rss_refilled_48b", &mut out)?;

    for chunk in a[..kept].chunks(1000) {
        let t0 = thread_cpu_ns();
        for &p in chunk {
            // SAFETY: `a[..kept]` are the surviving live 64 B blocks.
            read.add(unsafe { free_block(p, l64) });
        }
        lat.push((thread_cpu_ns() - t0) as f64);
    }
    for chunk in b.chunks(1000) {
        let t0 = thread_cpu_ns();
        for &p in chunk {
            // SAFETY: `b` holds the live 48 B blocks of the refill.
            read.add(unsafe { free_block(p, l48) });
        }
        lat.push((thread_cpu_ns() - t0) as f64);
    }
    check_tally("lifecycle", wrote, read)?;
    step("rss_freed_all", &mut out)?;

    // One second of light activity, no explicit trim: an allocator that
    // returns memory on a timer or on its next call gets the chance to.
    for i in 0..100u32 {
        std::thread::sleep(Duration::from_millis(10));
        let p = new_block(l64, i);
        // SAFETY: `p` was just allocated with `l64`.
        let t = unsafe { free_block(p, l64) };
        check(t == i, || "lifecycle: idle block tag changed".into())?;
    }
    let after = step("rss_freed_all_1s", &mut out)?;
    out.push(rec("lifecycle", 0, "retained_1s", "MiB", &[after - base]));
    let status = mem_status()?;
    out.push(rec("lifecycle", 0, "hwm", "MiB", &[kib_to_mib(status.hwm_kib)]));
    if let Some(lazy) = lazyfree_kib() {
        out.push(rec("lifecycle", 0, "lazyfree", "MiB", &[kib_to_mib(lazy)]));
    }
    if let Some(trim) = cfg.trim {
        trim();
        step("rss_after_trim", &mut out)?;
    }
    let us: Vec<f64> = lat.iter().map(|ns| ns / 1000.0).collect();
    for (metric, p) in [("batch_p50", 50.0), ("batch_p999", 99.9), ("batch_max", 100.0)] {
        let v = percentile(&us, p).unwrap_or(f64::NAN);
        out.push(rec("lifecycle", 0, metric, "us", &[v]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trim_noop() {}

    fn tiny() -> Config {
        Config { scale: 0.0005, reps: 2, trim: Some(trim_noop) }
    }

    #[test]
    fn every_workload_runs_and_checks_at_tiny_scale() {
        let _allocating = crate::malloc_stats_lock(false);
        for name in WORKLOADS {
            let recs = run(name, &tiny()).unwrap().unwrap();
            assert!(!recs.is_empty(), "{name}");
            for r in &recs {
                assert_eq!(r.workload, name);
                assert!(r.summary.min <= r.summary.median && r.summary.median <= r.summary.max);
            }
        }
        assert!(run("nope", &tiny()).is_none());
    }

    #[test]
    fn py_size_mix_matches_spec() {
        let mut rng = fastrand::Rng::with_seed(1);
        let n = 100_000;
        let mut counts = std::collections::HashMap::new();
        for _ in 0..n {
            let s = py_size(&mut rng);
            assert!(s >= 16 && s.is_multiple_of(16) && s <= 4096);
            *counts.entry(if s > 512 { 1024 } else { s }).or_insert(0usize) += 1;
        }
        let frac = |s| counts[&s] as f64 / n as f64;
        assert!((frac(32) - 0.25).abs() < 0.01);
        assert!((frac(1024) - 0.02).abs() < 0.005);
    }

    #[test]
    fn json_line_shape() {
        let r = rec("pair", 16, "ns_op", "ns", &[2.0, 1.0, 3.0]);
        assert_eq!(
            r.to_json("sys"),
            "{\"alloc\":\"sys\",\"workload\":\"pair\",\"size\":16,\"metric\":\"ns_op\",\"unit\":\"ns\",\"median\":2.0000,\"min\":1.0000,\"max\":3.0000,\"n\":3}"
        );
    }
}
