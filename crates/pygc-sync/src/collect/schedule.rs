//! When to collect: by allocation counts, never by RSS.
//!
//! One generation, as free-threaded CPython 3.13: `count` is tracked
//! allocations minus deaths since the last collection, summed from
//! per-thread batches (no shared cache line on the allocation path). A
//! collection starts when `count > threshold` and `count` exceeds a quarter
//! of the objects that survived the last one (CPython's rule against
//! quadratic behaviour on growing heaps).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};

pub(crate) static COUNT: AtomicIsize = AtomicIsize::new(0);
pub(crate) static THRESHOLD: [AtomicUsize; 3] =
    [AtomicUsize::new(2000), AtomicUsize::new(10), AtomicUsize::new(0)];
pub(crate) static LONG_LIVED: AtomicUsize = AtomicUsize::new(0);
pub(crate) static ENABLED: AtomicBool = AtomicBool::new(true);

const BATCH: isize = 64;

thread_local! {
    static PENDING: Cell<isize> = const { Cell::new(0) };
}

/// A tracked allocation (before the block is taken): may start a collection.
#[inline]
pub(crate) fn note_alloc() {
    let n = PENDING.try_with(|p| {
        let n = p.get() + 1;
        p.set(if n >= BATCH { 0 } else { n });
        n
    });
    if n.is_ok_and(|n| n >= BATCH) {
        flush_alloc();
    }
}

#[cold]
fn flush_alloc() {
    let count = COUNT.fetch_add(BATCH, Relaxed) + BATCH;
    if should_collect(count) {
        let _ = crate::collect::collect_main(crate::collect::Reason::Automatic);
    }
}

fn should_collect(count: isize) -> bool {
    let t = THRESHOLD[0].load(Relaxed) as isize;
    ENABLED.load(Relaxed) && t > 0 && count > t && count > (LONG_LIVED.load(Relaxed) / 4) as isize
}

/// A tracked object died.
#[inline]
pub(crate) fn note_death() {
    let _ = PENDING.try_with(|p| {
        let n = p.get() - 1;
        if n <= -BATCH {
            COUNT.fetch_sub(BATCH, Relaxed);
            p.set(0);
        } else {
            p.set(n);
        }
    });
}

/// A collection ended with `survivors` objects.
pub(crate) fn collected(survivors: usize) {
    COUNT.store(0, Relaxed);
    LONG_LIVED.store(survivors, Relaxed);
}
