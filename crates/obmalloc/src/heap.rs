//! Per-thread heaps: the lock-free fast paths, remote frees, thread exit, and
//! the two accounts (the program's and the tools').
//!
//! Each thread allocates from its own [`Heap`]: `used[c]` is CPython's
//! `usedpools[c]`, a circular doubly-linked list of this heap's pools of class
//! `c` that have a free block. Only the owner touches a pool's free list. A
//! block freed by another thread is pushed on the pool's `thread_free` stack
//! (one CAS); when that stack goes from empty to non-empty, the same thread
//! also pushes the block on the owner heap's `remote` stack (its second word is
//! the link), so the owner finds every such pool without scanning. The owner
//! drains `remote` in its slow path.
//!
//! A thread has up to two heaps, one per [`Account`]: inside a tool scope
//! (`obmalloc::ToolScope`) it allocates from its tool heap, elsewhere from its
//! program heap. A pool block is in the account of its pool's owner heap
//! (fixed for the heap's life), so a free finds the account in the pool
//! header, whatever thread frees it and whether or not it is in a scope.
//!
//! Heap equation, per account `a`: `Σ live over heaps of account a +
//! ORPHAN_LIVE[a] == bytes of account a` (a remote free is subtracted from the
//! freeing thread's heap of the block's account, so only the sum means
//! anything). Heaps are never freed: an exiting thread drains its remote frees,
//! gives its empty pools back and marks its heaps `ABANDONED`; the next new
//! thread adopts them whole (by account), and until then any thread that needs
//! a fresh pool reclaims pending remote frees into them.

use crate::arena::{self, pool_of, Pool};
use crate::checkers;
use crate::geometry::*;
use crate::os;
use core::cell::Cell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::{Mutex, MutexGuard};

const ACTIVE: u8 = 1;
const ABANDONED: u8 = 2;
const RECLAIMING: u8 = 3;
const FALLBACK: u8 = 4;

/// Who a block's bytes are counted for: `live_bytes()` sums the program's,
/// `tool_bytes()` the tools' (tracemalloc's tables, its symbol cache, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Account {
    Program = 0,
    Tool = 1,
}

/// One thread's allocation state for one account.
///
/// Equations: every pool `p` on `used[c]` has `p.owner == self`, class `c`
/// and `p.freeblock != null`; at most one of them is empty and then it is
/// `used[c]` (the head); every block on `remote` is the first block pushed on
/// the non-empty `thread_free` stack of a pool owned by `self` (one per pool).
#[repr(C, align(64))]
pub(crate) struct Heap {
    /// Partly used pools per size class (each has `freeblock != null`).
    pub(crate) used: [*mut Pool; NB_SMALL_SIZE_CLASSES],
    /// Bytes of this account allocated minus bytes of it freed by the owning thread.
    pub(crate) live: AtomicIsize,
    /// Blocks heading a non-empty `thread_free` of one of our pools.
    remote: AtomicPtr<u8>,
    state: AtomicU8,
    /// The account of every block in this heap's pools (copied into each
    /// pool's `info` as `POOL_TOOL`); immutable.
    account: Account,
    /// Registry link; immutable once published.
    next_all: *mut Heap,
}

impl Heap {
    pub(crate) fn account(&self) -> Account {
        self.account
    }
}

static HEAPS: AtomicPtr<Heap> = AtomicPtr::new(null_mut());
static ABANDONED_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Bytes accounted by threads without a heap of that account.
static ORPHAN_LIVE: [AtomicIsize; 2] = [AtomicIsize::new(0), AtomicIsize::new(0)];
/// Guards both fallback heaps.
static FALLBACK_LOCK: Mutex<()> = Mutex::new(());
static FALLBACK_HEAP: [AtomicPtr<Heap>; 2] = [AtomicPtr::new(null_mut()), AtomicPtr::new(null_mut())];

const DEAD: *mut Heap = core::ptr::dangling_mut::<Heap>();

/// A heap pointer from a thread-local cell that can be used (not null, not DEAD).
#[inline(always)]
fn usable(h: *mut Heap) -> bool {
    !h.is_null() && h != DEAD
}

struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        DIRECT.set(null_mut());
        FAST.set(false);
        CURRENT.set(DEAD);
        for a in [Account::Program, Account::Tool] {
            let h = OWN.with(|own| own[a as usize].replace(DEAD));
            if usable(h) {
                // SAFETY: h is this thread's heap, held exclusively until we
                // publish it as abandoned.
                unsafe { abandon(h) };
            }
        }
    }
}

thread_local! {
    /// The heap the fast paths use: this thread's heap of the current account
    /// when the fast paths may run (pymalloc mode, no memory checker), else null.
    static DIRECT: Cell<*mut Heap> = const { Cell::new(null_mut()) };
    /// Whether this thread's calls may use the fast paths (set with its first heap).
    static FAST: Cell<bool> = const { Cell::new(false) };
    /// This thread's heaps, by account (null before first use, DEAD after
    /// thread exit).
    static OWN: [Cell<*mut Heap>; 2] = const { [Cell::new(null_mut()), Cell::new(null_mut())] };
    /// `OWN[current account]`: what the slow paths use, in one load.
    static CURRENT: Cell<*mut Heap> = const { Cell::new(null_mut()) };
    /// Tool scopes entered and not yet left on this thread.
    static TOOL_DEPTH: Cell<u32> = const { Cell::new(0) };
    static GUARD: ExitGuard = const { ExitGuard };
}

/// This thread's heap of account `a` (null or DEAD if none).
#[inline]
fn own_heap(a: Account) -> *mut Heap {
    OWN.with(|own| own[a as usize].get())
}

/// Records `h` as this thread's heap of account `a` (the current one).
fn set_own_heap(a: Account, h: *mut Heap) {
    OWN.with(|own| own[a as usize].set(h));
    CURRENT.set(h);
}

/// The account this thread allocates for now.
#[inline]
pub(crate) fn scope_account() -> Account {
    if TOOL_DEPTH.get() > 0 {
        Account::Tool
    } else {
        Account::Program
    }
}

/// Points the fast paths at this thread's heap of account `a`, if they may run.
/// Points `CURRENT` and the fast paths at this thread's heap of account `a`.
fn switch_to(a: Account) {
    let h = own_heap(a);
    CURRENT.set(h);
    DIRECT.set(if FAST.get() && usable(h) { h } else { null_mut() });
}

/// Enters a tool scope: until the matching [`leave_tool_scope`], this thread
/// allocates from its tool heap.
pub(crate) fn enter_tool_scope() {
    let d = TOOL_DEPTH.get();
    TOOL_DEPTH.set(d + 1);
    if d == 0 {
        switch_to(Account::Tool);
    }
}

/// Leaves a tool scope entered by [`enter_tool_scope`] on this thread.
pub(crate) fn leave_tool_scope() {
    let d = TOOL_DEPTH.get();
    debug_assert!(d > 0, "tool scope left more often than entered");
    TOOL_DEPTH.set(d.saturating_sub(1));
    if d == 1 {
        switch_to(Account::Program);
    }
}

// ---------------------------------------------------------------------------
// Fast paths
// ---------------------------------------------------------------------------

/// Pops a block of class `cls` from this thread's heap; null means "take the
/// slow path" (no heap, no pool, or the pool needs carving or is running out).
///
/// # Safety
/// `cls < 32`.
#[inline(always)]
pub(crate) unsafe fn alloc_fast(cls: usize, count: usize) -> *mut u8 {
    let heap = DIRECT.get();
    if heap.is_null() {
        return null_mut();
    }
    // SAFETY: DIRECT is this thread's live heap; cls < 32 (caller).
    let pool = unsafe { *(*heap).used.get_unchecked(cls) };
    if pool.is_null() {
        return null_mut();
    }
    // SAFETY: pools in `used` are ours and have a non-null freeblock whose
    // first word is the next free block (or null).
    unsafe {
        let b = (*pool).freeblock;
        let next = *(b as *mut *mut u8);
        if next.is_null() {
            return null_mut();
        }
        (*pool).freeblock = next;
        let r = &(*pool).ref_count;
        r.store(r.load(Relaxed) + 1, Relaxed);
        let live = &(*heap).live;
        live.store(live.load(Relaxed) + count as isize, Relaxed);
        b
    }
}

