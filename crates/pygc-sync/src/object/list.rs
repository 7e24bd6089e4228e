//! The lists the collector walks: one per thread, of the tracked objects
//! it allocated (free-threaded CPython walks the pages of each thread's
//! mimalloc heap instead; obmalloc does not expose its pools, and a vector
//! of pointers is as dense to walk).
//!
//! The owner pushes at birth; whichever thread frees the object removes it
//! (swap-remove: the moved entry's `index` is updated), both under the
//! list's lock, uncontended unless another thread frees one of the owner's
//! objects at that moment. The collector reads the lists while the world is
//! stopped. A list outlives its thread until its last object is gone.
//!
//! Invariant (checked by [`ObjList::verify`]): for every `i`,
//! `objs[i].index == i` and `objs[i]` has `REGISTERED` and `list == self`.

use crate::object::header::{ObjPtr, REGISTERED};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

#[derive(Debug, Default)]
pub(crate) struct ObjList {
    pub(crate) objs: Mutex<Vec<ObjPtr>>,
    /// The owner thread has exited.
    pub(crate) orphan: AtomicBool,
}

impl ObjList {
    pub(crate) const fn new() -> Self {
        ObjList { objs: Mutex::new(Vec::new()), orphan: AtomicBool::new(false) }
    }

    /// Registers `p`.
    ///
    /// # Safety
    /// `p` is a live tracked object, not registered, whose death nobody owns
    /// or the caller owns (nobody else changes its `list`).
    pub(crate) unsafe fn push(&self, p: ObjPtr) {
        let mut v = self.objs.lock();
        // SAFETY: the caller's contract (live).
        let h = unsafe { p.header() };
        h.index.store(v.len(), Relaxed);
        h.list.store(self as *const ObjList as *mut ObjList, Relaxed);
        h.set(REGISTERED);
        v.push(p);
    }

    /// Unregisters `p` if it still is; returns whether it was.
    ///
    /// # Safety
    /// `p` is allocated and its `list` is `self`.
    pub(crate) unsafe fn remove(&self, p: ObjPtr) -> bool {
        let mut v = self.objs.lock();
        // SAFETY: the caller's contract.
        let h = unsafe { p.header() };
        if !h.has(REGISTERED) {
            return false;
        }
        let i = h.index.load(Relaxed);
        debug_assert!(v[i] == p, "list index out of date");
        v.swap_remove(i);
        if let Some(&moved) = v.get(i) {
            // SAFETY: registered objects are allocated (they leave the list
            // before their block is freed).
            unsafe { moved.header() }.index.store(i, Relaxed);
        }
        h.clear(REGISTERED);
        true
    }

    /// Checks the invariant; the caller keeps the objects alive (a stopped
    /// world, or `objs` locked).
    pub(crate) fn verify(&self) -> Result<(), String> {
        let v = self.objs.lock();
        for (i, &p) in v.iter().enumerate() {
            // SAFETY: registered objects are allocated.
            let h = unsafe { p.header() };
            if h.index.load(Relaxed) != i {
                return Err(format!("object {:#x} at {i} has index {}", p.addr(), h.index.load(Relaxed)));
            }
            if !h.has(REGISTERED) || !std::ptr::eq(h.list(), self) {
                return Err(format!("object {:#x} in the wrong list or not registered", p.addr()));
            }
        }
        Ok(())
    }
}
