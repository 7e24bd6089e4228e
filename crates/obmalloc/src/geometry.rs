//! CPython 3.10+ 64-bit geometry: the constants and the size-class arithmetic.

/// Blocks are 16-byte aligned and sizes are multiples of 16.
pub const ALIGNMENT: usize = 16;
/// Requests above this go to the system allocator.
pub const SMALL_REQUEST_THRESHOLD: usize = 512;
/// Number of size classes: 16, 32, ..., 512.
pub const NB_SMALL_SIZE_CLASSES: usize = SMALL_REQUEST_THRESHOLD / ALIGNMENT;
/// A pool: one page-group holding blocks of one size class.
pub const POOL_SIZE: usize = 16 * 1024;
/// Bytes at the start of each pool taken by its header (CPython's `POOL_OVERHEAD`).
pub const POOL_OVERHEAD: usize = 48;
/// An arena: the unit obtained from and returned to the OS with mmap/munmap.
pub const ARENA_SIZE: usize = 1 << ARENA_BITS;
/// log2 of [`ARENA_SIZE`].
pub const ARENA_BITS: u32 = 20;
/// Pools in an arena whose start is pool-aligned (one fewer otherwise).
pub const MAX_POOLS_IN_ARENA: usize = ARENA_SIZE / POOL_SIZE;

pub(crate) const POOL_MASK: usize = POOL_SIZE - 1;

/// The size class of a request of `n` bytes (1 <= n <= 512): `(n-1) >> 4`.
#[inline(always)]
pub const fn size_class(n: usize) -> usize {
    (n - 1) >> 4
}

/// The block size of class `i`: `(i+1) * 16`.
#[inline(always)]
pub const fn class_size(i: usize) -> usize {
    (i + 1) << 4
}

/// Blocks per pool for class `i`: `(16384 - 48) / size` (1021 for class 0).
#[inline(always)]
pub const fn blocks_per_pool(i: usize) -> usize {
    (POOL_SIZE - POOL_OVERHEAD) / class_size(i)
}

/// Whether a `(size, align)` request is served by the pools.
#[inline(always)]
pub const fn is_small(size: usize, align: usize) -> bool {
    size.wrapping_sub(1) < SMALL_REQUEST_THRESHOLD && align <= ALIGNMENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_1_to_512() {
        assert_eq!(NB_SMALL_SIZE_CLASSES, 32);
        assert_eq!(size_class(1), 0);
        assert_eq!(size_class(16), 0);
        assert_eq!(size_class(17), 1);
        assert_eq!(size_class(512), 31);
        for n in 1..=512 {
            let c = size_class(n);
            assert!(class_size(c) >= n && class_size(c) - n < ALIGNMENT, "n={n}");
        }
    }

    #[test]
    fn pool_capacity_matches_cpython() {
        assert_eq!(blocks_per_pool(0), 1021);
        assert_eq!(blocks_per_pool(31), 31);
        for i in 0..NB_SMALL_SIZE_CLASSES {
            let waste = POOL_SIZE - POOL_OVERHEAD - blocks_per_pool(i) * class_size(i);
            assert_eq!(waste, (POOL_SIZE - POOL_OVERHEAD) % class_size(i));
        }
        assert_eq!(MAX_POOLS_IN_ARENA, 64);
    }

    #[test]
    fn small_routing() {
        assert!(!is_small(0, 1));
        assert!(is_small(1, 1));
        assert!(is_small(512, 16));
        assert!(!is_small(513, 16));
        assert!(!is_small(64, 32));
    }
}
