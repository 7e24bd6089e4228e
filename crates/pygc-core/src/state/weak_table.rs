//! Weak counts and callbacks, in a side table keyed by object (they are
//! rare, so they cost nothing in every header). A weak handle keeps the
//! *block* allocated, never the value, as `std::rc::Weak` does.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::num::NonZeroU64;

use crate::addr_hash::AddrHash;
use crate::object::header::{flags, ObjPtr};

/// A weakref callback.
pub(crate) type WeakCallback = Box<dyn FnOnce()>;

/// One registered callback and how many weak handles share it (clones of
/// a `Weak` share its callback, which runs once).
struct CallbackSlot {
    id: u64,
    handles: usize,
    f: WeakCallback,
}

/// The entry of an object that has (or had) weak handles.
///
/// Invariant: the object's `HAS_WEAK` flag is set while the entry exists;
/// `weak ≥ current` and `weak ≥ Σ handles` over its callbacks; `WEAK_DEAD`
/// is set whenever `epoch` is not 0.
///
/// **Epochs.** The collector clears an object's weak references (CPython's
/// `handle_weakrefs`) before finalizers run, and a finalizer may resurrect
/// the object. The handles of that moment must stay dead, but a handle made
/// afterwards is a new weak reference to a live object (as in CPython). So
/// clearing ends an *epoch*: each handle remembers the epoch it was made
/// in, and only handles of the current one upgrade once `WEAK_DEAD` is set.
#[derive(Default)]
struct WeakEntry {
    /// Live weak handles, of every epoch (they keep the block allocated).
    weak: usize,
    /// Live weak handles made in the current epoch (Python's
    /// `getweakrefcount`).
    current: usize,
    /// How many times the object's weak references were cleared.
    epoch: u32,
    callbacks: Vec<CallbackSlot>,
    /// The strong count reached zero and the value is gone: the block is
    /// freed when `weak` reaches zero.
    value_gone: bool,
}

/// What releasing a weak handle leaves to do, outside the table's borrow.
pub(crate) struct Released {
    /// The callback no handle shares any more (dropped by the caller: its
    /// captures' destructors are user code).
    pub(crate) orphan_callback: Option<WeakCallback>,
    /// The last handle of a dead object: free its block.
    pub(crate) free_block: bool,
}

/// The side table of a heap.
pub(crate) struct WeakTable {
    map: RefCell<HashMap<usize, WeakEntry, AddrHash>>,
    next_id: Cell<u64>,
}

impl WeakTable {
    pub(crate) const fn new() -> WeakTable {
        WeakTable { map: RefCell::new(HashMap::with_hasher(AddrHash::new())), next_id: Cell::new(1) }
    }

    /// A new weak handle to `p` (alive: the caller holds a strong handle),
    /// with its callback; returns the callback's id and the handle's epoch.
    pub(crate) fn register(&self, p: ObjPtr, callback: Option<WeakCallback>) -> (Option<NonZeroU64>, u32) {
        let mut map = self.map.borrow_mut();
        let entry = map.entry(p.addr()).or_default();
        entry.weak += 1;
        entry.current += 1;
        // SAFETY: the caller holds a strong handle to `p`.
        unsafe { p.live() }.set_flag(flags::HAS_WEAK);
        let id = callback.map(|f| {
            let id = self.next_id.get();
            self.next_id.set(id + 1);
            entry.callbacks.push(CallbackSlot { id, handles: 1, f });
            NonZeroU64::new(id).expect("callback ids start at 1")
        });
        (id, entry.epoch)
    }

    /// A clone of a weak handle to `p` of `epoch`, sharing callback `id`.
    pub(crate) fn clone_handle(&self, p: ObjPtr, id: Option<u64>, epoch: u32) {
        let mut map = self.map.borrow_mut();
        if let Some(entry) = map.get_mut(&p.addr()) {
            entry.weak += 1;
            if epoch == entry.epoch {
                entry.current += 1;
            }
            if let Some(slot) = id.and_then(|id| entry.callbacks.iter_mut().find(|s| s.id == id)) {
                slot.handles += 1;
            }
        }
    }

    /// Ends the current epoch of `p`'s weak handles: none of them upgrades
    /// any more (`WEAK_DEAD`); handles made from now on do, while the object
    /// lives. The callbacks are taken separately ([`WeakTable::take_callbacks`]).
    ///
    /// # Safety
    /// The block of `p` is allocated.
    pub(crate) unsafe fn end_epoch(&self, p: ObjPtr) {
        // SAFETY: forwarded from the caller.
        unsafe { p.live() }.set_flag(flags::WEAK_DEAD);
        if let Some(e) = self.map.borrow_mut().get_mut(&p.addr()) {
            e.epoch = e.epoch.wrapping_add(1);
            e.current = 0;
        }
    }

