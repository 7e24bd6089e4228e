//! The tools' account: memory that monitoring tools allocate for themselves
//! (tracemalloc's trace tables, its symbol cache) is counted in
//! [`tool_bytes`](crate::tool_bytes), not in [`live_bytes`](crate::live_bytes),
//! so that a profiler reading `live_bytes` measures the program only.
//!
//! An allocation is counted for the tools when it is made inside a
//! [`ToolScope`] (per thread, nestable); the block stays in that account until
//! it is freed, wherever and by whichever thread (a reallocation that moves the
//! block counts as a free and a new allocation). How a free finds the account:
//!
//! * **pool blocks**: a thread allocates from a separate heap inside a tool
//!   scope, so the pools of tool blocks are owned by a tool heap; the free
//!   reads the account from the pool's owner (`heap::pool_account`), as it
//!   already reads the owner to choose between a local and a remote free;
//! * **system (`malloc`) blocks**: they carry nothing of ours, so the tools'
//!   ones are listed in a [`Registry`] while they live. A free of a system
//!   block asks it; the answer is one load while no tool block is registered,
//!   and otherwise a lock-free look-up in a counting filter that is exact for
//!   "not a tool block", the lock being taken only for tool blocks and the
//!   filter's rare false positives.
//!
//! Equation: `tool_bytes() == Σ tool heaps' live + ORPHAN_LIVE[Tool]`, and every
//! system block allocated in a tool scope and not yet freed is registered
//! exactly once.

use crate::heap::{self, Account};
use crate::os;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU16, AtomicUsize, Ordering::*};
use std::sync::Mutex;

/// While alive, the current thread's allocations are counted as the tools'
/// memory ([`tool_bytes`](crate::tool_bytes)) instead of the program's
/// ([`live_bytes`](crate::live_bytes)). Scopes nest; the guard stays on its
/// thread.
///
/// ```
/// #[global_allocator]
/// static A: obmalloc::ObMalloc = obmalloc::ObMalloc;
///
/// fn main() {
///     let (live, tool) = (obmalloc::live_bytes(), obmalloc::tool_bytes());
///     let table: Vec<u64> = obmalloc::tool_scope(|| Vec::with_capacity(1000));
///     assert_eq!(obmalloc::tool_bytes(), tool + 8000);
///     assert_eq!(obmalloc::live_bytes(), live);
///     drop(table); // outside the scope: still leaves the tools' account
///     assert_eq!(obmalloc::tool_bytes(), tool);
/// }
/// ```
#[must_use = "the scope ends when the guard is dropped"]
#[derive(Debug)]
pub struct ToolScope {
    /// Tied to the thread that entered the scope.
    _not_send: PhantomData<*mut ()>,
}

impl ToolScope {
    /// Enters a tool scope on the current thread.
    pub fn enter() -> ToolScope {
        heap::enter_tool_scope();
        ToolScope { _not_send: PhantomData }
    }
}

impl Drop for ToolScope {
    fn drop(&mut self) {
        heap::leave_tool_scope();
    }
}

/// Runs `f` inside a [`ToolScope`]: what it allocates (and keeps) is counted
/// in [`tool_bytes`](crate::tool_bytes).
pub fn tool_scope<R>(f: impl FnOnce() -> R) -> R {
    let _scope = ToolScope::enter();
    f()
}

// ---------------------------------------------------------------------------
// System blocks
// ---------------------------------------------------------------------------

/// Accounts a new system block `p` of `bytes` bytes to the current account
/// (registering it when that is the tools').
pub(crate) fn sys_new(p: *mut u8, bytes: usize) {
    let mut a = heap::scope_account();
    if a == Account::Tool && !REGISTRY.insert(p as usize) {
        a = Account::Program; // no memory for the registry: count it as the program's
    }
    heap::account(a, bytes as isize);
}

/// A system block `p` leaves its account (freed, or about to be moved by
/// `realloc`); returns that account. Call it before the block goes back to
/// the system, so that its address cannot be handed out (and registered)
/// again meanwhile.
pub(crate) fn sys_release(p: *mut u8, bytes: usize) -> Account {
    let a = if REGISTRY.remove(p as usize) { Account::Tool } else { Account::Program };
    heap::account(a, -(bytes as isize));
    a
}

