//! Hooks that tell memory checkers which pool bytes the program may touch.
//!
//! A block freed into a pool stays mapped, so without help neither
//! AddressSanitizer nor valgrind's memcheck can tell a use-after-free of a pool
//! block from a valid access (CPython turns pymalloc off under valgrind for this
//! reason). These hooks describe the pools to both:
//!
//! | bytes                               | AddressSanitizer (`--cfg obmalloc_asan`) | memcheck (detected at run time) |
//! |-------------------------------------|------------------------------------------|---------------------------------|
//! | a new arena, never-carved pools     | poisoned ([`region_noaccess`])           | `MAKE_MEM_NOACCESS`             |
//! | a pool header, once carved          | addressable ([`header_access`])          | `MAKE_MEM_DEFINED`              |
//! | a block handed out                  | unpoisoned ([`block_alloc`])             | `MEMPOOL_ALLOC`: undefined      |
//! | a free block                        | poisoned ([`block_free`])                | `MEMPOOL_FREE`: "… free'd"      |
//!
//! The rule the allocator follows (the heap and arena code, `debug.rs`):
//!
//! * a block becomes free ([`block_free`]) before it is linked into any list,
//!   so before any other thread can see it, and it becomes user memory again
//!   ([`block_alloc`]) only as it is handed out;
//! * the allocator reads and writes a free block only through [`read_link`] and
//!   [`write_link`], which open exactly the word they access and close it
//!   again before returning: there is no moment at which user code could touch
//!   a free block unseen;
//! * the fast paths in `heap.rs` touch free blocks directly, so they run only
//!   when [`fast_paths_ok`] (no checker watching): the thread's `DIRECT` heap
//!   stays null otherwise and every call takes the slow paths, which use these
//!   hooks. That keeps the fast paths free of checker code and costs them
//!   nothing.
//!
//! With neither checker, a slow path compares one cached flag at its entry
//! ([`watched`]) and its per-block hooks are then plain loads and stores
//! (`W = false`); ASan's parts are compiled out of normal builds.

mod asan;
mod memcheck;

/// Which memory checkers obmalloc describes its pools to (see `checkers()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkers {
    /// The crate was compiled with `-Zsanitizer=address`: free pool blocks are poisoned.
    pub address_sanitizer: bool,
    /// The process runs under valgrind's memcheck: pool blocks are a memcheck mempool.
    pub memcheck: bool,
}

/// The checkers watching this process.
pub(crate) fn active() -> Checkers {
    Checkers { address_sanitizer: asan::ON, memcheck: memcheck::on() }
}

/// Whether the allocation and free fast paths may run: they pop and push free
/// blocks without telling the checkers.
#[inline]
pub(crate) fn fast_paths_ok() -> bool {
    !asan::ON && !memcheck::on()
}

/// `len` bytes at `p` (a new arena) hold no block yet.
///
/// # Safety
/// `p..p + len` is mapped memory of ours that the program holds no pointer
/// into; `p` and `len` are multiples of 8.
pub(crate) unsafe fn region_noaccess(p: *mut u8, len: usize) {
    // SAFETY: caller contract.
    unsafe { asan::poison(p, len) };
    if memcheck::on() {
        memcheck::make_noaccess(p, len);
    }
}

/// The header of a pool carved for the first time becomes addressable (its
/// bytes are the zeroes of a fresh mapping, which is what `init_pool` expects).
///
/// # Safety
/// `p..p + len` lies in a live arena, is 8-aligned and holds no block.
pub(crate) unsafe fn header_access(p: *mut u8, len: usize) {
    // SAFETY: caller contract.
    unsafe { asan::unpoison(p, len) };
    if memcheck::on() {
        memcheck::make_defined(p, len);
    }
}

/// An arena is about to be unmapped: forget its poisoning, so that whatever is
/// mapped there next starts addressable (memcheck forgets by itself).
///
/// # Safety
/// `p..p + len` is a whole arena holding no live block.
pub(crate) unsafe fn region_release(p: *mut u8, len: usize) {
    // SAFETY: caller contract.
    unsafe { asan::unpoison(p, len) };
}

/// Whether a checker watches the pools: compiled-in ASan, or memcheck (one
/// load and compare, decided since the first arena was mapped).
///
/// The slow paths ask once, at their entry, and pass the answer down as the
/// const parameter `W` of the per-block hooks below, so that with no checker
/// the loops over blocks (drain, carve, free) are plain loads and stores with
/// no test per block; with one, the hooks' work is out of line.
#[inline(always)]
pub(crate) fn watched() -> bool {
    asan::ON || memcheck::watching()
}

/// Block `b` of `size` bytes is handed to the program.
///
/// # Safety
/// `b` is a free pool block of `size` bytes (a multiple of 16) that the caller
/// is handing out and no longer reads as a free block; `W == watched()`.
#[inline(always)]
pub(crate) unsafe fn block_alloc<const W: bool>(b: *mut u8, size: usize) {
    if W {
        // SAFETY: caller contract.
        unsafe { watched::block_alloc(b, size) }
    }
}

