//! Arenas (1 MiB from mmap) and pool headers, shared by all threads behind one
//! lock that is taken only when a thread needs a new pool or gives an empty
//! pool back (once per 16 KiB of blocks, never per block).
//!
//! ```text
//!  arena (1 MiB, mmap; start usually not pool-aligned: one pool is lost)
//!  +-----+--------+--------+--------+-- ... --+--------+-----+
//!  |lost | pool 0 | pool 1 | pool 2 |         |pool 62 |lost |
//!  +-----+--------+--------+--------+-- ... --+--------+-----+
//!        ^pool-aligned     ^pool_address (pools below it were carved once)
//!
//!  pool (16 KiB)
//!  +-----------+-------+-------+-------+-- ... --+-------+-------+
//!  | header 48 | block | block | block |         | block | quant |
//!  +-----------+-------+-------+-------+-- ... --+-------+-------+
//!               ^ first block    ^ nextoffset: first never-used block
//! ```
//!
//! Invariants (checked by [`verify_arenas`]):
//! * per arena: `nfreepools == |freepools| + (pools above pool_address)`;
//!   `ntotalpools == 64 - (address not pool-aligned)`;
//! * `usable_arenas` holds exactly the arenas with `nfreepools > 0`, sorted by
//!   `nfreepools` ascending (fullest first); `nfp2lasta[n]` is the last arena
//!   of that list with `nfreepools == n`, or none;
//! * `narenas_currently_allocated == |arenas with address != 0|`, each of them
//!   marked in the arena map; `ntimes_arena_allocated - narenas_currently_allocated`
//!   arenas were returned to the OS;
//! * at most one arena with every pool free is kept (it is the only usable one).

use crate::checkers;
use crate::geometry::*;
use crate::heap::{Account, Heap};
use crate::os;
use core::ptr::{self, null_mut};
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU16, Ordering::*};
use std::sync::{Mutex, MutexGuard};

/// The 48-byte header at the start of every pool.
///
/// Equation (owner's view, after draining remote frees):
/// `ref_count + |freeblock list| + uncarved == blocks_per_pool(szidx)`, where
/// blocks pushed on `thread_free` still count in `ref_count` until drained.
/// A pool is in its owner's `used[szidx]` list iff `freeblock != null`.
#[repr(C)]
pub(crate) struct Pool {
    /// Blocks handed out and not yet freed by the owner (remote frees count
    /// until drained). Written only by the owner (relaxed load + store);
    /// read by the statistics walk.
    pub(crate) ref_count: AtomicU16,
    /// Offset of the first never-carved block.
    pub(crate) nextoffset: u16,
    /// `arena_index << 8 | flags | szidx`: the size class in bits 0-4, bit 5
    /// (`POOL_TOOL`) when the owner heap is of the tools' account (so a free
    /// finds a block's account in the header it reads anyway, without touching
    /// the owner heap's cache line), bit 7 (`POOL_FREE`) when the pool is on
    /// its arena's `freepools`. Written under the arena lock only.
    pub(crate) info: u32,
    /// Head of the owner's free-block list.
    pub(crate) freeblock: *mut u8,
    /// Links in the owner's circular `used[szidx]` list; `nextpool` also links
    /// the arena's `freepools`.
    pub(crate) nextpool: *mut Pool,
    pub(crate) prevpool: *mut Pool,
    /// The heap that allocates from this pool (null while free).
    pub(crate) owner: AtomicPtr<Heap>,
    /// Blocks freed by other threads (lock-free stack, one CAS per push).
    pub(crate) thread_free: AtomicPtr<u8>,
}

const _: () = assert!(core::mem::size_of::<Pool>() == POOL_OVERHEAD);

pub(crate) const POOL_FREE: u32 = 0x80;
pub(crate) const POOL_TOOL: u32 = 0x20;
pub(crate) const SZIDX_MASK: u32 = 0x1f;
/// Not a size class: marks a never-used pool in `init_pool`.
const SZIDX_FRESH: u32 = 0x7f;

