//! tracemalloc's object domain: pygc objects traced at their `Gc::new` site.

use pygc::{gc, sys, tracemalloc, Gc, GcCell, Trace};

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
    payload: [u64; 4],
}

#[test]
fn statistics_count_objects_at_their_allocation_line() {
    // One test owns the global tracer (tracing is process-wide).
    assert!(!tracemalloc::is_tracing());
    let before = Gc::new(1u64);
    tracemalloc::start(1).unwrap();
    let line = line!() + 1;
    let make = || Gc::new(Node { next: GcCell::new(None), payload: [0; 4] });
    let nodes: Vec<Gc<Node>> = (0..100).map(|_| make()).collect();
    let block = sys::getsizeof(&nodes[0]);

    let tb = tracemalloc::get_object_traceback(&nodes[7]).expect("allocated while tracing");
    assert!(tb.to_string().ends_with(&format!("tests/tracemalloc_objects.rs:{line}")), "{tb}");
    assert!(tracemalloc::get_object_traceback(&before).is_none(), "allocated before start()");

    let snapshot = tracemalloc::take_snapshot().unwrap();
    let filtered =
        snapshot.filter_traces(&[tracemalloc::DomainFilter::new(true, tracemalloc::OBJECT_DOMAIN)]);
    let stats = filtered.statistics("lineno", false).unwrap();
    let ours = stats
        .iter()
        .find(|s| s.traceback.to_string().ends_with(&format!(":{line}")))
        .expect("the loop's line");
    assert_eq!(ours.count, 100);
    assert_eq!(ours.size, 100 * block as u64);

    // Freed objects leave the traces, including those freed by the collector.
    for n in &nodes {
        *n.next.borrow_mut() = Some(n.clone());
    }
    drop(nodes);
    assert_eq!(gc::collect(), 100);
    let after = tracemalloc::take_snapshot().unwrap();
    let left = after.statistics("lineno", false).unwrap();
    assert!(left.iter().all(|s| !s.traceback.to_string().ends_with(&format!(":{line}"))));
    tracemalloc::stop();
    assert!(tracemalloc::take_snapshot().is_err());
}
