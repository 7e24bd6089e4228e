//! Biased reference counting (Choi, Shull and Torrellas, PACT 2018, as
//! free-threaded CPython applies it).
//!
//! Every object has an owner thread (`tid`), a *local* count that only the
//! owner touches, with a plain load and store, and a *shared* count that
//! every other thread changes atomically. The true count is
//! `local + shared`. The low two bits of `shared` are a state:
//!
//! * `DEFAULT`: nothing special;
//! * `MAYBE_WEAK`: a weak handle may exist, so a zero count must be
//!   decided by a CAS (a weak upgrade may race with the owner's last drop);
//! * `QUEUED`: a non-owner's drop found `shared == 0`; instead of going
//!   negative it gave its reference to the owner's merge queue, and the
//!   owner (or the collector, or whoever finds the owner gone) merges;
//! * `MERGED`: `local` was folded into `shared` and `tid` is 0; from now on
//!   every thread uses `shared`, and the drop that takes it to zero frees.
//!
//! The memory-ordering argument is in `docs/design/sync.md` ("The count
//! protocol"); `tests/loom.rs` model-checks it. Only atomics are used, even
//! for `local` (relaxed loads and stores, a plain `mov` on x86-64), so no
//! interleaving, even one the protocol forbids, is a data race.

pub mod queue;

use crate::sync::{AtomicIsize, AtomicU32, AtomicUsize, Ordering::*};

/// Bits of the state in `shared`.
pub const SHIFT: u32 = 2;
/// One reference in `shared`.
pub const ONE: isize = 1 << SHIFT;
const STATE: isize = ONE - 1;
pub const DEFAULT: isize = 0;
pub const MAYBE_WEAK: isize = 1;
pub const QUEUED: isize = 2;
pub const MERGED: isize = 3;

/// `tid` of an object whose counts are merged.
pub const NO_OWNER: usize = 0;
/// A `me` that matches no object's `tid`: every operation takes the shared
/// path (threads that are not attached, or have exited).
pub const NOBODY: usize = usize::MAX;

/// Counts past this abort, as `Arc`'s do: a program that leaks this many
/// handles (`mem::forget` in a loop) must not wrap a count to zero.
const MAX_SHARED: isize = isize::MAX / 2;

/// The three words of the protocol.
///
/// Invariants (checked by [`RefCount::verify`] while the world is stopped):
/// * `tid == NO_OWNER` iff the state is `MERGED`, and then `local == 0`;
/// * owned (`tid != NO_OWNER`): `local >= 1` (the owner merges when its
///   count reaches zero), and `shared < 0` only in state `QUEUED`;
/// * `local + (shared >> SHIFT)` is the number of live strong references,
///   including the one each merge-queue entry holds.
#[derive(Debug)]
pub struct RefCount {
    tid: AtomicUsize,
    local: AtomicU32,
    shared: AtomicIsize,
}

/// What the caller must do after a decrement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Dec {
    /// References remain.
    Alive,
    /// The count reached zero: the caller now owns the object's death.
    Dealloc,
    /// The caller's reference went to the owner's merge queue: push the
    /// object there (see [`queue`]).
    Queue,
}

impl RefCount {
    /// A count of one, owned by `owner` (or born merged if `owner` is
    /// [`NO_OWNER`] or [`NOBODY`]: a thread that cannot own objects).
    pub fn new(owner: usize) -> Self {
        if owner == NO_OWNER || owner == NOBODY {
            RefCount {
                tid: AtomicUsize::new(NO_OWNER),
                local: AtomicU32::new(0),
                shared: AtomicIsize::new(ONE | MERGED),
            }
        } else {
            RefCount {
                tid: AtomicUsize::new(owner),
                local: AtomicU32::new(1),
                shared: AtomicIsize::new(DEFAULT),
            }
        }
    }

    /// The owner thread's id, [`NO_OWNER`] once merged.
    #[inline]
    pub fn owner(&self) -> usize {
        self.tid.load(Relaxed)
    }

