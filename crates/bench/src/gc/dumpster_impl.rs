//! dumpster 2.1.0 (unsync): `Gc<T>` + `RefCell`, dirty-set DFS, automatic trigger.

use dumpster::{TraceWith, Visitor};
use std::cell::RefCell;

type P<T> = dumpster::unsync::Gc<T>;
type C<T> = RefCell<T>;

// SAFETY: `Tally` holds no `Gc`.
unsafe impl<V: Visitor> TraceWith<V> for super::Tally {
    fn accept(&self, _: &mut V) -> Result<(), ()> {
        Ok(())
    }
}

// dumpster's derive builds `self.field` from the field's span, which does
// not resolve inside a `macro_rules!` expansion; the impls are by hand.
super::define_nodes!();

macro_rules! manual {
    ($t:ident, [$($f:ident),*]) => {
        // SAFETY: visits every field that can hold a `Gc`, in a fixed order.
        unsafe impl<V: Visitor> TraceWith<V> for $t {
            fn accept(&self, _visitor: &mut V) -> Result<(), ()> {
                $( self.$f.accept(_visitor)?; )*
                Ok(())
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
    dumpster::unsync::collect();
}
fn collect_young() {
    dumpster::unsync::collect();
}
fn prepare_auto() {}
fn obj_bytes<T: Obj>(_: &P<T>) -> Option<usize> {
    None
}

/// What the generic helpers need of a value type.
trait Obj: dumpster::Trace + 'static {}
impl<T: dumpster::Trace + 'static> Obj for T {}

super::gc_workloads!();
