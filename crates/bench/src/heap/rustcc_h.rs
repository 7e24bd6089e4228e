//! rust-cc 0.6.2: `Cc<dyn Trait>`, which needs rust-cc's `nightly` feature
//! (`CoercePointee`) and so the nightly toolchain (this crate's feature
//! `rustcc-nightly`). rust-cc has no `Cc<str>` / `Cc<[T]>` constructors.

use rust_cc::{Finalize, Trace};
use std::cell::RefCell;

type P<T> = rust_cc::Cc<T>;
type C<T> = RefCell<T>;

super::dyn_workloads!(rust_cc::Trace; #[derive(Trace, Finalize)]);

fn to_dyn<T: Shape + 'static>(p: P<T>) -> P<dyn Shape> {
    p
}

fn collect() {
    rust_cc::collect_cycles();
}

/// The body `id`, if rust-cc has it.
pub(super) fn body(id: &str) -> Option<super::Body> {
    dyn_body(id)
}
