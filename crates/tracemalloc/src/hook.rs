//! The traceback printer for obmalloc's debug hooks: when they report a bad block that is
//! traced, the report says where it was allocated, as CPython's `_PyMem_DumpTraceback` does.

use std::fmt::Write;

use crate::tracer::{self, Busy};
use crate::RUST_DOMAIN;

/// Writes where the block at `ptr` (an address returned by the global allocator) was
/// allocated, in CPython's format, and returns true; returns false, writing nothing, when
/// the block is not traced:
///
/// ```text
/// Memory block allocated at (most recent call first):
///   File "src/x.rs", line 12
///   File "src/main.rs", line 40
/// ```
///
/// (obmalloc's report adds the blank line that follows.) `start` registers it with
/// `obmalloc::set_block_traceback_hook`.
///
/// Meant for a heap-corruption report: it takes no lock it could already hold (it gives up
/// instead) and allocates only through the inner allocator (its thread is marked busy),
/// and only to symbolize addresses not symbolized before.
pub fn block_traceback(ptr: usize, out: &mut dyn Write) -> bool {
    if !tracer::is_tracing() {
        return false;
    }
    // A block being freed has already left the table (see `Tracing::dealloc`).
    let Some(tb) = tracer::peek(RUST_DOMAIN, ptr).map(|e| e.tb).or_else(|| tracer::freeing(ptr)) else {
        return false;
    };
    let _busy = Busy::force();
    let Some(raw) = tracer::raw_traceback(tb) else {
        return false;
    };
    let tb = crate::symbols::symbolize(&raw, tracer::traceback_limit());
    let _ = out.write_str("Memory block allocated at (most recent call first):\n");
    for frame in tb.frames().iter().rev() {
        let _ = writeln!(out, "  File \"{}\", line {}", frame.filename, frame.lineno);
    }
    true
}
