//! Allocating, tagging and freeing benchmark blocks through the global
//! allocator, and the pointer arrays that hold them.
//!
//! Every block gets a `u32` tag written at its start (the "object header
//! write" of the fairness rules) and read back just before it is freed, so the
//! allocator cannot hand out overlapping or clobbered blocks and still post a
//! number: each workload compares what it wrote with what it read.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::hint::black_box;
use std::io;

/// Alignment of every benchmark block: that of a typical Rust object with a
/// pointer or `u64` field.
pub const ALIGN: usize = 8;

/// Smallest block the workloads allocate (room for the tag, and the smallest
/// size class of every allocator under test).
pub const MIN_SIZE: usize = 16;

/// The layout of a benchmark block of `size` bytes.
///
/// # Panics
/// If `size` is below [`MIN_SIZE`] or too large for a `Layout`; the workloads
/// only use fixed sizes from 16 B to 4 KiB.
#[inline(always)]
pub fn layout(size: usize) -> Layout {
    assert!(size >= MIN_SIZE, "benchmark block of {size} B is too small");
    match Layout::from_size_align(size, ALIGN) {
        Ok(l) => l,
        Err(_) => panic!("invalid benchmark block size {size}"),
    }
}

/// Allocates a block with the global allocator and writes `tag` at its start.
/// Aborts through [`handle_alloc_error`] when the allocator returns null.
#[inline(always)]
pub fn new_block(layout: Layout, tag: u32) -> *mut u8 {
    debug_assert!(layout.size() >= MIN_SIZE && layout.align() >= 4);
    // SAFETY: every layout built by `layout()` has a non-zero size.
    let p = unsafe { alloc(layout) };
    if p.is_null() {
        handle_alloc_error(layout);
    }
    // SAFETY: `p` is a fresh allocation of at least 16 bytes aligned to at
    // least 8, so a `u32` store at its start is in bounds and aligned.
    unsafe { p.cast::<u32>().write(tag) };
    black_box(p)
}

/// Reads the tag of a block and frees it; returns the tag.
///
/// # Safety
/// `p` must come from [`new_block`] with this same `layout` and not have
/// been freed yet.
#[inline(always)]
pub unsafe fn free_block(p: *mut u8, layout: Layout) -> u32 {
    // SAFETY: the caller guarantees `p` is a live block from `new_block`,
    // which is at least 16 bytes and aligned to 8.
    let tag = unsafe { p.cast::<u32>().read() };
    // SAFETY: the caller guarantees `p` was allocated with `layout` and is
    // still live.
    unsafe { dealloc(p, layout) };
    tag
}

/// An order-independent fingerprint of a multiset of tags: count, sum and sum
/// of squares (wrapping). Tags written and tags read back must give equal
/// tallies; a lost, duplicated or clobbered block changes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    count: u64,
    sum: u64,
    squares: u64,
}

impl Tally {
    /// Adds one tag.
    #[inline(always)]
    pub fn add(&mut self, tag: u32) {
        let t = u64::from(tag);
        self.count += 1;
        self.sum = self.sum.wrapping_add(t);
        self.squares = self.squares.wrapping_add(t.wrapping_mul(t));
    }

    /// How many tags were added.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Types whose all-zero bit pattern is a valid value, so [`RawArray`] can
/// hand out freshly mapped (zeroed) memory as a slice of them.
///
/// # Safety
/// Implement only for types for which all-zero bytes are a valid value.
pub unsafe trait Zeroable: Copy {}

// SAFETY: a null pointer is a valid raw pointer value.
unsafe impl Zeroable for *mut u8 {}
// SAFETY: zero is a valid u32.
unsafe impl Zeroable for u32 {}

/// A fixed-length array mapped directly with `mmap`, outside the allocator
/// under test, so that the big pointer tables of the workloads neither
/// disturb the allocator's heap nor blur its RSS figures.
pub struct RawArray<T: Zeroable> {
    ptr: *mut T,
    len: usize,
}

impl<T: Zeroable> RawArray<T> {
    /// Maps `len` zeroed elements and touches every page so they are resident
    /// before a baseline RSS reading.
    pub fn new(len: usize) -> io::Result<Self> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .filter(|&b| b > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad RawArray length"))?;
        // SAFETY: an anonymous private mapping with a null hint has no
        // preconditions; the result is checked against MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mut a = RawArray { ptr: p.cast::<T>(), len };
        let per_page = (4096 / std::mem::size_of::<T>()).max(1);
        for chunk in a.as_mut_slice().chunks_mut(per_page) {
            // A real store (of the zero already there) makes the page
            // resident; a volatile write cannot be optimised away.
            let first: *mut T = &mut chunk[0];
            // SAFETY: `first` points to an initialised element of the
            // mapping, exclusively borrowed here.
            unsafe { first.write_volatile(first.read()) };
        }
        Ok(a)
    }

    /// The elements as a mutable slice.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: `ptr` maps `len` elements, zero-initialised, which is a
        // valid value of `T` (`Zeroable`); `&mut self` makes this the only
        // reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T: Zeroable> Drop for RawArray<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe exactly the mapping made in `new`,
        // which nothing else references once `self` is dropped.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len * std::mem::size_of::<T>());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_is_order_independent_and_detects_loss() {
        let mut a = Tally::default();
        let mut b = Tally::default();
        for t in 0..100 {
            a.add(t);
        }
        for t in (0..100).rev() {
            b.add(t);
        }
        assert_eq!(a, b);
        let mut c = Tally::default();
        for t in 0..100 {
            c.add(if t == 7 { 8 } else { t });
        }
        assert_ne!(a, c, "a duplicated tag must change the tally");
        assert_eq!(a.count(), 100);
    }

    #[test]
    fn blocks_keep_their_tags() {
        let l = layout(64);
        let ps: Vec<_> = (0..100).map(|i| new_block(l, i)).collect();
        for (i, p) in ps.into_iter().enumerate() {
            // SAFETY: each `p` is a live block of layout `l`, freed once.
            assert_eq!(unsafe { free_block(p, l) }, i as u32);
        }
    }

    #[test]
    fn raw_array_is_zeroed_writable_and_resident() {
        let before = crate::measure::mem_status().unwrap().rss_kib;
        let mut a = RawArray::<u32>::new(1 << 20).unwrap();
        let after = crate::measure::mem_status().unwrap().rss_kib;
        // 4 MiB mapped and touched; other test threads may free memory
        // meanwhile, so only ask for most of it.
        assert!(after + 1024 >= before + 4096, "{before} -> {after} KiB");
        assert!(a.as_mut_slice().iter().all(|&x| x == 0));
        a.as_mut_slice()[4999] = 7;
        assert_eq!(a.as_mut_slice()[4999], 7);
        assert!(RawArray::<u32>::new(0).is_err());
    }
}
