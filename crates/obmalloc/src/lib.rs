//! obmalloc: CPython's small-object allocator (pymalloc) for Rust, made
//! thread-safe with one heap per thread.
//!
//! * CPython 3.10+ geometry: 16-byte alignment, 32 size classes up to 512
//!   bytes, 16 KiB pools with a 48-byte header, 1 MiB arenas from `mmap`,
//!   used pools per class, free pools per arena, arenas used fullest-first
//!   and returned to the OS as soon as all their pools are free (one kept).
//! * Larger requests and alignments above 16 go to the system allocator.
//! * No lock on the fast path: each thread allocates from its own pools; a
//!   block freed by another thread goes on a lock-free per-pool list (one CAS).
//! * CPython's APIs: [`malloc`]/[`free`] (`PyMem_*`), [`raw_malloc`]
//!   (`PyMem_Raw*`), [`object_alloc`] (`PyObject_*`, sized), [`ObMalloc`]
//!   (`GlobalAlloc`), the statistics of `sys._debugmallocstats()` and the
//!   debug hooks of `PYTHONMALLOC=debug`, selected with `PYGC_MALLOC`.
//! * Memory checkers see the pools: free pool blocks are poisoned for
//!   AddressSanitizer (`-Zsanitizer=address`) and described to valgrind's
//!   memcheck, so both report a read of a freed pool block ([`checkers`]).
//! * The tools' memory apart: what is allocated inside a [`ToolScope`]
//!   (tracemalloc's tables) is counted in [`tool_bytes`], not [`live_bytes`].
//!
//! ```
//! use std::alloc::Layout;
//! let layout = Layout::from_size_align(40, 8).unwrap();
//! // SAFETY: non-zero size; freed with the same layout.
//! unsafe {
//!     let p = obmalloc::object_alloc(layout);
//!     assert!(!p.is_null() && p as usize % 16 == 0);
//!     obmalloc::object_dealloc(p, layout);
//! }
//! let s = obmalloc::stats();
//! assert_eq!(s.accounted_bytes(), s.arenas_current * obmalloc::ARENA_SIZE);
//! ```
//!
//! As the global allocator (every `Box`, `Vec` and `String` then comes from
//! the pools):
//! ```
//! #[global_allocator]
//! static A: obmalloc::ObMalloc = obmalloc::ObMalloc;
//!
//! fn main() {
//!     let words: Vec<String> = (0..1000).map(|i| format!("word {i}")).collect();
//!     assert_eq!(words[999], "word 999");
//!     assert!(obmalloc::live_bytes() > 0);
//! }
//! ```
//! See `docs/design/obmalloc.md` for the layout, invariants and thread model.

mod account;
mod arena;
mod checkers;
mod debug;
mod geometry;
mod heap;
mod mode;
mod os;
mod stats;

pub use account::{tool_scope, ToolScope};
pub use arena::SPARE_ARENAS;
pub use checkers::Checkers;
pub use debug::{TracebackHook, API_MEM, API_OBJ, API_RAW, CLEANBYTE, DEADBYTE, FORBIDDENBYTE};
pub use geometry::{
    blocks_per_pool, class_size, size_class, ALIGNMENT, ARENA_SIZE, MAX_POOLS_IN_ARENA,
    NB_SMALL_SIZE_CLASSES, POOL_OVERHEAD, POOL_SIZE, SMALL_REQUEST_THRESHOLD,
};
pub use mode::{allocator, set_allocator, Allocator, Error, VALID_NAMES};
pub use stats::{ClassStats, Stats};

use core::fmt;
use geometry::is_small;
use std::alloc::{GlobalAlloc, Layout};

/// The allocator as a `#[global_allocator]` (API id `'m'` under the debug hooks).
#[derive(Clone, Copy, Debug, Default)]
pub struct ObMalloc;

