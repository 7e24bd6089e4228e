//! Python's `sys` functions about memory.

use crate::handle::any::{obj_of, Handle};

/// What CPython's `sys.getrefcount(x)` prints: the live strong handles plus
/// one, the reference CPython's call holds for its argument. So a new empty
/// list bound to one name gives 2, as `x = []; sys.getrefcount(x)` does.
///
/// ```
/// use pygc::{sys, Gc};
/// let x = Gc::new(Vec::<u8>::new());
/// assert_eq!(sys::getrefcount(&x), 2);
/// ```
pub fn getrefcount(obj: &impl Handle) -> usize {
    obj_of(obj).refcnt() + 1
}

/// Size of the object in bytes including its header, as `sys.getsizeof`
/// includes the GC pre-header (32 bytes tracked, 16 untracked).
///
/// ```
/// use pygc::{sys, Gc};
/// assert_eq!(sys::getsizeof(&Gc::new(0u64)), 16 + 8);
/// ```
pub fn getsizeof(obj: &impl Handle) -> usize {
    obj_of(obj).object_size()
}

/// Prints obmalloc's statistics report to stderr, as
/// `sys._debugmallocstats()` does (CPython writes it to C `stderr` too).
///
/// ```
/// pygc::sys::debugmallocstats();
/// ```
pub fn debugmallocstats() {
    obmalloc::debug_malloc_stats()
}
