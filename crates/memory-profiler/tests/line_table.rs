//! Golden tests of the line table, with the exact heap measure so the
//! numbers do not depend on the machine. One test function: the heap counter
//! is process-wide, so nothing else may allocate while it runs.

use memory_profiler::CountingAlloc;
use pygc_derive::profile;

#[global_allocator]
static ALLOC: CountingAlloc<std::alloc::System> = CountingAlloc(std::alloc::System);

mod common;
use common::Capture;

static OUT: std::sync::LazyLock<Capture> = std::sync::LazyLock::new(Capture::default);

const MIB_U64: usize = 1 << 17; // u64s in one MiB

#[profile(crate = memory_profiler, measure = Heap, stream = OUT.clone())]
fn my_func() -> Vec<u64> {
    let a = vec![1u64; MIB_U64];
    let b = vec![2u64; 8 * MIB_U64];
    for i in 0..3 {
        let c = vec![3u64; MIB_U64 / 5];
        std::hint::black_box((&c, i));
    }
    drop(b);
    a
}

#[profile(crate = memory_profiler, measure = Heap, stream = OUT.clone())]
fn early(n: usize) -> Result<usize, String> {
    let big = vec![0u8; 2 << 20];
    if n == 0 {
        return Err("zero".to_string());
    }
    let parsed: usize = format!("{n}").parse().map_err(|_| "bad".to_string())?;
    Ok(parsed + big.len())
}

#[profile(crate = memory_profiler, measure = Heap, precision = 3, stream = OUT.clone())]
fn keep_alive_at_return() -> usize {
    let x = vec![0u8; 5 << 20];
    return x.len();
}

#[test]
fn golden_tables() {
    let a = my_func();
    assert_eq!(a.len(), MIB_U64);
    drop(a);
    let got = OUT.take();
    let expected = "\
Filename: crates/memory-profiler/tests/line_table.rs

Line #    Mem usage    Increment  Occurrences   Line Contents
=============================================================
    18      0.0 MiB      0.0 MiB           1   #[profile(crate = memory_profiler, measure = Heap, stream = OUT.clone())]
    19                                         fn my_func() -> Vec<u64> {
    20      1.0 MiB      1.0 MiB           1       let a = vec![1u64; MIB_U64];
    21      9.0 MiB      8.0 MiB           1       let b = vec![2u64; 8 * MIB_U64];
    22      9.0 MiB      0.0 MiB           4       for i in 0..3 {
    23      9.2 MiB      0.6 MiB           3           let c = vec![3u64; MIB_U64 / 5];
    24      9.0 MiB     -0.6 MiB           3           std::hint::black_box((&c, i));
    25                                             }
    26      1.0 MiB     -8.0 MiB           1       drop(b);
    27      1.0 MiB      0.0 MiB           1       a
    28                                         }


";
    assert_eq!(got, expected, "\n{got}");

    assert_eq!(early(0), Err("zero".to_string()));
    let got = OUT.take();
    assert!(got.contains("    32      2.0 MiB      2.0 MiB           1       let big"), "\n{got}");
    assert!(got.contains("    33      2.0 MiB      0.0 MiB           1       if n == 0 {"), "\n{got}");
    assert!(got.contains("    34      2.0 MiB      0.0 MiB           1           return Err"), "\n{got}");
    assert!(got.contains("    36                                             let parsed"), "\n{got}");

    assert_eq!(early(7), Ok(7 + (2 << 20)));
    let got = OUT.take();
    assert!(got.contains("    36      2.0 MiB      0.0 MiB           1       let parsed"), "\n{got}");
    assert!(got.contains("    37      2.0 MiB      0.0 MiB           1       Ok(parsed"), "\n{got}");

    assert_eq!(keep_alive_at_return(), 5 << 20);
    let got = OUT.take();
    // x is still alive when the return line is measured, as in Python.
    assert!(got.contains("    5.000 MiB           1       let x"), "\n{got}");
    assert!(got.contains("    0.000 MiB           1       return x.len();"), "\n{got}");
    let ret_row = got.lines().find(|l| l.starts_with("    43 ")).unwrap();
    let mem: f64 = ret_row[7..19].trim().trim_end_matches(" MiB").parse().unwrap();
    assert!(mem >= 5.0, "{ret_row}");
}