    /// Adds a reference; the caller holds one (`me` is the calling thread's
    /// id, or [`NOBODY`]).
    #[inline]
    pub fn incref(&self, me: usize) {
        if self.tid.load(Relaxed) == me {
            self.incref_owned();
        } else {
            self.incref_shared();
        }
    }

    /// The owner's increment: the caller read [`RefCount::owner`] equal to
    /// its own id (so it is the owner, and only it writes `local`) and holds
    /// a reference.
    #[inline]
    pub fn incref_owned(&self) {
        let l = self.local.load(Relaxed);
        if l == u32::MAX {
            overflow();
        }
        self.local.store(l + 1, Relaxed);
    }

    /// A non-owner's increment. Relaxed, as `Arc::clone`: the caller's own
    /// reference keeps the object alive, nothing is published.
    #[inline]
    pub fn incref_shared(&self) {
        let old = self.shared.fetch_add(ONE, Relaxed);
        if old > MAX_SHARED {
            overflow();
        }
    }

    /// Drops a reference.
    #[inline]
    pub fn decref(&self, me: usize) -> Dec {
        if self.tid.load(Relaxed) == me {
            self.decref_owned()
        } else {
            self.decref_shared()
        }
    }

    /// The owner's decrement (the caller read [`RefCount::owner`] equal to
    /// its own id, and gives up a reference it holds).
    #[inline]
    pub fn decref_owned(&self) -> Dec {
        let l = self.local.load(Relaxed) - 1;
        self.local.store(l, Relaxed);
        if l == 0 {
            return self.merge_zero_local();
        }
        Dec::Alive
    }

    /// The owner's local count reached zero.
    #[cold]
    fn merge_zero_local(&self) -> Dec {
        // Acquire: if every other thread's references are gone, their
        // decrements (Release) happen before the free below.
        let mut shared = self.shared.load(Acquire);
        if shared == DEFAULT {
            // Count zero, no weak handle may race (it would have set
            // MAYBE_WEAK), nothing queued: nobody else can reach the object.
            return Dec::Dealloc;
        }
        // Others hold references, or may upgrade a weak one: give up
        // ownership. `tid` first, so that a zero `tid` always implies that
        // the counts are (being) merged.
        self.tid.store(NO_OWNER, Relaxed);
        loop {
            let new = (shared & !STATE) | MERGED;
            match self.shared.compare_exchange_weak(shared, new, AcqRel, Acquire) {
                Ok(_) => return if new == MERGED { Dec::Dealloc } else { Dec::Alive },
                Err(s) => shared = s,
            }
        }
    }

    /// A decrement of the shared count.
    #[inline]
    pub fn decref_shared(&self) -> Dec {
        let mut shared = self.shared.load(Relaxed);
        loop {
            let queue = shared == DEFAULT || shared == MAYBE_WEAK;
            // Queueing keeps the count: the queue entry holds our reference.
            let new = if queue { QUEUED } else { shared - ONE };
            // Release: our uses of the object happen before whoever frees
            // it reads this (or a later) value with Acquire.
            match self.shared.compare_exchange_weak(shared, new, Release, Relaxed) {
                Ok(_) => {
                    if queue {
                        return Dec::Queue;
                    }
                    if new == MERGED {
                        // Acquire: every earlier release decrement happens
                        // before the free. An acquire *load* rather than a
                        // fence: it reads our value or a later one of the
                        // same release sequences, so it orders the same, and
                        // ThreadSanitizer, which ignores fences, sees it
                        // (std's Arc does the same under TSan).
                        let _ = self.shared.load(Acquire);
                        return Dec::Dealloc;
                    }
                    return Dec::Alive;
                }
                Err(s) => shared = s,
            }
        }
    }

