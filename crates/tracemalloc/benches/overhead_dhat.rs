//! dhat-rs (heap profiling, which records a backtrace per allocation) on the same
//! workload, for comparison with `overhead`.
//!
//! `cargo bench -p pygc-tracemalloc --bench overhead_dhat`

use divan::Bencher;

#[path = "workload.rs"]
mod workload;

#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

fn main() {
    divan::main();
}

/// dhat's heap profiler running.
#[divan::bench(sample_count = 10)]
fn workload_dhat_heap(bencher: Bencher) {
    let profiler = dhat::Profiler::builder().testing().build();
    bencher.bench(|| assert_eq!(workload::workload(), workload::EXPECTED));
    drop(profiler);
}
