//! Multi-threaded stress: blocks allocated on one thread and freed on another
//! (remote frees), threads exiting while others still hold their blocks
//! (abandoned heaps), then everything is reclaimed.

use std::alloc::Layout;
use std::sync::mpsc;

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

#[test]
fn cross_thread_frees_and_thread_exit() {
    let rounds = if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() {
        3
    } else {
        20
    };
    let per = 2000;
    for round in 0..rounds {
        let threads = 4;
        let mut senders = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..threads {
            let (tx, rx) = mpsc::channel::<Vec<Block>>();
            senders.push(tx);
            receivers.push(rx);
        }
        let mut handles = Vec::new();
        for (t, rx) in receivers.into_iter().enumerate() {
            let next = senders[(t + 1) % threads].clone();
            handles.push(std::thread::spawn(move || {
                let mut mine = Vec::new();
                let mut give = Vec::new();
                for i in 0..per {
                    let size = 1 + (i * 37 + t * 11 + round) % 700;
                    let b = alloc(size, (i + t) as u8);
                    if i % 2 == 0 {
                        give.push(b);
                    } else {
                        mine.push(b);
                    }
                }
                next.send(give).unwrap();
                drop(next);
                // Free our own half locally, and what the neighbour sent remotely.
                for b in mine {
                    free(b);
                }
                let got = rx.recv().unwrap();
                let keep_for_later: Vec<Block> = if t == 0 {
                    got
                } else {
                    for b in got {
                        free(b);
                    }
                    Vec::new()
                };
                obmalloc::verify().unwrap();
                // Thread 0 exits holding blocks; main frees them after its exit.
                keep_for_later
            }));
        }
        drop(senders);
        let mut late = Vec::new();
        for h in handles {
            late.extend(h.join().unwrap());
        }
        // These blocks' owner thread has exited: frees go to an abandoned heap.
        for b in late {
            free(b);
        }
    }
    obmalloc::collect();
    obmalloc::verify().unwrap();
    let s = obmalloc::stats();
    assert_eq!(s.accounted_bytes(), s.arenas_current * obmalloc::ARENA_SIZE);
    let in_use: usize = s.classes.iter().map(|c| c.blocks_in_use).sum();
    assert_eq!(in_use, 0, "{s:?}");
    assert_eq!(obmalloc::live_bytes(), 0);
    assert!(
        s.arenas_current <= 1,
        "empty arenas were not returned: {s:?}"
    );
}
