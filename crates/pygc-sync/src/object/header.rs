//! The header in front of every value of the shared heap.
//!
//! ```text
//! [ tid | local | shared ][ flags ][ weak ][ info ][ list ][ index ][ gc_refs ][ value T ]
//!   RefCount (count/)       bits     block  table   owner   slot in   collector
//!                                    count          list    the list  scratch
//! ```
//!
//! Every field is an atomic (or immutable after birth): the header is read
//! by any thread, and a wrong interleaving can at worst give a wrong
//! number, never a data race. Which thread may change what:
//! * `rc`: the count protocol (`count/`);
//! * `flags`: atomic read-modify-writes by anyone (the collector's bits only
//!   while the world is stopped);
//! * `weak`: like `Arc`'s weak count, one for all strong references plus one
//!   per [`crate::Weak`]; the block is freed when it reaches zero;
//! * `index`: under the lock of `list`;
//! * `gc_refs`: the collector, while the world is stopped.

use crate::count::RefCount;
use crate::object::list::ObjList;
use crate::object::type_info::TypeInfo;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicIsize, AtomicU32, AtomicUsize, Ordering::Relaxed};

impl Header {
    /// The list pointer (see the field).
    #[inline]
    pub(crate) fn list(&self) -> *const ObjList {
        self.list.load(Relaxed)
    }
}

/// The object is in its list (tracked and not yet dying).
pub(crate) const REGISTERED: u32 = 1 << 0;
/// The value was dropped (or is being dropped): handles panic on access.
pub(crate) const CLEARED: u32 = 1 << 1;
/// The finalizer ran (it runs once).
pub(crate) const FINALIZED: u32 = 1 << 2;
/// A weak handle was made (the object may have callbacks).
pub(crate) const HAS_WEAK: u32 = 1 << 3;
/// Weak handles no longer upgrade.
pub(crate) const WEAK_DEAD: u32 = 1 << 4;
/// `gc::freeze` moved it out of the collector's sight.
pub(crate) const FROZEN: u32 = 1 << 5;
/// Collector: a candidate of the running pass.
pub(crate) const COLLECTING: u32 = 1 << 8;
/// Collector: reached from a root.
pub(crate) const REACHABLE: u32 = 1 << 9;
/// Collector: could not be traced (a lock was held): kept.
pub(crate) const ROOT: u32 = 1 << 10;
/// The collector's bits, reset after each pass.
pub(crate) const PASS_BITS: u32 = COLLECTING | REACHABLE | ROOT;

/// See the module docs.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) rc: RefCount,
    pub(crate) flags: AtomicU32,
    pub(crate) weak: AtomicUsize,
    pub(crate) info: &'static TypeInfo,
    /// The list the object is (or was last) registered in; null for
    /// untracked objects. Read only while `REGISTERED` is set (a list is
    /// dropped only when empty, so a registered object's list is alive);
    /// changed only by the thread that owns the object's death, while it is
    /// unregistered (a finalizer that resurrects it moves it to that
    /// thread's list).
    pub(crate) list: std::sync::atomic::AtomicPtr<ObjList>,
    pub(crate) index: AtomicUsize,
    pub(crate) gc_refs: AtomicIsize,
}

/// A block with its value.
#[repr(C)]
pub(crate) struct GcBox<T> {
    pub(crate) header: Header,
    pub(crate) value: T,
}

/// A pointer to a header, movable between threads: what the lists, queues
/// and the collector's work sets hold. Dereferencing one is `unsafe` and
/// each use says why the block is allocated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ObjPtr(pub(crate) NonNull<Header>);

// SAFETY: an ObjPtr is an address; the header it names is made of atomics
// and immutable fields, and the values behind it are `Send + Sync`
// (`SyncTrace`'s supertraits). Who may dereference it when is the business
// of the protocols that hold it.
unsafe impl Send for ObjPtr {}
// SAFETY: as above.
unsafe impl Sync for ObjPtr {}

impl ObjPtr {
    /// The header.
    ///
    /// # Safety
    /// The block must be allocated (a strong or weak count, a list entry
    /// or a queue entry keeps it) for as long as the reference is used.
    #[inline]
    pub(crate) unsafe fn header<'a>(self) -> &'a Header {
        // SAFETY: the caller's contract; headers are only read through `&`.
        unsafe { self.0.as_ref() }
    }

    /// The address (the object's `id()`).
    pub(crate) fn addr(self) -> usize {
        self.0.as_ptr() as usize
    }
}

impl Header {
    #[inline]
    pub(crate) fn has(&self, bit: u32) -> bool {
        self.flags.load(Relaxed) & bit != 0
    }

    /// Sets `bit`, returning whether it was already set.
    #[inline]
    pub(crate) fn set(&self, bit: u32) -> bool {
        self.flags.fetch_or(bit, Relaxed) & bit != 0
    }

    #[inline]
    pub(crate) fn clear(&self, bit: u32) {
        self.flags.fetch_and(!bit, Relaxed);
    }
}
