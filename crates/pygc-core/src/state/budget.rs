//! What a heap holds, in bytes, and its optional byte limit
//! (a budget per interpreter, as sandboxes need).

use std::cell::Cell;
use std::fmt;

/// Live bytes of a heap.
///
/// Invariant: `bytes` = the block sizes of the heap's allocated blocks
/// (values alive or cleared, blocks kept for weak handles included), so it
/// is 0 exactly when the heap has no block left; `bytes ≤ limit` after
/// every allocation that succeeded.
pub(crate) struct Budget {
    bytes: Cell<usize>,
    limit: Cell<usize>,
}

impl Budget {
    pub(crate) const fn new() -> Budget {
        Budget { bytes: Cell::new(0), limit: Cell::new(usize::MAX) }
    }

    /// Counts a new block of `size` bytes, unless it would exceed the limit.
    #[inline(always)]
    pub(crate) fn charge(&self, size: usize) -> bool {
        // No overflow: live bytes are bounded by the address space.
        let b = self.bytes.get() + size;
        if b > self.limit.get() {
            return false;
        }
        self.bytes.set(b);
        true
    }

    /// A block of `size` bytes was freed.
    #[inline]
    pub(crate) fn refund(&self, size: usize) {
        self.bytes.set(self.bytes.get() - size);
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.get()
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        let l = self.limit.get();
        (l != usize::MAX).then_some(l)
    }

    pub(crate) fn set_limit(&self, limit: Option<usize>) {
        self.limit.set(limit.unwrap_or(usize::MAX));
    }
}

/// An allocation would take a heap over its byte limit, even after a full
/// collection (Python's `MemoryError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryError {
    /// The heap's limit, in bytes.
    pub limit: usize,
    /// Bytes the heap held when the allocation was refused.
    pub live: usize,
    /// Bytes the allocation asked for (its whole block).
    pub requested: usize,
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MemoryError: allocating {} bytes would exceed the heap's limit of {} bytes ({} bytes live after a collection)",
            self.requested, self.limit, self.live
        )
    }
}

impl std::error::Error for MemoryError {}
