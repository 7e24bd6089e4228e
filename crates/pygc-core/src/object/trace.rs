//! The `Trace` contract: how the collector sees the handles inside a value.

use crate::handle::gc::Gc;
use crate::handle::pointee::GcPointee;
use crate::handle::weak::Weak;

/// Reports the [`Gc`] handles a value owns, like CPython's `tp_traverse`.
///
/// Derive it with `#[derive(Trace)]`, which writes the `unsafe impl` for you:
/// derive users write no `unsafe`. Write it by hand only for containers.
///
/// # Safety
///
/// The collector trusts what `trace` reports to decide which objects are
/// garbage and drop their values; a `&T` borrowed from a handle is only valid
/// while the value is not dropped. An implementation must therefore:
///
/// 1. report **exactly** the [`Gc`] handles the value owns (through
///    [`Visitor::visit_gc`], directly or through the fields' own `trace`),
///    each once: never a handle the value does not own, never a temporary;
/// 2. report the **same** handles on every call while the value is
///    unchanged: the collector traces an object several times in one
///    collection and a handle reported in one pass and not the next can get
///    a live object cleared;
/// 3. **not touch the heap**: no [`Gc::new`], no clone or drop of a handle,
///    no mutation of a [`crate::GcCell`], no call into [`crate::gc`].
///
/// Skipping a handle is always safe: a cycle through it leaks. The
/// `TRACKED`, `FROZEN` and `SEND` constants carry their own obligations
/// (below).
///
/// pygc checks what it cheaply can even so (defence in depth): counts that
/// the reported edges would take below zero make the collection keep
/// everything, a panic in `trace` abandons the phase, gc functions that would
/// change the generation lists panic when called from `trace`, and every
/// object is pinned before user code runs. Those checks turn the common
/// mistakes into leaks or panics; they cannot catch every lie, which is why
/// the trait is `unsafe`.
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
///
/// A hand-written container:
///
/// ```
/// use pygc::{Gc, Trace, Visitor};
///
/// struct Pair(Gc<u32>, Gc<u32>);
///
/// // SAFETY: reports exactly the two handles the pair owns, the same ones
/// // every time, and touches nothing else.
/// unsafe impl Trace for Pair {
///     fn trace<V: Visitor>(&self, v: &mut V) {
///         v.visit_gc(&self.0);
///         v.visit_gc(&self.1);
///     }
/// }
/// # drop(Gc::new(Pair(Gc::new(1), Gc::new(2))));
/// ```
pub unsafe trait Trace {
    /// Whether values of this type can hold a [`Gc`]. Types that cannot are
    /// *untracked*: a 16-byte header instead of 32, and the collector never
    /// visits them (CPython does the same for `int` and `str`). `false` is a
    /// promise that `trace` never reports a strong handle.
    const TRACKED: bool = true;

    /// Whether values of this type can hold a [`Weak`] (alone or in an
    /// ephemeron). Containers skip their elements when these can hold
    /// neither kind of handle; a weak handle left unreported only loses its
    /// dashed edge in objgraph and makes [`Heap::into_send`](crate::Heap::into_send)
    /// refuse. The derive computes it; hand-written impls default to
    /// `false`.
    const HOLDS_WEAK: bool = false;

    /// Whether the handles a value holds are fixed once it is built (no
    /// `GcCell`, `RefCell` or other interior mutability reaching a `Gc`).
    /// Such a value can only point at objects older than itself, so once
    /// everything it points at is untracked it can never be part of a cycle,
    /// and it is never linked into a generation, as CPython untracks tuples.
    /// The derive computes it; hand-written impls default to `false`, or to
    /// `true` when they say `TRACKED = false` (a value with no strong
    /// handle has none that can change). A wrong `true` can only make a
    /// cycle leak.
    const FROZEN: bool = !Self::TRACKED;

    /// Whether a value of this type may move to another thread *together
    /// with every object of its heap* ([`Heap::into_send`](crate::Heap::into_send)):
    /// true when the type is `Send` once its pygc handles are left out
    /// (handles are `!Send` one by one, but a heap handed over as a whole
    /// takes all of them along, and the hand-over checks each target).
    /// The derive computes it from the fields (`#[pygc(skip)]` fields make
    /// it `false` unless marked `#[pygc(skip, send)]`, which requires them
    /// to be `Send`); hand-written impls default to `false`, which only
    /// makes the hand-over refuse. A wrong `true` lets a `!Send` value
    /// reach another thread: it is part of this trait's `unsafe` contract.
    const SEND: bool = false;

