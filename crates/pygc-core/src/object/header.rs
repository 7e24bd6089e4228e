//! The header in front of every value, and the pointers that name objects.
//!
//! Block layout (64-bit), `H` being the address an [`ObjPtr`] holds:
//!
//! ```text
//!   tracked:    [ GcLink: next, prev (16 B) ][ ObjHeader: refcnt, info (16 B) ][ value ]
//!   untracked:                               [ ObjHeader: refcnt, info (16 B) ][ value ]
//!                                            ^ H                                ^ H + 16
//! ```
//!
//! `info` is a `&'static TypeInfo` whose low five bits carry [`flags`] (the
//! table is 32-aligned) and whose top 16 bits name the object's heap (its
//! [slot](crate::state::registry); 0 is the thread's default heap). Statics
//! live far below 2^48 on every 64-bit target pygc supports, so the address
//! never uses those bits. Flags live here, not in the link, so that
//! untracked objects have them too.
//!
//! Two pointer types name an object. [`ObjPtr`] is raw: it is what lists and
//! side tables store, and reading through it needs `unsafe` and a reason the
//! block is still allocated. [`Obj<'a>`] is the same pointer with that reason
//! attached as a lifetime (a handle borrowed for `'a`, or the collector's own
//! count), and reads the header safely.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::link::GcLink;
use super::type_info::TypeInfo;

/// The flag bits of [`ObjHeader`]'s `info` word.
pub(crate) mod flags {
    /// The value was dropped (by the collector, or on the way to being
    /// freed); the block is still allocated because counts remain. Every
    /// access to a tracked value through a handle checks it.
    pub(crate) const CLEARED: usize = 1;
    /// The weak side table has an entry for this object.
    pub(crate) const HAS_WEAK: usize = 2;
    /// Weak references to this object were cleared: `upgrade` fails.
    pub(crate) const WEAK_DEAD: usize = 4;
    /// The allocation hook saw this object: call the free hook for it.
    pub(crate) const HOOKED: usize = 8;
    /// Its PEP 442 finalizer already ran (never cleared: it runs once).
    /// CPython keeps this bit in `PyGC_Head`; here untracked objects have
    /// it too, so a finalizer runs once whatever the type.
    pub(crate) const FINALIZED: usize = 16;
    /// All flag bits (the `TypeInfo` alignment leaves five).
    pub(crate) const MASK: usize = 31;
}

/// Panics unless type tables (statics of the program image) sit below 2^48,
/// as the `info` word's layout needs; run once per heap, when it is set up.
pub(crate) fn check_table_address(info: &'static TypeInfo) {
    assert!(
        std::ptr::from_ref(info).addr() & !ADDR_MASK == 0,
        "pygc: a type table lies above 2^48; the heap slot cannot be kept in the header"
    );
}

/// Where the heap slot sits in the `info` word.
const SLOT_SHIFT: u32 = 48;
/// The bits of the `info` word that are the table's address.
const ADDR_MASK: usize = ((1 << SLOT_SHIFT) - 1) & !flags::MASK;

const _: () = assert!(usize::BITS == 64, "pygc keeps a heap slot in the top bits of a 64-bit word");

/// The part of the header every object has: CPython's `ob_refcnt` and
/// `ob_type`.
///
/// Invariant: `info` holds the address of a `'static TypeInfo` (32-aligned,
/// below 2^48) with the provenance of that static, plus [`flags`] bits and
/// the heap slot in the top 16 bits; the slot never changes, and only
/// [`Obj::set_flag`] and [`Obj::clear_flag`] change the flags.
#[repr(C)]
pub(crate) struct ObjHeader {
    refcnt: Cell<usize>,
    info: Cell<*const TypeInfo>,
}

/// Size of the header in front of an untracked value.
pub const UNTRACKED_HEADER_SIZE: usize = std::mem::size_of::<ObjHeader>();
/// Size of the header in front of a tracked value (link + header).
pub const TRACKED_HEADER_SIZE: usize = UNTRACKED_HEADER_SIZE + std::mem::size_of::<GcLink>();

const _: () = assert!(UNTRACKED_HEADER_SIZE == 16 && TRACKED_HEADER_SIZE == 32);

impl ObjHeader {
    /// A header with one strong count, for a new object of `info`'s type
    /// in the heap of `slot`.
    #[inline(always)]
    pub(crate) fn new(info: &'static TypeInfo, slot: u16) -> ObjHeader {
        let p = std::ptr::from_ref(info);
        // Checked once per heap at its first use (`check_table_address`);
        // statics of the program image are far below 2^48.
        debug_assert!(p.addr() & !ADDR_MASK == 0, "a type table above 2^48: no room for the heap slot");
        ObjHeader {
            refcnt: Cell::new(1),
            // The slot bits are zero in the table's address: adding them is
            // setting them, and keeps the static's provenance.
            info: Cell::new(p.wrapping_byte_add(usize::from(slot) << SLOT_SHIFT)),
        }
    }
}

