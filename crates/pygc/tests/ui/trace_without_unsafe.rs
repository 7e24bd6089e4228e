// A hand-written Trace must be an `unsafe impl`: the collector trusts it.
use pygc::{Gc, Trace, Visitor};

struct Pair(Gc<u32>, Gc<u32>);

impl Trace for Pair {
    fn trace<V: Visitor>(&self, v: &mut V) {
        v.visit_gc(&self.0);
        v.visit_gc(&self.1);
    }
}

fn main() {}
