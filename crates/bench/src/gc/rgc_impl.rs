//! gc (rust-gc) 0.5.1: `Gc<T>` + `GcCell`, mark-sweep, automatic trigger.
#![allow(non_local_definitions)] // gc_derive wraps its impls in a const

use gc::{Finalize, GcCell, Trace};

type P<T> = gc::Gc<T>;
type C<T> = GcCell<T>;

impl Finalize for super::Tally {}
// SAFETY: `Tally` holds no `Gc`.
unsafe impl Trace for super::Tally {
    gc::unsafe_empty_trace!();
}

super::define_nodes!(#[derive(Trace, Finalize)]);

fn collect() {
    gc::force_collect();
}
fn collect_young() {
    gc::force_collect();
}
fn prepare_auto() {}
fn obj_bytes<T: Obj>(_: &P<T>) -> Option<usize> {
    None
}

/// What the generic helpers need of a value type.
trait Obj: gc::Trace + 'static {}
impl<T: gc::Trace + 'static> Obj for T {}

super::gc_workloads!();
