//! `GcMutex<T>` and `GcRwLock<T>`: the only places where the handles of a
//! shared value may change after birth, and the collector's way in.
//!
//! * A thread that must wait for one of these locks waits *detached*
//!   (counts as stopped), as free-threaded CPython's `PyMutex` does: a
//!   collection never waits for a thread that waits for a lock held by a
//!   parked thread.
//! * While the world is stopped the collector takes each lock it traces
//!   with a try-lock and keeps it until the world restarts, so a detached
//!   thread cannot move a handle out of a traced value into one not yet
//!   traced. A lock it cannot take (held by a parked thread, or by the
//!   collecting thread itself) makes its object *untraceable*: kept, with
//!   everything its unseen contents hold. A guard held across a collection
//!   is therefore allowed and keeps what it guards alive.

use crate::object::trace::{sealed, CollectorLock, SyncTrace, Visitor};
use crate::world::thread::detached;
use parking_lot::lock_api::{RawMutex as _, RawRwLock as _};
use parking_lot::{RawMutex, RawRwLock};
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// A mutex whose contents the collector can trace (CPython's per-object
/// `ob_mutex` critical sections, as a type).
///
/// ```
/// use pygc_sync::{Gc, GcMutex};
/// let list = Gc::new(GcMutex::new(Vec::<Gc<u32>>::new()));
/// list.lock().push(Gc::new(7));
/// assert_eq!(*list.lock()[0], 7);
/// ```
pub struct GcMutex<T> {
    raw: RawMutex,
    collector: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: as std::sync::Mutex: the lock gives one thread at a time `&mut T`.
unsafe impl<T: Send> Send for GcMutex<T> {}
// SAFETY: as std::sync::Mutex (T: Send suffices for exclusive access; the
// collector only reads through `&T` while it holds the lock, and values of
// the heap are Sync anyway).
unsafe impl<T: Send> Sync for GcMutex<T> {}

impl<T> GcMutex<T> {
    /// A new unlocked mutex.
    pub const fn new(value: T) -> Self {
        GcMutex { raw: RawMutex::INIT, collector: AtomicBool::new(false), data: UnsafeCell::new(value) }
    }

    /// Locks, waiting detached if another thread holds it.
    pub fn lock(&self) -> GcMutexGuard<'_, T> {
        if !self.raw.try_lock() {
            detached(|| self.raw.lock());
        }
        GcMutexGuard { m: self, _not_send: PhantomData }
    }

    /// Locks if nobody holds it.
    pub fn try_lock(&self) -> Option<GcMutexGuard<'_, T>> {
        self.raw.try_lock().then_some(GcMutexGuard { m: self, _not_send: PhantomData })
    }

    /// The value, by exclusive access.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T> sealed::Sealed for GcMutex<T> {}

impl<T> CollectorLock for GcMutex<T> {
    fn collector_holds(&self) -> bool {
        self.collector.load(Relaxed)
    }
    fn collector_try_acquire(&self) -> bool {
        let ok = self.raw.try_lock();
        if ok {
            self.collector.store(true, Relaxed);
        }
        ok
    }
    unsafe fn collector_release(&self) {
        self.collector.store(false, Relaxed);
        // SAFETY: the collector (this thread) holds the lock (the caller's
        // contract).
        unsafe { self.raw.unlock() }
    }
}

// SAFETY: the contents are traced only while the collector holds the lock
// (`visit_locked`), so they cannot change meanwhile; nothing else is owned.
unsafe impl<T: SyncTrace> SyncTrace for GcMutex<T> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        if T::TRACKED {
            v.visit_locked(self, |v| {
                // SAFETY: visit_locked calls this only while the collector
                // holds the lock: no `&mut T` exists.
                unsafe { &*self.data.get() }.trace(v)
            })
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for GcMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("GcMutex").field("data", &&*g).finish(),
            None => f.write_str("GcMutex { <locked> }"),
        }
    }
}

/// Exclusive access to a [`GcMutex`]'s contents; unlocks on drop.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct GcMutexGuard<'a, T> {
    m: &'a GcMutex<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: as std's MutexGuard: shared access to the guard gives `&T`.
