//! Python's documentation recipes on a Rust program: trace every allocation, print the
//! "Top 10 lines" (`display_top`), then the top differences between two snapshots.
//!
//! ```sh
//! cargo run -p pygc-tracemalloc --example top_lines
//! ```

use std::alloc::System;
use std::collections::HashMap;

use tracemalloc::{display_top, display_top_differences, KeyType, Tracing};

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

/// Strings, as Python's `[str(i) * 3 for i in range(n)]`.
#[inline(never)]
fn make_strings(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string().repeat(3)).collect()
}

/// A map of small vectors, as Python's `{i: (i,) for i in range(n)}`.
#[inline(never)]
fn make_map(n: usize) -> HashMap<usize, Vec<usize>> {
    (0..n).map(|i| (i, vec![i])).collect()
}

/// One big buffer.
#[inline(never)]
fn make_buffer() -> Vec<u8> {
    vec![0; 64 * 1024]
}

fn main() -> Result<(), tracemalloc::Error> {
    tracemalloc::start(1)?;

    let strings = make_strings(10_000);
    let map = make_map(5_000);
    let first = tracemalloc::take_snapshot()?;
    print!("{}", display_top(&first, KeyType::Lineno, 10)?);

    drop(map);
    let buffer = make_buffer();
    let more = make_strings(2_000);
    let second = tracemalloc::take_snapshot()?;
    println!();
    print!("{}", display_top_differences(&second, &first, KeyType::Lineno, 10)?);

    let (current, peak) = tracemalloc::get_traced_memory();
    println!();
    println!(
        "traced: current {}, peak {}; tracer's own tables {}",
        tracemalloc::format_bytes(current as i128, false),
        tracemalloc::format_bytes(peak as i128, false),
        tracemalloc::format_bytes(tracemalloc::get_tracemalloc_memory() as i128, false),
    );
    drop((strings, buffer, more));
    tracemalloc::stop();
    Ok(())
}