/// Frees `p` (of class `cls`) into its pool when this thread owns the pool,
/// the pool was not full, and it stays non-empty or is the head of its class
/// list (an empty head pool is kept: it is where the next block comes from).
/// False means "take the slow path".
///
/// # Safety
/// `p` is a live pool block of class `cls` (pymalloc mode).
#[inline(always)]
pub(crate) unsafe fn free_fast(p: *mut u8, cls: usize, count: usize) -> bool {
    let heap = DIRECT.get();
    if heap.is_null() {
        return false;
    }
    let pool = pool_of(p);
    // SAFETY: p is a live pool block, so its pool header is valid; the
    // owner-only fields are read only after checking we are the owner.
    unsafe {
        if (*pool).owner.load(Relaxed) != heap {
            return false;
        }
        let r = (*pool).ref_count.load(Relaxed);
        let fb = (*pool).freeblock;
        if fb.is_null() || (r <= 1 && *(*heap).used.get_unchecked(cls) != pool) {
            return false;
        }
        *(p as *mut *mut u8) = fb;
        (*pool).freeblock = p;
        (*pool).ref_count.store(r - 1, Relaxed);
        let live = &(*heap).live;
        live.store(live.load(Relaxed) - count as isize, Relaxed);
    }
    true
}

// ---------------------------------------------------------------------------
// Finding the current heap
// ---------------------------------------------------------------------------