    /// Adds a reference unless the count is zero (a weak upgrade): the
    /// object's block is alive (the weak count holds it), its value may be
    /// dying. `MAYBE_WEAK` must have been set when the weak handle was made.
    pub fn try_incref(&self, me: usize) -> bool {
        if self.tid.load(Relaxed) == me {
            // Only the owner changes `local`; zero means the owner itself is
            // tearing the object down (its own drop, on this thread).
            let l = self.local.load(Relaxed);
            if l == 0 {
                return false;
            }
            if l == u32::MAX {
                overflow();
            }
            self.local.store(l + 1, Relaxed);
            return true;
        }
        let mut shared = self.shared.load(Relaxed);
        loop {
            // Merged with count zero: dying. DEFAULT with zero cannot be seen
            // through a weak handle (it set MAYBE_WEAK), refused all the same.
            if shared == MERGED || shared == DEFAULT {
                return false;
            }
            if shared > MAX_SHARED {
                overflow();
            }
            match self.shared.compare_exchange_weak(shared, shared + ONE, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(s) => shared = s,
            }
        }
    }

    /// Marks that a weak handle may exist (sticky until merged or queued,
    /// which force the CAS path as well). The caller holds a reference.
    pub fn set_maybe_weak(&self) {
        let mut shared = self.shared.load(Relaxed);
        loop {
            if shared & STATE != DEFAULT {
                return;
            }
            match self.shared.compare_exchange_weak(shared, shared | MAYBE_WEAK, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(s) => shared = s,
            }
        }
    }

    /// Folds `local` into `shared`, adds `extra` (`-1` for the reference a
    /// merge-queue entry held) and gives up ownership.
    ///
    /// Must run on the owner thread, or after the owner's last write to
    /// `local` happened before this call (it exited, or it is parked in a
    /// stopped world): `local` is read with a relaxed load.
    pub fn explicit_merge(&self, extra: isize) -> Dec {
        let local = self.local.load(Relaxed) as isize;
        let mut shared = self.shared.load(Relaxed);
        loop {
            let count = (shared >> SHIFT) + local + extra;
            debug_assert!(count >= 0, "merged count below zero");
            let new = (count << SHIFT) | MERGED;
            match self.shared.compare_exchange_weak(shared, new, AcqRel, Relaxed) {
                Ok(_) => {
                    self.local.store(0, Relaxed);
                    self.tid.store(NO_OWNER, Relaxed);
                    return if count == 0 { Dec::Dealloc } else { Dec::Alive };
                }
                Err(s) => shared = s,
            }
        }
    }

    /// Brings a dead object (count zero, owned by the caller's `Dealloc`)
    /// back with one merged reference, for its finalizer.
    pub fn revive(&self) {
        self.local.store(0, Relaxed);
        self.tid.store(NO_OWNER, Relaxed);
        self.shared.store(ONE | MERGED, Release);
    }

    /// The true count. Exact only while no thread changes it: in a stopped
    /// world, or in a loom model's final state.
    pub fn total(&self) -> isize {
        self.local.load(Relaxed) as isize + (self.shared.load(Relaxed) >> SHIFT)
    }

    /// Whether the state is `QUEUED`.
    #[allow(dead_code)]
    pub fn is_queued(&self) -> bool {
        self.shared.load(Relaxed) & STATE == QUEUED
    }

    /// Checks the struct's invariants; only meaningful while nothing changes
    /// the counts (a stopped world). `Err` names the broken one.
    pub fn verify(&self) -> Result<(), &'static str> {
        let tid = self.tid.load(Relaxed);
        let local = self.local.load(Relaxed);
        let shared = self.shared.load(Relaxed);
        let state = shared & STATE;
        if tid == NO_OWNER {
            if state != MERGED {
                return Err("tid is 0 but the counts are not merged");
            }
            if local != 0 {
                return Err("merged object with a local count");
            }
        } else {
            if state == MERGED {
                return Err("merged object with an owner");
            }
            if local == 0 {
                return Err("owned object with a zero local count");
            }
            if shared < 0 && state != QUEUED {
                return Err("negative shared count outside QUEUED");
            }
        }
        if self.total() < 0 {
            return Err("negative total count");
        }
        Ok(())
    }
}

#[cold]
#[inline(never)]
fn overflow() -> ! {
    // As `Arc`: continuing could wrap the count and free a live object.
    eprintln!("pygc_sync: reference count overflow");
    std::process::abort()
}