impl Pool {
    #[inline(always)]
    pub(crate) fn szidx(&self) -> usize {
        (self.info & SZIDX_MASK) as usize
    }
    /// The account of the pool's blocks (its owner heap's).
    #[inline(always)]
    pub(crate) fn account(&self) -> Account {
        if self.info & POOL_TOOL != 0 {
            Account::Tool
        } else {
            Account::Program
        }
    }
    fn arena_index(&self) -> usize {
        (self.info >> 8) as usize
    }
    /// Blocks never carved so far.
    pub(crate) fn uncarved(&self) -> usize {
        let size = class_size(self.szidx());
        let next = self.nextoffset as usize;
        if next + size <= POOL_SIZE {
            (POOL_SIZE - next) / size
        } else {
            0
        }
    }
}

/// The pool holding block `p`.
#[inline(always)]
pub(crate) fn pool_of(p: *mut u8) -> *mut Pool {
    ((p as usize) & !POOL_MASK) as *mut Pool
}

const NONE: u32 = u32::MAX;

/// Empty arenas kept mapped, for the next burst, until an explicit
/// [`crate::collect`] trims them to one. CPython keeps one (the last usable
/// arena); with one, a program that frees and reallocates a couple of
/// megabytes in a loop unmaps and faults in an arena on every round
/// (`slice_from_slice_10k` in bench-results/heap-features.md: 25 page faults
/// per 1000 objects). Two cost at most 2 MiB of resident memory.
pub const SPARE_ARENAS: usize = 2;

/// One arena (CPython's `arena_object`): `address == 0` marks an unused slot,
/// linked on `Arenas::unused` through `next`.
#[derive(Clone, Copy)]
struct ArenaObject {
    /// Start of the mmap'd arena; 0 when this slot is unused.
    address: usize,
    /// First never-used pool.
    pool_address: usize,
    nfreepools: u32,
    ntotalpools: u32,
    /// Empty pools, linked through `nextpool`.
    freepools: *mut Pool,
    /// Doubly-linked `usable_arenas` list (or `unused` list through `next`).
    next: u32,
    prev: u32,
}

/// All arenas, behind one mutex.
///
/// Equations (checked by `verify`):
/// * each live arena: `nfreepools == |freepools| + (pools at or above pool_address)`,
///   `ntotalpools == 64 - (address % POOL_SIZE != 0)`;
/// * `usable` lists exactly the arenas with `nfreepools > 0`, ascending by
///   `nfreepools`; `nfp2lasta[n]` is the last of them with `nfreepools == n`;
/// * `narenas_current == |{a : a.address != 0}|`, and
///   `ntimes_allocated - narenas_current` arenas were unmapped;
/// * `nempty == |{a : a.address != 0, a.nfreepools == a.ntotalpools}|`
///   and `nempty <= SPARE_ARENAS` (outside `new_arena` .. `acquire_pool`).
pub(crate) struct Arenas {
    table: *mut ArenaObject,
    max: usize,
    unused: u32,
    usable: u32,
    nfp2lasta: [u32; MAX_POOLS_IN_ARENA + 1],
    pub(crate) ntimes_allocated: usize,
    pub(crate) narenas_current: usize,
    pub(crate) narenas_highwater: usize,
    /// Live arenas with every pool free.
    nempty: usize,
}

// SAFETY: the raw pointers inside point to memory owned by the arena system,
// only touched while the mutex is held.
unsafe impl Send for Arenas {}

static ARENAS: Mutex<Arenas> = Mutex::new(Arenas {
    table: null_mut(),
    max: 0,
    unused: NONE,
    usable: NONE,
    nfp2lasta: [NONE; MAX_POOLS_IN_ARENA + 1],
    ntimes_allocated: 0,
    narenas_current: 0,
    narenas_highwater: 0,
    nempty: 0,
});

pub(crate) fn lock() -> MutexGuard<'static, Arenas> {
    ARENAS.lock().unwrap_or_else(|e| e.into_inner())
}

impl Arenas {
    fn ao(&mut self, i: u32) -> &mut ArenaObject {
        debug_assert!((i as usize) < self.max);
        // SAFETY: i < max and table has max initialised entries.
        unsafe { &mut *self.table.add(i as usize) }
    }

    fn nfree(&mut self, i: u32) -> u32 {
        self.ao(i).nfreepools
    }