    /// Whether [`Trace::finalize`] does something; set by
    /// `#[pygc(finalize)]`.
    const HAS_FINALIZER: bool = false;

    /// A legacy finalizer (CPython's `tp_del`): the collector never frees a
    /// cycle that holds one; it goes to [`crate::gc::garbage`] instead.
    const LEGACY_FINALIZER: bool = false;

    /// Calls `v.visit_gc` (usually through `Trace::trace` of each field) for
    /// every `Gc` the value owns.
    fn trace<V: Visitor>(&self, v: &mut V);

    /// The name of this value's type as its users know it, when that is not
    /// the Rust type: an interpreter's instances are all one Rust type but
    /// many classes. objgraph counts and labels objects by it, and the
    /// `DEBUG_*` output prints it. `None` (the default) means the Rust type
    /// name. Derive it with `#[pygc(dynamic_type_name = method)]`.
    fn dynamic_type_name(&self) -> Option<&str> {
        None
    }

    /// Whether this value's finalizer has anything to do, asked (only for
    /// types with [`Trace::HAS_FINALIZER`]) before it would run: an
    /// interpreter whose instances are one Rust type answers whether the
    /// instance's class defines `__del__`, so that garbage without one skips
    /// the finalizer protocol and the resurrection check, as CPython skips
    /// types without `tp_finalize`. `false` means the finalizer is never
    /// called for the object (nor is it marked finalized). The same rules as
    /// `trace` apply: no touching the heap. A panic counts as `true`.
    /// Derived types answer through [`Finalize::needs_finalize`].
    fn needs_finalize(&self) -> bool {
        true
    }

    /// The PEP 442 finalizer (Python's `__del__`): called exactly once per
    /// object, with a handle to it, when its count reaches zero or before
    /// anything in its garbage cycle is cleared, while all of the cycle is
    /// intact. It may resurrect the object by keeping a clone of `this`
    /// somewhere reachable; weak references to it still upgrade during the
    /// call, as in CPython.
    fn finalize(this: &Gc<Self>)
    where
        Self: Sized + 'static,
    {
        let _ = this;
    }
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
///     fn finalize(this: &Gc<Self>) { RAN.with(|r| r.set(r.get() + this.id)); }
/// }
///
/// drop(Gc::new(Resource { id: 1 }));
/// assert_eq!(RAN.with(|r| r.get()), 1);
/// ```
pub trait Finalize: Trace + Sized + 'static {
    /// Runs once per object, with a handle to it; see [`Trace::finalize`].
    fn finalize(this: &Gc<Self>);

    /// Whether [`Finalize::finalize`] has anything to do for this value; see
    /// [`Trace::needs_finalize`].
    fn needs_finalize(&self) -> bool {
        true
    }
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// What a [`Trace`] implementation reports to. Implemented only by pygc's
/// own visitors (the trait is sealed); you call its methods.
pub trait Visitor: sealed::Sealed + Sized {
    /// Whether this visitor records edge labels ([`Visitor::field`],
    /// [`Visitor::index`], [`Visitor::attribute`]). Only the inspection
    /// visitor behind `labeled_referents` and objgraph's graphs does; the
    /// collector's passes do not. A `Trace` whose labels cost work to find
    /// (an interpreter looking attribute names up in its class) may skip
    /// that work when this is false, as long as it reports the same handles
    /// either way.
    const LABELS: bool = false;

    /// Reports one strong handle owned by the value being traced.
    fn visit_gc<T: ?Sized + GcPointee>(&mut self, gc: &Gc<T>);

    /// Reports one weak handle (it keeps nothing alive; objgraph draws it
    /// dashed, and the collector uses it to decide which weakref callbacks
    /// belong to garbage).
    fn visit_weak<T: ?Sized + GcPointee>(&mut self, weak: &Weak<T>);

    /// Reports an ephemeron: `value` is held strongly, but only for as long
    /// as `key` is alive (JavaScript's `WeakMap`): the collector treats the
    /// value as reachable only if the key is reachable from elsewhere, so a
    /// value that refers to its own key does not keep it alive. See
    /// [`EphemeronMap`](crate::EphemeronMap).
    fn visit_ephemeron<K: ?Sized + GcPointee, V: ?Sized + GcPointee>(&mut self, key: &Weak<K>, value: &Gc<V>);

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

    /// Traces a field whose name is known only at run time (an
    /// interpreter's instance attribute); the name labels the edge as
    /// [`Visitor::field`]'s does.
    #[inline]
    fn attribute(&mut self, name: &str, f: impl FnOnce(&mut Self)) {
        let _ = name;
        f(self)
    }
}
