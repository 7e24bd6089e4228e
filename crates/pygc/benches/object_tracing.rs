//! Cost of tracemalloc's object domain: `Gc::new` + drop with tracing off
//! and on (`tracemalloc::start(1)`), interleaved, best of 7 runs.
//!
//! `cargo bench -p pygc --bench object_tracing`

use std::hint::black_box;
use std::time::Instant;

use pygc::{tracemalloc, Gc, GcCell, Trace};

#[derive(Trace)]
struct Obj {
    link: GcCell<Option<Gc<Obj>>>,
    v: [u64; 2],
}

/// 200 rounds of 1000 objects kept in a Vec, then dropped; returns a
/// checksum so nothing is optimised away.
fn work() -> u64 {
    let mut keep = Vec::with_capacity(1000);
    let mut sum = 0;
    for round in 0..200u64 {
        keep.clear();
        for i in 0..1000u64 {
            keep.push(Gc::new(Obj { link: GcCell::new(None), v: [i, round] }));
        }
        sum += keep.iter().map(|o| o.v[0] + o.link.borrow().is_some() as u64).sum::<u64>();
    }
    sum
}

fn main() {
    let expected = 200 * (999 * 1000 / 2);
    let mut best = [f64::MAX; 2];
    for _ in 0..7 {
        for (k, on) in [false, true].into_iter().enumerate() {
            if on {
                tracemalloc::start(1).expect("start");
            }
            let t = Instant::now();
            let sum = black_box(work());
            let elapsed = t.elapsed().as_secs_f64();
            if on {
                let (current, _) = tracemalloc::get_traced_memory();
                assert_eq!(current, 0, "every traced object was freed and untraced");
                tracemalloc::stop();
            }
            assert_eq!(sum, expected);
            best[k] = best[k].min(elapsed);
        }
    }
    println!(
        "200k Gc::new + drop: tracing off {:.2} ms, on (object domain, 1 frame) {:.2} ms: {:.2}x",
        best[0] * 1e3,
        best[1] * 1e3,
        best[1] / best[0]
    );
}
