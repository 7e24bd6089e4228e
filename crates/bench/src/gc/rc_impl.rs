//! `std::rc::Rc` + `RefCell`: the no-collector baseline (acyclic work).

use std::cell::RefCell;

type P<T> = std::rc::Rc<T>;
type C<T> = RefCell<T>;

super::define_nodes!();

fn collect() {}
fn collect_young() {}
fn prepare_auto() {}
fn obj_bytes<T: Obj>(_: &P<T>) -> Option<usize> {
    None
}

/// What the generic helpers need of a value type.
trait Obj: 'static {}
impl<T: 'static> Obj for T {}

super::gc_workloads!();
