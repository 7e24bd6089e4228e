//! A registered heap source (how obmalloc's or tracemalloc's exact counters
//! plug in) drives `Measure::Heap` and makes `Measure::Auto` choose it.

use memory_profiler::{heap_live_bytes, heap_tracking, set_heap_source, Measure};
use pygc_derive::profile;
use std::sync::atomic::{AtomicUsize, Ordering};

static FAKE_LIVE: AtomicUsize = AtomicUsize::new(0);

fn fake_live() -> usize {
    FAKE_LIVE.load(Ordering::Relaxed)
}

mod common;
use common::Capture;

static OUT: std::sync::LazyLock<Capture> = std::sync::LazyLock::new(Capture::default);

#[profile(crate = memory_profiler, stream = OUT.clone())]
fn grows() {
    FAKE_LIVE.fetch_add(3 << 20, Ordering::Relaxed);
    FAKE_LIVE.fetch_sub(1 << 20, Ordering::Relaxed);
}

#[test]
fn registered_source_is_the_auto_measure() {
    assert!(!heap_tracking(), "no CountingAlloc and no source yet");
    assert_eq!(Measure::Auto.resolve(), Measure::Rss);
    assert!(set_heap_source(fake_live));
    assert!(!set_heap_source(fake_live), "only the first registration counts");
    assert!(heap_tracking());
    assert_eq!(Measure::Auto.resolve(), Measure::Heap);
    FAKE_LIVE.store(1 << 20, Ordering::Relaxed);
    assert_eq!(heap_live_bytes(), 1 << 20);
    grows();
    let t = OUT.take();
    assert!(t.contains("      1.0 MiB      1.0 MiB           1   #[profile"), "{t}");
    assert!(t.contains("      4.0 MiB      3.0 MiB           1       FAKE_LIVE.fetch_add"), "{t}");
    assert!(t.contains("      3.0 MiB     -1.0 MiB           1       FAKE_LIVE.fetch_sub"), "{t}");
}
