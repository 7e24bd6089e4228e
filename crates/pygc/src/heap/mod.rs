//! The object heap: headers, handles, allocation and deallocation.
//!
//! Bottom layer of pygc. `Gc<T>` is a counted pointer to a block from
//! obmalloc; see [`header`] for the block layout and `docs/design/heap.md`
//! for the invariants.

pub(crate) mod alloc;
pub(crate) mod any;
pub(crate) mod cell;
pub(crate) mod dealloc;
pub(crate) mod handle;
pub(crate) mod header;
pub(crate) mod inspect;
pub(crate) mod state;
pub(crate) mod trace;
mod trace_impls;
pub(crate) mod weak;

pub use any::{GcAny, Handle, RawObj};
pub use cell::GcCell;
pub use handle::{ClearedError, Gc};
pub use header::{TRACKED_HEADER_SIZE, UNTRACKED_HEADER_SIZE};
pub use trace::{Finalize, Trace, Visitor};
pub use weak::Weak;

use header::ObjPtr;

/// `a::b::Node<c::D>` → `Node<D>`.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for ch in full.chars() {
        match ch {
            ':' => {
                out.truncate(segment_start);
            }
            '<' | '>' | ',' | ' ' | '(' | ')' | '[' | ']' | ';' | '&' => {
                out.push(ch);
                segment_start = out.len();
            }
            _ => out.push(ch),
        }
    }
    out
}

/// Records the allocation with tracemalloc when it is tracing.
#[inline]
pub(crate) fn trace_alloc(_p: ObjPtr, _caller: &'static std::panic::Location<'static>) {}

/// Drops the tracemalloc trace of a block being freed.
pub(crate) fn trace_free(_p: ObjPtr) {}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("a::b::Node"), "Node");
        assert_eq!(short_type_name("alloc::vec::Vec<pygc::Gc<x::Node>>"), "Vec<Gc<Node>>");
        assert_eq!(short_type_name("(i32, a::B)"), "(i32, B)");
        assert_eq!(short_type_name("[a::B; 3]"), "[B; 3]");
    }
}
