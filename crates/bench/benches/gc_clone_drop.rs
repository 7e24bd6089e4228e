//! Handle clone + drop, pygc against `Rc` and the peers (goal: within 5 %
//! of `Rc`). `cargo bench -p bench --bench gc_clone_drop`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

#[derive(pygc::Trace)]
struct Tracked {
    next: pygc::GcCell<Option<pygc::Gc<Tracked>>>,
}

fn clone_drop(c: &mut Criterion) {
    let mut g = c.benchmark_group("clone_drop");
    let rc = std::rc::Rc::new(0u64);
    g.bench_function("Rc<u64>", |b| b.iter(|| drop(black_box(&rc).clone())));
    let untracked = pygc::Gc::new(0u64);
    g.bench_function("pygc Gc<u64> (untracked)", |b| b.iter(|| drop(black_box(&untracked).clone())));
    let tracked = pygc::Gc::new(Tracked { next: pygc::GcCell::new(None) });
    g.bench_function("pygc Gc<Tracked>", |b| b.iter(|| drop(black_box(&tracked).clone())));
    let cc = rust_cc::Cc::new(0u64);
    g.bench_function("rust-cc Cc<u64>", |b| b.iter(|| drop(black_box(&cc).clone())));
    let gm = gcmodule::Cc::new(0u64);
    g.bench_function("gcmodule Cc<u64>", |b| b.iter(|| drop(black_box(&gm).clone())));
    let br = bacon_rajan_cc::Cc::new(0u64);
    g.bench_function("bacon_rajan_cc Cc<u64>", |b| b.iter(|| drop(black_box(&br).clone())));
    let du = dumpster::unsync::Gc::new(0u64);
    g.bench_function("dumpster Gc<u64>", |b| b.iter(|| drop(black_box(&du).clone())));
    let rg = gc::Gc::new(0u64);
    g.bench_function("gc Gc<u64>", |b| b.iter(|| drop(black_box(&rg).clone())));
    g.finish();
}

criterion_group!(benches, clone_drop);
criterion_main!(benches);