/// Block `b` of `size` bytes comes back from the program.
///
/// # Safety
/// `b` is a live pool block of `size` bytes (a multiple of 16), given up by the
/// program and not yet linked into any free list; `W == watched()`.
#[inline(always)]
pub(crate) unsafe fn block_free<const W: bool>(b: *mut u8, size: usize) {
    if W {
        // SAFETY: caller contract.
        unsafe { watched::block_free(b, size) }
    }
}

/// Reads a link word of a free block (its first or second word).
///
/// # Safety
/// `slot` is a word of a free pool block that holds a link the allocator
/// wrote, and no other thread accesses that word now; `W == watched()`.
#[inline(always)]
pub(crate) unsafe fn read_link<const W: bool>(slot: *mut *mut u8) -> *mut u8 {
    if W {
        // SAFETY: caller contract.
        unsafe { watched::read_link(slot) }
    } else {
        // SAFETY: caller contract: a word of ours, nobody else's now.
        unsafe { slot.read() }
    }
}

/// Writes a link word of a free block (its first or second word).
///
/// # Safety
/// `slot` is a word of a free pool block (or of a never-carved block being
/// carved), and no other thread accesses that word now; `W == watched()`.
#[inline(always)]
pub(crate) unsafe fn write_link<const W: bool>(slot: *mut *mut u8, v: *mut u8) {
    if W {
        // SAFETY: caller contract.
        unsafe { watched::write_link(slot, v) }
    } else {
        // SAFETY: caller contract: a word of ours, nobody else's now.
        unsafe { slot.write(v) }
    }
}

/// [`read_link`] for callers that do not carry `W` (the invariant walks).
///
/// # Safety
/// As [`read_link`].
pub(crate) unsafe fn read_link_any(slot: *mut *mut u8) -> *mut u8 {
    // SAFETY: caller contract.
    unsafe {
        if watched() {
            read_link::<true>(slot)
        } else {
            read_link::<false>(slot)
        }
    }
}

/// [`write_link`] for callers that do not carry `W` (once per pool).
///
/// # Safety
/// As [`write_link`].
pub(crate) unsafe fn write_link_any(slot: *mut *mut u8, v: *mut u8) {
    // SAFETY: caller contract.
    unsafe {
        if watched() {
            write_link::<true>(slot, v)
        } else {
            write_link::<false>(slot, v)
        }
    }
}

/// The hooks' work when a checker watches (each one's contract is its
/// public twin's above).
mod watched {
    use super::{asan, memcheck};

    const WORD: usize = core::mem::size_of::<*mut u8>();

    /// # Safety
    /// As `checkers::block_alloc`.
    #[cold]
    pub(super) unsafe fn block_alloc(b: *mut u8, size: usize) {
        // SAFETY: caller contract.
        unsafe { asan::unpoison(b, size) };
        if memcheck::watching() {
            memcheck::mempool_alloc(b, size);
        }
    }

    /// # Safety
    /// As `checkers::block_free`.
    #[cold]
    pub(super) unsafe fn block_free(b: *mut u8, size: usize) {
        // SAFETY: caller contract.
        unsafe { asan::poison(b, size) };
        if memcheck::watching() {
            memcheck::mempool_free(b);
        }
    }

    /// # Safety
    /// As `checkers::read_link`.
    #[cold]
    pub(super) unsafe fn read_link(slot: *mut *mut u8) -> *mut u8 {
        // SAFETY: caller contract: the word is ours; it is opened, read, and
        // closed again before anything else runs.
        unsafe {
            asan::unpoison(slot.cast(), WORD);
            if memcheck::watching() {
                memcheck::make_defined(slot.cast(), WORD);
            }
            let v = slot.read();
            asan::poison(slot.cast(), WORD);
            if memcheck::watching() {
                memcheck::make_noaccess(slot.cast(), WORD);
            }
            v
        }
    }

    /// # Safety
    /// As `checkers::write_link`.
    #[cold]
    pub(super) unsafe fn write_link(slot: *mut *mut u8, v: *mut u8) {
        // SAFETY: caller contract: the word is ours; it is opened, written,
        // and closed again before anything else runs.
        unsafe {
            asan::unpoison(slot.cast(), WORD);
            if memcheck::watching() {
                memcheck::make_undefined(slot.cast(), WORD);
            }
            slot.write(v);
            asan::poison(slot.cast(), WORD);
            if memcheck::watching() {
                memcheck::make_noaccess(slot.cast(), WORD);
            }
        }
    }
}

/// Copies `dst.len()` bytes from `src` even where they lie in a free pool
/// block: the debug hooks check the header of the block handed to `free`, and
/// for a double free that block is free. Under AddressSanitizer each poisoned
/// 8-byte granule of the pools is opened just for its copy and closed again
/// (elsewhere, and under memcheck, this is a plain read, which memcheck
/// reports if the bytes are free: it is the program's double free).
///
/// # Safety
/// `src..src + dst.len()` is mapped; outside the pools it is readable.
pub(crate) unsafe fn peek(src: *const u8, dst: &mut [u8]) {
    // SAFETY: caller contract.
    unsafe { asan::peek(src, dst) }
}