    /// Removes arena `i` from `usable_arenas`, keeping `nfp2lasta` right.
    fn unlink(&mut self, i: u32) {
        let (n, prev, next) = {
            let a = self.ao(i);
            (a.nfreepools as usize, a.prev, a.next)
        };
        if self.nfp2lasta[n] == i {
            self.nfp2lasta[n] = if prev != NONE && self.nfree(prev) as usize == n { prev } else { NONE };
        }
        self.splice_out(i, prev, next);
    }

    /// Unlinks `i` (whose neighbours are `prev` and `next`) from
    /// `usable_arenas`, leaving `nfp2lasta` to the caller.
    fn splice_out(&mut self, i: u32, prev: u32, next: u32) {
        debug_assert!(self.ao(i).prev == prev && self.ao(i).next == next);
        if prev != NONE {
            self.ao(prev).next = next;
        } else {
            self.usable = next;
        }
        if next != NONE {
            self.ao(next).prev = prev;
        }
    }

    /// Inserts `i` right after `after` (or at the head when NONE).
    fn insert_after(&mut self, i: u32, after: u32) {
        let next = if after == NONE { self.usable } else { self.ao(after).next };
        {
            let a = self.ao(i);
            a.prev = after;
            a.next = next;
        }
        if after == NONE {
            self.usable = i;
        } else {
            self.ao(after).next = i;
        }
        if next != NONE {
            self.ao(next).prev = i;
        }
    }

    /// Maps a new arena; returns its index or NONE when out of memory.
    fn new_arena(&mut self) -> u32 {
        if self.unused == NONE {
            let newmax = if self.max == 0 { 16 } else { self.max * 2 };
            let bytes = newmax * core::mem::size_of::<ArenaObject>();
            // SAFETY: table is null or our libc block.
            let t = unsafe { os::sys_realloc(self.table.cast(), bytes) } as *mut ArenaObject;
            if t.is_null() {
                return NONE;
            }
            self.table = t;
            for i in self.max..newmax {
                let next = if i + 1 < newmax { (i + 1) as u32 } else { NONE };
                // SAFETY: i < newmax, inside the new table.
                unsafe {
                    t.add(i).write(ArenaObject {
                        address: 0,
                        pool_address: 0,
                        nfreepools: 0,
                        ntotalpools: 0,
                        freepools: null_mut(),
                        next,
                        prev: NONE,
                    })
                };
            }
            self.unused = self.max as u32;
            self.max = newmax;
        }
        let i = self.unused;
        let base = os::map(ARENA_SIZE) as usize;
        if base == 0 {
            return NONE;
        }
        if !map_mark(base, true) {
            // SAFETY: just mapped, unused.
            unsafe { os::unmap(base as *mut u8, ARENA_SIZE) };
            return NONE;
        }
        // Nothing in it is addressable until a pool is carved.
        // SAFETY: a fresh page-aligned mapping of ours, no pointer into it yet.
        unsafe { checkers::region_noaccess(base as *mut u8, ARENA_SIZE) };
        assert!((i as usize) < (1 << 24), "too many arenas");
        self.unused = self.ao(i).next;
        let excess = base & POOL_MASK;
        let ntotal = if excess != 0 { MAX_POOLS_IN_ARENA - 1 } else { MAX_POOLS_IN_ARENA } as u32;
        let first = if excess != 0 { base + POOL_SIZE - excess } else { base };
        *self.ao(i) = ArenaObject {
            address: base,
            pool_address: first,
            nfreepools: ntotal,
            ntotalpools: ntotal,
            freepools: null_mut(),
            next: NONE,
            prev: NONE,
        };
        self.ntimes_allocated += 1;
        self.narenas_current += 1;
        self.nempty += 1; // acquire_pool takes a pool from it at once
        self.narenas_highwater = self.narenas_highwater.max(self.narenas_current);
        i
    }

