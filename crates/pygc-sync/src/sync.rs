//! The synchronisation primitives the protocols are written against: std's,
//! or loom's when the crate is built with `--cfg loom`, so the model checker
//! explores the very code the heap runs (`count` and `world`).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicIsize, AtomicU32, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicIsize, AtomicU32, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Locks a mutex of the protocols. Their critical sections call no user
/// code and never panic while they change the state, so a poisoned lock
/// still guards a consistent state: take it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
