//! Cost of tracing with `Tracing<System>` as the global allocator: off, on with 1 and 10
//! frames, sampled, and the cost of one `track_object` + `untrack` (object-level tracing).
//!
//! `cargo bench -p pygc-tracemalloc --bench overhead`; compare with the `overhead_system`
//! (no wrapper) and `overhead_dhat` (dhat-rs) binaries.

use std::alloc::System;
use std::panic::Location;

use divan::Bencher;
use tracemalloc::Tracing;

#[path = "workload.rs"]
mod workload;

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

fn main() {
    divan::main();
}

fn run(bencher: Bencher, start: impl FnOnce()) {
    tracemalloc::stop();
    start();
    bencher.bench(|| assert_eq!(workload::workload(), workload::EXPECTED));
    tracemalloc::stop();
}

/// The wrapper installed, tracing off.
#[divan::bench(sample_count = 30)]
fn workload_tracing_off(bencher: Bencher) {
    run(bencher, || {});
}

/// Tracing every allocation, 1 frame.
#[divan::bench(sample_count = 30)]
fn workload_tracing_1_frame(bencher: Bencher) {
    run(bencher, || tracemalloc::start(1).unwrap());
}

/// Tracing every allocation, 10 frames.
#[divan::bench(sample_count = 30)]
fn workload_tracing_10_frames(bencher: Bencher) {
    run(bencher, || tracemalloc::start(10).unwrap());
}

/// Sampling, mean 512 KiB, 10 frames.
#[divan::bench(sample_count = 30)]
fn workload_sampling_512k_10_frames(bencher: Bencher) {
    run(bencher, || tracemalloc::start_sampling(10, 512 * 1024, 1).unwrap());
}

/// One `track_object` + `untrack` pair, as `Gc::new` and the object's free would make,
/// at 1 and at 10 frames (divan reports the time per 1,000 pairs).
#[divan::bench(args = [1, 10], sample_count = 30)]
fn track_object_and_untrack_x1000(bencher: Bencher, nframe: i64) {
    tracemalloc::stop();
    tracemalloc::start(nframe).unwrap();
    let site = Location::caller();
    bencher.bench(|| {
        for i in 0..1000usize {
            let ptr = 0x1000_0000 + i * 64;
            tracemalloc::track_object(ptr, 64, site);
            tracemalloc::untrack(tracemalloc::OBJECT_DOMAIN, ptr);
        }
    });
    tracemalloc::stop();
}