    /// Takes a pool from the fullest usable arena and prepares it for class
    /// `cls` and owner `heap`. Null when out of memory.
    pub(crate) fn acquire_pool(&mut self, heap: *mut Heap, cls: usize) -> *mut Pool {
        if self.usable == NONE {
            let i = self.new_arena();
            if i == NONE {
                return null_mut();
            }
            self.usable = i;
            let n = self.nfree(i) as usize;
            self.nfp2lasta[n] = i;
        }
        let i = self.usable;
        let old = self.nfree(i) as usize;
        if old == self.ao(i).ntotalpools as usize {
            self.nempty -= 1;
        }
        let a = self.ao(i);
        let pool: *mut Pool;
        let fresh;
        if !a.freepools.is_null() {
            pool = a.freepools;
            // SAFETY: pools on freepools are valid headers inside this arena.
            a.freepools = unsafe { (*pool).nextpool };
            fresh = false;
        } else {
            pool = a.pool_address as *mut Pool;
            a.pool_address += POOL_SIZE;
            fresh = true;
            // SAFETY: the header of a never-used pool of a live arena; its
            // blocks stay inaccessible.
            unsafe { checkers::header_access(pool.cast(), POOL_OVERHEAD) };
        }
        a.nfreepools -= 1;
        // Keep the list sorted: the head had the fewest free pools, so with one
        // fewer it is still first; only the fingers change.
        if self.nfp2lasta[old] == i {
            self.nfp2lasta[old] = NONE;
        }
        if old - 1 == 0 {
            self.unlink(i);
        } else if self.nfp2lasta[old - 1] == NONE {
            self.nfp2lasta[old - 1] = i;
        }
        // SAFETY: `pool` is a 16 KiB pool inside arena i that nobody else
        // owns (it was free); we hold the arena lock.
        unsafe { init_pool(pool, heap, cls, i, fresh) };
        pool
    }

    /// Gives an empty pool back to its arena; frees the arena when all its
    /// pools are free, unless it is one of the `SPARE_ARENAS` empty ones kept.
    ///
    /// # Safety
    /// `pool` is a pool of ours with `ref_count == 0`, unlinked from every
    /// heap list, and no pointer into it is used afterwards.
    pub(crate) unsafe fn release_pool(&mut self, pool: *mut Pool) {
        // SAFETY: caller contract: a valid header nobody else touches.
        let p = unsafe { &mut *pool };
        debug_assert_eq!(p.ref_count.load(Relaxed), 0);
        let i = p.arena_index() as u32;
        p.info |= POOL_FREE;
        p.owner.store(null_mut(), Relaxed);
        let a = self.ao(i);
        p.nextpool = a.freepools;
        a.freepools = pool;
        let old = a.nfreepools as usize;
        let total = a.ntotalpools as usize;
        let new = old + 1;
        if old == 0 {
            // Not in the list: it becomes the head (fewest free pools).
            a.nfreepools = 1;
            self.insert_after(i, NONE);
            if self.nfp2lasta[1] == NONE {
                self.nfp2lasta[1] = i;
            }
            if new == total {
                self.nempty += 1;
                self.maybe_free_arena(i);
            }
            return;
        }
        let last_old = self.nfp2lasta[old];
        debug_assert_ne!(last_old, NONE);
        if last_old == i {
            let prev = self.ao(i).prev;
            self.nfp2lasta[old] = if prev != NONE && self.nfree(prev) as usize == old { prev } else { NONE };
        }
        self.ao(i).nfreepools = new as u32;
        if last_old != i {
            // Move i just after the last arena that still has `old` free pools.
            let (prev, next) = (self.ao(i).prev, self.ao(i).next);
            self.splice_out(i, prev, next);
            self.insert_after(i, last_old);
        }
        if self.nfp2lasta[new] == NONE {
            self.nfp2lasta[new] = i;
        }
        if new == total {
            self.nempty += 1;
            self.maybe_free_arena(i);
        }
    }

    /// Arena `i` just had its last pool freed: munmap it unless it is one of
    /// the [`SPARE_ARENAS`] empty arenas kept.
    fn maybe_free_arena(&mut self, i: u32) {
        if self.nempty > SPARE_ARENAS {
            self.free_arena(i);
        }
    }

