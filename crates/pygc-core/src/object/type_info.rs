//! The static table per type: what the heap needs to know about `T` once
//! its values are type-erased (CPython's type object, reduced to the slots
//! memory management uses).

use std::alloc::Layout;
use std::any::TypeId;

use super::header::{ObjPtr, TRACKED_HEADER_SIZE, UNTRACKED_HEADER_SIZE};
use super::trace::Trace;
use crate::collect::visitors::{CoreVisitor, LabelVisitor};

/// Receives a run-time type name (see `TypeInfo::dynamic_type_name`).
pub(crate) type NameSink<'a> = dyn FnMut(Option<&str>) + 'a;

/// One per type, built at compile time by [`Table`]. 32-aligned, so that the
/// header's `info` word has five flag bits.
///
/// Invariants (the block layout): `block.size() == header_offset +
/// UNTRACKED_HEADER_SIZE + value_size` rounded for `T`'s alignment;
/// `header_offset == TRACKED_HEADER_SIZE - UNTRACKED_HEADER_SIZE` or more for
/// tracked types (room for the link), and the value starts at
/// `header_offset + UNTRACKED_HEADER_SIZE`, aligned for `T`.
#[repr(C, align(32))]
pub(crate) struct TypeInfo {
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) type_id: fn() -> TypeId,
    /// Layout of the whole block.
    pub(crate) block: Layout,
    /// Offset of the `ObjHeader` from the block start.
    pub(crate) header_offset: usize,
    pub(crate) value_size: usize,
    /// `T::TRACKED`: the block has a link and may join a generation.
    pub(crate) tracked: bool,
    /// `T::FROZEN`: the handles inside never change.
    pub(crate) frozen: bool,
    pub(crate) has_finalizer: bool,
    pub(crate) legacy_finalizer: bool,
    /// Drops the value in place.
    ///
    /// Safety: the value is initialised and never used again.
    pub(crate) drop_value: unsafe fn(*mut u8),
    /// Runs `Trace::finalize` with a borrowed handle to the object.
    ///
    /// Safety: the value is initialised, and the caller holds a count that
    /// keeps the block allocated during the call.
    pub(crate) finalize: unsafe fn(ObjPtr),
    /// Calls the closure with `Trace::dynamic_type_name` of the value.
    ///
    /// Safety: the value is initialised and stays so during the call.
    pub(crate) dynamic_type_name: unsafe fn(*const u8, &mut NameSink<'_>),
    /// `Trace::trace` with the collector's visitor.
    ///
    /// Safety: as for `finalize`.
    pub(crate) trace_core: unsafe fn(*const u8, &mut CoreVisitor),
    /// `Trace::trace` with the labelling visitor.
    ///
    /// Safety: as for `finalize`.
    pub(crate) trace_labeled: unsafe fn(*const u8, &mut LabelVisitor),
}