unsafe impl<T: Sync> Sync for GcMutexGuard<'_, T> {}

impl<T> Deref for GcMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock.
        unsafe { &*self.m.data.get() }
    }
}

impl<T> DerefMut for GcMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, exclusively.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T> Drop for GcMutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the lock, taken on this thread (the
        // guard is !Send).
        unsafe { self.m.raw.unlock() }
    }
}

/// A read-write lock whose contents the collector can trace; see
/// [`GcMutex`]. The collector takes it for reading.
pub struct GcRwLock<T> {
    raw: RawRwLock,
    collector: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: as std::sync::RwLock.
unsafe impl<T: Send> Send for GcRwLock<T> {}
// SAFETY: as std::sync::RwLock: readers share `&T`, so T: Sync too.
unsafe impl<T: Send + Sync> Sync for GcRwLock<T> {}

impl<T> GcRwLock<T> {
    /// A new unlocked lock.
    pub const fn new(value: T) -> Self {
        GcRwLock { raw: RawRwLock::INIT, collector: AtomicBool::new(false), data: UnsafeCell::new(value) }
    }

    /// Shared access, waiting detached if a writer holds it.
    pub fn read(&self) -> GcReadGuard<'_, T> {
        if !self.raw.try_lock_shared() {
            detached(|| self.raw.lock_shared());
        }
        GcReadGuard { l: self, _not_send: PhantomData }
    }

    /// Exclusive access, waiting detached if anyone holds it.
    pub fn write(&self) -> GcWriteGuard<'_, T> {
        if !self.raw.try_lock_exclusive() {
            detached(|| self.raw.lock_exclusive());
        }
        GcWriteGuard { l: self, _not_send: PhantomData }
    }

    /// The value, by exclusive access.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T> sealed::Sealed for GcRwLock<T> {}

impl<T> CollectorLock for GcRwLock<T> {
    fn collector_holds(&self) -> bool {
        self.collector.load(Relaxed)
    }
    fn collector_try_acquire(&self) -> bool {
        let ok = self.raw.try_lock_shared();
        if ok {
            self.collector.store(true, Relaxed);
        }
        ok
    }
    unsafe fn collector_release(&self) {
        self.collector.store(false, Relaxed);
        // SAFETY: the collector holds one shared lock (caller's contract).
        unsafe { self.raw.unlock_shared() }
    }
}

// SAFETY: as GcMutex's: traced only under the collector's shared lock, so no
// writer exists meanwhile.
unsafe impl<T: SyncTrace> SyncTrace for GcRwLock<T> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace<V: Visitor>(&self, v: &mut V) {
        if T::TRACKED {
            v.visit_locked(self, |v| {
                // SAFETY: the collector holds a shared lock: no `&mut T`.
                unsafe { &*self.data.get() }.trace(v)
            })
        }
    }
}

/// Shared access to a [`GcRwLock`]'s contents.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct GcReadGuard<'a, T> {
    l: &'a GcRwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: shared access to the guard gives `&T`.
unsafe impl<T: Sync> Sync for GcReadGuard<'_, T> {}

impl<T> Deref for GcReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold a shared lock.
        unsafe { &*self.l.data.get() }
    }
}

impl<T> Drop for GcReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds one shared lock.
        unsafe { self.l.raw.unlock_shared() }
    }
}

/// Exclusive access to a [`GcRwLock`]'s contents.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct GcWriteGuard<'a, T> {
    l: &'a GcRwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: shared access to the guard gives `&T`.
unsafe impl<T: Sync> Sync for GcWriteGuard<'_, T> {}

impl<T> Deref for GcWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the exclusive lock.
        unsafe { &*self.l.data.get() }
    }
}

impl<T> DerefMut for GcWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the exclusive lock.
        unsafe { &mut *self.l.data.get() }
    }
}

impl<T> Drop for GcWriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the exclusive lock.
        unsafe { self.l.raw.unlock_exclusive() }
    }
}
