//! AddressSanitizer's manual poisoning interface (`sanitizer/asan_interface.h`),
//! compiled in only with `--cfg obmalloc_asan` (set by `build.rs` under
//! `-Zsanitizer=address`); otherwise every function here is an empty inline.
//!
//! ASan keeps one shadow byte per 8-byte granule. Every region obmalloc
//! poisons or unpoisons is 8-aligned with a length that is a multiple of 8
//! (blocks are 16-aligned multiples of 16, links are words, arenas and pool
//! headers are too), so the shadow describes them exactly.

/// Whether ASan is compiled in.
pub(super) const ON: bool = cfg!(obmalloc_asan);

pub(super) use imp::*;

#[cfg(obmalloc_asan)]
mod imp {
    use core::ffi::c_void;

    extern "C" {
        fn __asan_poison_memory_region(addr: *const c_void, size: usize);
        fn __asan_unpoison_memory_region(addr: *const c_void, size: usize);
        fn __asan_address_is_poisoned(addr: *const c_void) -> i32;
    }

    /// # Safety
    /// `p..p + len` is memory of ours (not ASan's own heap), 8-aligned.
    #[inline]
    pub(in crate::checkers) unsafe fn poison(p: *mut u8, len: usize) {
        debug_assert!(p as usize % 8 == 0 && len % 8 == 0);
        // SAFETY: only changes the shadow of memory we own (caller contract).
        unsafe { __asan_poison_memory_region(p.cast(), len) }
    }

    /// # Safety
    /// As [`poison`].
    #[inline]
    pub(in crate::checkers) unsafe fn unpoison(p: *mut u8, len: usize) {
        debug_assert!(p as usize % 8 == 0 && len % 8 == 0);
        // SAFETY: only changes the shadow of memory we own (caller contract).
        unsafe { __asan_unpoison_memory_region(p.cast(), len) }
    }

    /// # Safety
    /// `src..src + dst.len()` is mapped; outside the pools it is readable.
    pub(in crate::checkers) unsafe fn peek(src: *const u8, dst: &mut [u8]) {
        let mut i = 0;
        while i < dst.len() {
            let at = src as usize + i;
            let granule = at & !7;
            let n = (granule + 8 - at).min(dst.len() - i);
            // SAFETY: querying the shadow has no preconditions.
            let closed = crate::arena::address_in_range(granule)
                && unsafe { __asan_address_is_poisoned(granule as *const c_void) } != 0;
            // SAFETY: a poisoned pool granule is a whole free granule of ours
            // (pool poisoning is granule-exact): opened for this copy only,
            // on this thread, then closed again.
            unsafe {
                if closed {
                    __asan_unpoison_memory_region(granule as *const c_void, 8);
                }
                core::ptr::copy_nonoverlapping(src.add(i), dst.as_mut_ptr().add(i), n);
                if closed {
                    __asan_poison_memory_region(granule as *const c_void, 8);
                }
            }
            i += n;
        }
    }
}

#[cfg(not(obmalloc_asan))]
mod imp {
    /// # Safety
    /// None (no-op); the signature matches the ASan build's.
    #[inline(always)]
    pub(in crate::checkers) unsafe fn poison(_p: *mut u8, _len: usize) {}

    /// # Safety
    /// None (no-op); the signature matches the ASan build's.
    #[inline(always)]
    pub(in crate::checkers) unsafe fn unpoison(_p: *mut u8, _len: usize) {}

    /// # Safety
    /// `src..src + dst.len()` is readable.
    #[inline]
    pub(in crate::checkers) unsafe fn peek(src: *const u8, dst: &mut [u8]) {
        // SAFETY: caller contract.
        unsafe { core::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) }
    }
}
