//! The tools' account: what is allocated inside a `ToolScope` is counted in
//! `tool_bytes()` and not in `live_bytes()`, until it is freed, wherever that
//! happens (outside the scope, on another thread, after a move by realloc),
//! for pool blocks and system blocks alike, in every allocator mode.
//! One test in this binary, so that no other test allocates meanwhile.

use obmalloc::ObMalloc;

#[global_allocator]
static A: ObMalloc = ObMalloc;

/// `(live_bytes, tool_bytes)`.
fn totals() -> (usize, usize) {
    (obmalloc::live_bytes(), obmalloc::tool_bytes())
}

#[test]
fn tool_blocks_stay_in_the_tools_account_until_freed() {
    let (live0, tool0) = totals();

    // Pool blocks (small) and system blocks (large, over-aligned) made in a scope.
    let (small, large, aligned) = obmalloc::tool_scope(|| {
        let small: Vec<Box<[u8; 40]>> = (0..1000).map(|_| Box::new([1; 40])).collect();
        let large = vec![2u8; 100_000];
        let aligned = Box::new(Aligned([3; 64]));
        (small, large, aligned)
    });
    let small_bytes = 1000 * 40 + 1000 * std::mem::size_of::<Box<[u8; 40]>>();
    let tool_bytes = small_bytes + 100_000 + 64;
    assert_eq!(totals(), (live0, tool0 + tool_bytes), "allocated in the scope");

    // Outside any scope, the program's allocations are the program's.
    let mine = vec![4u8; 5000];
    assert_eq!(totals(), (live0 + 5000, tool0 + tool_bytes));
    drop(mine);

    // Scopes nest; the account comes back when the outer one ends.
    {
        let _outer = obmalloc::ToolScope::enter();
        let inner = obmalloc::tool_scope(|| vec![5u8; 300]);
        let still = vec![6u8; 200];
        assert_eq!(totals(), (live0, tool0 + tool_bytes + 500));
        drop((inner, still));
    }
    assert_eq!(totals(), (live0, tool0 + tool_bytes));

    // A move by realloc outside the scope: a free of the tool block and a
    // new block of the program (system block, then pool block to system).
    let mut large = large;
    large.reserve_exact(400_000);
    let cap = large.capacity();
    assert_eq!(totals(), (live0 + cap, tool0 + tool_bytes - 100_000));

    // Freed on another thread, outside any scope.
    std::thread::spawn(move || drop(small)).join().unwrap();
    assert_eq!(totals(), (live0 + cap, tool0 + 64));

    // Freed here, outside the scope.
    assert_eq!(aligned.0[63], 3);
    drop(aligned);
    drop(large);
    assert_eq!(totals(), (live0, tool0), "everything is back");

    // A thread that allocates only in scopes, exits, and leaves its blocks.
    let kept = std::thread::spawn(|| obmalloc::tool_scope(|| vec![7u8; 64])).join().unwrap();
    assert_eq!(totals(), (live0, tool0 + 64));
    drop(kept);
    assert_eq!(totals(), (live0, tool0));
    obmalloc::verify().unwrap();
}

#[repr(align(64))]
struct Aligned([u8; 64]);