    /// Unmaps empty arenas until at most `keep` are left (the explicit trim).
    pub(crate) fn trim_spares(&mut self, keep: usize) {
        for i in 0..self.max as u32 {
            if self.nempty <= keep {
                break;
            }
            let a = *self.ao(i);
            if a.address != 0 && a.nfreepools == a.ntotalpools {
                self.free_arena(i);
            }
        }
    }

    /// Unmaps arena `i`, every pool of which is free.
    fn free_arena(&mut self, i: u32) {
        debug_assert!({
            let a = *self.ao(i);
            a.nfreepools == a.ntotalpools
        });
        self.nempty -= 1;
        self.unlink(i);
        let base = self.ao(i).address;
        map_mark(base, false);
        // SAFETY: every pool of the arena is free, so no block in it is live;
        // the checkers forget it before the OS may map something else there.
        unsafe {
            checkers::region_release(base as *mut u8, ARENA_SIZE);
            os::unmap(base as *mut u8, ARENA_SIZE);
        }
        let unused = self.unused;
        *self.ao(i) = ArenaObject {
            address: 0,
            pool_address: 0,
            nfreepools: 0,
            ntotalpools: 0,
            freepools: null_mut(),
            next: unused,
            prev: NONE,
        };
        self.unused = i;
        self.narenas_current -= 1;
    }

    /// Calls `f(arena_base, ntotalpools, nfreepools, carved_pools)` for each arena.
    pub(crate) fn for_each_arena(&mut self, mut f: impl FnMut(usize, usize, usize, &[*mut Pool])) {
        for i in 0..self.max as u32 {
            let a = *self.ao(i);
            if a.address == 0 {
                continue;
            }
            let first = (a.address + POOL_MASK) & !POOL_MASK;
            let mut pools = [null_mut(); MAX_POOLS_IN_ARENA];
            let mut n = 0;
            let mut p = first;
            while p < a.pool_address {
                pools[n] = p as *mut Pool;
                n += 1;
                p += POOL_SIZE;
            }
            f(a.address, a.ntotalpools as usize, a.nfreepools as usize, &pools[..n]);
        }
    }

    /// Checks the arena invariants listed in the module docs.
    pub(crate) fn verify(&mut self) -> Result<(), crate::Invariant> {
        use crate::Invariant as E;
        let mut live = 0;
        for i in 0..self.max as u32 {
            let a = *self.ao(i);
            if a.address == 0 {
                continue;
            }
            live += 1;
            if !address_in_range(a.address) || !address_in_range(a.address + ARENA_SIZE - 1) {
                return Err(E::new("arena not in the arena map", a.address));
            }
            let aligned = a.address & POOL_MASK == 0;
            if a.ntotalpools as usize != MAX_POOLS_IN_ARENA - usize::from(!aligned) {
                return Err(E::new("ntotalpools wrong", a.address));
            }
            let end = (a.address & !POOL_MASK) + ARENA_SIZE;
            let uncarved = (end - a.pool_address) / POOL_SIZE;
            let mut nfree = 0;
            let mut p = a.freepools;
            while !p.is_null() {
                // SAFETY: freepools links valid headers of this arena.
                let pr = unsafe { &*p };
                if pr.info & POOL_FREE == 0 || pr.arena_index() != i as usize {
                    return Err(E::new("pool on freepools not marked free", p as usize));
                }
                nfree += 1;
                p = pr.nextpool;
            }
            if nfree + uncarved != a.nfreepools as usize {
                return Err(E::new("nfreepools != |freepools| + uncarved", a.address));
            }
        }
        if live != self.narenas_current {
            return Err(E::new("narenas_currently_allocated wrong", live));
        }
        let empty = (0..self.max as u32)
            .filter(|&i| {
                let a = *self.ao(i);
                a.address != 0 && a.nfreepools == a.ntotalpools
            })
            .count();
        if empty != self.nempty || empty > SPARE_ARENAS {
            return Err(E::new("nempty wrong, or more empty arenas than SPARE_ARENAS", empty));
        }
        // usable list: exactly the arenas with free pools, ascending.
        let mut seen = 0;
        let mut prev = NONE;
        let mut i = self.usable;
        let mut last_n = 0;
        while i != NONE {
            let a = *self.ao(i);
            if a.prev != prev {
                return Err(E::new("usable_arenas prev link broken", i as usize));
            }
            if a.nfreepools == 0 || a.nfreepools < last_n {
                return Err(E::new("usable_arenas not sorted by nfreepools", i as usize));
            }
            let n = a.nfreepools as usize;
            let is_last = a.next == NONE || self.nfree(a.next) as usize != n;
            if is_last != (self.nfp2lasta[n] == i) {
                return Err(E::new("nfp2lasta finger wrong", n));
            }
            last_n = a.nfreepools;
            seen += 1;
            prev = i;
            i = a.next;
        }
        let mut with_free = 0;
        for j in 0..self.max as u32 {
            let a = *self.ao(j);
            if a.address != 0 && a.nfreepools > 0 {
                with_free += 1;
            }
        }
        if with_free != seen {
            return Err(E::new("usable_arenas misses an arena with free pools", seen));
        }
        Ok(())
    }
}

