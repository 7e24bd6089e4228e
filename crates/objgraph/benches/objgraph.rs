//! objgraph on a heap of one million tracked objects.
//!
//! `cargo bench -p pygc --bench objgraph` (`-- --quick` for a short run).
//! The heap: a root `Vec` of 1000 `Bucket`s, each holding 999 `Node`s in a
//! `Vec`, each node pointing at the next one of its bucket: 1,000,001
//! tracked objects. `benches/objgraph_python.py` builds the same heap in
//! CPython and times objgraph 3.7 on it. Every benchmark checks its answer
//! before it is timed.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use pygc::objgraph::{self, CensusOptions, ChainOptions, GraphOptions};
use pygc::{gc, Gc, GcAny, GcCell, Trace};

#[derive(Trace)]
struct Node {
    value: u64,
    next: GcCell<Option<Gc<Node>>>,
}

#[derive(Trace)]
struct Bucket {
    items: GcCell<Vec<Gc<Node>>>,
}

const BUCKETS: usize = 1000;
const PER_BUCKET: usize = 999;

fn build() -> Gc<Vec<Gc<Bucket>>> {
    gc::disable();
    let mut buckets = Vec::with_capacity(BUCKETS);
    for b in 0..BUCKETS {
        let mut items: Vec<Gc<Node>> = Vec::with_capacity(PER_BUCKET);
        for i in 0..PER_BUCKET {
            let n = Gc::new(Node { value: (b * PER_BUCKET + i) as u64, next: GcCell::new(None) });
            if let Some(prev) = items.last() {
                *prev.next.borrow_mut() = Some(n.clone());
            }
            items.push(n);
        }
        buckets.push(Gc::new(Bucket { items: GcCell::new(items) }));
    }
    Gc::new(buckets)
}

fn benches(c: &mut Criterion) {
    let root = build();
    let tracked = gc::get_objects(None).unwrap().len();
    assert_eq!(tracked, BUCKETS * PER_BUCKET + BUCKETS + 1);
    // A node in the middle of a bucket in the middle of the heap.
    let target: GcAny = {
        let b = root[BUCKETS / 2].clone();
        let items = b.items.borrow();
        Gc::to_any(&items[PER_BUCKET / 2])
    };
    assert_eq!(target.clone().downcast::<Node>().ok().unwrap().value, 500 * 999 + 499);

    let mut g = c.benchmark_group("objgraph_1M");
    g.sample_size(10);

    let census = objgraph::typestats(&CensusOptions::default());
    assert_eq!(census.iter().map(|r| r.count).sum::<usize>(), tracked);
    g.bench_function("typestats (census)", |b| {
        b.iter(|| black_box(objgraph::typestats(&CensusOptions::default())))
    });
    g.bench_function("most_common_types by bytes", |b| {
        b.iter(|| {
            black_box(objgraph::most_common_types(
                Some(10),
                &CensusOptions { bytes: true, ..Default::default() },
            ))
        })
    });
    g.bench_function("count(\"Node\")", |b| {
        b.iter(|| assert_eq!(objgraph::count("Node", None), BUCKETS * PER_BUCKET))
    });

    let is_root = |o: &GcAny| o.is::<Vec<Gc<Bucket>>>();
    let no_collect = ChainOptions { collect: false, ..Default::default() };
    let chain = objgraph::find_backref_chain(&target, &is_root, &no_collect);
    assert_eq!(chain.len(), 3);
    drop(chain);
    g.bench_function("find_backref_chain (to the root, 3 levels)", |b| {
        b.iter(|| black_box(objgraph::find_backref_chain(&target, &is_root, &no_collect)))
    });

    let graph = objgraph::backrefs_graph(
        std::slice::from_ref(&target),
        &GraphOptions { collect: false, ..Default::default() },
    );
    assert!(graph.node_count() >= 4);
    drop(graph);
    g.bench_function("show_backrefs depth 3 (DOT)", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            objgraph::show_backrefs(
                std::slice::from_ref(&target),
                GraphOptions { collect: false, output: Some(&mut out), ..Default::default() },
            )
            .unwrap();
            black_box(out)
        })
    });
    let graph = objgraph::backrefs_graph(
        std::slice::from_ref(&target),
        &GraphOptions { collect: false, ..Default::default() },
    );
    g.bench_function("render the depth-3 graph to SVG", |b| b.iter(|| black_box(graph.to_svg())));
    g.bench_function("render the depth-3 graph to PNG", |b| b.iter(|| black_box(graph.to_png().unwrap())));
    drop(graph);

    let alive = objgraph::why_alive(&target).unwrap();
    assert!(alive.len() >= 2);
    drop(alive);
    g.bench_function("why_alive", |b| b.iter(|| black_box(objgraph::why_alive(&target))));
    let bucket = Gc::to_any(&root[0]);
    let r = objgraph::retained_size(&bucket);
    assert_eq!(r.objects, 1 + PER_BUCKET);
    drop(r);
    g.bench_function("retained_size (dominator tree of 1M)", |b| {
        b.iter(|| black_box(objgraph::retained_size(&bucket)))
    });
    g.finish();
    drop(target);
    drop(bucket);
    drop(root);
}

criterion_group!(objgraph_benches, benches);
criterion_main!(objgraph_benches);
