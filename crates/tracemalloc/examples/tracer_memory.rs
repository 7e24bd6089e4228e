//! The tracer's own memory against the bytes it traces, on the benchmark workload
//! (`benches/workload.rs`) kept alive, at 1 and 10 frames.
//!
//! ```sh
//! cargo run --release -p pygc-tracemalloc --example tracer_memory
//! ```

use std::alloc::System;

use tracemalloc::{format_bytes, Tracing};

#[path = "../benches/workload.rs"]
#[allow(dead_code)]
mod workload;

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

/// Like `workload::workload`, but keeps what it allocates.
#[inline(never)]
fn keep() -> (Vec<String>, Vec<Vec<u8>>) {
    let strings: Vec<String> = (0..10_000).map(|i: u32| i.to_string().repeat(3)).collect();
    let buffers: Vec<Vec<u8>> = (0..10_000).map(|_| vec![0u8; 64]).collect();
    (strings, buffers)
}

fn main() -> Result<(), tracemalloc::Error> {
    println!("| frames | traced (current) | tracer tables | ratio |");
    println!("|---|---|---|---|");
    for nframe in [1, 10] {
        tracemalloc::start(nframe)?;
        let kept = keep();
        let _ = tracemalloc::take_snapshot()?; // fills the symbol cache too
        let (current, _) = tracemalloc::get_traced_memory();
        let own = tracemalloc::get_tracemalloc_memory();
        println!(
            "| {nframe} | {} | {} | {:.2} |",
            format_bytes(current as i128, false),
            format_bytes(own as i128, false),
            own as f64 / current as f64
        );
        drop(kept);
        tracemalloc::stop();
    }
    Ok(())
}
