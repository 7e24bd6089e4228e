//! The synchronisation primitives the protocols are written against:
//! parking_lot's (compiled with the crate, so ThreadSanitizer sees them:
//! std's are precompiled without instrumentation), or loom's when the crate
//! is built with `--cfg loom`, so the model checker explores the very code
//! the heap runs (`count` and `world`).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicIsize, AtomicU32, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicIsize, AtomicU32, AtomicUsize, Ordering};

/// Locks a mutex of the protocols. (Loom's mutex poisons; the critical
/// sections call no user code and never panic mid-change, so a poisoned
/// lock still guards a consistent state: take it.)
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(loom)]
    return match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    #[cfg(not(loom))]
    m.lock()
}

/// Waits on `cv`, giving the lock up meanwhile.
pub(crate) fn wait<'a, T>(cv: &Condvar, g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    #[cfg(loom)]
    return match cv.wait(g) {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    #[cfg(not(loom))]
    {
        let mut g = g;
        cv.wait(&mut g);
        g
    }
}

/// Waits on `cv` for at most `d`.
pub(crate) fn wait_timeout<'a, T>(
    cv: &Condvar,
    g: MutexGuard<'a, T>,
    d: std::time::Duration,
) -> MutexGuard<'a, T> {
    #[cfg(loom)]
    return match cv.wait_timeout(g, d) {
        Ok((g, _)) => g,
        Err(p) => p.into_inner().0,
    };
    #[cfg(not(loom))]
    {
        let mut g = g;
        cv.wait_for(&mut g, d);
        g
    }
}
