//! Layer 2, birth and death: a block from obmalloc, registration, the
//! allocation trigger; the end of a count (queue to the owner, finalizer,
//! weak callbacks, drop, free) and the trashcan that keeps deep chains off
//! the stack.

pub(crate) mod weak_table;

use crate::count::{Dec, RefCount, NO_OWNER};
use crate::object::header::{GcBox, Header, ObjPtr, CLEARED, FINALIZED, HAS_WEAK, REGISTERED, WEAK_DEAD};
use crate::object::list::ObjList;
use crate::object::trace::SyncTrace;
use crate::object::type_info::InfoFor;
use crate::runtime::runtime;
use crate::world::thread;
use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicIsize, AtomicU32, AtomicUsize, Ordering::*};

/// Allocates `value` in the shared heap: safe point first (the thread may
/// park for a collection), then the trigger, then the block. The caller's
/// location is what tracemalloc records.
#[track_caller]
pub(crate) fn alloc<T: SyncTrace>(value: T) -> NonNull<GcBox<T>> {
    let att = thread::attach();
    thread::safepoint();
    if T::TRACKED {
        crate::collect::schedule::note_alloc();
    }
    let layout = Layout::new::<GcBox<T>>();
    // SAFETY: the layout has a non-zero size (the header).
    let raw = unsafe { obmalloc::object_alloc(layout) };
    let Some(raw) = NonNull::new(raw.cast::<GcBox<T>>()) else { std::alloc::handle_alloc_error(layout) };
    let list: *const ObjList = if T::TRACKED { list_for_this_thread() } else { std::ptr::null() };
    let header = Header {
        rc: RefCount::new(att.tid()),
        flags: AtomicU32::new(0),
        weak: AtomicUsize::new(1),
        info: &InfoFor::<T>::INFO,
        list: std::sync::atomic::AtomicPtr::new(list as *mut ObjList),
        index: AtomicUsize::new(0),
        gc_refs: AtomicIsize::new(0),
    };
    // SAFETY: a fresh block of GcBox<T>'s layout.
    unsafe { raw.as_ptr().write(GcBox { header, value }) };
    crate::tools::on_alloc(raw.as_ptr() as usize, layout.size(), std::panic::Location::caller());
    if T::TRACKED {
        // SAFETY: `list` is this thread's list (alive: the thread's state
        // holds it) or the global orphan list; the object is live and new.
        unsafe { (*list).push(ObjPtr(raw.cast())) };
    }
    crate::collect::stats::note_birth();
    drop(att);
    raw
}

/// Acts on the result of a decrement.
///
/// # Safety
/// `p` is allocated; `d` came from a decrement of its count by the caller,
/// which gives up the reference it dropped.
#[inline]
pub(crate) unsafe fn release(p: ObjPtr, d: Dec) {
    match d {
        Dec::Alive => {}
        // SAFETY: the caller's contract.
        Dec::Queue => unsafe { queue_to_owner(p) },
        // SAFETY: the count is zero: the caller owns the death.
        Dec::Dealloc => unsafe { dealloc(p) },
    }
}

/// Hands the reference a non-owner gave up to the owner's merge queue (or
/// merges it here if the owner has exited).
///
/// # Safety
/// `p` is allocated and its state is QUEUED by the caller's decrement,
/// whose reference this call consumes.
#[cold]
unsafe fn queue_to_owner(p: ObjPtr) {
    // SAFETY: the queued reference keeps the block.
    let h = unsafe { p.header() };
    let tid = h.rc.owner();
    if tid == NO_OWNER {
        // The owner merged concurrently: an ordinary shared decrement.
        let d = h.rc.decref_shared();
        // SAFETY: our reference, released.
        unsafe { release(p, d) };
        return;
    }
    let owner = runtime().threads.lock().get(&tid).cloned();
    let pushed = match owner {
        Some(ts) => match ts.queue.push(p) {
            Ok(()) => {
                ts.breaker.fetch_or(crate::world::MERGE_BIT, Release);
                true
            }
            Err(_) => false,
        },
        None => false,
    };
    if !pushed {
        // The owner exited: its last write to `local` happened before it
        // closed its queue or left the table (both under a lock we took).
        let d = h.rc.explicit_merge(-1);
        if d == Dec::Dealloc {
            // SAFETY: the count is zero.
            unsafe { dealloc(p) };
        }
    }
}

/// This thread's list, or the orphan list for a thread without one.
fn list_for_this_thread() -> *const ObjList {
    let l = thread::my_list();
    if l.is_null() {
        &runtime().orphans as *const ObjList
    } else {
        l
    }
}

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static TRASH: RefCell<Vec<ObjPtr>> = const { RefCell::new(Vec::new()) };
}

/// Deallocations nested deeper than this wait for the outermost one.
const TRASHCAN_DEPTH: usize = 50;