// SAFETY: every block returned is at least `layout.size()` bytes, aligned to
// `layout.align()` (pool blocks are 16-aligned and only serve align <= 16;
// larger alignments go to posix_memalign), and stays valid until dealloc.
unsafe impl GlobalAlloc for ObMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: GlobalAlloc's contract is ours.
        unsafe { sized_alloc(layout, API_MEM) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: GlobalAlloc's contract is ours.
        unsafe { sized_dealloc(ptr, layout, API_MEM) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: GlobalAlloc's contract.
        unsafe { sized_alloc_zeroed(layout, API_MEM) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: GlobalAlloc's contract.
        unsafe { sized_realloc(ptr, layout, new_size, API_MEM) }
    }
}

/// Allocates a block for a heap object (CPython's `PyObject_Malloc`, API id
/// `'o'`). Any alignment (above 16 goes to the system allocator). Null on
/// out-of-memory.
///
/// # Safety
/// `layout.size()` must be non-zero.
#[inline]
pub unsafe fn object_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: caller contract.
    unsafe { sized_alloc(layout, API_OBJ) }
}

/// Frees a block from [`object_alloc`] (sized free: no lookup).
///
/// # Safety
/// `ptr` came from `object_alloc(layout)` with this same layout and is not
/// used afterwards.
#[inline]
pub unsafe fn object_dealloc(ptr: *mut u8, layout: Layout) {
    // SAFETY: caller contract.
    unsafe { sized_dealloc(ptr, layout, API_OBJ) }
}

#[inline(always)]
unsafe fn sized_alloc(layout: Layout, api: u8) -> *mut u8 {
    let size = layout.size();
    if is_small(size, layout.align()) {
        let cls = size_class(size);
        // SAFETY: cls < 32.
        let p = unsafe { heap::alloc_fast(cls, size) };
        if !p.is_null() {
            return p;
        }
    }
    sized_alloc_slow(layout, api)
}

#[cold]
#[inline(never)]
fn sized_alloc_slow(layout: Layout, api: u8) -> *mut u8 {
    let (size, align) = (layout.size(), layout.align());
    let mode = mode::mode_locked();
    if align > ALIGNMENT {
        return large_alloc(layout);
    }
    match mode {
        Allocator::PyMalloc if is_small(size, align) => heap::pool_alloc(size_class(size), size, true),
        Allocator::PyMalloc | Allocator::Malloc => large_alloc(layout),
        Allocator::Debug | Allocator::MallocDebug => debug::alloc(api, mode, size, false),
    }
}

fn large_alloc(layout: Layout) -> *mut u8 {
    let size = layout.size().max(1);
    let p = if layout.align() <= ALIGNMENT {
        os::sys_malloc(size)
    } else {
        os::sys_memalign(layout.align(), size)
    };
    if !p.is_null() {
        account::sys_new(p, layout.size());
    }
    p
}

#[inline(always)]
unsafe fn sized_dealloc(ptr: *mut u8, layout: Layout, api: u8) {
    let size = layout.size();
    // SAFETY: with a direct heap (pymalloc mode) a small layout means a pool block.
    if is_small(size, layout.align()) && unsafe { heap::free_fast(ptr, size_class(size), size) } {
        return;
    }
    // SAFETY: caller contract.
    unsafe { sized_dealloc_slow(ptr, layout, api) }
}

#[cold]
#[inline(never)]
unsafe fn sized_dealloc_slow(ptr: *mut u8, layout: Layout, api: u8) {
    let (size, align) = (layout.size(), layout.align());
    let mode = mode::mode_locked();
    if align > ALIGNMENT
        || (mode == Allocator::PyMalloc && !is_small(size, align))
        || mode == Allocator::Malloc
    {
        account::sys_release(ptr, size);
        // SAFETY: a system block (routing is decided by layout and mode alone).
        unsafe { os::sys_free(ptr) };
        return;
    }
    match mode {
        // SAFETY: a live pool block.
        Allocator::PyMalloc => unsafe { heap::pool_free(ptr, size, true) },
        // SAFETY: a debug block.
        _ => unsafe { debug::free(api, ptr) },
    }
}

