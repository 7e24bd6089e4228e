//! tracemalloc for Rust (work in progress).