/// Undoes [`sys_release`] for a block that stayed where it was (a failed
/// `realloc`).
pub(crate) fn sys_restore(p: *mut u8, bytes: usize, mut a: Account) {
    if a == Account::Tool && !REGISTRY.insert(p as usize) {
        a = Account::Program;
    }
    heap::account(a, bytes as isize);
}

/// Accounts a new block of the debug hooks (pool or system block at `base`).
pub(crate) fn block_new(base: *mut u8, bytes: usize) {
    if crate::arena::address_in_range(base as usize) {
        // SAFETY: a live pool block (just allocated).
        heap::account(unsafe { heap::pool_account(base) }, bytes as isize);
    } else {
        sys_new(base, bytes);
    }
}

/// The debug hooks' block at `base` leaves its account (before it is freed).
pub(crate) fn block_release(base: *mut u8, bytes: usize) {
    if crate::arena::address_in_range(base as usize) {
        // SAFETY: a live pool block (not freed yet).
        heap::account(unsafe { heap::pool_account(base) }, -(bytes as isize));
    } else {
        sys_release(base, bytes);
    }
}

/// 2^16 counters of two bytes: 128 KiB of zero pages until tools allocate.
const FILTER_BITS: u32 = 16;
const EMPTY: usize = 0;
const TOMBSTONE: usize = 1;
const MIN_SLOTS: usize = 1024;

/// The addresses of the live system blocks of the tools' account.
///
/// Equations: `len == |{slots holding an address}|`, `len + tombstones ==
/// |{slots != EMPTY}| < 3/4 · cap`; for every bucket `b`, `filter[b]` is the
/// number of registered addresses hashing to `b`, or `u16::MAX` once it
/// overflowed (it then stays, meaning "look in the table"); `count == len`.
/// Every write happens under `table`'s lock; `count` and `filter` are also
/// read without it.
struct Registry {
    table: Mutex<Table>,
    count: AtomicUsize,
    filter: [AtomicU16; 1 << FILTER_BITS],
}

struct Table {
    /// `cap` words from `os::map` (zeroed: all EMPTY), or null.
    slots: *mut usize,
    cap: usize,
    len: usize,
    tombstones: usize,
}

// SAFETY: the slots are memory owned by the table, only touched under its mutex.
unsafe impl Send for Table {}

static REGISTRY: Registry = Registry {
    table: Mutex::new(Table { slots: core::ptr::null_mut(), cap: 0, len: 0, tombstones: 0 }),
    count: AtomicUsize::new(0),
    filter: [const { AtomicU16::new(0) }; 1 << FILTER_BITS],
};

/// Fibonacci hashing of a 16-aligned address, into `bits` bits.
fn hash(p: usize, bits: u32, seed: u64) -> usize {
    (((p >> 4) as u64).wrapping_mul(seed) >> (64 - bits)) as usize
}

fn bucket(p: usize) -> usize {
    hash(p, FILTER_BITS, 0x9E37_79B9_7F4A_7C15)
}

impl Registry {
    /// Registers `p`; false when out of memory for the table.
    fn insert(&self, p: usize) -> bool {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if (t.len + t.tombstones + 1) * 4 > t.cap * 3 && !t.grow() {
            return false;
        }
        t.insert(p);
        let f = &self.filter[bucket(p)];
        let n = f.load(Relaxed);
        if n != u16::MAX {
            f.store(n + 1, Relaxed);
        }
        self.count.store(self.count.load(Relaxed) + 1, Relaxed);
        true
    }

    /// Whether `p` was registered; it is not any more.
    ///
    /// The two loads before the lock are enough to say "no": `p`'s insertion
    /// (under the lock) happened before the program could hand `p` to
    /// whichever thread frees it, and only that free removes `p`, so the
    /// freeing thread sees `count` and `filter[bucket(p)]` at least as large
    /// as they were with `p` in (coherence of each atomic).
    fn remove(&self, p: usize) -> bool {
        if self.count.load(Relaxed) == 0 || self.filter[bucket(p)].load(Relaxed) == 0 {
            return false;
        }
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if !t.remove(p) {
            return false;
        }
        let f = &self.filter[bucket(p)];
        let n = f.load(Relaxed);
        if n != u16::MAX {
            f.store(n - 1, Relaxed);
        }
        self.count.store(self.count.load(Relaxed) - 1, Relaxed);
        true
    }
}

