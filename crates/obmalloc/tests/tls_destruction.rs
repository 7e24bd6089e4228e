//! Allocation and free from thread-local destructors, before and after the
//! thread's heap is abandoned (own process: it checks global totals).

use std::alloc::Layout;

struct Block(usize, usize, u8);
// The raw blocks are plain memory handed from thread to thread.

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

fn alloc(size: usize, fill: u8) -> Block {
    // SAFETY: non-zero size.
    let p = unsafe { obmalloc::object_alloc(layout(size)) };
    assert!(!p.is_null());
    // SAFETY: fresh block of `size` bytes.
    unsafe { p.write_bytes(fill, size) };
    Block(p as usize, size, fill)
}

fn free(b: Block) {
    let p = b.0 as *mut u8;
    // SAFETY: a live block of b.1 bytes we filled with b.2.
    let s = unsafe { std::slice::from_raw_parts(p, b.1) };
    assert!(s.iter().all(|&x| x == b.2), "block changed while in flight");
    // SAFETY: allocated with this layout, freed once.
    unsafe { obmalloc::object_dealloc(p, layout(b.1)) };
}

/// Thread-local destructors that allocate and free, registered both before
/// and after obmalloc's own exit hook, so that (whatever order the runtime
/// runs them in) one of them runs after the thread's heap was abandoned and
/// must be served by the fallback heap.
#[test]
fn allocation_during_thread_local_destruction() {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static DONE: AtomicUsize = AtomicUsize::new(0);

    struct Late(RefCell<Option<Block>>);
    impl Drop for Late {
        fn drop(&mut self) {
            // Free a block allocated while the thread was running, then
            // allocate and free again.
            if let Some(b) = self.0.borrow_mut().take() {
                free(b);
            }
            let b = alloc(200, 0x5a);
            let c = alloc(3000, 0x5b);
            free(b);
            free(c);
            // Leave one block alive for another thread to free.
            let kept = alloc(64, 0x77);
            KEPT.lock().unwrap().push(kept);
            DONE.fetch_add(1, Ordering::SeqCst);
        }
    }
    thread_local! {
        static BEFORE: Late = const { Late(RefCell::new(None)) };
        static AFTER: Late = const { Late(RefCell::new(None)) };
    }
    static KEPT: std::sync::Mutex<Vec<Block>> = std::sync::Mutex::new(Vec::new());

    let base = obmalloc::live_bytes();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                BEFORE.with(|l| *l.0.borrow_mut() = Some(alloc(48, i)));
                // First obmalloc use on this thread registers its exit hook
                // between BEFORE and AFTER.
                let first = alloc(32, 1);
                AFTER.with(|l| *l.0.borrow_mut() = Some(alloc(96, i)));
                free(first);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(DONE.load(Ordering::SeqCst), 8);
    for b in KEPT.lock().unwrap().drain(..) {
        free(b);
    }
    obmalloc::collect();
    obmalloc::verify().unwrap();
    let s = obmalloc::stats();
    assert_eq!(s.accounted_bytes(), s.arenas_current * obmalloc::ARENA_SIZE);
    assert_eq!(obmalloc::live_bytes(), base);
}
