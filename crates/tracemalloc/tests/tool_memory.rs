//! The tracer's own memory is the tools' account, not the program's: after a
//! `start` / `take_snapshot` / `stop` round, obmalloc's `live_bytes()` (what
//! `#[profile]` reports) is back where it was, and the symbolizer's cache that
//! stays is in `tool_bytes()`, which `get_tracemalloc_memory()` reports.
//! One test in this binary, so that nothing else allocates meanwhile.

use tracemalloc::{KeyType, Tracing};

#[global_allocator]
static GLOBAL: Tracing<obmalloc::ObMalloc> = Tracing::new(obmalloc::ObMalloc);

/// What may stay in the program's account after the round: the test harness
/// and the standard library allocate a little on their own.
const SLACK: usize = 16 << 10;

#[test]
fn a_tracing_round_leaves_the_program_heap_as_it_was() {
    let (live0, tool0) = (obmalloc::live_bytes(), obmalloc::tool_bytes());

    tracemalloc::start(5).unwrap();
    let line = line!() + 1;
    let kept: Vec<Box<[u8; 100]>> = (0..1000).map(|_| Box::new([7; 100])).collect();
    let snapshot = tracemalloc::take_snapshot().unwrap();
    let stat = snapshot
        .statistics(KeyType::Lineno, false)
        .unwrap()
        .into_iter()
        .find(|s| s.traceback.most_recent().lineno == line)
        .expect("the loop's statistic (symbolization ran)");
    assert!(stat.count >= 1000, "{stat}"); // the boxes and the vector
    let live_during = obmalloc::live_bytes();
    assert!(
        live_during < live0 + 1000 * 120 + SLACK,
        "the program holds ~100 KiB, but live_bytes grew by {} bytes",
        live_during - live0
    );
    let own = tracemalloc::get_tracemalloc_memory();
    assert_eq!(own, obmalloc::tool_bytes() as u64);
    drop(snapshot);
    tracemalloc::stop();
    drop(kept);

    let (live1, tool1) = (obmalloc::live_bytes(), obmalloc::tool_bytes());
    eprintln!(
        "live_bytes {live0} -> {live1}, tool_bytes {tool0} -> {tool1}, tracer memory while tracing {own}"
    );
    assert!(live1.abs_diff(live0) < SLACK, "live_bytes moved by {} bytes", live1 as isize - live0 as isize);
    assert!(tool1 > tool0 + (1 << 20), "the symbol cache stays, in the tools' account: {tool0} -> {tool1}");
    assert_eq!(tracemalloc::get_tracemalloc_memory(), tool1 as u64);
}
