//! The allocation-heavy workload shared by the overhead benchmarks, and its Python twin in
//! `tracemalloc_overhead.py`: 10,000 strings built as `str(i) * 3` (two allocations each,
//! one freed at once) and 10,000 64-byte buffers, all kept, then all freed.

/// Runs the workload; returns a checksum so the work cannot be optimized away and the
/// benchmark can assert its answer.
#[inline(never)]
pub fn workload() -> usize {
    let strings: Vec<String> = (0..10_000).map(|i: u32| i.to_string().repeat(3)).collect();
    let buffers: Vec<Vec<u8>> = (0..10_000).map(|_| vec![0u8; 64]).collect();
    let sum = strings.iter().map(String::len).sum::<usize>() + buffers.len();
    std::hint::black_box((strings, buffers));
    sum
}

/// What `workload` returns.
pub const EXPECTED: usize = 3 * (10 + 2 * 90 + 3 * 900 + 4 * 9000) + 10_000;
