//! rust-cc 0.6.2: `Cc<T>` + `RefCell`, candidate buffer, automatic trigger.

use rust_cc::{Context, Finalize, Trace};
use std::cell::RefCell;

type P<T> = rust_cc::Cc<T>;
type C<T> = RefCell<T>;

// SAFETY: `Tally` holds no `Cc`.
unsafe impl Trace for super::Tally {
    fn trace(&self, _: &mut Context<'_>) {}
}
impl Finalize for super::Tally {}

super::define_nodes!(#[derive(Trace, Finalize)]);

fn collect() {
    rust_cc::collect_cycles();
}
fn collect_young() {
    rust_cc::collect_cycles();
}
fn prepare_auto() {}
fn obj_bytes<T: Obj>(_: &P<T>) -> Option<usize> {
    None
}

/// What the generic helpers need of a value type.
trait Obj: rust_cc::Trace + 'static {}
impl<T: rust_cc::Trace + 'static> Obj for T {}

super::gc_workloads!();