unsafe fn sized_alloc_zeroed(layout: Layout, api: u8) -> *mut u8 {
    let mode = mode::mode_locked();
    if mode.has_debug_hooks() && layout.align() <= ALIGNMENT {
        return debug::alloc(api, mode, layout.size(), true);
    }
    if !is_small(layout.size(), layout.align()) && layout.align() <= ALIGNMENT {
        let p = os::sys_calloc(1, layout.size().max(1));
        if !p.is_null() {
            account::sys_new(p, layout.size());
        }
        return p;
    }
    // SAFETY: caller contract.
    let p = unsafe { sized_alloc(layout, api) };
    if !p.is_null() {
        // SAFETY: p has layout.size() bytes.
        unsafe { core::ptr::write_bytes(p, 0, layout.size()) };
    }
    p
}

unsafe fn sized_realloc(ptr: *mut u8, layout: Layout, new_size: usize, api: u8) -> *mut u8 {
    let (old, align) = (layout.size(), layout.align());
    let mode = mode::mode_locked();
    if align <= ALIGNMENT {
        if mode.has_debug_hooks() {
            // SAFETY: a debug block (align <= 16 under the hooks).
            return unsafe { debug::realloc(api, mode, ptr, new_size) };
        }
        if mode == Allocator::PyMalloc && is_small(old, align) {
            let csize = class_size(size_class(old));
            if new_size <= csize && 4 * new_size > 3 * csize {
                // In place: the block stays in its account.
                // SAFETY: a live pool block.
                heap::account(unsafe { heap::pool_account(ptr) }, new_size as isize - old as isize);
                return ptr;
            }
        } else if !is_small(new_size, align) || mode == Allocator::Malloc {
            // System block staying in the system allocator: counted as a free
            // and a new block (in the current account).
            let was = account::sys_release(ptr, old);
            // SAFETY: a live libc block.
            let q = unsafe { os::sys_realloc(ptr, new_size.max(1)) };
            if q.is_null() {
                account::sys_restore(ptr, old, was);
            } else {
                account::sys_new(q, new_size);
            }
            return q;
        }
    }
    let Ok(new_layout) = Layout::from_size_align(new_size, align) else {
        return core::ptr::null_mut();
    };
    // SAFETY: non-zero size per GlobalAlloc::realloc's contract.
    let q = unsafe { sized_alloc(new_layout, api) };
    if !q.is_null() {
        // SAFETY: both blocks hold min(old, new) bytes; ptr is then freed.
        unsafe {
            core::ptr::copy_nonoverlapping(ptr, q, old.min(new_size));
            sized_dealloc(ptr, layout, api);
        }
    }
    q
}

// ---------------------------------------------------------------------------
// PyMem_* (unsized, API 'm')
// ---------------------------------------------------------------------------

/// `PyMem_Malloc`: 16-aligned; 1..=512 bytes from the pools, 0 and larger
/// sizes from the system allocator. Null on out-of-memory.
///
/// # Safety
/// Always safe to call; marked unsafe because the result must be freed with
/// [`free`] / [`realloc`] only.
#[inline]
pub unsafe fn malloc(size: usize) -> *mut u8 {
    if size.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD {
        let cls = size_class(size);
        // SAFETY: cls < 32.
        let p = unsafe { heap::alloc_fast(cls, class_size(cls)) };
        if !p.is_null() {
            return p;
        }
    }
    malloc_slow(size, false)
}

#[cold]
#[inline(never)]
fn malloc_slow(size: usize, zero: bool) -> *mut u8 {
    let mode = mode::mode_locked();
    match mode {
        Allocator::Debug | Allocator::MallocDebug => debug::alloc(API_MEM, mode, size, zero),
        Allocator::PyMalloc if size.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD => {
            let cls = size_class(size);
            let p = heap::pool_alloc(cls, class_size(cls), true);
            if zero && !p.is_null() {
                // SAFETY: the block has class_size(cls) >= size bytes.
                unsafe { core::ptr::write_bytes(p, 0, size) };
            }
            p
        }
        _ => sys_alloc_counted(size, zero),
    }
}

fn sys_alloc_counted(size: usize, zero: bool) -> *mut u8 {
    let p = if zero { os::sys_calloc(1, size.max(1)) } else { os::sys_malloc(size.max(1)) };
    if !p.is_null() {
        // SAFETY: a live libc block.
        account::sys_new(p, unsafe { os::sys_usable_size(p) });
    }
    p
}