    /// Whether a handle of `epoch` to `p` belongs to the current epoch (it
    /// may upgrade although `WEAK_DEAD` is set).
    pub(crate) fn is_current(&self, p: ObjPtr, epoch: u32) -> bool {
        self.map.borrow().get(&p.addr()).is_some_and(|e| e.epoch == epoch)
    }

    /// A weak handle to `p` of `epoch` with callback `id` is dropped.
    ///
    /// # Safety
    /// The block of `p` is allocated (the dropped handle kept it so).
    pub(crate) unsafe fn release_handle(&self, p: ObjPtr, id: Option<u64>, epoch: u32) -> Released {
        let mut map = self.map.borrow_mut();
        let mut out = Released { orphan_callback: None, free_block: false };
        let Some(entry) = map.get_mut(&p.addr()) else { return out };
        entry.weak -= 1;
        if epoch == entry.epoch {
            entry.current -= 1;
        }
        if let Some(i) = id.and_then(|id| entry.callbacks.iter().position(|s| s.id == id)) {
            entry.callbacks[i].handles -= 1;
            if entry.callbacks[i].handles == 0 {
                out.orphan_callback = Some(entry.callbacks.swap_remove(i).f);
            }
        }
        if entry.weak == 0 && (entry.value_gone || entry.callbacks.is_empty()) {
            out.free_block = entry.value_gone;
            map.remove(&p.addr());
            if !out.free_block {
                // No handle of any epoch is left: the object (alive, or
                // cleared and still held) starts afresh. A cleared value
                // stays unreachable through CLEARED.
                // SAFETY: the caller guarantees the block is allocated.
                unsafe { p.live() }.clear_flag(flags::HAS_WEAK | flags::WEAK_DEAD);
            }
        }
        out
    }

    /// Live weak handles to `p`, of every epoch (what keeps its block).
    pub(crate) fn weak_count(&self, p: ObjPtr) -> usize {
        self.map.borrow().get(&p.addr()).map_or(0, |e| e.weak)
    }

    /// Live weak handles to `p` of the current epoch: those that still
    /// refer to it (`weakref.getweakrefcount`).
    pub(crate) fn current_count(&self, p: ObjPtr) -> usize {
        self.map.borrow().get(&p.addr()).map_or(0, |e| e.current)
    }

    /// Whether any object of the heap has a callback registered.
    pub(crate) fn any_callbacks(&self) -> bool {
        self.map.borrow().values().any(|e| !e.callbacks.is_empty())
    }

    /// Whether any callback is registered for `p`.
    pub(crate) fn has_callbacks(&self, p: ObjPtr) -> bool {
        self.map.borrow().get(&p.addr()).is_some_and(|e| !e.callbacks.is_empty())
    }

    /// Takes the callbacks of `p` (it is dying), splitting off those whose
    /// every handle lives inside the garbage (`owned[id]` of them): those
    /// are dropped without being called, as CPython does for weakrefs that
    /// are garbage themselves. Returns (to call, to drop).
    pub(crate) fn take_callbacks(
        &self,
        p: ObjPtr,
        owned: &HashMap<u64, usize>,
    ) -> (Vec<WeakCallback>, Vec<WeakCallback>) {
        let mut map = self.map.borrow_mut();
        let (mut call, mut drop) = (Vec::new(), Vec::new());
        if let Some(e) = map.get_mut(&p.addr()) {
            for slot in e.callbacks.drain(..) {
                if owned.get(&slot.id).copied().unwrap_or(0) >= slot.handles {
                    drop.push(slot.f);
                } else {
                    call.push(slot.f);
                }
            }
        }
        (call, drop)
    }

    /// The value of `p` is gone and its strong count is zero: whether its
    /// block must stay for weak handles (then it is freed by the last one).
    pub(crate) fn keep_block_for_weak_handles(&self, p: ObjPtr) -> bool {
        let mut map = self.map.borrow_mut();
        match map.get_mut(&p.addr()) {
            Some(e) if e.weak > 0 => {
                e.value_gone = true;
                true
            }
            Some(_) => {
                map.remove(&p.addr());
                false
            }
            None => false,
        }
    }

    /// Live weak handles to `p`, and how many share each pending callback
    /// (`weakref.getweakrefs`).
    pub(crate) fn handles_by_callback(&self, p: ObjPtr) -> (usize, Vec<usize>) {
        self.map
            .borrow()
            .get(&p.addr())
            .map_or((0, Vec::new()), |e| (e.current, e.callbacks.iter().map(|s| s.handles).collect()))
    }

    /// Checks the entries' invariant.
    pub(crate) fn verify(&self) -> Result<(), String> {
        for (&addr, e) in self.map.borrow().iter() {
            let shared: usize = e.callbacks.iter().map(|s| s.handles).sum();
            if shared > e.weak || e.current > e.weak {
                return Err(format!(
                    "weak entry {addr:#x}: {shared} callback handles, {} of the current epoch, but {} weak handles",
                    e.current, e.weak
                ));
            }
        }
        Ok(())
    }
}