impl Table {
    fn bits(&self) -> u32 {
        self.cap.trailing_zeros()
    }

    fn slot(&self, i: usize) -> *mut usize {
        debug_assert!(i < self.cap);
        // SAFETY: i < cap, inside the mapping.
        unsafe { self.slots.add(i) }
    }

    /// Linear probing from the address's hash.
    fn home(&self, p: usize) -> usize {
        hash(p, self.bits(), 0xD6E8_FEB8_6659_FD93)
    }

    /// # Panics
    /// Never when `len + tombstones < cap` (a free slot exists).
    fn insert(&mut self, p: usize) {
        let mask = self.cap - 1;
        let mut i = self.home(p);
        loop {
            // SAFETY: slot() is inside the table, which only we touch.
            let v = unsafe { *self.slot(i) };
            if v == EMPTY || v == TOMBSTONE {
                if v == TOMBSTONE {
                    self.tombstones -= 1;
                }
                // SAFETY: as above.
                unsafe { *self.slot(i) = p };
                self.len += 1;
                return;
            }
            debug_assert_ne!(v, p, "system block registered twice");
            i = (i + 1) & mask;
        }
    }

    fn remove(&mut self, p: usize) -> bool {
        if self.cap == 0 {
            return false;
        }
        let mask = self.cap - 1;
        let mut i = self.home(p);
        loop {
            // SAFETY: slot() is inside the table, which only we touch.
            let v = unsafe { *self.slot(i) };
            if v == EMPTY {
                return false;
            }
            if v == p {
                // SAFETY: as above.
                unsafe { *self.slot(i) = TOMBSTONE };
                self.len -= 1;
                self.tombstones += 1;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Rebuilds into a table at most half full (dropping the tombstones).
    /// False when out of memory.
    fn grow(&mut self) -> bool {
        let cap = ((self.len + 1) * 4).next_power_of_two().max(MIN_SLOTS);
        let slots = os::map(cap * core::mem::size_of::<usize>()) as *mut usize;
        if slots.is_null() {
            return false;
        }
        let old = core::mem::replace(self, Table { slots, cap, len: 0, tombstones: 0 });
        for i in 0..old.cap {
            // SAFETY: inside the old table, which only we touch.
            let v = unsafe { *old.slot(i) };
            if v != EMPTY && v != TOMBSTONE {
                self.insert(v);
            }
        }
        if !old.slots.is_null() {
            // SAFETY: the old table was one `os::map` of this size, now unused.
            unsafe { os::unmap(old.slots.cast(), old.cap * core::mem::size_of::<usize>()) };
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_inserts_removes_and_grows() {
        let mut t = Table { slots: core::ptr::null_mut(), cap: 0, len: 0, tombstones: 0 };
        assert!(!t.remove(0x1000));
        let addrs: Vec<usize> = (1..5000).map(|i| 0x7f00_0000_0000 + i * 48).collect();
        for &p in &addrs {
            if (t.len + t.tombstones + 1) * 4 > t.cap * 3 {
                assert!(t.grow());
            }
            t.insert(p);
        }
        assert_eq!(t.len, addrs.len());
        for &p in addrs.iter().step_by(2) {
            assert!(t.remove(p));
            assert!(!t.remove(p));
        }
        for (i, &p) in addrs.iter().enumerate() {
            assert_eq!(t.remove(p), i % 2 == 1, "{p:#x}");
        }
        assert_eq!(t.len, 0);
        assert!(t.grow());
        assert_eq!((t.len, t.tombstones, t.cap), (0, 0, MIN_SLOTS));
        // SAFETY: the table's own mapping, unused afterwards.
        unsafe { os::unmap(t.slots.cast(), t.cap * 8) };
    }
}
