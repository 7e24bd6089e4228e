//! Cost of `#[profile]` with the exact heap measure on an allocation-heavy
//! function, against the same function unprofiled (same counting
//! allocator). Run: `cargo bench -p pygc-memory-profiler --bench profile_overhead`.

use std::time::{Duration, Instant};

use memory_profiler::CountingAlloc;
use pygc_derive::profile;

#[global_allocator]
static ALLOC: CountingAlloc<std::alloc::System> = CountingAlloc(std::alloc::System);

const N: usize = 2_000;

fn plain() -> usize {
    let mut words: Vec<String> = Vec::new();
    for i in 0..N {
        let s = format!("item-{i}");
        words.push(s);
    }
    let mut boxes: Vec<Box<[u64]>> = Vec::new();
    for i in 0..N / 4 {
        boxes.push(vec![i as u64; 16].into_boxed_slice());
    }
    let total: usize = words.iter().map(|w| w.len()).sum();
    total + boxes.len()
}

#[profile(crate = memory_profiler, measure = Heap, stream = std::io::sink())]
fn profiled() -> usize {
    let mut words: Vec<String> = Vec::new();
    for i in 0..N {
        let s = format!("item-{i}");
        words.push(s);
    }
    let mut boxes: Vec<Box<[u64]>> = Vec::new();
    for i in 0..N / 4 {
        boxes.push(vec![i as u64; 16].into_boxed_slice());
    }
    let total: usize = words.iter().map(|w| w.len()).sum();
    total + boxes.len()
}

#[profile(crate = memory_profiler, measure = Rss, stream = std::io::sink())]
fn profiled_rss() -> usize {
    let mut words: Vec<String> = Vec::new();
    for i in 0..N {
        let s = format!("item-{i}");
        words.push(s);
    }
    let mut boxes: Vec<Box<[u64]>> = Vec::new();
    for i in 0..N / 4 {
        boxes.push(vec![i as u64; 16].into_boxed_slice());
    }
    let total: usize = words.iter().map(|w| w.len()).sum();
    total + boxes.len()
}

/// Median time of one call over `rounds` rounds of `iters` calls.
fn median(f: fn() -> usize, expect: usize) -> Duration {
    let (rounds, iters) = (15, 20);
    let mut t: Vec<Duration> = (0..rounds)
        .map(|_| {
            let s = Instant::now();
            for _ in 0..iters {
                assert_eq!(std::hint::black_box(f()), expect);
            }
            s.elapsed() / iters
        })
        .collect();
    t.sort();
    t[rounds / 2]
}

fn main() {
    let expect = plain();
    for _ in 0..5 {
        profiled();
        plain();
    }
    let base = median(plain, expect);
    let heap = median(profiled, expect);
    let rss = median(profiled_rss, expect);
    let lines = 2 + 2 * N as u64 + 2 + 2 * (N / 4) as u64 + 2;
    println!("| function | time per call | ratio |");
    println!("|---|---|---|");
    println!("| unprofiled ({lines} line events) | {base:.2?} | 1.00x |");
    println!(
        "| #[profile] measure = Heap | {heap:.2?} | {:.2}x |",
        heap.as_secs_f64() / base.as_secs_f64()
    );
    println!(
        "| #[profile] measure = Rss | {rss:.2?} | {:.2}x |",
        rss.as_secs_f64() / base.as_secs_f64()
    );
}
