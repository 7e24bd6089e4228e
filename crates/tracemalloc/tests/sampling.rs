//! Sampling mode: the weighted totals are unbiased estimates of the true ones.
//! One test in its own binary, so the random streams depend only on the seed.

use std::alloc::System;

use tracemalloc::{Filter, Tracing};

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

#[inline(never)]
fn allocate(sizes: &[usize]) -> (Vec<Vec<u8>>, u32) {
    let mut out = Vec::with_capacity(sizes.len());
    let line = line!() + 2;
    for &s in sizes {
        out.push(Vec::with_capacity(s)); // the only allocation on this line
    }
    (out, line)
}

#[test]
fn sampled_estimate_is_within_four_sigma_of_the_truth() {
    let mean = 1024.0;
    // 8000 sizes from 16 B to 4 KiB (16 MB in all); deterministic.
    let mut x: u64 = 12345;
    let sizes: Vec<usize> = (0..8_000)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            16 + ((x >> 33) % 4096) as usize
        })
        .collect();
    let truth: f64 = sizes.iter().map(|&s| s as f64).sum();
    // Variance of the Horvitz-Thompson estimator: sum of s^2 (1-p)/p.
    let variance: f64 = sizes
        .iter()
        .map(|&s| {
            let p = 1.0 - (-(s as f64) / mean).exp();
            (s as f64).powi(2) * (1.0 - p) / p
        })
        .sum();
    tracemalloc::start_sampling(1, mean as u64, 0x5eed).unwrap();
    assert_eq!(tracemalloc::sampling_mean(), Some(1024));
    let (kept, line) = allocate(&sizes);
    let snapshot =
        tracemalloc::take_snapshot().unwrap().filter_traces(&[Filter::new(true, file!()).lineno(line)]);
    let sampled = snapshot.traces().len();
    let estimate = snapshot.total_size() as f64;
    let sigma = variance.sqrt();
    eprintln!(
        "sampled {sampled} of {} blocks; estimate {estimate:.0} vs truth {truth:.0} (sigma {sigma:.0})",
        sizes.len()
    );
    assert!(sampled > 0 && sampled < sizes.len(), "a sample, not everything");
    assert!(
        (estimate - truth).abs() <= 4.0 * sigma,
        "estimate {estimate} too far from {truth} (sigma {sigma})"
    );
    assert!(snapshot.traces().iter().all(|t| t.weight >= t.size));
    drop(kept);
    tracemalloc::stop();
    assert_eq!(tracemalloc::sampling_mean(), None);
}
