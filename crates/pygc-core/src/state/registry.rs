//! Heap slots: the number every object carries in its header (top 16 bits
//! of the `info` word) to name the heap it belongs to, and the table from
//! slot to state. Slot 0 is "this thread's default heap" (a default heap's
//! objects never leave its thread: handles are `!Send`); explicit heaps
//! take slots 1 to 65535.
//!
//! A slot is taken when a heap is made and given back only when the heap is
//! gone *and* its last object was freed, so a slot never names two heaps
//! while an object of the first still exists.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

use super::GcState;

const SLOTS: usize = 1 << 16;

/// Slot → state of an explicit heap (null: free). The states are boxed and
/// never move while registered.
static STATES: [AtomicPtr<GcState>; SLOTS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

/// Free slots, and the next never-used one.
static FREE: Mutex<(Vec<u16>, usize)> = Mutex::new((Vec::new(), 1));

/// Registers a state, returning its slot; panics if 65535 explicit heaps
/// exist at once.
pub(crate) fn register(state: *const GcState) -> u16 {
    let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
    let slot = match free.0.pop() {
        Some(s) => s,
        None => {
            let s = free.1;
            assert!(s < SLOTS, "pygc: more than {} heaps exist at once", SLOTS - 1);
            free.1 += 1;
            s as u16
        }
    };
    STATES[usize::from(slot)].store(state.cast_mut(), Ordering::Release);
    slot
}

/// The state registered at `slot` (≥ 1), or null.
#[inline]
pub(crate) fn lookup(slot: u16) -> *const GcState {
    STATES[usize::from(slot)].load(Ordering::Acquire)
}

/// Gives a slot back (its heap and all its objects are gone).
pub(crate) fn release(slot: u16) {
    debug_assert!(slot != 0);
    STATES[usize::from(slot)].store(std::ptr::null_mut(), Ordering::Release);
    FREE.lock().unwrap_or_else(|e| e.into_inner()).0.push(slot);
}
