//! A host interpreter's frames replace native ones (`set_frame_source`): every Rust
//! allocation of this binary goes through `Tracing<System>`, a fake interpreter keeps a
//! per-thread stack of (file, line), and the traces say where *its* program was.

use std::alloc::System;
use std::cell::RefCell;
use std::sync::Mutex;

use tracemalloc::{Filter, HostFrame, KeyType, Snapshot, Tracing};

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

static SERIAL: Mutex<()> = Mutex::new(());

thread_local! {
    /// The fake interpreter's stack, outermost first.
    static STACK: RefCell<Vec<HostFrame>> = const { RefCell::new(Vec::new()) };
}

/// The frame source: most recent first, until the tracer has enough.
fn host_stack(push: &mut dyn FnMut(HostFrame) -> bool) -> usize {
    STACK
        .try_with(|s| {
            // The tracer may run while this thread changes its own stack: give up then.
            let Ok(s) = s.try_borrow() else { return 0 };
            let mut n = 0;
            for f in s.iter().rev() {
                n += 1;
                if !push(*f) {
                    break;
                }
            }
            n
        })
        .unwrap_or(0)
}

fn run_at(frames: &[HostFrame], f: impl FnOnce()) {
    STACK.with(|s| s.borrow_mut().extend_from_slice(frames));
    f();
    STACK.with(|s| s.borrow_mut().clear());
}

fn script(snapshot: &Snapshot) -> Snapshot {
    snapshot.filter_traces(&[Filter::new(true, "*.py")])
}

#[test]
fn allocations_are_attributed_to_the_host_line() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tracemalloc::set_frame_source(Some(host_stack));
    tracemalloc::start(1).unwrap();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    STACK.with(|s| s.borrow_mut().reserve(8));
    run_at(&[HostFrame::new("main.py", 4), HostFrame::new("lib.py", 12)], || {
        kept.extend((0..10).map(|_| vec![0u8; 1000]));
    });
    let snapshot = tracemalloc::take_snapshot().unwrap();
    let stats = script(&snapshot).statistics(KeyType::Lineno, false).unwrap();
    let top = &stats[0];
    assert_eq!(top.traceback.to_string(), "lib.py:12", "the innermost host frame");
    assert_eq!(top.size, 10 * 1000 + 10 * std::mem::size_of::<Vec<u8>>() as u64, "{stats:?}");
    let by_file = script(&snapshot).statistics(KeyType::Filename, false).unwrap();
    assert_eq!(by_file[0].traceback.to_string(), "lib.py:0");
    tracemalloc::stop();
    tracemalloc::set_frame_source(None);
    drop(kept);
}

#[test]
fn the_limit_keeps_the_most_recent_host_frames() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tracemalloc::set_frame_source(Some(host_stack));
    tracemalloc::start(2).unwrap();
    let frames = [HostFrame::new("a.py", 1), HostFrame::new("b.py", 2), HostFrame::new("c.py", 3)];
    let mut block = Vec::new();
    STACK.with(|s| s.borrow_mut().reserve(8));
    run_at(&frames, || block = vec![7u8; 4321]);
    let snapshot = tracemalloc::take_snapshot().unwrap();
    let stats = script(&snapshot).statistics(KeyType::Traceback, false).unwrap();
    let mine = stats.iter().find(|s| s.size == 4321).expect("the block is traced");
    assert_eq!(
        format!("{:?}", mine.traceback),
        "<Traceback (<Frame filename='b.py' lineno=2>, <Frame filename='c.py' lineno=3>)>"
    );
    tracemalloc::stop();
    tracemalloc::set_frame_source(None);
    drop(block);
}

#[test]
fn without_host_frames_native_frames_are_kept() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tracemalloc::set_frame_source(Some(host_stack));
    tracemalloc::start(1).unwrap();
    // This thread's host stack is empty: the source reports nothing.
    let block = vec![1u8; 2345];
    let snapshot = tracemalloc::take_snapshot().unwrap();
    let stats = snapshot.statistics(KeyType::Lineno, false).unwrap();
    let mine = stats.iter().find(|s| s.size == 2345).expect("traced natively");
    assert!(mine.traceback.to_string().contains(".rs:"), "{mine}");
    tracemalloc::stop();
    tracemalloc::set_frame_source(None);
    drop(block);
}
