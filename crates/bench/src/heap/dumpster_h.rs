//! dumpster 2.1.0 (unsync): `Gc<dyn Trait>` through `coerce_gc!`, and its
//! `Gc<str>` / `Gc<[T]>` constructors.

use dumpster::{TraceWith, Visitor};
use std::cell::RefCell;

type P<T> = dumpster::unsync::Gc<T>;
type C<T> = RefCell<T>;

super::dyn_workloads!(dumpster::Trace;);
super::unsized_workloads!();

// dumpster's derive builds `self.field` from the field's span, which does
// not resolve inside a `macro_rules!` expansion; the impls are by hand.

// SAFETY: visits the one field that can hold a `Gc`.
unsafe impl<V: Visitor> TraceWith<V> for Linked {
    fn accept(&self, visitor: &mut V) -> Result<(), ()> {
        self.next.accept(visitor)
    }
}

// SAFETY: holds no `Gc`.
unsafe impl<V: Visitor> TraceWith<V> for Square {
    fn accept(&self, _: &mut V) -> Result<(), ()> {
        Ok(())
    }
}

/// What malloc may keep counted as in use after the frees (its thread cache).
const SLACK: usize = 64 << 10;

fn to_dyn<T: Shape + 'static>(p: P<T>) -> P<dyn Shape> {
    dumpster::unsync::coerce_gc!(p)
}

fn collect() {
    dumpster::unsync::collect();
}

fn live_bytes() -> usize {
    super::malloc_in_use()
}

/// The body `id`, if dumpster has it.
pub(super) fn body(id: &str) -> Option<super::Body> {
    dyn_body(id).or_else(|| unsized_body(id))
}