/// Prepares a pool taken from an arena.
///
/// # Safety
/// `pool` is a free pool of arena `arena`; the arena lock is held.
unsafe fn init_pool(pool: *mut Pool, heap: *mut Heap, cls: usize, arena: u32, fresh: bool) {
    // SAFETY: caller contract: we own the pool header exclusively.
    let p = unsafe { &mut *pool };
    let old_cls = if fresh { SZIDX_FRESH } else { p.info & SZIDX_MASK };
    // SAFETY: heaps are never freed; `account` is immutable.
    let tool = if unsafe { (*heap).account() } == Account::Tool { POOL_TOOL } else { 0 };
    p.info = (arena << 8) | tool | cls as u32;
    p.owner.store(heap, Relaxed);
    p.nextpool = null_mut();
    p.prevpool = null_mut();
    debug_assert!(p.thread_free.load(Relaxed).is_null());
    if old_cls == cls as u32 {
        // Same class as last time: the free list and nextoffset are still valid.
        return;
    }
    let size = class_size(cls);
    p.ref_count.store(0, Relaxed);
    let first = (pool as *mut u8).wrapping_add(POOL_OVERHEAD);
    // SAFETY: the first block lies inside the pool and is free (the pool was);
    // a free block's first word is its link.
    unsafe { checkers::write_link_any(first.cast(), ptr::null_mut()) };
    p.freeblock = first;
    p.nextoffset = (POOL_OVERHEAD + size) as u16;
}

// ---------------------------------------------------------------------------
// The arena map: CPython's radix tree behind `address_in_range` (3.10+).
// 64-bit addresses: 15 top bits, 15 mid bits, 14 bottom bits, 20 arena bits.
// A leaf describes one 1 MiB-aligned slot: an arena starting inside the slot
// covers tails >= hi (hi = -1 for an aligned arena); the arena that started in
// the previous slot covers tails < lo.
// ---------------------------------------------------------------------------

const MAP_TOP_BITS: u32 = 15;
const MAP_MID_BITS: u32 = 15;
const MAP_BOT_BITS: u32 = 14;
const MAP_TOP_LEN: usize = 1 << MAP_TOP_BITS;
const MAP_MID_LEN: usize = 1 << MAP_MID_BITS;
const MAP_BOT_LEN: usize = 1 << MAP_BOT_BITS;

/// Bytes of the statically allocated root.
pub(crate) const MAP_ROOT_BYTES: usize = MAP_TOP_LEN * 8;
/// Bytes of one mid node.
pub(crate) const MAP_MID_BYTES: usize = MAP_MID_LEN * 8;
/// Bytes of one bottom node.
pub(crate) const MAP_BOT_BYTES: usize = MAP_BOT_LEN * 8;

#[repr(C)]
struct Leaf {
    tail_hi: AtomicI32,
    tail_lo: AtomicI32,
}

type Bot = [Leaf; MAP_BOT_LEN];
type Mid = [AtomicPtr<Bot>; MAP_MID_LEN];

