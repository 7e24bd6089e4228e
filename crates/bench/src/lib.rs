//! Benchmarks.
pub mod gc;
