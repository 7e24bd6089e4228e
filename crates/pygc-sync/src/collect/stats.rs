//! What the collections did (`gc.get_stats()`), and the pause of the last.

use parking_lot::Mutex;
use std::time::Duration;

/// The totals of `gc.get_stats()` (one generation: CPython's free-threaded
/// build reports generation 0 only as well).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Collections run to the end.
    pub collections: usize,
    /// Objects freed by them.
    pub collected: usize,
    /// Objects found unreachable but not freed (always 0: no legacy
    /// finalizers here).
    pub uncollectable: usize,
    /// Stops that timed out (the collection was skipped).
    pub stop_timeouts: usize,
    /// Collections that found a `Trace` reporting more edges than counts,
    /// and kept everything.
    pub inconsistent: usize,
}

/// One collection, for callbacks and [`last_collection`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionInfo {
    /// Objects the collector looked at.
    pub examined: usize,
    /// Objects freed.
    pub collected: usize,
    /// Always 0 (see [`GcStats::uncollectable`]).
    pub uncollectable: usize,
    /// Objects a finalizer resurrected.
    pub resurrected: usize,
    /// How long the world was stopped (both stops, if finalizers ran).
    pub pause: Duration,
    /// How long stopping took (waiting for threads to reach safe points).
    pub time_to_stop: Duration,
}

pub(crate) static STATS: Mutex<GcStats> =
    Mutex::new(GcStats { collections: 0, collected: 0, uncollectable: 0, stop_timeouts: 0, inconsistent: 0 });
pub(crate) static LAST: Mutex<Option<CollectionInfo>> = Mutex::new(None);

/// The last completed collection.
pub fn last_collection() -> Option<CollectionInfo> {
    *LAST.lock()
}

#[inline]
pub(crate) fn note_birth() {}

#[inline]
pub(crate) fn note_free() {}