static MAP_ROOT: [AtomicPtr<Mid>; MAP_TOP_LEN] = [const { AtomicPtr::new(null_mut()) }; MAP_TOP_LEN];
pub(crate) static MAP_MID_NODES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
pub(crate) static MAP_BOT_NODES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn split(p: usize) -> (usize, usize, usize) {
    let top = p >> (64 - MAP_TOP_BITS);
    let mid = (p >> (ARENA_BITS + MAP_BOT_BITS)) & (MAP_MID_LEN - 1);
    let bot = (p >> ARENA_BITS) & (MAP_BOT_LEN - 1);
    (top, mid, bot)
}

/// The leaf for address `p`, creating nodes when `create` (arena lock held).
fn leaf(p: usize, create: bool) -> Option<&'static Leaf> {
    let (t, m, b) = split(p);
    let mut mid = MAP_ROOT[t].load(Acquire);
    if mid.is_null() {
        if !create {
            return None;
        }
        mid = os::map(MAP_MID_BYTES).cast();
        if mid.is_null() {
            return None;
        }
        MAP_ROOT[t].store(mid, Release);
        MAP_MID_NODES.fetch_add(1, Relaxed);
    }
    // SAFETY: mid nodes are never freed; zeroed memory is valid null AtomicPtrs.
    let slot = unsafe { &(*mid)[m] };
    let mut bot = slot.load(Acquire);
    if bot.is_null() {
        if !create {
            return None;
        }
        bot = os::map(MAP_BOT_BYTES).cast();
        if bot.is_null() {
            return None;
        }
        slot.store(bot, Release);
        MAP_BOT_NODES.fetch_add(1, Relaxed);
    }
    // SAFETY: bottom nodes are never freed; zeroed memory is valid atomics.
    Some(unsafe { &(*bot)[b] })
}

/// Records (or forgets) the arena at `base`. Arena lock held. False on OOM.
fn map_mark(base: usize, used: bool) -> bool {
    let tail = (base & (ARENA_SIZE - 1)) as i32;
    let Some(hi) = leaf(base, used) else {
        return !used;
    };
    if tail == 0 {
        hi.tail_hi.store(if used { -1 } else { 0 }, Release);
        return true;
    }
    let Some(lo) = leaf(base + ARENA_SIZE, used) else {
        return !used;
    };
    hi.tail_hi.store(if used { tail } else { 0 }, Release);
    lo.tail_lo.store(if used { tail } else { 0 }, Release);
    true
}

/// Whether `p` lies inside one of our arenas (CPython's `address_in_range`).
#[inline]
pub(crate) fn address_in_range(p: usize) -> bool {
    let Some(l) = leaf(p, false) else {
        return false;
    };
    let tail = (p & (ARENA_SIZE - 1)) as i32;
    let hi = l.tail_hi.load(Relaxed);
    let lo = l.tail_lo.load(Relaxed);
    tail < lo || (hi != 0 && tail >= hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_map_covers_exactly_the_arena() {
        let _g = lock(); // map updates happen under the arena lock
        for base in [0x5a5a_0000_0000usize, 0x5a5a_0010_4000, 0x5a5a_0020_0010] {
            assert!(map_mark(base, true));
            assert!(address_in_range(base));
            assert!(address_in_range(base + ARENA_SIZE / 2));
            assert!(address_in_range(base + ARENA_SIZE - 1));
            assert!(!address_in_range(base - 1));
            assert!(!address_in_range(base + ARENA_SIZE));
            assert!(map_mark(base, false));
            assert!(!address_in_range(base));
            assert!(!address_in_range(base + ARENA_SIZE - 1));
        }
        // Two arenas sharing one 1 MiB slot.
        let a = 0x5a5a_0030_8000usize;
        let b = a + ARENA_SIZE;
        assert!(map_mark(a, true) && map_mark(b, true));
        assert!(address_in_range(b - 1) && address_in_range(b) && address_in_range(b + ARENA_SIZE - 1));
        assert!(map_mark(a, false));
        assert!(!address_in_range(b - 1) && address_in_range(b));
        assert!(map_mark(b, false));
        assert!(!address_in_range(b));
    }

    #[test]
    fn pool_header_is_cpython_sized() {
        assert_eq!(core::mem::size_of::<Pool>(), 48);
        assert_eq!(pool_of((0x1234_5678usize) as *mut u8) as usize, 0x1234_4000);
    }
}