/// The heap the current thread may use.
pub(crate) enum Current {
    /// The thread's own heap.
    Own(*mut Heap),
    /// A shared fallback heap (thread-local storage gone), held locked.
    Fallback(#[allow(dead_code)] MutexGuard<'static, ()>, *mut Heap),
}

impl Current {
    pub(crate) fn heap(&self) -> *mut Heap {
        match self {
            Current::Own(h) | Current::Fallback(_, h) => *h,
        }
    }
}

/// The heap for this thread and its current account, creating or adopting
/// one on first use. `None` only when out of memory.
pub(crate) fn current(direct: bool) -> Option<Current> {
    let h = CURRENT.get();
    if usable(h) {
        return Some(Current::Own(h));
    }
    let a = scope_account();
    if h.is_null() {
        if let Some(h) = init_thread(a, direct) {
            return Some(Current::Own(h));
        }
    }
    fallback(a)
}

#[cold]
fn fallback(a: Account) -> Option<Current> {
    let g = FALLBACK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let slot = &FALLBACK_HEAP[a as usize];
    let mut h = slot.load(Acquire);
    if h.is_null() {
        h = create_heap(FALLBACK, a);
        if h.is_null() {
            return None;
        }
        slot.store(h, Release);
    }
    Some(Current::Fallback(g, h))
}

#[cold]
fn init_thread(a: Account, direct: bool) -> Option<*mut Heap> {
    let h = adopt(a).unwrap_or_else(|| create_heap(ACTIVE, a));
    if h.is_null() {
        return None;
    }
    set_own_heap(a, h);
    // Asked even when `direct` is false: this is where the process first asks
    // whether a checker watches, before any pool exists and before any slow
    // path tests `checkers::watched()`.
    let fast = checkers::fast_paths_ok();
    if direct && fast {
        FAST.set(true);
        DIRECT.set(h); // `a` is the current account
    }
    if GUARD.try_with(|_| ()).is_err() {
        // Thread-local destructors are already running: no exit hook can be
        // registered, so do not keep a private heap.
        set_own_heap(a, DEAD);
        DIRECT.set(null_mut());
        // SAFETY: h is exclusively ours and empty of pools.
        unsafe { abandon(h) };
        return None;
    }
    Some(h)
}

fn adopt(a: Account) -> Option<*mut Heap> {
    if ABANDONED_COUNT.load(Relaxed) == 0 {
        return None;
    }
    let mut h = HEAPS.load(Acquire);
    while !h.is_null() {
        // SAFETY: registered heaps are never freed; state is atomic and
        // account immutable.
        let hr = unsafe { &*h };
        if hr.account == a && hr.state.compare_exchange(ABANDONED, ACTIVE, Acquire, Relaxed).is_ok() {
            ABANDONED_COUNT.fetch_sub(1, Relaxed);
            return Some(h);
        }
        h = hr.next_all;
    }
    None
}

fn create_heap(state: u8, account: Account) -> *mut Heap {
    let h = os::sys_memalign(64, core::mem::size_of::<Heap>()) as *mut Heap;
    if h.is_null() {
        return h;
    }
    // SAFETY: fresh, suitably aligned memory of the right size.
    unsafe {
        h.write(Heap {
            used: [null_mut(); NB_SMALL_SIZE_CLASSES],
            live: AtomicIsize::new(0),
            remote: AtomicPtr::new(null_mut()),
            state: AtomicU8::new(state),
            account,
            next_all: null_mut(),
        })
    };
    let mut head = HEAPS.load(Relaxed);
    loop {
        // SAFETY: h is not yet published; we own it.
        unsafe { (*h).next_all = head };
        match HEAPS.compare_exchange_weak(head, h, Release, Relaxed) {
            Ok(_) => return h,
            Err(x) => head = x,
        }
    }
}

/// Adds `delta` bytes to account `a`, on this thread's counter for it.
pub(crate) fn account(a: Account, delta: isize) {
    let h = own_heap(a);
    if usable(h) {
        // SAFETY: our own live heap; its counter is written by this thread only.
        let live = unsafe { &(*h).live };
        live.store(live.load(Relaxed) + delta, Relaxed);
    } else {
        ORPHAN_LIVE[a as usize].fetch_add(delta, Relaxed);
    }
}

/// Adds `delta` bytes to account `a` while holding `cur`: on `cur`'s own
/// counter when it is of that account (the fallback heaps have no thread).
fn account_holding(cur: &Current, a: Account, delta: isize) {
    let h = cur.heap();
    // SAFETY: `cur` gives exclusive use of h, so its counter is ours to write.
    unsafe {
        if (*h).account == a {
            let live = &(*h).live;
            live.store(live.load(Relaxed) + delta, Relaxed);
            return;
        }
    }
    account(a, delta);
}

/// The account of pool block `p`: its pool owner's (recorded in the header).
///
/// # Safety
/// `p` is a live pool block (so its pool has an owner that cannot change).
pub(crate) unsafe fn pool_account(p: *mut u8) -> Account {
    // SAFETY: caller contract: the header is valid and `info` fixed meanwhile.
    unsafe { (*pool_of(p)).account() }
}

/// Sum of the live counters of account `a`.
pub(crate) fn account_bytes(a: Account) -> usize {
    let mut total = ORPHAN_LIVE[a as usize].load(Relaxed);
    let mut h = HEAPS.load(Acquire);
    while !h.is_null() {
        // SAFETY: registered heaps are never freed; `account` is immutable.
        let hr = unsafe { &*h };
        if hr.account == a {
            total += hr.live.load(Relaxed);
        }
        h = hr.next_all;
    }
    total.max(0) as usize
}

// ---------------------------------------------------------------------------
// Slow paths (the heap is held exclusively by the caller)
// ---------------------------------------------------------------------------

/// Allocates a block of class `cls` from the pools. Null when out of memory.
pub(crate) fn pool_alloc(cls: usize, count: usize, direct: bool) -> *mut u8 {
    let Some(cur) = current(direct) else {
        return null_mut();
    };
    let h = cur.heap();
    let p = if checkers::watched() {
        // SAFETY: `cur` gives exclusive use of h.
        unsafe { heap_alloc_watched(h, cls) }
    } else {
        // SAFETY: as above.
        unsafe { heap_alloc::<false>(h, cls) }
    };
    if !p.is_null() {
        // SAFETY: as above.
        let live = unsafe { &(*h).live };
        live.store(live.load(Relaxed) + count as isize, Relaxed);
    }
    p
}

/// Frees pool block `p` (owner or remote).
///
/// # Safety
/// `p` is a live pool block.
pub(crate) unsafe fn pool_free(p: *mut u8, count: usize, direct: bool) {
    if checkers::watched() {
        // SAFETY: caller contract.
        return unsafe { pool_free_watched(p, count, direct) };
    }
    // SAFETY: caller contract.
    unsafe { pool_free_in::<false>(p, count, direct) }
}

/// # Safety
/// As [`pool_free`].
#[cold]
#[inline(never)]
unsafe fn pool_free_watched(p: *mut u8, count: usize, direct: bool) {
    // SAFETY: caller contract.
    unsafe { pool_free_in::<true>(p, count, direct) }
}

/// # Safety
/// `p` is a live pool block; `W == checkers::watched()`.
#[inline(always)]
unsafe fn pool_free_in<const W: bool>(p: *mut u8, count: usize, direct: bool) {
    let pool = pool_of(p);
    // SAFETY: p is live, so its pool header is valid and its owner, class
    // and account fixed.
    let (owner, size, a) =
        unsafe { ((*pool).owner.load(Relaxed), class_size((*pool).szidx()), (*pool).account()) };
    // SAFETY: p is a live block of `size` bytes, given up, in no list yet.
    unsafe { checkers::block_free::<W>(p, size) };
    match current(direct) {
        Some(cur) => {
            let h = cur.heap();
            if owner == h {
                // SAFETY: we hold h exclusively and own the pool.
                unsafe { local_free::<W>(h, pool, p, true) };
            } else {
                // SAFETY: p is a block of `pool`, given up.
                unsafe { remote_free::<W>(pool, p) };
            }
            account_holding(&cur, a, -(count as isize));
        }
        None => {
            // SAFETY: as above.
            unsafe { remote_free::<W>(pool, p) };
            ORPHAN_LIVE[a as usize].fetch_sub(count as isize, Relaxed);
        }
    }
}

/// # Safety
/// As [`heap_alloc`].
#[cold]
#[inline(never)]
unsafe fn heap_alloc_watched(h: *mut Heap, cls: usize) -> *mut u8 {
    // SAFETY: caller contract.
    unsafe { heap_alloc::<true>(h, cls) }
}

/// # Safety
/// The caller holds `h` exclusively; `cls < 32`; `W == checkers::watched()`.
#[inline(always)]
unsafe fn heap_alloc<const W: bool>(h: *mut Heap, cls: usize) -> *mut u8 {
    // SAFETY: exclusive use of h (caller).
    let hr = unsafe { &mut *h };
    if !hr.remote.load(Relaxed).is_null() {
        // SAFETY: exclusive use of h.
        unsafe { drain::<W>(h, true) };
    }
    let mut pool = hr.used[cls];
    if pool.is_null() {
        collect_abandoned();
        pool = arena::lock().acquire_pool(h, cls);
        if pool.is_null() {
            return null_mut();
        }
        // SAFETY: a fresh pool of ours, in no list.
        unsafe { link_head(hr, cls, pool) };
    }
    let size = class_size(cls);
    // SAFETY: pool is ours and in `used`, so freeblock is a free block whose
    // first word links the next one; carved blocks lie inside the pool.
    unsafe {
        let p = &mut *pool;
        let b = p.freeblock;
        let next = checkers::read_link::<W>(b.cast());
        p.ref_count.store(p.ref_count.load(Relaxed) + 1, Relaxed);
        if !next.is_null() {
            p.freeblock = next;
        } else {
            let off = p.nextoffset as usize;
            if off + size <= POOL_SIZE {
                // Carve the never-used blocks that start in the same 4 KiB
                // page (that page is being touched anyway; later pages stay
                // untouched until needed).
                let page_end = (off / 4096 + 1) * 4096;
                let base = pool as *mut u8;
                let mut last = off;
                let mut n = off + size;
                while n + size <= POOL_SIZE && n < page_end {
                    checkers::write_link::<W>(base.add(last).cast(), base.add(n));
                    last = n;
                    n += size;
                }
                checkers::write_link::<W>(base.add(last).cast(), null_mut());
                p.freeblock = base.add(off);
                p.nextoffset = n as u16;
            } else {
                // Pool full: it leaves the used list until a block comes back.
                p.freeblock = null_mut();
                unlink(hr, cls, pool);
            }
        }
        checkers::block_alloc::<W>(b, size);
        b
    }
}

/// Frees a block into a pool owned by `h`.
///
/// # Safety
/// Caller holds `h` exclusively, `pool` is owned by `h`, `b` is a block of it
/// counted in `ref_count`, already free for the checkers (`block_free`);
/// `W == checkers::watched()`.
unsafe fn local_free<const W: bool>(h: *mut Heap, pool: *mut Pool, b: *mut u8, retain: bool) {
    // SAFETY: caller contract.
    let (hr, p) = unsafe { (&mut *h, &mut *pool) };
    let fb = p.freeblock;
    // SAFETY: b is a free block of the pool (at least 16 bytes) that only we
    // touch: its first word becomes the link.
    unsafe { checkers::write_link::<W>(b.cast(), fb) };
    p.freeblock = b;
    let r = p.ref_count.load(Relaxed) - 1;
    p.ref_count.store(r, Relaxed);
    let cls = p.szidx();
    if fb.is_null() {
        // Was full: back to the front of its class list.
        // SAFETY: a full pool is in no list.
        unsafe { link_head(hr, cls, pool) };
        // An empty pool is only kept while it is the head: the old head goes.
        let old = p.nextpool;
        // SAFETY: list members are valid pools owned by h.
        if old != pool && unsafe { (*old).ref_count.load(Relaxed) } == 0 {
            // SAFETY: old is in the list, empty; then back to its arena.
            unsafe {
                unlink(hr, cls, old);
                arena::lock().release_pool(old);
            }
        }
    }
    if r == 0 && !(retain && hr.used[cls] == pool) {
        // Empty and not the head of its class list: back to the arena.
        // SAFETY: the pool is in hr.used[cls].
        unsafe { unlink(hr, cls, pool) };
        // SAFETY: ref 0, unlinked, nothing points into it any more.
        unsafe { arena::lock().release_pool(pool) };
    }
}

/// Pushes block `b` on its pool's remote-free stack.
///
/// # Safety
/// `b` is a block of `pool` that the caller gives up, already free for the
/// checkers (`block_free`); `W == checkers::watched()`.
#[inline(always)]
unsafe fn remote_free<const W: bool>(pool: *mut Pool, b: *mut u8) {
    // SAFETY: the pool header outlives its live blocks; b is ours to link
    // until a CAS publishes it (each link is written, and closed for the
    // checkers, before the CAS that makes it visible).
    unsafe {
        let tf = &(*pool).thread_free;
        let mut head = tf.load(Relaxed);
        loop {
            checkers::write_link::<W>(b.cast(), head);
            match tf.compare_exchange_weak(head, b, Release, Relaxed) {
                Ok(_) => break,
                Err(x) => head = x,
            }
        }
        if !head.is_null() {
            return;
        }
        // First pending block of this pool: announce it to the owner. The
        // owner only looks at thread_free through this list, so the pool (and
        // its owner) cannot change until we are done.
        let owner = (*pool).owner.load(Relaxed);
        let r = &(*owner).remote;
        let link = (b as *mut *mut u8).add(1);
        let mut top = r.load(Relaxed);
        loop {
            checkers::write_link::<W>(link, top);
            match r.compare_exchange_weak(top, b, Release, Relaxed) {
                Ok(_) => break,
                Err(x) => top = x,
            }
        }
    }
}

/// Takes back every block other threads freed into `h`'s pools.
///
/// # Safety
/// Caller holds `h` exclusively.
unsafe fn drain_any(h: *mut Heap, retain: bool) {
    // SAFETY: caller contract.
    unsafe {
        if checkers::watched() {
            drain::<true>(h, retain)
        } else {
            drain::<false>(h, retain)
        }
    }
}

/// [`drain_any`] with `W == checkers::watched()`.
///
/// # Safety
/// Caller holds `h` exclusively.
unsafe fn drain<const W: bool>(h: *mut Heap, retain: bool) {
    // SAFETY: exclusive use of h; blocks on `remote` head pending thread_free
    // stacks of pools owned by h.
    unsafe {
        let mut b = (*h).remote.swap(null_mut(), Acquire);
        while !b.is_null() {
            let next_pool = checkers::read_link::<W>((b as *mut *mut u8).add(1));
            let pool = pool_of(b);
            let mut blk = (*pool).thread_free.swap(null_mut(), Acquire);
            while !blk.is_null() {
                let n = checkers::read_link::<W>(blk.cast());
                local_free::<W>(h, pool, blk, retain);
                blk = n;
            }
            b = next_pool;
        }
    }
}

/// Gives every empty pool of `h` back to the arenas.
///
/// # Safety
/// Caller holds `h` exclusively.
unsafe fn release_empty(h: *mut Heap) {
    // SAFETY: exclusive use of h.
    let hr = unsafe { &mut *h };
    for cls in 0..NB_SMALL_SIZE_CLASSES {
        let head = hr.used[cls];
        if head.is_null() {
            continue;
        }
        // Count first: unlinking changes the list we walk.
        let mut n = 1;
        // SAFETY: list members are our valid pools.
        let mut p = unsafe { (*head).nextpool };
        while p != head {
            n += 1;
            // SAFETY: as above.
            p = unsafe { (*p).nextpool };
        }
        let mut p = head;
        for _ in 0..n {
            // SAFETY: list members are our valid pools.
            let next = unsafe { (*p).nextpool };
            // SAFETY: as above.
            if unsafe { (*p).ref_count.load(Relaxed) } == 0 {
                // SAFETY: p is in the list and empty; then back to its arena.
                unsafe {
                    unlink(hr, cls, p);
                    arena::lock().release_pool(p);
                }
            }
            p = next;
        }
    }
}

/// Thread exit: drain, give empty pools back, publish as abandoned.
///
/// # Safety
/// Caller holds `h` exclusively and gives it up.
unsafe fn abandon(h: *mut Heap) {
    // SAFETY: caller contract.
    unsafe {
        drain_any(h, false);
        release_empty(h);
        (*h).state.store(ABANDONED, Release);
    }
    ABANDONED_COUNT.fetch_add(1, Relaxed);
}

/// Reclaims remote frees pending in abandoned heaps (so their pools and
/// arenas can go back even if no thread adopts them).
pub(crate) fn collect_abandoned() {
    let pending = |fh: *mut Heap| {
        // SAFETY: fallback heaps are never freed; `remote` is atomic.
        !fh.is_null() && !unsafe { (*fh).remote.load(Relaxed) }.is_null()
    };
    if FALLBACK_HEAP.iter().any(|f| pending(f.load(Acquire))) {
        // Blocks freed into the fallback heaps' pools by other threads: take
        // them back unless someone is using a fallback heap right now.
        if let Ok(_g) = FALLBACK_LOCK.try_lock() {
            for f in &FALLBACK_HEAP {
                let fh = f.load(Acquire);
                if pending(fh) {
                    // SAFETY: the lock gives exclusive use of the fallback heaps.
                    unsafe {
                        drain_any(fh, false);
                        release_empty(fh);
                    }
                }
            }
        }
    }
    if ABANDONED_COUNT.load(Relaxed) == 0 {
        return;
    }
    let mut h = HEAPS.load(Acquire);
    while !h.is_null() {
        // SAFETY: registered heaps are never freed.
        let hr = unsafe { &*h };
        if !hr.remote.load(Relaxed).is_null()
            && hr.state.compare_exchange(ABANDONED, RECLAIMING, Acquire, Relaxed).is_ok()
        {
            // SAFETY: the RECLAIMING state gives us exclusive use.
            unsafe {
                drain_any(h, false);
                release_empty(h);
            }
            hr.state.store(ABANDONED, Release);
        }
        h = hr.next_all;
    }
}

/// Drains this thread's remote frees and gives its empty pools back, then
/// reclaims abandoned heaps.
pub(crate) fn collect() {
    for a in [Account::Program, Account::Tool] {
        let h = own_heap(a);
        if usable(h) {
            // SAFETY: our own heap.
            unsafe {
                drain_any(h, false);
                release_empty(h);
            }
        }
    }
    collect_abandoned();
    // The spare empty arenas go back too, but one (CPython's rule).
    crate::arena::lock().trim_spares(1);
}

/// # Safety
/// `pool` is in no list.
unsafe fn link_head(h: &mut Heap, cls: usize, pool: *mut Pool) {
    let head = h.used[cls];
    // SAFETY: pool and list members are valid pools owned by h.
    unsafe {
        if head.is_null() {
            (*pool).nextpool = pool;
            (*pool).prevpool = pool;
        } else {
            let tail = (*head).prevpool;
            (*pool).nextpool = head;
            (*pool).prevpool = tail;
            (*tail).nextpool = pool;
            (*head).prevpool = pool;
        }
    }
    h.used[cls] = pool;
}

/// # Safety
/// `pool` is in `h.used[cls]`.
unsafe fn unlink(h: &mut Heap, cls: usize, pool: *mut Pool) {
    // SAFETY: list members are valid pools owned by h.
    unsafe {
        let next = (*pool).nextpool;
        if next == pool {
            h.used[cls] = null_mut();
        } else {
            let prev = (*pool).prevpool;
            (*prev).nextpool = next;
            (*next).prevpool = prev;
            if h.used[cls] == pool {
                h.used[cls] = next;
            }
        }
        (*pool).nextpool = null_mut();
        (*pool).prevpool = null_mut();
    }
}

/// Checks the current thread's heaps (see the equation on [`Pool`]).
pub(crate) fn verify_current() -> Result<(), crate::Invariant> {
    for a in [Account::Program, Account::Tool] {
        let h = own_heap(a);
        if usable(h) {
            // SAFETY: our own heap, not used concurrently.
            unsafe { verify_heap(h, a) }?;
        }
    }
    Ok(())
}

/// # Safety
/// `h` is this thread's heap of account `a`, not used concurrently.
unsafe fn verify_heap(h: *mut Heap, a: Account) -> Result<(), crate::Invariant> {
    use crate::Invariant as E;
    // SAFETY: caller contract.
    let hr = unsafe { &*h };
    if hr.account != a {
        return Err(E::new("heap kept for the wrong account", h as usize));
    }
    for cls in 0..NB_SMALL_SIZE_CLASSES {
        let head = hr.used[cls];
        if head.is_null() {
            continue;
        }
        let mut p = head;
        let mut n = 0;
        loop {
            // SAFETY: list members are our valid pools.
            let pr = unsafe { &*p };
            if pr.owner.load(Relaxed) != h || pr.szidx() != cls || pr.info & arena::POOL_FREE != 0 {
                return Err(E::new("pool in used list not owned/classed right", p as usize));
            }
            if pr.account() != a {
                return Err(E::new("pool's account is not its owner's", p as usize));
            }
            // SAFETY: as above.
            if unsafe { (*pr.nextpool).prevpool } != p {
                return Err(E::new("used list links broken", p as usize));
            }
            if pr.freeblock.is_null() {
                return Err(E::new("pool in used list has no free block", p as usize));
            }
            let cap = blocks_per_pool(cls);
            let mut nfree = 0;
            let mut b = pr.freeblock;
            while !b.is_null() && nfree <= cap {
                let off = b as usize - p as usize;
                if off < POOL_OVERHEAD || !(off - POOL_OVERHEAD).is_multiple_of(class_size(cls)) {
                    return Err(E::new("free block misaligned in pool", b as usize));
                }
                nfree += 1;
                // SAFETY: free blocks link through their first word; the heap
                // is not used concurrently.
                b = unsafe { checkers::read_link_any(b.cast()) };
            }
            let used = pr.ref_count.load(Relaxed) as usize;
            if used == 0 && p != head {
                return Err(E::new("empty pool kept but not at the head of its list", p as usize));
            }
            if used + nfree + pr.uncarved() != cap {
                return Err(E::new("ref + free + uncarved != blocks per pool", p as usize));
            }
            n += 1;
            if n > 1 << 24 {
                return Err(E::new("used list does not cycle", cls));
            }
            p = pr.nextpool;
            if p == head {
                break;
            }
        }
    }
    Ok(())
}
