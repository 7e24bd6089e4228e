//! The object header and the per-type table.
//!
//! Block layout (64-bit), with `H` the address a `Gc<T>` points at:
//!
//! ```text
//!   tracked:    [ GcLink: next, prev (16 B) ][ ObjHeader: refcnt, info (16 B) ][ T ]
//!   untracked:                               [ ObjHeader: refcnt, info (16 B) ][ T ]
//!                                            ^ H                                ^ H + 16
//! ```
//!
//! `info` is `&'static TypeInfo | flags` (the table is 16-aligned, leaving four
//! flag bits). `GcLink` mirrors CPython's `PyGC_Head`: `prev` carries FINALIZED
//! and COLLECTING in its low bits and, during a collection, `gc_refs << 2`;
//! `next` carries UNREACHABLE while `move_unreachable` runs, and is 0 when the
//! object is not in any generation.

use std::alloc::Layout;
use std::any::TypeId;
use std::cell::Cell;
use std::ptr::NonNull;

use super::trace::Trace;
use crate::collect::visitors::{CoreVisitor, LabelVisitor};

/// `info` flag: the value was dropped (by the collector, or on the way to
/// being freed); the block is still allocated because handles remain.
pub(crate) const CLEARED: usize = 1;
/// `info` flag: a side-table entry for weak references exists.
pub(crate) const HAS_WEAK: usize = 2;
/// `info` flag: weak references to this object were cleared; `upgrade` fails.
pub(crate) const WEAK_DEAD: usize = 4;
/// `info` flag: tracemalloc holds a trace for this block.
pub(crate) const TRACED: usize = 8;
const FLAG_MASK: usize = 15;

/// `GcLink::prev` bit: the finalizer already ran (never cleared, as in CPython).
pub(crate) const PREV_FINALIZED: usize = 1;
/// `GcLink::prev` bit: the object belongs to the set being collected.
pub(crate) const PREV_COLLECTING: usize = 2;
/// Low bits of `prev` that are flags, not pointer.
pub(crate) const PREV_FLAGS: usize = 3;
/// How far `gc_refs` is shifted inside `prev`.
pub(crate) const PREV_SHIFT: u32 = 2;
/// `GcLink::next` bit during `move_unreachable`.
pub(crate) const NEXT_UNREACHABLE: usize = 1;

/// CPython's `PyGC_Head`: the doubly linked list of a generation. Aligned
/// to 16 so list heads on the stack leave pointer bits free, as blocks do.
#[repr(C, align(16))]
pub(crate) struct GcLink {
    pub(crate) next: Cell<usize>,
    pub(crate) prev: Cell<usize>,
}

impl GcLink {
    pub(crate) const fn new() -> Self {
        GcLink { next: Cell::new(0), prev: Cell::new(0) }
    }
}

/// The part every object has: the strong count and the type table.
#[repr(C)]
pub(crate) struct ObjHeader {
    pub(crate) refcnt: Cell<usize>,
    pub(crate) info: Cell<usize>,
}

/// Size of the header in front of a tracked value.
pub const TRACKED_HEADER_SIZE: usize = 32;
/// Size of the header in front of an untracked value.
pub const UNTRACKED_HEADER_SIZE: usize = 16;

/// What the heap needs to know about a type, erased: one static table per `T`.
#[repr(C, align(16))]
pub(crate) struct TypeInfo {
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) type_id: fn() -> TypeId,
    /// Layout of the whole block.
    pub(crate) block: Layout,
    /// Offset of the `ObjHeader` from the block start.
    pub(crate) header_offset: usize,
    pub(crate) value_size: usize,
    pub(crate) tracked: bool,
    /// `T::FROZEN`: the handles inside never change (see `Trace::FROZEN`).
    pub(crate) frozen: bool,
    pub(crate) has_finalizer: bool,
    pub(crate) legacy_finalizer: bool,
    /// Drops the value in place. Caller guarantees it is initialised and
    /// dropped at most once.
    pub(crate) drop_value: unsafe fn(*mut u8),
    pub(crate) finalize: unsafe fn(*const u8),
    pub(crate) trace_core: unsafe fn(*const u8, &mut CoreVisitor),
    pub(crate) trace_labeled: unsafe fn(*const u8, &mut LabelVisitor),
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
/// `p` points at an initialised, live `T`.
unsafe fn finalize<T: Trace + 'static>(p: *const u8) {
    // SAFETY: guaranteed by the caller.
    unsafe { &*p.cast::<T>() }.finalize()
}