/// A raw pointer to an object's header, carrying the provenance of the whole
/// block (it is derived from the pointer the allocator returned), so the
/// link before it and the value after it can be reached from it.
///
/// Holding an `ObjPtr` says nothing about whether the block is allocated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ObjPtr(NonNull<ObjHeader>);

impl ObjPtr {
    /// The header at `header`, inside a block from the allocator.
    pub(crate) fn new(header: NonNull<ObjHeader>) -> ObjPtr {
        ObjPtr(header)
    }

    /// The object whose link is `link`.
    ///
    /// # Safety
    /// `link` points at the [`GcLink`] of a tracked object's block (not at a
    /// list head), with that block's provenance.
    #[inline]
    pub(crate) unsafe fn from_link(link: NonNull<GcLink>) -> ObjPtr {
        // SAFETY: the header directly follows the link in the same block
        // (see the layout above), so the offset stays in bounds.
        ObjPtr(unsafe { link.add(1) }.cast())
    }

    /// Borrows the object for `'a`.
    ///
    /// # Safety
    /// The block stays allocated for all of `'a`: the caller holds a strong
    /// or weak count for that long, or nothing can free it meanwhile (no
    /// user code runs and the pointer came from a list of the heap).
    #[inline]
    pub(crate) unsafe fn live<'a>(self) -> Obj<'a> {
        Obj { ptr: self, _life: PhantomData }
    }

    /// The header's address: the object's identity in side tables.
    #[inline]
    pub(crate) fn addr(self) -> usize {
        self.0.as_ptr().addr()
    }

    /// The raw header pointer.
    #[inline]
    pub(crate) fn as_ptr(self) -> *mut ObjHeader {
        self.0.as_ptr()
    }

    /// Where the link of a tracked object is (16 bytes before the header).
    /// Meaningless for untracked types, which have no link.
    #[inline]
    pub(crate) fn link_ptr(self) -> *mut GcLink {
        self.0.as_ptr().cast::<GcLink>().wrapping_sub(1)
    }

    /// Where the value is: right after the header, for every type.
    #[inline]
    pub(crate) fn value_ptr(self) -> *mut u8 {
        self.0.as_ptr().wrapping_add(1).cast()
    }
}

/// An object known to stay allocated for `'a`. Reads and writes of the
/// header through it are safe; the value behind it may still be
/// [`flags::CLEARED`].
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    ptr: ObjPtr,
    _life: PhantomData<&'a ObjHeader>,
}

impl<'a> Obj<'a> {
    /// The raw pointer, to store in a list or a table.
    #[inline]
    pub(crate) fn ptr(self) -> ObjPtr {
        self.ptr
    }