/// # Safety
/// `p` is a live libc block, given up.
unsafe fn sys_free_counted(p: *mut u8) {
    // SAFETY: caller contract.
    unsafe {
        account::sys_release(p, os::sys_usable_size(p));
        os::sys_free(p);
    }
}

/// `PyMem_Calloc`: zeroed; null on overflow or out-of-memory.
///
/// # Safety
/// As [`malloc`].
pub unsafe fn calloc(nelem: usize, elsize: usize) -> *mut u8 {
    match nelem.checked_mul(elsize) {
        Some(n) => malloc_slow(n, true),
        None => core::ptr::null_mut(),
    }
}

/// `PyMem_Free`. Null is ignored.
///
/// # Safety
/// `p` is null or came from [`malloc`]/[`calloc`]/[`realloc`] and is not used
/// afterwards.
pub unsafe fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    match mode::mode_locked() {
        Allocator::PyMalloc => {
            if arena::address_in_range(p as usize) {
                // SAFETY: inside an arena: a live pool block.
                let cls = unsafe { (*arena::pool_of(p)).szidx() };
                let size = class_size(cls);
                // SAFETY: as above.
                if !unsafe { heap::free_fast(p, cls, size) } {
                    // SAFETY: as above.
                    unsafe { heap::pool_free(p, size, true) };
                }
            } else {
                // SAFETY: not ours, so a libc block (caller contract).
                unsafe { sys_free_counted(p) };
            }
        }
        // SAFETY: a libc block.
        Allocator::Malloc => unsafe { sys_free_counted(p) },
        // SAFETY: a debug block.
        _ => unsafe { debug::free(API_MEM, p) },
    }
}

/// `PyMem_Realloc`, with CPython's rule: a pool block stays in place when the
/// new size fits its class and is more than 3/4 of it (`4n > 3*size`).
///
/// # Safety
/// `p` is null or a live block of this API; on success it must not be used.
pub unsafe fn realloc(p: *mut u8, size: usize) -> *mut u8 {
    if p.is_null() {
        // SAFETY: always safe.
        return unsafe { malloc(size) };
    }
    let mode = mode::mode_locked();
    match mode {
        // SAFETY: a debug block.
        Allocator::Debug | Allocator::MallocDebug => unsafe { debug::realloc(API_MEM, mode, p, size) },
        Allocator::PyMalloc if arena::address_in_range(p as usize) => {
            // SAFETY: a live pool block.
            let csize = class_size(unsafe { (*arena::pool_of(p)).szidx() });
            if size <= csize && 4 * size > 3 * csize {
                return p;
            }
            // SAFETY: always safe.
            let q = unsafe { malloc(size) };
            if !q.is_null() {
                // SAFETY: both hold min(size, csize) bytes; p is then freed.
                unsafe {
                    core::ptr::copy_nonoverlapping(p, q, size.min(csize));
                    free(p);
                }
            }
            q
        }
        _ => {
            // SAFETY: a libc block.
            unsafe { sys_realloc_counted(p, size) }
        }
    }
}

/// # Safety
/// `p` is a live libc block.
unsafe fn sys_realloc_counted(p: *mut u8, size: usize) -> *mut u8 {
    // SAFETY: caller contract.
    let old = unsafe { os::sys_usable_size(p) };
    let was = account::sys_release(p, old);
    // SAFETY: caller contract.
    let q = unsafe { os::sys_realloc(p, size.max(1)) };
    if q.is_null() {
        account::sys_restore(p, old, was);
    } else {
        // SAFETY: a live libc block.
        account::sys_new(q, unsafe { os::sys_usable_size(q) });
    }
    q
}

// ---------------------------------------------------------------------------
// PyMem_Raw* (API 'r'): the system allocator
// ---------------------------------------------------------------------------