/// The count of `p` reached zero: finalize, clear weak handles, drop,
/// free. Nested calls past [`TRASHCAN_DEPTH`] are queued and run by the
/// outermost, so a chain of any length frees with constant stack.
///
/// # Safety
/// `p` is allocated, its count is zero and the caller owns its death
/// (a `Dec::Dealloc`, or the collector's release of its last hold).
pub(crate) unsafe fn dealloc(p: ObjPtr) {
    // The collector must never see an object whose death began: it leaves
    // its list first (its children keep the counts it holds on them, so
    // they look referenced from outside, which is safe), also while it
    // waits in the trashcan.
    // SAFETY: allocated (caller).
    unsafe { unregister(p) };
    let depth = DEPTH.try_with(Cell::get).unwrap_or(0);
    if depth >= TRASHCAN_DEPTH && TRASH.try_with(|t| t.borrow_mut().push(p)).is_ok() {
        return;
    }
    let _ = DEPTH.try_with(|d| d.set(depth + 1));
    let mut first_panic = None;
    let one = std::panic::AssertUnwindSafe(|| {
        // SAFETY: the caller's contract.
        unsafe { dealloc_one(p) }
    });
    if let Err(e) = std::panic::catch_unwind(one) {
        first_panic = Some(e);
    }
    if depth == 0 {
        while let Some(q) = TRASH.try_with(|t| t.borrow_mut().pop()).ok().flatten() {
            let one = std::panic::AssertUnwindSafe(|| {
                // SAFETY: queued by a nested call that owned q's death.
                unsafe { dealloc_one(q) }
            });
            if let Err(e) = std::panic::catch_unwind(one) {
                first_panic.get_or_insert(e);
            }
        }
    }
    let _ = DEPTH.try_with(|d| d.set(depth));
    if let Some(e) = first_panic {
        // A value's Drop panicked; every block was still freed. Resume it
        // unless that would abort (already unwinding).
        if !std::thread::panicking() {
            std::panic::resume_unwind(e);
        }
    }
}

/// # Safety
/// As [`dealloc`].
unsafe fn dealloc_one(p: ObjPtr) {
    // SAFETY: allocated (caller).
    let h = unsafe { p.header() };
    let info = h.info;
    if info.has_finalizer && !h.has(CLEARED) && !h.set(FINALIZED) {
        // PEP 442 at count zero: the finalizer runs with the object held,
        // so weak handles upgrade and it may resurrect.
        h.rc.revive();
        crate::collect::user_code::guarded("finalizer", (info.name)(), || {
            // SAFETY: intact value, and we hold the revived reference.
            unsafe { (info.finalize)(p) }
        });
        let att = thread::attach();
        let d = h.rc.decref(att.tid());
        drop(att);
        if d == Dec::Alive && info.tracked {
            // Resurrected: into this thread's list (the one it left may be
            // gone), visible to the collector again.
            // SAFETY: alive (the finalizer kept a reference), unregistered,
            // and its death was ours; this thread's list (or the orphan
            // list) is alive.
            unsafe { (*list_for_this_thread()).push(p) };
        }
        // Dead again (FINALIZED now set, so this proceeds) or resurrected.
        // SAFETY: the revived reference was ours.
        unsafe { release(p, d) };
        return;
    }
    if h.has(HAS_WEAK) {
        h.set(WEAK_DEAD);
        weak_table::fire(p);
    }
    if !h.set(CLEARED) {
        if info.tracked {
            crate::collect::schedule::note_death();
        }
        struct Free(ObjPtr);
        impl Drop for Free {
            fn drop(&mut self) {
                // SAFETY: the strong side's weak reference, given up once.
                unsafe { release_weak(self.0) }
            }
        }
        let _free = Free(p);
        // SAFETY: CLEARED was ours to set: nobody else drops the value.
        unsafe { (info.drop_value)(p) };
    } else {
        // Cleared by the collector, which dropped the value already.
        // SAFETY: the strong side's weak reference, given up once.
        unsafe { release_weak(p) };
    }
    crate::collect::stats::note_free();
}

/// Takes `p` out of its list, if it is in one.
///
/// # Safety
/// `p` is allocated.
pub(crate) unsafe fn unregister(p: ObjPtr) {
    // SAFETY: allocated (caller).
    let h = unsafe { p.header() };
    if h.has(REGISTERED) {
        // SAFETY: a registered object's list is alive (lists are dropped
        // only when empty).
        unsafe { (*h.list()).remove(p) };
    }
}

/// Gives up one weak reference; frees the block with the last.
///
/// # Safety
/// The caller owns one weak reference of `p` (a `Weak`, or the strong
/// side's) and does not use `p` afterwards.
pub(crate) unsafe fn release_weak(p: ObjPtr) {
    // SAFETY: our weak reference keeps the block.
    let h = unsafe { p.header() };
    if h.weak.fetch_sub(1, Release) == 1 {
        // Acquire by a load, not a fence (see `RefCount::decref_shared`):
        // the same order, and visible to ThreadSanitizer.
        let _ = h.weak.load(Acquire);
        let layout = h.info.layout;
        crate::tools::on_free(p.addr());
        // SAFETY: the last reference of any kind: nobody reads the block
        // again; it came from object_alloc with this layout.
        unsafe { obmalloc::object_dealloc(p.0.as_ptr().cast(), layout) };
    }
}
