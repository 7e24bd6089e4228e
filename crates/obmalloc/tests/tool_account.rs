//! The tools' account: what is allocated inside a `ToolScope` is counted in
//! `tool_bytes()` and not in `live_bytes()`, until it is freed, wherever that
//! happens (outside the scope, on another thread, after a move by realloc),
//! for pool blocks and system blocks alike, in every allocator mode.
//! One test in this binary, so that no other test allocates meanwhile; the
//! test harness's own thread may still allocate a little at any time (seen
//! under valgrind), so `live_bytes()` is compared within [`SLACK`] while
//! `tool_bytes()`, which nothing else touches, is compared exactly.

use obmalloc::ObMalloc;

#[global_allocator]
static A: ObMalloc = ObMalloc;

/// What the harness may allocate on its thread meanwhile (seen: 900 bytes).
const SLACK: usize = 4096;

/// Asserts `live_bytes() ≈ live` and `tool_bytes() == tool`.
#[track_caller]
fn assert_totals(live: usize, tool: usize, what: &str) {
    let (l, t) = (obmalloc::live_bytes(), obmalloc::tool_bytes());
    assert!(l.abs_diff(live) <= SLACK, "{what}: live_bytes {l}, expected {live} (±{SLACK})");
    assert_eq!(t, tool, "{what}: tool_bytes");
}

#[test]
fn tool_blocks_stay_in_the_tools_account_until_freed() {
    let (live0, tool0) = (obmalloc::live_bytes(), obmalloc::tool_bytes());

    // Pool blocks (small) and system blocks (large, over-aligned) made in a scope.
    let (small, large, aligned) = obmalloc::tool_scope(|| {
        let small: Vec<Box<[u8; 40]>> = (0..1000).map(|_| Box::new([1; 40])).collect();
        let large = vec![2u8; 100_000];
        let aligned = Box::new(Aligned([3; 64]));
        (small, large, aligned)
    });
    let small_bytes = 1000 * 40 + 1000 * std::mem::size_of::<Box<[u8; 40]>>();
    let tool_bytes = small_bytes + 100_000 + 64;
    assert_totals(live0, tool0 + tool_bytes, "allocated in the scope");

    // Outside any scope, the program's allocations are the program's.
    let mine = vec![4u8; 50_000];
    assert_totals(live0 + 50_000, tool0 + tool_bytes, "the program's block");
    drop(mine);

    // Scopes nest; the account comes back when the outer one ends.
    {
        let _outer = obmalloc::ToolScope::enter();
        let inner = obmalloc::tool_scope(|| vec![5u8; 30_000]);
        let still = vec![6u8; 20_000];
        assert_totals(live0, tool0 + tool_bytes + 50_000, "nested scopes");
        drop((inner, still));
    }
    assert_totals(live0, tool0 + tool_bytes, "after the nested scopes");

    // A move by realloc outside the scope: a free of the tool block and a
    // new block of the program (system block, then pool block to system).
    let mut large = large;
    large.reserve_exact(400_000);
    let cap = large.capacity();
    assert_totals(live0 + cap, tool0 + tool_bytes - 100_000, "moved by realloc");

    // Freed on another thread, outside any scope.
    std::thread::spawn(move || drop(small)).join().unwrap();
    assert_totals(live0 + cap, tool0 + 64, "freed on another thread");

    // Freed here, outside the scope.
    assert_eq!(aligned.0[63], 3);
    drop(aligned);
    drop(large);
    assert_totals(live0, tool0, "everything is back");

    // A thread that allocates only in scopes, exits, and leaves its blocks.
    let kept = std::thread::spawn(|| obmalloc::tool_scope(|| vec![7u8; 64])).join().unwrap();
    assert_totals(live0, tool0 + 64, "left by an exited thread");
    drop(kept);
    assert_totals(live0, tool0, "freed after its thread exited");
    obmalloc::verify().unwrap();
}

#[repr(align(64))]
struct Aligned([u8; 64]);