/// `PyMem_RawMalloc`: system `malloc`, 0 bytes becomes 1.
///
/// # Safety
/// Free with [`raw_free`] / [`raw_realloc`] only.
pub unsafe fn raw_malloc(size: usize) -> *mut u8 {
    let mode = mode::mode_locked();
    if mode.has_debug_hooks() {
        return debug::alloc(API_RAW, mode, size, false);
    }
    sys_alloc_counted(size, false)
}

/// `PyMem_RawCalloc`.
///
/// # Safety
/// As [`raw_malloc`].
pub unsafe fn raw_calloc(nelem: usize, elsize: usize) -> *mut u8 {
    let Some(n) = nelem.checked_mul(elsize) else {
        return core::ptr::null_mut();
    };
    let mode = mode::mode_locked();
    if mode.has_debug_hooks() {
        return debug::alloc(API_RAW, mode, n, true);
    }
    sys_alloc_counted(n, true)
}

/// `PyMem_RawRealloc`.
///
/// # Safety
/// `p` is null or a live raw block; on success it must not be used.
pub unsafe fn raw_realloc(p: *mut u8, size: usize) -> *mut u8 {
    let mode = mode::mode_locked();
    if mode.has_debug_hooks() {
        // SAFETY: caller contract.
        return unsafe { debug::realloc(API_RAW, mode, p, size) };
    }
    if p.is_null() {
        return sys_alloc_counted(size, false);
    }
    // SAFETY: caller contract.
    unsafe { sys_realloc_counted(p, size) }
}

/// `PyMem_RawFree`. Null is ignored.
///
/// # Safety
/// `p` is null or a live raw block, not used afterwards.
pub unsafe fn raw_free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    if mode::mode_locked().has_debug_hooks() {
        // SAFETY: caller contract.
        unsafe { debug::free(API_RAW, p) };
    } else {
        // SAFETY: caller contract.
        unsafe { sys_free_counted(p) };
    }
}

// ---------------------------------------------------------------------------
// Statistics, tools
// ---------------------------------------------------------------------------

/// Bytes currently allocated through obmalloc by all threads (small and
/// large). Sized APIs count requested sizes; the unsized `PyMem_*`/`Raw` APIs
/// count the block's usable size (class size, or `malloc_usable_size`);
/// under the debug hooks, requested sizes. Cheap: one relaxed load per heap.
///
/// Memory allocated inside a [`ToolScope`] (by tracemalloc for its tables and
/// symbol cache) is not included: see [`tool_bytes`].
pub fn live_bytes() -> usize {
    heap::account_bytes(heap::Account::Program)
}

/// Bytes currently allocated through obmalloc inside [`ToolScope`]s and not
/// yet freed (wherever they are freed): the monitoring tools' own memory,
/// kept out of [`live_bytes`]. Counted as [`live_bytes`] counts.
pub fn tool_bytes() -> usize {
    heap::account_bytes(heap::Account::Tool)
}

/// The memory checkers obmalloc describes its pools to: AddressSanitizer
/// when the crate was compiled with `-Zsanitizer=address` (free pool blocks
/// are poisoned), valgrind's memcheck when the process runs under it (the
/// pools are a memcheck mempool). In both cases a read of a freed pool block
/// is reported, and the allocation fast paths are off.
pub fn checkers() -> Checkers {
    checkers::active()
}

/// A snapshot of the pools: the numbers behind `sys._debugmallocstats()`.
pub fn stats() -> Stats {
    stats::collect(allocator())
}

/// Prints CPython's `sys._debugmallocstats()` report to stderr.
pub fn debug_malloc_stats() {
    let _ = debug_malloc_stats_to(&mut std::io::stderr().lock());
}

/// Writes CPython's `sys._debugmallocstats()` report to `w`.
pub fn debug_malloc_stats_to(w: &mut dyn std::io::Write) -> std::io::Result<()> {
    stats().write_report(w)
}

/// Registers (or clears) tracemalloc's traceback writer, used by the debug
/// report: given the user pointer, it writes "Memory block allocated at (most
/// recent call first):" and the frames, and returns true; false (or no hook)
/// prints "Enable tracemalloc to get the memory block allocation traceback".
/// The hook runs on a failure path: it must not allocate.
pub fn set_block_traceback_hook(hook: Option<fn(ptr: usize, out: &mut dyn fmt::Write) -> bool>) {
    debug::set_hook(hook);
}

