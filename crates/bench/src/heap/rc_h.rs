//! `std::rc::Rc` + `RefCell`: `Rc<dyn Trait>`, `Rc<str>`, `Rc<[T]>` (no
//! cycle collection).

use std::cell::RefCell;

type P<T> = std::rc::Rc<T>;
type C<T> = RefCell<T>;

super::dyn_workloads!(;);
super::unsized_workloads!();

/// What malloc may keep counted as in use after the frees (its thread cache).
const SLACK: usize = 64 << 10;

fn to_dyn<T: Shape + 'static>(p: P<T>) -> P<dyn Shape> {
    p
}

fn collect() {}

fn live_bytes() -> usize {
    super::malloc_in_use()
}

/// The body `id`, if `Rc` has it.
pub(super) fn body(id: &str) -> Option<super::Body> {
    dyn_body(id).or_else(|| unsized_body(id))
}
