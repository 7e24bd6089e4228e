//! The `Trace` contract: how the collector sees the handles inside a value.

use super::handle::Gc;
use super::weak::Weak;

/// Reports the [`Gc`] handles a value owns, like CPython's `tp_traverse`.
///
/// Derive it with `#[derive(Trace)]`; write it by hand only for containers.
/// The trait is **safe**: an implementation that lies cannot cause undefined
/// behaviour. Skipping a handle makes the objects it reaches look externally
/// referenced, so a cycle through it leaks. Reporting a handle the value does
/// not own (or one twice) can make the collector clear an object that is still
/// in use; every later access through a handle then panics with "object of
/// type … was cleared by the garbage collector" instead of reading freed
/// memory, and the collector aborts (keeping everything) when its count
/// arithmetic goes negative.
///
/// ```
/// use pygc::{Gc, GcCell, Trace};
///
/// #[derive(Trace)]
/// struct Node {
///     name: String,
///     next: GcCell<Option<Gc<Node>>>,
/// }
///
/// let a = Gc::new(Node { name: "a".into(), next: GcCell::new(None) });
/// *a.next.borrow_mut() = Some(a.clone()); // a cycle
/// drop(a);
/// assert_eq!(pygc::gc::collect(), 1);
/// ```
pub trait Trace {
    /// Whether values of this type can hold a [`Gc`]. Types that cannot are
    /// *untracked*: a 16-byte header instead of 32, and the collector never
    /// visits them (CPython does the same for `int` and `str`).
    const TRACKED: bool = true;

    /// Whether the handles a value holds are fixed once it is built (no
    /// `GcCell`, `RefCell` or other interior mutability reaching a `Gc`).
    /// Such a value can only point at objects older than itself, so once
    /// everything it points at is untracked it can never be part of a cycle,
    /// and a collection untracks it, as CPython untracks tuples. The derive
    /// computes it; hand-written impls default to `false`. A wrong `true`
    /// can only make a cycle leak.
    const FROZEN: bool = false;

    /// Whether [`Trace::finalize`] does something; set by
    /// `#[pygc(finalize)]`.
    const HAS_FINALIZER: bool = false;

    /// A legacy finalizer (CPython's `tp_del`): the collector never frees a
    /// cycle that holds one; it goes to [`crate::gc::garbage`] instead.
    const LEGACY_FINALIZER: bool = false;

    /// Calls `v.visit_gc` (usually through `Trace::trace` of each field) for
    /// every `Gc` the value owns.
    fn trace<V: Visitor>(&self, v: &mut V);

    /// The PEP 442 finalizer: called exactly once per object, before anything
    /// in its garbage cycle is cleared, while all of the cycle is intact. It
    /// may resurrect the object by storing a handle somewhere reachable.
    fn finalize(&self) {}
}

/// A finalizer, separate from `Drop` (which runs when the value is cleared).
///
/// Used with `#[derive(Trace)]` and `#[pygc(finalize)]`:
///
/// ```
/// use pygc::{Finalize, Gc, Trace};
/// use std::cell::Cell;
///
/// thread_local!(static RAN: Cell<u32> = Cell::new(0));
///
/// #[derive(Trace)]
/// #[pygc(finalize)]
/// struct Resource { id: u32 }
///
/// impl Finalize for Resource {
///     fn finalize(&self) { RAN.with(|r| r.set(r.get() + 1)); }
/// }
///
/// drop(Gc::new(Resource { id: 1 }));
/// assert_eq!(RAN.with(|r| r.get()), 1);
/// ```
pub trait Finalize {
    /// Runs once per object; see [`Trace::finalize`].
    fn finalize(&self);
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// What a [`Trace`] implementation reports to. Implemented only by pygc's
/// own visitors (the trait is sealed); you call its methods.
pub trait Visitor: sealed::Sealed + Sized {
    /// Reports one strong handle owned by the value being traced.
    fn visit_gc<T: Trace + 'static>(&mut self, gc: &Gc<T>);

    /// Reports one weak handle (it keeps nothing alive; objgraph draws it
    /// dashed, and the collector uses it to decide which weakref callbacks
    /// belong to garbage).
    fn visit_weak<T: Trace + 'static>(&mut self, weak: &Weak<T>);

    /// Reports that part of the value could not be traced right now (a
    /// [`crate::GcCell`] mutably borrowed during the collection). The
    /// collector then keeps what it would have reached.
    fn untraceable(&mut self) {}

    /// Traces a named field; the name labels the edge in objgraph's graphs.
    #[inline]
    fn field(&mut self, name: &'static str, f: impl FnOnce(&mut Self)) {
        let _ = name;
        f(self)
    }

    /// Traces the element at `index` of a sequence.
    #[inline]
    fn index(&mut self, index: usize, f: impl FnOnce(&mut Self)) {
        let _ = index;
        f(self)
    }
}