/// Gives back what the current thread can: drains blocks other threads freed
/// into its pools, returns its empty pools (and so empty arenas) to the OS,
/// reclaims pools of exited threads, and unmaps the spare empty arenas
/// ([`SPARE_ARENAS`]) but one.
pub fn collect() {
    heap::collect();
}

/// An invariant found broken by [`verify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invariant {
    /// Which equation failed.
    pub what: &'static str,
    /// An address or count locating it.
    pub at: usize,
}

impl Invariant {
    pub(crate) fn new(what: &'static str, at: usize) -> Self {
        Invariant { what, at }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "obmalloc invariant broken: {} (at {:#x})", self.what, self.at)
    }
}

impl std::error::Error for Invariant {}

/// Checks the arena invariants and the current thread's heap (the equations
/// written above `Pool` and `Arenas`). For tests; takes the arena lock.
pub fn verify() -> Result<(), Invariant> {
    arena::lock().verify()?;
    heap::verify_current()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realloc_follows_cpythons_rule() {
        if allocator() != Allocator::PyMalloc {
            eprintln!("skipping: checks pymalloc routing; PYGC_MALLOC chose {}", allocator());
            return;
        }
        // SAFETY: blocks of this API, each freed once.
        unsafe {
            let p = malloc(100); // class 112
            p.write_bytes(7, 100);
            assert_eq!(realloc(p, 112), p, "grows within its class in place");
            assert_eq!(realloc(p, 85), p, "4*85 > 3*112: stays");
            let q = realloc(p, 84); // 4*84 <= 3*112: copies to a smaller class
            assert_ne!(q, p);
            assert!(std::slice::from_raw_parts(q, 84).iter().all(|&b| b == 7));
            let r = realloc(q, 2000); // to the system allocator
            assert!(std::slice::from_raw_parts(r, 84).iter().all(|&b| b == 7));
            let s = realloc(r, 10); // system blocks stay in the system allocator
            assert!(!arena::address_in_range(s as usize));
            free(s);
            let z = calloc(3, 5);
            assert!(std::slice::from_raw_parts(z, 15).iter().all(|&b| b == 0));
            assert_eq!(z as usize % ALIGNMENT, 0);
            free(z);
            assert!(calloc(usize::MAX, 2).is_null());
            let raw = raw_malloc(0);
            assert!(!raw.is_null());
            raw_free(raw);
        }
        verify().unwrap();
    }

    #[test]
    fn routing_by_size_and_alignment() {
        if allocator() != Allocator::PyMalloc {
            eprintln!("skipping: checks pymalloc routing; PYGC_MALLOC chose {}", allocator());
            return;
        }
        // SAFETY: each block freed with its layout.
        unsafe {
            for (size, align, pooled) in [(1, 1, true), (512, 16, true), (513, 8, false), (64, 64, false)] {
                let l = Layout::from_size_align(size, align).unwrap();
                let p = object_alloc(l);
                assert_eq!(p as usize % align, 0);
                assert_eq!(arena::address_in_range(p as usize), pooled, "{size}/{align}");
                object_dealloc(p, l);
            }
        }
    }

    #[test]
    fn statistics_add_up_while_threads_allocate() {
        let hs: Vec<_> = (0..3)
            .map(|t| {
                std::thread::spawn(move || {
                    let l = Layout::from_size_align(16 + 48 * t, 8).unwrap();
                    // SAFETY: freed below with the same layout.
                    let v: Vec<usize> = (0..3000).map(|_| unsafe { object_alloc(l) } as usize).collect();
                    let s = stats();
                    assert_eq!(s.accounted_bytes(), s.arenas_current * ARENA_SIZE);
                    verify().unwrap();
                    for p in v {
                        // SAFETY: allocated above with l.
                        unsafe { object_dealloc(p as *mut u8, l) };
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let s = stats();
        assert_eq!(s.accounted_bytes(), s.arenas_current * ARENA_SIZE);
    }
}
