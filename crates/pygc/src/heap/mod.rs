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

/// Records the allocation with tracemalloc when it is tracing: the object
/// domain, keyed by the object's `id()`, with the size of its whole block
/// and the caller of `Gc::new` as the most recent frame.
#[inline]
pub(crate) fn trace_alloc(p: ObjPtr, caller: &'static std::panic::Location<'static>) {
    if tracemalloc::is_tracing() {
        trace_alloc_slow(p, caller);
    }
}

#[cold]
#[inline(never)]
fn trace_alloc_slow(p: ObjPtr, caller: &'static std::panic::Location<'static>) {
    tracemalloc::track_object(p.value_ptr() as usize, p.info().block.size(), caller);
    p.set_flag(header::TRACED);
}

/// Drops the tracemalloc trace of a block being freed.
pub(crate) fn trace_free(p: ObjPtr) {
    tracemalloc::untrack(tracemalloc::OBJECT_DOMAIN, p.value_ptr() as usize);
}

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
