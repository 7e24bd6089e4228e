//! gcmodule 0.3.3: `Cc<T>` + `RefCell`, CPython 3.8's algorithm on one
//! list, manual collection. Its derive cannot express recursive types
//! (`is_type_tracked` would recurse forever), so the impls are by hand, as
//! its documentation asks.

use gcmodule::{Trace, Tracer};
use std::cell::RefCell;

type P<T> = gcmodule::Cc<T>;
type C<T> = RefCell<T>;

super::define_nodes!();

impl Trace for super::Tally {
    fn is_type_tracked() -> bool {
        false
    }
}

macro_rules! manual {
    ($t:ident, tracked: $tracked:expr, [$($f:ident),*]) => {
        impl Trace for $t {
            fn trace(&self, _tracer: &mut Tracer) {
                $( self.$f.trace(_tracer); )*
            }
            fn is_type_tracked() -> bool {
                $tracked
            }
        }
    };
}

manual!(Tree, tracked: true, [left, right]);
manual!(PTree, tracked: true, [parent, left, right]);
manual!(ListNode, tracked: true, [next, prev]);
manual!(GNode, tracked: true, [edges]);
manual!(P0, tracked: false, []);
manual!(P8, tracked: false, []);
manual!(P48, tracked: false, []);

fn collect() {
    gcmodule::collect_thread_cycles();
}
fn collect_young() {
    gcmodule::collect_thread_cycles();
}
fn prepare_auto() {}
fn obj_bytes<T: Obj>(_: &P<T>) -> Option<usize> {
    None
}

/// What the generic helpers need of a value type.
trait Obj: gcmodule::Trace + 'static {}
impl<T: gcmodule::Trace + 'static> Obj for T {}

super::gc_workloads!();
