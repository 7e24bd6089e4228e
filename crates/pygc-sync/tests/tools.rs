//! tracemalloc over the shared heap: objects made on any thread while
//! tracing appear in snapshots at their `Gc::new` line, and leave the
//! traces when they are freed, by a drop on another thread or by the
//! collector.
#![cfg(all(feature = "tracemalloc", not(loom)))]

mod common;
use common::*;
use pygc_sync::tracemalloc::{self, KeyType, Snapshot, OBJECT_DOMAIN};
use pygc_sync::{gc, get_object_traceback, Gc};

/// The object-domain traces allocated at `line` of this file.
fn at_line(s: &Snapshot, line: u32) -> usize {
    s.traces()
        .iter()
        .filter(|t| t.domain == OBJECT_DOMAIN)
        .filter(|t| {
            let f = t.traceback.most_recent();
            f.lineno == line && f.filename.ends_with("tools.rs")
        })
        .count()
}

#[test]
fn objects_of_the_shared_heap_are_traced_and_untraced() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    let drops = counter();

    // Made on two threads: both show up at their line.
    let here: Vec<Gc<Node>> = (0..50).map(|i| node(i, drops)).collect();
    let (line_other, there) = std::thread::spawn(|| {
        let mut v = Vec::new();
        let mut line = 0;
        for i in 0..30u64 {
            let (l, g) = (line!(), Gc::new(i));
            line = l;
            v.push(g);
        }
        (line, v)
    })
    .join()
    .unwrap();
    let s = tracemalloc::take_snapshot().unwrap();
    // `node` calls Gc::new in common/mod.rs: that is its first frame.
    let in_common = s
        .traces()
        .iter()
        .filter(|t| {
            t.domain == OBJECT_DOMAIN && t.traceback.most_recent().filename.ends_with("common/mod.rs")
        })
        .count();
    assert_eq!(in_common, 50, "the Node objects, at node()'s Gc::new");
    assert_eq!(at_line(&s, line_other), 30);
    let tb = get_object_traceback(&there[0]).expect("traced");
    assert!(tb.to_string().ends_with(&format!("tools.rs:{line_other}")), "{tb}");
    let stats = s.statistics(KeyType::Lineno, false).unwrap();
    assert!(
        stats.iter().any(|st| st.count == 30 && st.traceback.most_recent().lineno == line_other),
        "statistics group the other thread's objects by line"
    );

    // Freed by drops on another thread: gone from the traces.
    std::thread::spawn(move || drop(there)).join().unwrap();
    let s = tracemalloc::take_snapshot().unwrap();
    assert_eq!(at_line(&s, line_other), 0, "freed objects leave the traces");

    // Freed by the collector: a cycle through every node.
    for w in here.windows(2) {
        link(&w[0], &w[1]);
    }
    link(&here[49], &here[0]);
    drop(here);
    assert!(collect_all() >= 50);
    assert_eq!(load(drops), 50);
    let s = tracemalloc::take_snapshot().unwrap();
    let in_common = s
        .traces()
        .iter()
        .filter(|t| {
            t.domain == OBJECT_DOMAIN && t.traceback.most_recent().filename.ends_with("common/mod.rs")
        })
        .count();
    assert_eq!(in_common, 0, "collected objects leave the traces");
    tracemalloc::stop();

    // Not tracing: nothing recorded.
    let late = Gc::new(1u64);
    assert!(get_object_traceback(&late).is_none());
    let _ = gc::collect();
}
