//! The tools over the shared heap. tracemalloc: objects made on any
//! thread while tracing appear in snapshots at their `Gc::new` line, and
//! leave the traces when they are freed, by a drop on another thread or by
//! the collector. objgraph's census: counts, type stats and the
//! most-common-types table see objects of every thread.
#![cfg(not(loom))]

mod common;
use common::*;
use pygc_sync::Gc;
#[cfg(feature = "tracemalloc")]
use pygc_sync::{
    gc, get_object_traceback,
    tracemalloc::{self, KeyType, Snapshot, OBJECT_DOMAIN},
};

/// The object-domain traces allocated at `line` of this file.
#[cfg(feature = "tracemalloc")]
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

#[cfg(feature = "tracemalloc")]
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
    .join_detached();
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
    std::thread::spawn(move || drop(there)).join_detached();
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

pygc_sync::sync_trace! {
    /// A type of this test only, to count.
    struct Census {
        next: pygc_sync::GcMutex<Option<Gc<Census>>>,
    }
}

#[test]
fn objgraph_census_counts_objects_made_on_every_thread() {
    let _s = serial();
    let before = pygc_sync::objgraph::count("Census");
    let mine: Vec<Gc<Census>> =
        (0..7).map(|_| Gc::new(Census { next: pygc_sync::GcMutex::new(None) })).collect();
    let theirs: Vec<Gc<Census>> = std::thread::spawn(|| {
        (0..5).map(|_| Gc::new(Census { next: pygc_sync::GcMutex::new(None) })).collect()
    })
    .join_detached();
    assert_eq!(pygc_sync::objgraph::count("Census") - before, 12);
    let full = std::any::type_name::<Census>();
    assert_eq!(pygc_sync::objgraph::count(full) - before, 12, "a full path matches full names");
    let stats = pygc_sync::objgraph::typestats(true);
    assert_eq!(stats.iter().filter(|r| r.0 == "Census").map(|r| r.1).sum::<usize>() - before, 12);
    let top = pygc_sync::objgraph::most_common_types(None);
    assert!(top.windows(2).all(|w| w[0].1 >= w[1].1), "sorted by count");
    let mut out = Vec::new();
    pygc_sync::objgraph::show_most_common_types_to(&mut out, None).unwrap();
    let text = String::from_utf8(out).unwrap();
    let width = top.iter().map(|r| r.0.len()).max().unwrap();
    let line = text.lines().find(|l| l.starts_with("Census ")).expect("a Census line");
    assert_eq!(line, format!("{:<width$} {}", "Census", before + 12));
    drop((mine, theirs));
    assert_eq!(pygc_sync::objgraph::count("Census"), before);
}