impl TypeInfo {
    /// The bytes `sys.getsizeof` reports: the value and its header.
    pub(crate) fn object_size(&self) -> usize {
        self.value_size + if self.tracked { TRACKED_HEADER_SIZE } else { UNTRACKED_HEADER_SIZE }
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// Builds the static table of `T`.
pub(crate) struct Table<T>(std::marker::PhantomData<T>);

impl<T: Trace + 'static> Table<T> {
    const HEADER: usize = if T::TRACKED { TRACKED_HEADER_SIZE } else { UNTRACKED_HEADER_SIZE };
    const VALUE_OFFSET: usize = round_up(Self::HEADER, std::mem::align_of::<T>());
    pub(crate) const INFO: TypeInfo = TypeInfo {
        type_name: std::any::type_name::<T>,
        type_id: TypeId::of::<T>,
        block: match Layout::from_size_align(
            Self::VALUE_OFFSET + std::mem::size_of::<T>(),
            max(16, std::mem::align_of::<T>()),
        ) {
            Ok(l) => l,
            Err(_) => panic!("type too large for a Gc block"),
        },
        header_offset: Self::VALUE_OFFSET - UNTRACKED_HEADER_SIZE,
        value_size: std::mem::size_of::<T>(),
        tracked: T::TRACKED,
        frozen: T::FROZEN,
        has_finalizer: T::HAS_FINALIZER,
        legacy_finalizer: T::LEGACY_FINALIZER,
        drop_value: drop_value::<T>,
        finalize: finalize::<T>,
        dynamic_type_name: dynamic_type_name::<T>,
        trace_core: trace_core::<T>,
        trace_labeled: trace_labeled::<T>,
    };
}

/// # Safety
/// `p` points at an initialised `T` that is never used again.
unsafe fn drop_value<T>(p: *mut u8) {
    // SAFETY: guaranteed by the caller.
    unsafe { std::ptr::drop_in_place(p.cast::<T>()) }
}

/// # Safety
/// `p` is an object of type `T` with an initialised value, and the caller
/// holds a count on it for the call.
unsafe fn finalize<T: Trace + 'static>(p: ObjPtr) {
    // SAFETY: `p` is a `T` (this function is `T`'s table entry); the handle
    // is never dropped (ManuallyDrop), so it borrows the caller's count
    // instead of owning one.
    let this = std::mem::ManuallyDrop::new(unsafe { crate::Gc::<T>::from_ptr(p) });
    T::finalize(&this)
}

/// # Safety
/// `p` points at an initialised `T` that stays so during the call.
unsafe fn dynamic_type_name<T: Trace>(p: *const u8, f: &mut NameSink<'_>) {
    // SAFETY: guaranteed by the caller.
    f(unsafe { &*p.cast::<T>() }.dynamic_type_name())
}

/// # Safety
/// `p` points at an initialised `T` that stays so during the call.
unsafe fn trace_core<T: Trace>(p: *const u8, v: &mut CoreVisitor) {
    // SAFETY: guaranteed by the caller.
    unsafe { &*p.cast::<T>() }.trace(v)
}

/// # Safety
/// `p` points at an initialised `T` that stays so during the call.
unsafe fn trace_labeled<T: Trace>(p: *const u8, v: &mut LabelVisitor) {
    // SAFETY: guaranteed by the caller.
    unsafe { &*p.cast::<T>() }.trace(v)
}

/// `a::b::Node<c::D>` → `Node<D>`: Python's `type(o).__name__` for a Rust
/// type, and objgraph's short names.
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    for ch in full.chars() {
        match ch {
            ':' => out.truncate(segment_start),
            '<' | '>' | ',' | ' ' | '(' | ')' | '[' | ']' | ';' | '&' => {
                out.push(ch);
                segment_start = out.len();
            }
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("a::b::Node"), "Node");
        assert_eq!(short_type_name("alloc::vec::Vec<pygc::Gc<x::Node>>"), "Vec<Gc<Node>>");
        assert_eq!(short_type_name("(i32, a::B)"), "(i32, B)");
        assert_eq!(short_type_name("[a::B; 3]"), "[B; 3]");
    }

    #[repr(align(64))]
    struct Aligned(#[allow(dead_code)] u8);
    // SAFETY: holds no handle and reports none.
    unsafe impl Trace for Aligned {
        const TRACKED: bool = false;
        fn trace<V: crate::Visitor>(&self, _: &mut V) {}
    }

    #[test]
    fn layouts_put_the_value_right_after_the_header() {
        let info = &Table::<Aligned>::INFO;
        assert_eq!((info.header_offset + UNTRACKED_HEADER_SIZE) % 64, 0, "value aligned");
        assert_eq!(info.block.align(), 64);
        let info = &Table::<crate::GcCell<Vec<crate::Gc<u8>>>>::INFO;
        assert_eq!(info.header_offset, TRACKED_HEADER_SIZE - UNTRACKED_HEADER_SIZE, "room for the link");
        assert_eq!(info.block.size(), TRACKED_HEADER_SIZE + info.value_size);
        assert_eq!(info.object_size(), info.block.size());
    }
}
