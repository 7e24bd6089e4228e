//! A program with `#[profile]`d functions, for `mprof run`: each call prints
//! its line table and, under `mprof run`, appends a FUNC record that
//! `mprof plot` draws as brackets.
//!
//! ```sh
//! cargo build -p mprof --example profiled
//! mprof run target/debug/examples/profiled 100 && mprof plot
//! ```

use std::time::Duration;

use pygc_derive::profile;

#[profile(crate = memory_profiler, measure = Rss)]
fn alloc(mib: usize) -> usize {
    let v = vec![1u8; mib << 20];
    std::thread::sleep(Duration::from_millis(400));
    v.iter().step_by(4096).map(|&b| b as usize).sum()
}

#[profile(crate = memory_profiler, measure = Rss)]
fn outer(mib: usize) -> usize {
    std::thread::sleep(Duration::from_millis(150));
    let touched = alloc(mib);
    std::thread::sleep(Duration::from_millis(150));
    touched
}

fn main() {
    let mib = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let touched = outer(mib);
    assert_eq!(touched, (mib << 20) / 4096);
}
