//! Side-by-side benchmarks of pygc against its peers.
//!
//! * [`gc`]: pygc's heap and collector against the Rust GC crates and
//!   CPython (binary `gc_bench`, results in `bench-results/gc.md`).
//! * [`heap`]: `Gc<dyn Trait>`, `Gc<str>` / `Gc<[T]>`, explicit heaps and
//!   the byte-limit check against `Rc` and the peers (binary `heap_bench`,
//!   results in `bench-results/heap-features.md`).
//! * Allocators: the harness binary `alloc_bench` is built once per global
//!   allocator (cargo features `sys`, `mimalloc`, `jemalloc`, `obmalloc`;
//!   none means `System`) and runs the workloads of [`workloads`],
//!   printing one JSON line per measured
//!   quantity. `scripts/bench-alloc.sh` builds the four binaries, runs them
//!   interleaved and renders `bench-results/allocators.md`.
//!
//! The library holds everything except the choice of allocator, so the
//! workloads are unit-tested (at a tiny scale) with the system allocator:
//!
//! ```
//! use bench::workloads::{run, Config};
//! let cfg = Config { scale: 0.0005, reps: 1, trim: None };
//! let records = run("pair", &cfg).unwrap().unwrap();
//! assert_eq!(records.len(), 4); // one per size: 16, 64, 256, 512 B
//! println!("{}", records[0].to_json("sys"));
//! ```

pub mod block;
pub mod gc;
pub mod heap;
pub mod measure;
pub mod stats;
pub mod workloads;

/// Test-only: `heap`'s checks read glibc's process-wide bytes in use
/// (`mallinfo2`), so the tests that allocate a lot hold this for reading and
/// the heap test holds it for writing; otherwise a concurrent test's
/// allocations read as bytes the heap test's body did not give back.
#[cfg(test)]
pub(crate) fn malloc_stats_lock(exclusive: bool) -> MallocStatsGuard {
    use std::sync::RwLock;
    static LOCK: RwLock<()> = RwLock::new(());
    // A panicking test poisons the lock; the other tests still run.
    if exclusive {
        MallocStatsGuard::Write(LOCK.write().unwrap_or_else(|e| e.into_inner()))
    } else {
        MallocStatsGuard::Read(LOCK.read().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Held while a test allocates ([`malloc_stats_lock`]).
#[cfg(test)]
#[allow(dead_code)]
pub(crate) enum MallocStatsGuard {
    /// A test that allocates.
    Read(std::sync::RwLockReadGuard<'static, ()>),
    /// The test that reads malloc's statistics.
    Write(std::sync::RwLockWriteGuard<'static, ()>),
}
