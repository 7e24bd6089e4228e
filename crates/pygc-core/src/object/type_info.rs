//! The static table per type: what the heap needs to know about `T` once
//! its values are type-erased (CPython's type object, reduced to the slots
//! memory management uses).

use std::alloc::Layout;
use std::any::TypeId;

use super::header::{ObjPtr, TRACKED_HEADER_SIZE, UNTRACKED_HEADER_SIZE};
use super::trace::{Trace, Visitor};
use crate::collect::visitors::{CoreVisitor, LabelVisitor, ReachableVisitor, SubtractVisitor};

/// Receives a run-time type name (see `TypeInfo::dynamic_type_name`).
pub(crate) type NameSink<'a> = dyn FnMut(Option<&str>) + 'a;

/// One per type, built at compile time by [`Table`] (sized types) or
/// [`SliceTable`] (`[T]` and `str`). 32-aligned, so that the header's `info`
/// word has five flag bits.
///
/// Invariants (the block layout): the value starts at `header_offset +
/// UNTRACKED_HEADER_SIZE`, aligned for it; tracked types have their link in
/// the 16 bytes before the header. For a sized type `block.size() ==
/// header_offset + UNTRACKED_HEADER_SIZE + value_size`. For a slice type
/// (`element` is set) the block starts with the slice length (a `usize`,
/// padded to 16 bytes), `block` is the layout of an empty slice's block, and
/// the value is `len` elements.
#[repr(C, align(32))]
pub(crate) struct TypeInfo {
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) type_id: fn() -> TypeId,
    /// Layout of the whole block (of an empty slice, for slice types).
    pub(crate) block: Layout,
    /// Offset of the `ObjHeader` from the block start.
    pub(crate) header_offset: usize,
    /// Bytes of the value (0 for slice types: see `element`).
    pub(crate) value_size: usize,
    /// For `[T]` and `str`: the layout of one element.
    pub(crate) element: Option<Layout>,
    /// `T::TRACKED`: the block has a link and may join a generation.
    pub(crate) tracked: bool,
    /// `T::FROZEN`: the handles inside never change.
    pub(crate) frozen: bool,
    /// `T::SEND`: the value may move to another thread with its heap.
    pub(crate) send: bool,
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
    /// `Trace::needs_finalize` of the value at the pointer (asked only when
    /// `has_finalizer`). Safety: the value is initialised for the call.
    pub(crate) needs_finalize: unsafe fn(*const u8) -> bool,
    /// Calls the closure with `Trace::dynamic_type_name` of the value.
    ///
    /// Safety: the value is initialised and stays so during the call.
    pub(crate) dynamic_type_name: unsafe fn(*const u8, &mut NameSink<'_>),
    /// `Trace::trace` with the collector's visitor.
    ///
    /// Safety: as for `finalize`.
    pub(crate) trace_core: unsafe fn(*const u8, &mut CoreVisitor),
    /// `Trace::trace` with the visitor of `subtract_refs` and of
    /// `move_unreachable`: the two passes that trace every object of a
    /// collected generation get visitors of their own, so that each edge is
    /// a few inlined instructions instead of a call and a match on a mode.
    ///
    /// Safety: as for `finalize`.
    pub(crate) trace_subtract: unsafe fn(*const u8, &mut SubtractVisitor),
    /// See `trace_subtract`.
    ///
    /// Safety: as for `finalize`.
    pub(crate) trace_reachable: unsafe fn(*const u8, &mut ReachableVisitor<'_>),
    /// `Trace::trace` with the labelling visitor.
    ///
    /// Safety: as for `finalize`.
    pub(crate) trace_labeled: unsafe fn(*const u8, &mut LabelVisitor),
}

impl TypeInfo {
    /// The bytes `sys.getsizeof` reports for the object at `header`: the
    /// value and its header (and a slice's length word).
    ///
    /// # Safety
    /// `header` is an allocated object of this type.
    pub(crate) unsafe fn object_size(&self, header: ObjPtr) -> usize {
        let header_size = if self.tracked { TRACKED_HEADER_SIZE } else { UNTRACKED_HEADER_SIZE };
        match self.element {
            None => self.value_size + header_size,
            // SAFETY: forwarded from the caller.
            Some(e) => (unsafe { self.slice_len(header) }) * e.size() + header_size + SLICE_LEN_SIZE,
        }
    }

    /// The layout of the block of the object at `header`.
    ///
    /// # Safety
    /// `header` is an allocated object of this type.
    #[inline]
    pub(crate) unsafe fn block_layout(&self, header: ObjPtr) -> Layout {
        match self.element {
            None => self.block,
            // SAFETY: forwarded from the caller.
            Some(e) => slice_block(self.block, e, unsafe { self.slice_len(header) }),
        }
    }

    /// The length of the slice object at `header`.
    ///
    /// # Safety
    /// `header` is an allocated object of this (slice) type.
    unsafe fn slice_len(&self, header: ObjPtr) -> usize {
        let start = header.as_ptr().cast::<u8>().wrapping_sub(self.header_offset).cast::<usize>();
        // SAFETY: slice blocks start with their length (the invariant above).
        unsafe { start.read() }
    }
}

/// The length word (and padding) at the start of a slice block.
pub(crate) const SLICE_LEN_SIZE: usize = 16;

/// The block of a slice of `len` elements, `empty` being the block of an
/// empty one.
pub(crate) fn slice_block(empty: Layout, element: Layout, len: usize) -> Layout {
    let bytes = element.size().checked_mul(len).and_then(|b| b.checked_add(empty.size()));
    match bytes.and_then(|b| Layout::from_size_align(b, empty.align()).ok()) {
        Some(l) => l,
        None => panic!("a Gc slice of {len} elements of {} bytes is too large", element.size()),
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
        element: None,
        tracked: T::TRACKED,
        frozen: T::FROZEN,
        send: T::SEND,
        has_finalizer: T::HAS_FINALIZER,
        legacy_finalizer: T::LEGACY_FINALIZER,
        drop_value: drop_value::<T>,
        finalize: finalize::<T>,
        needs_finalize: needs_finalize::<T>,
        dynamic_type_name: dynamic_type_name::<T>,
        trace_core: trace_core::<T>,
        trace_subtract: trace_with::<T, SubtractVisitor>,
        trace_reachable: trace_reachable::<T>,
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
unsafe fn needs_finalize<T: Trace>(p: *const u8) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { &*p.cast::<T>() }.needs_finalize()
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
unsafe fn trace_with<T: Trace, V: Visitor>(p: *const u8, v: &mut V) {
    // SAFETY: guaranteed by the caller.
    unsafe { &*p.cast::<T>() }.trace(v)
}

/// # Safety
/// `p` points at an initialised `T` that stays so during the call.
unsafe fn trace_reachable<T: Trace>(p: *const u8, v: &mut ReachableVisitor<'_>) {
    // SAFETY: guaranteed by the caller.
    unsafe { trace_with::<T, ReachableVisitor<'_>>(p, v) }
}

/// # Safety
/// `p` points at an initialised `T` that stays so during the call.
unsafe fn trace_labeled<T: Trace>(p: *const u8, v: &mut LabelVisitor) {
    // SAFETY: guaranteed by the caller.
    unsafe { &*p.cast::<T>() }.trace(v)
}

/// Builds the static tables of `[T]` and `str` (`T = u8`).
pub(crate) struct SliceTable<T>(std::marker::PhantomData<T>);

impl<T: Trace + 'static> SliceTable<T> {
    const HEADER: usize = if T::TRACKED { TRACKED_HEADER_SIZE } else { UNTRACKED_HEADER_SIZE };
    const VALUE_OFFSET: usize = round_up(SLICE_LEN_SIZE + Self::HEADER, max(16, std::mem::align_of::<T>()));
    const HEADER_OFFSET: usize = Self::VALUE_OFFSET - UNTRACKED_HEADER_SIZE;
    const TABLE: TypeInfo = TypeInfo {
        type_name: std::any::type_name::<[T]>,
        type_id: TypeId::of::<[T]>,
        block: match Layout::from_size_align(Self::VALUE_OFFSET, max(16, std::mem::align_of::<T>())) {
            Ok(l) => l,
            Err(_) => panic!("element type too aligned for a Gc slice"),
        },
        header_offset: Self::HEADER_OFFSET,
        value_size: 0,
        element: Some(Layout::new::<T>()),
        tracked: T::TRACKED,
        frozen: T::FROZEN,
        send: T::SEND,
        has_finalizer: false,
        legacy_finalizer: false,
        drop_value: drop_slice::<T>,
        finalize: no_finalizer,
        needs_finalize: no_needs_finalize,
        dynamic_type_name: no_dynamic_type_name,
        trace_core: trace_slice_core::<T>,
        trace_subtract: trace_slice_with::<T, SubtractVisitor>,
        trace_reachable: trace_slice_reachable::<T>,
        trace_labeled: trace_slice_labeled::<T>,
    };
    /// The table of `[T]`.
    pub(crate) const INFO: TypeInfo = Self::TABLE;
    /// The table of `str` (for `T = u8`): only the name differs.
    pub(crate) const STR_INFO: TypeInfo =
        TypeInfo { type_name: std::any::type_name::<str>, type_id: TypeId::of::<str>, ..Self::TABLE };

    /// The slice at `value`, whose block starts with its length.
    ///
    /// # Safety
    /// `value` is the value pointer of an allocated `[T]` object of this
    /// table, initialised, and stays so while the slice is used.
    unsafe fn slice<'a>(value: *const u8) -> &'a [T] {
        // SAFETY: the length word is `VALUE_OFFSET` bytes before the value
        // (the block layout); the elements follow the value pointer.
        unsafe {
            let len = value.wrapping_sub(Self::VALUE_OFFSET).cast::<usize>().read();
            std::slice::from_raw_parts(value.cast::<T>(), len)
        }
    }
}

/// # Safety
/// `p` is the value of an initialised `[T]` object, never used again.
unsafe fn drop_slice<T: Trace + 'static>(p: *mut u8) {
    // SAFETY: guaranteed by the caller; the slice covers exactly the
    // initialised elements.
    unsafe { std::ptr::drop_in_place(std::ptr::from_ref(SliceTable::<T>::slice(p)).cast_mut()) }
}

/// # Safety
/// `p` is the value of an initialised `[T]` object, for the call.
unsafe fn trace_slice_core<T: Trace + 'static>(p: *const u8, v: &mut CoreVisitor) {
    // SAFETY: guaranteed by the caller.
    unsafe { SliceTable::<T>::slice(p) }.trace(v)
}

/// # Safety
/// `p` is the value of an initialised `[T]` object, for the call.
unsafe fn trace_slice_with<T: Trace + 'static, V: Visitor>(p: *const u8, v: &mut V) {
    // SAFETY: guaranteed by the caller.
    unsafe { SliceTable::<T>::slice(p) }.trace(v)
}

/// # Safety
/// `p` is the value of an initialised `[T]` object, for the call.
unsafe fn trace_slice_reachable<T: Trace + 'static>(p: *const u8, v: &mut ReachableVisitor<'_>) {
    // SAFETY: guaranteed by the caller.
    unsafe { trace_slice_with::<T, ReachableVisitor<'_>>(p, v) }
}

/// # Safety
/// `p` is the value of an initialised `[T]` object, for the call.
unsafe fn trace_slice_labeled<T: Trace + 'static>(p: *const u8, v: &mut LabelVisitor) {
    // SAFETY: guaranteed by the caller.
    unsafe { SliceTable::<T>::slice(p) }.trace(v)
}

/// # Safety
/// Nothing to uphold: slices have no finalizer.
unsafe fn no_finalizer(_: ObjPtr) {}

/// # Safety
/// Nothing to uphold: slices have no finalizer.
unsafe fn no_needs_finalize(_: *const u8) -> bool {
    false
}

/// # Safety
/// Nothing to uphold: slices report no run-time name.
unsafe fn no_dynamic_type_name(_: *const u8, f: &mut NameSink<'_>) {
    f(None)
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
        assert_eq!(info.value_size + TRACKED_HEADER_SIZE, info.block.size());
    }
}
