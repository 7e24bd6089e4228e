//! bacon_rajan_cc 0.4.0: `Cc<T>` + `RefCell`, synchronous Bacon–Rajan,
//! manual collection. No derive: the impls are by hand.

use bacon_rajan_cc::{Trace, Tracer};
use std::cell::RefCell;

type P<T> = bacon_rajan_cc::Cc<T>;
type C<T> = RefCell<T>;

super::define_nodes!();

impl Trace for super::Tally {
    fn trace(&self, _: &mut Tracer) {}
}

macro_rules! manual {
    ($t:ident, [$($f:ident),*]) => {
        impl Trace for $t {
            fn trace(&self, _tracer: &mut Tracer) {
                $( self.$f.trace(_tracer); )*
            }
        }
    };
}

manual!(Tree, [left, right]);
manual!(PTree, [parent, left, right]);
manual!(ListNode, [next, prev]);
manual!(GNode, [edges]);
manual!(P0, []);
manual!(P8, []);
manual!(P48, []);

fn collect() {
    bacon_rajan_cc::collect_cycles();
}
fn collect_young() {
    bacon_rajan_cc::collect_cycles();
}
fn prepare_auto() {}
fn obj_bytes<T: Obj>(_: &P<T>) -> Option<usize> {
    None
}

/// What the generic helpers need of a value type.
trait Obj: bacon_rajan_cc::Trace + 'static {}
impl<T: bacon_rajan_cc::Trace + 'static> Obj for T {}

super::gc_workloads!();
