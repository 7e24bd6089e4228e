//! A small alloc/free loop whose instruction count is the allocator's fast
//! paths: `ROUNDS` times, 64 blocks of 32 bytes allocated then freed in
//! reverse order, through `GlobalAlloc` (the calls a `Box` makes).
//!
//! ```sh
//! scripts/callgrind-alloc.sh          # instructions per alloc+free, HEAD against main
//! cargo run --release -p obmalloc --example alloc_free_loop -- 1000000
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

fn main() {
    let rounds: usize = std::env::args().nth(1).map_or(100_000, |s| s.parse().expect("ROUNDS"));
    let layout = Layout::from_size_align(32, 8).unwrap();
    let a = obmalloc::ObMalloc;
    let mut blocks = [std::ptr::null_mut::<u8>(); 64];
    let mut sum = 0usize;
    for _ in 0..rounds {
        for b in blocks.iter_mut() {
            // SAFETY: non-zero size; freed below with the same layout.
            *b = unsafe { a.alloc(layout) };
        }
        for &b in blocks.iter().rev() {
            sum = sum.wrapping_add(b as usize);
            // SAFETY: allocated above with `layout`, freed once.
            unsafe { a.dealloc(black_box(b), layout) };
        }
    }
    println!("{} alloc+free pairs (checksum {:x})", rounds * blocks.len(), sum & 0xfff);
}
