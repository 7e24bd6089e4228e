//! Allocation and free hooks: how a tool (tracemalloc's object domain)
//! observes the heap without the heap depending on it. One process-wide
//! slot; the fast path is one relaxed load and a branch.

use std::panic::Location;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::object::header::{flags, Obj};

/// What an allocation hook is told about a new object.
#[derive(Clone, Copy, Debug)]
pub struct AllocEvent {
    /// The object's `id()`.
    pub id: usize,
    /// Bytes of its block, header included.
    pub size: usize,
    /// Where `Gc::new` was called (`#[track_caller]`).
    pub caller: &'static Location<'static>,
    /// The Rust type name.
    pub type_name: &'static str,
}

/// Functions a tool installs with [`set_object_hooks`]. They run inside
/// allocation and deallocation: they must not allocate pygc objects or drop
/// handles, and should be quick.
#[derive(Debug)]
pub struct ObjectHooks {
    /// Called after an object is allocated.
    pub on_alloc: fn(AllocEvent),
    /// Called before the block of an object `on_alloc` saw is freed, with
    /// its `id()`.
    pub on_free: fn(usize),
}

static HOOKS: AtomicPtr<ObjectHooks> = AtomicPtr::new(std::ptr::null_mut());

/// Installs (or with `None` removes) the process's object hooks. Objects
/// allocated while hooks are installed get their free reported to the hooks
/// installed when they are freed (none, if they were removed).
pub fn set_object_hooks(hooks: Option<&'static ObjectHooks>) {
    let p = hooks.map_or(std::ptr::null_mut(), |h| std::ptr::from_ref(h).cast_mut());
    HOOKS.store(p, Ordering::Release);
}

#[inline]
fn current() -> Option<&'static ObjectHooks> {
    let p = HOOKS.load(Ordering::Acquire);
    // SAFETY: the slot only ever holds null or a `&'static ObjectHooks`
    // (set_object_hooks), which lives forever.
    unsafe { p.as_ref() }
}

/// Reports a new object (flagging it so its free is reported too).
#[inline]
pub(crate) fn allocated(o: Obj<'_>, caller: &'static Location<'static>) {
    if let Some(h) = current() {
        allocated_slow(h, o, caller);
    }
}

#[cold]
#[inline(never)]
fn allocated_slow(h: &ObjectHooks, o: Obj<'_>, caller: &'static Location<'static>) {
    o.set_flag(flags::HOOKED);
    (h.on_alloc)(AllocEvent { id: o.id(), size: o.block_layout().size(), caller, type_name: o.type_name() });
}

/// Reports that a hooked object's block is about to be freed.
#[cold]
pub(crate) fn freed(o: Obj<'_>) {
    if let Some(h) = current() {
        (h.on_free)(o.id());
    }
}
