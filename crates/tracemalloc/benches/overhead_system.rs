//! Baseline for `overhead`: the same workload on the plain system allocator.
//!
//! `cargo bench -p pygc-tracemalloc --bench overhead_system`

use divan::Bencher;

#[path = "workload.rs"]
mod workload;

fn main() {
    divan::main();
}

/// No wrapper at all.
#[divan::bench(sample_count = 30)]
fn workload_system(bencher: Bencher) {
    bencher.bench(|| assert_eq!(workload::workload(), workload::EXPECTED));
}
