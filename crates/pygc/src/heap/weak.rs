//! `Weak<T>`: handles that do not keep the value alive, with optional
//! CPython-style callbacks.
//!
//! Weak counts and callbacks are rare, so they live in a per-thread side
//! table keyed by the object's address instead of in every header. A weak
//! handle keeps the *block* allocated (never the value), as `std::rc::Weak`.

use std::fmt;
use std::marker::PhantomData;

use super::handle::{incref, Gc};
use super::header::{ObjPtr, CLEARED, HAS_WEAK, WEAK_DEAD};
use super::trace::{Trace, Visitor};
use super::{dealloc, state};

/// A weak handle to an object of the pygc heap (Python's `weakref.ref`).
///
/// ```
/// use pygc::Gc;
/// let strong = Gc::new(String::from("value"));
/// let weak = Gc::downgrade(&strong);
/// assert_eq!(weak.upgrade().as_deref().map(String::as_str), Some("value"));
/// drop(strong);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct Weak<T: Trace + 'static> {
    ptr: ObjPtr,
    callback: Option<u64>,
    _marker: PhantomData<(T, *const ())>,
}

/// One registered callback and how many weak handles share it.
pub(crate) struct CallbackSlot {
    pub(crate) id: u64,
    pub(crate) handles: usize,
    pub(crate) f: Box<dyn FnOnce()>,
}

/// Side-table entry of an object that has (or had) weak handles.
#[derive(Default)]
pub(crate) struct WeakEntry {
    /// Live weak handles.
    pub(crate) weak: usize,
    pub(crate) callbacks: Vec<CallbackSlot>,
    /// The strong count reached zero and the value is gone: the block is
    /// freed when `weak` reaches zero.
    pub(crate) value_gone: bool,
}

impl<T: Trace + 'static> Weak<T> {
    pub(crate) fn new(ptr: ObjPtr, callback: Option<Box<dyn FnOnce()>>) -> Weak<T> {
        let id = state::try_with(|h| {
            let mut table = h.weak.borrow_mut();
            let entry = table.entry(ptr.addr()).or_default();
            entry.weak += 1;
            ptr.set_flag(HAS_WEAK);
            callback.map(|f| {
                let id = h.next_weak_id.get();
                h.next_weak_id.set(id + 1);
                entry.callbacks.push(CallbackSlot { id, handles: 1, f });
                id
            })
        });
        match id {
            Some(callback) => Weak { ptr, callback, _marker: PhantomData },
            None => {
                // Thread teardown: no table. Mark the block so it is never
                // freed under this handle (a leak, never a dangling read).
                ptr.set_flag(HAS_WEAK);
                Weak { ptr, callback: None, _marker: PhantomData }
            }
        }
    }

    /// A strong handle, if the object is still alive and was not found to be
    /// garbage by the collector.
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let h = self.ptr.header();
        if h.refcnt.get() == 0 || self.ptr.flags() & (CLEARED | WEAK_DEAD) != 0 {
            return None;
        }
        incref(self.ptr);
        // SAFETY: the block holds a live `T` (count > 0, not cleared) and we
        // just took the count the new handle owns.
        Some(unsafe { Gc::from_obj(self.ptr) })
    }

    /// The number of strong handles (0 once the object died).
    pub fn strong_count(&self) -> usize {
        if self.ptr.flags() & (CLEARED | WEAK_DEAD) != 0 {
            0
        } else {
            self.ptr.header().refcnt.get()
        }
    }

    /// The number of weak handles to the object.
    pub fn weak_count(&self) -> usize {
        state::try_with(|h| h.weak.borrow().get(&self.ptr.addr()).map_or(0, |e| e.weak)).unwrap_or(0)
    }

    /// Whether both weak handles point at the same object.
    pub fn ptr_eq(&self, other: &Weak<T>) -> bool {
        self.ptr == other.ptr
    }

    pub(crate) fn callback_id(&self) -> Option<u64> {
        self.callback
    }

    pub(crate) fn obj(&self) -> ObjPtr {
        self.ptr
    }
}

impl<T: Trace + 'static> Clone for Weak<T> {
    fn clone(&self) -> Self {
        state::try_with(|h| {
            let mut table = h.weak.borrow_mut();
            if let Some(entry) = table.get_mut(&self.ptr.addr()) {
                entry.weak += 1;
                if let Some(id) = self.callback {
                    if let Some(slot) = entry.callbacks.iter_mut().find(|s| s.id == id) {
                        slot.handles += 1;
                    }
                }
            }
        });
        Weak { ptr: self.ptr, callback: self.callback, _marker: PhantomData }
    }
}

impl<T: Trace + 'static> Drop for Weak<T> {
    fn drop(&mut self) {
        let (orphan_callback, free_block) = state::try_with(|h| {
            let mut table = h.weak.borrow_mut();
            let Some(entry) = table.get_mut(&self.ptr.addr()) else {
                return (None, false);
            };
            entry.weak -= 1;
            let mut orphan = None;
            if let Some(id) = self.callback {
                if let Some(i) = entry.callbacks.iter().position(|s| s.id == id) {
                    entry.callbacks[i].handles -= 1;
                    if entry.callbacks[i].handles == 0 {
                        orphan = Some(entry.callbacks.swap_remove(i).f);
                    }
                }
            }
            let free = entry.weak == 0 && entry.value_gone;
            if entry.weak == 0 && (entry.value_gone || entry.callbacks.is_empty()) {
                table.remove(&self.ptr.addr());
                if !free {
                    self.ptr.clear_flag(HAS_WEAK);
                }
            }
            (orphan, free)
        })
        .unwrap_or((None, false));
        // User code (the closure's captures) runs outside the table borrow.
        drop(orphan_callback);
        if free_block {
            // SAFETY: the value is gone, the strong count is zero, and this
            // was the last weak handle: nothing else can reach the block.
            unsafe { dealloc::free_block(self.ptr) };
        }
    }
}

// SAFETY: a weak handle keeps nothing alive: it reports itself as weak,
// never as a strong handle (TRACKED = false).
unsafe impl<T: Trace + 'static> Trace for Weak<T> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.visit_weak(self)
    }
}

impl<T: Trace + 'static> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.strong_count() == 0 {
            write!(f, "<weakref at {:#x}; dead>", self as *const _ as usize)
        } else {
            write!(
                f,
                "<weakref at {:#x}; to '{}' at {:#x}>",
                self as *const _ as usize,
                self.ptr.type_name(),
                self.ptr.value_ptr() as usize
            )
        }
    }
}
