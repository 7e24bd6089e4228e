//! pygc: `Gc<T>` + `GcCell`, CPython's generational collector.

use pygc::{gc, GcCell, Trace, Visitor};

type P<T> = pygc::Gc<T>;
type C<T> = GcCell<T>;

// SAFETY: a tally holds no handle (TRACKED = false) and reports none.
unsafe impl Trace for super::Tally {
    const TRACKED: bool = false;
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

super::define_nodes!(#[derive(Trace)]);

/// `gc.collect()`: a full collection.
fn collect() {
    gc::collect();
}

/// `gc.collect(0)`: the young generation, where new garbage is.
fn collect_young() {
    let _ = gc::collect_generation(0);
}

/// CPython's defaults (700, 10, 10), enabled.
fn prepare_auto() {
    gc::enable();
    let _ = gc::set_threshold(700, 10, 10);
}

/// pygc's blocks come from obmalloc, not the global allocator: count the
/// block (header + value, what `sys.getsizeof` reports) in its 16-B class.
fn obj_bytes<T: Obj>(p: &P<T>) -> Option<usize> {
    Some(super::size_class(pygc::sys::getsizeof(p)))
}

/// What the generic helpers need of a value type.
trait Obj: pygc::Trace + 'static {}
impl<T: pygc::Trace + 'static> Obj for T {}

super::gc_workloads!();

thread_local! {
    static NOAUTO_BODY: std::cell::Cell<Option<super::Body>> = const { std::cell::Cell::new(None) };
}

/// The same work with automatic collection off (`gc.disable()`), to show
/// what the automatic young collections cost on acyclic work.
pub(crate) fn body_noauto(workload: &str) -> Option<super::Body> {
    let inner = body(workload)?;
    NOAUTO_BODY.with(|b| b.set(Some(inner)));
    Some(|| {
        gc::disable();
        let inner = NOAUTO_BODY.with(|b| b.get()).ok_or("no body")?;
        inner()
    })
}