    #[inline]
    fn header(self) -> &'a ObjHeader {
        // SAFETY: `Obj<'a>` is only made by `ObjPtr::live`, whose caller
        // guarantees the block (and so the header) stays allocated for 'a.
        unsafe { &*self.ptr.as_ptr() }
    }

    /// The strong count.
    #[inline]
    pub(crate) fn refcnt(self) -> usize {
        self.header().refcnt.get()
    }

    /// Overwrites the strong count (the caller owns the counts it moves).
    #[inline]
    pub(crate) fn set_refcnt(self, n: usize) {
        self.header().refcnt.set(n)
    }

    /// The type table.
    #[inline]
    pub(crate) fn info(self) -> &'static TypeInfo {
        let tagged = self.header().info.get();
        // SAFETY: by ObjHeader's invariant the untagged word is the address
        // of a 'static TypeInfo, with its provenance.
        unsafe { &*tagged.wrapping_byte_sub(tagged.addr() & !ADDR_MASK) }
    }

    /// The slot of the object's heap (0: the thread's default heap).
    #[inline]
    pub(crate) fn heap_slot(self) -> u16 {
        (self.header().info.get().addr() >> SLOT_SHIFT) as u16
    }

    /// The flag bits.
    #[inline]
    pub(crate) fn flags(self) -> usize {
        self.header().info.get().addr() & flags::MASK
    }

    /// Whether any of `f` is set.
    #[inline]
    pub(crate) fn has(self, f: usize) -> bool {
        self.flags() & f != 0
    }

    /// Sets the bits of `f`.
    #[inline]
    pub(crate) fn set_flag(self, f: usize) {
        debug_assert!(f & !flags::MASK == 0);
        let h = self.header();
        store_whole_word(&h.info, h.info.get().map_addr(|a| a | f));
    }

    /// Clears the bits of `f`.
    #[inline]
    pub(crate) fn clear_flag(self, f: usize) {
        debug_assert!(f & !flags::MASK == 0);
        let h = self.header();
        store_whole_word(&h.info, h.info.get().map_addr(|a| a & !f));
    }

    /// The generation link, for tracked types.
    #[inline]
    pub(crate) fn link(self) -> Option<&'a GcLink> {
        if self.info().tracked {
            // SAFETY: blocks of tracked types reserve a GcLink right before
            // the header (type_info.rs lays them out so), inside the block
            // that stays allocated for 'a.
            Some(unsafe { &*self.ptr.link_ptr() })
        } else {
            None
        }
    }

    /// Where the value is.
    #[inline]
    pub(crate) fn value_ptr(self) -> *mut u8 {
        self.ptr.value_ptr()
    }

    /// Python's `id()`: the address of the value.
    #[inline]
    pub(crate) fn id(self) -> usize {
        self.value_ptr().addr()
    }

    /// The bytes `sys.getsizeof` reports (value and header).
    pub(crate) fn object_size(self) -> usize {
        // SAFETY: the object is allocated for 'a, and of its table's type.
        unsafe { self.info().object_size(self.ptr) }
    }

    /// The layout of the object's block.
    pub(crate) fn block_layout(self) -> std::alloc::Layout {
        // SAFETY: as above.
        unsafe { self.info().block_layout(self.ptr) }
    }

    /// The Rust type name.
    pub(crate) fn type_name(self) -> &'static str {
        (self.info().type_name)()
    }

    /// Calls `f` with the type name the value reports at run time
    /// (`Trace::dynamic_type_name`), `None` if it reports none or is cleared.
    ///
    /// # Safety
    /// `f` runs no user code (nothing that could drop the value or what the
    /// name borrows from): the name is only valid during the call.
    pub(crate) unsafe fn with_dynamic_type_name<R>(self, f: impl FnOnce(Option<&str>) -> R) -> R {
        if self.is_cleared() {
            return f(None);
        }
        let mut f = Some(f);
        let mut out = None;
        // SAFETY: the value is initialised (not cleared) and nothing can
        // drop it while `f` runs (the caller's promise), which is as long as
        // the name is used.
        unsafe {
            (self.info().dynamic_type_name)(self.value_ptr(), &mut |name| {
                if let Some(f) = f.take() {
                    out = Some(f(name));
                }
            })
        };
        out.expect("dynamic_type_name calls its closure once")
    }

    /// Whether the value is gone.
    #[inline]
    pub(crate) fn is_cleared(self) -> bool {
        self.has(flags::CLEARED)
    }

    /// Whether the object is in one of the heap's lists (`gc.is_tracked`).
    #[inline]
    pub(crate) fn is_in_list(self) -> bool {
        self.link().is_some_and(GcLink::is_linked)
    }

    /// Whether its PEP 442 finalizer already ran.
    #[inline]
    pub(crate) fn is_finalized(self) -> bool {
        self.has(flags::FINALIZED)
    }

    /// Whether its PEP 442 finalizer is still to run: the type has one, the
    /// value is intact, it has not run, and the value says it has work to do
    /// (`Trace::needs_finalize`; a panic there counts as yes).
    #[inline]
    pub(crate) fn finalizer_pending(self) -> bool {
        let info = self.info();
        if !info.has_finalizer || self.is_cleared() || self.is_finalized() {
            return false;
        }
        let value = self.value_ptr();
        // SAFETY: not CLEARED, so the value is initialised, and `self`
        // proves the block allocated for the call; `needs_finalize` may not
        // touch the heap (Trace's contract), so nothing clears it meanwhile.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (info.needs_finalize)(value) }))
            .unwrap_or(true)
    }

    /// Takes one more strong count.
    #[inline]
    pub(crate) fn incref(self) {
        let n = self.refcnt();
        if n >= MAX_REFCNT {
            refcount_overflow();
        }
        self.set_refcnt(n + 1);
    }
}

/// Counts stop here: beyond it `incref` aborts, as `Rc` does on overflow.
/// (Leaving room above it lets the collector add its own holds.)
pub(crate) const MAX_REFCNT: usize = usize::MAX >> 2;

#[cold]
#[inline(never)]
fn refcount_overflow() -> ! {
    std::process::abort()
}

/// Stores all eight bytes of the `info` word.
///
/// A plain `Cell::set` of `word | flag` lets LLVM narrow the store to the one
/// byte that changes (`orb $1, 8(%rbx)`). The next read of the word, which
/// follows within a few instructions on the deallocation path (`HAS_WEAK`,
/// `HOOKED`, the type table), is eight bytes wide and cannot be forwarded
/// from a narrower pending store: the CPU waits until the store reaches the
/// cache. A volatile store is kept at its full width. Measured in
/// bench-results/heap-features.md ("Where the time goes"): drops of small
/// objects went from ~2.5x `Rc`'s time to ~1.3x with the same instructions.
#[inline(always)]
fn store_whole_word(cell: &Cell<*const TypeInfo>, word: *const TypeInfo) {
    // SAFETY: `cell.as_ptr()` is valid and aligned for the cell's whole
    // lifetime, and a `Cell` never hands out a reference to its contents,
    // so this write aliases nothing; the header is !Sync, so no other thread
    // reads it. It is exactly `cell.set(word)`, kept at full width.
    unsafe { std::ptr::write_volatile(cell.as_ptr(), word) };
}