/// # Safety
/// `p` points at an initialised, live `T`.
unsafe fn trace_core<T: Trace>(p: *const u8, v: &mut CoreVisitor) {
    // SAFETY: guaranteed by the caller.
    unsafe { &*p.cast::<T>() }.trace(v)
}

/// # Safety
/// `p` points at an initialised, live `T`.
unsafe fn trace_labeled<T: Trace>(p: *const u8, v: &mut LabelVisitor) {
    // SAFETY: guaranteed by the caller.
    unsafe { &*p.cast::<T>() }.trace(v)
}

/// A raw, non-owning pointer to an object header. All accessors assume the
/// block is still allocated (the caller holds a strong or weak count, or is
/// the collector walking its own lists).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ObjPtr(pub(crate) NonNull<ObjHeader>);

impl ObjPtr {
    #[inline]
    pub(crate) fn header(self) -> &'static ObjHeader {
        // SAFETY: ObjPtr is only built for allocated blocks and used while
        // they stay allocated (see the type's contract).
        unsafe { self.0.as_ref() }
    }
    #[inline]
    pub(crate) fn addr(self) -> usize {
        self.0.as_ptr() as usize
    }
    #[inline]
    pub(crate) fn info(self) -> &'static TypeInfo {
        let word = self.header().info.get() & !FLAG_MASK;
        // SAFETY: the info word always holds a `&'static TypeInfo` plus flag bits.
        unsafe { &*(word as *const TypeInfo) }
    }
    #[inline]
    pub(crate) fn flags(self) -> usize {
        self.header().info.get() & FLAG_MASK
    }
    #[inline]
    pub(crate) fn set_flag(self, f: usize) {
        let h = self.header();
        h.info.set(h.info.get() | f);
    }
    #[inline]
    pub(crate) fn clear_flag(self, f: usize) {
        let h = self.header();
        h.info.set(h.info.get() & !f);
    }
    #[inline]
    pub(crate) fn value_ptr(self) -> *mut u8 {
        (self.addr() + UNTRACKED_HEADER_SIZE) as *mut u8
    }
    /// The generation link; only meaningful when the type is tracked.
    #[inline]
    pub(crate) fn link(self) -> &'static GcLink {
        debug_assert!(self.info().tracked);
        // SAFETY: tracked blocks have a GcLink right before the header.
        unsafe { &*((self.addr() - std::mem::size_of::<GcLink>()) as *const GcLink) }
    }
    #[inline]
    pub(crate) fn from_link(link: usize) -> ObjPtr {
        let p = (link + std::mem::size_of::<GcLink>()) as *mut ObjHeader;
        // SAFETY: a link address is never near zero.
        ObjPtr(unsafe { NonNull::new_unchecked(p) })
    }
    pub(crate) fn block_start(self) -> *mut u8 {
        (self.addr() - self.info().header_offset) as *mut u8
    }
    pub(crate) fn type_name(self) -> &'static str {
        (self.info().type_name)()
    }
    pub(crate) fn is_cleared(self) -> bool {
        self.flags() & CLEARED != 0
    }
    pub(crate) fn is_tracked(self) -> bool {
        self.info().tracked && self.link().next.get() != 0
    }
    pub(crate) fn is_finalized(self) -> bool {
        self.info().tracked && self.link().prev.get() & PREV_FINALIZED != 0
    }
}
