//! The memory checkers see freed pool blocks. Each test runs a child process
//! (this test binary re-executed with `OBMALLOC_CHECKER_SCENARIO` naming the
//! scenario) that allocates a small block from the pools, frees it and reads
//! it; the parent checks that the checker reported the read.
//!
//! * AddressSanitizer: only in a `-Zsanitizer=address` build
//!   (`scripts/asan.sh`); the child must die with ASan's report.
//! * memcheck: the child runs under `valgrind --tool=memcheck`, which must
//!   report an invalid read inside a freed block, with the pools on. A clean
//!   workload under memcheck shows that the allocator's own accesses to free
//!   blocks are not reported.

use std::alloc::Layout;
use std::process::{Command, Output};

const SCENARIO: &str = "OBMALLOC_CHECKER_SCENARIO";
/// Offsets the child reads in the freed block, comma-separated.
const READS: &str = "OBMALLOC_CHECKER_READS";
/// A byte of the body, and the first word, where the allocator's own
/// free-list link lives: it must be closed to the program too.
const OFFSETS: [usize; 2] = [24, 0];
/// A size of its own class (48 bytes), which the test harness hardly uses.
const SIZE: usize = 48;

/// Entry point of the child: runs the scenario named in the environment.
#[test]
fn scenario_runner() {
    let Ok(name) = std::env::var(SCENARIO) else {
        return;
    };
    match name.as_str() {
        "use_after_free" => {
            println!("checkers: {:?}, allocator: {}", obmalloc::checkers(), obmalloc::allocator());
            let layout = Layout::from_size_align(SIZE, 16).unwrap();
            let reads: Vec<usize> =
                std::env::var(READS).unwrap().split(',').map(|o| o.parse().unwrap()).collect();
            // SAFETY: deliberately reads the block after freeing it (only ever
            // in a child process): the checker must report each read.
            unsafe {
                let p = obmalloc::object_alloc(layout);
                p.write_bytes(0x5a, SIZE);
                obmalloc::object_dealloc(p, layout);
                // Two reads on two lines: memcheck reports repeats of one
                // error at one place only once.
                if reads.contains(&24) {
                    let v = std::ptr::read_volatile(p.add(24));
                    println!("read {v:#x} at offset 24 of a freed block");
                }
                if reads.contains(&0) {
                    let v = std::ptr::read_volatile(p);
                    println!("read {v:#x} at offset 0 of a freed block");
                }
            }
        }
        "clean" => clean_workload(),
        other => panic!("unknown scenario {other}"),
    }
}

/// Small blocks of every class, frees in and out of order, frees from another
/// thread (the remote-free lists write into free blocks), reallocation, thread
/// exit, and the invariant walks (which read every free list).
fn clean_workload() {
    let mut blocks: Vec<(usize, Layout)> = Vec::new();
    for i in 0..3000usize {
        let layout = Layout::from_size_align(1 + i % 512, 8).unwrap();
        // SAFETY: non-zero size; freed below with the same layout.
        let p = unsafe { obmalloc::object_alloc(layout) };
        // SAFETY: the block has layout.size() bytes.
        unsafe { p.write_bytes(i as u8, layout.size()) };
        blocks.push((p as usize, layout));
    }
    obmalloc::verify().unwrap();
    // Every other block from another thread, the rest here.
    let (theirs, mine): (Vec<_>, Vec<_>) = blocks.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    std::thread::spawn(move || {
        for (_, (p, layout)) in theirs {
            // SAFETY: allocated above with this layout, freed once.
            unsafe { obmalloc::object_dealloc(p as *mut u8, layout) };
        }
    })
    .join()
    .unwrap();
    for (_, (p, layout)) in mine.into_iter().rev() {
        // SAFETY: as above.
        unsafe { obmalloc::object_dealloc(p as *mut u8, layout) };
    }
    // SAFETY: blocks of the unsized API, each freed once.
    unsafe {
        let p = obmalloc::malloc(100);
        p.write_bytes(1, 100);
        let q = obmalloc::realloc(p, 300);
        assert_eq!(*q.add(99), 1);
        obmalloc::free(q);
    }
    obmalloc::collect(); // drains the remote frees: reads the links
    obmalloc::verify().unwrap();
    println!("clean workload done: {:?}", obmalloc::checkers());
}

/// Runs the scenario in a child, directly or under `wrapper` (valgrind).
fn child(wrapper: Option<Command>, scenario: &str, mode: &str, reads: &[usize]) -> (Output, String) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match wrapper {
        Some(mut w) => {
            w.arg(exe);
            w
        }
        None => Command::new(exe),
    };
    let out = cmd
        .args(["--exact", "scenario_runner", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, scenario)
        .env(READS, reads.iter().map(usize::to_string).collect::<Vec<_>>().join(","))
        .env("PYGC_MALLOC", mode)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn address_sanitizer_reports_a_read_of_a_freed_pool_block() {
    if !obmalloc::checkers().address_sanitizer {
        eprintln!("skipped: not built with -Zsanitizer=address (scripts/asan.sh runs this test)");
        return;
    }
    // The pools, and the pools under the debug hooks; ASan stops at the
    // first report, so one child per read.
    for mode in ["pymalloc", "debug"] {
        for off in OFFSETS {
            let (out, stderr) = child(None, "use_after_free", mode, &[off]);
            assert!(!out.status.success(), "{mode}, offset {off}: the child survived the read:\n{stderr}");
            assert!(
                stderr.contains("ERROR: AddressSanitizer: use-after-poison")
                    || stderr.contains("ERROR: AddressSanitizer: heap-use-after-free"),
                "{mode}, offset {off}: no AddressSanitizer report:\n{stderr}"
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("address_sanitizer: true"), "{mode}: {stdout}");
            assert!(
                !stdout.contains("of a freed block"),
                "{mode}, offset {off}: the read went through: {stdout}"
            );
        }
    }
}

fn valgrind_installed() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `None` (after saying why, loudly) when memcheck cannot run here.
fn memcheck() -> Option<Command> {
    if obmalloc::checkers().address_sanitizer {
        eprintln!("skipped: valgrind cannot run an AddressSanitizer build");
        return None;
    }
    if !valgrind_installed() {
        eprintln!("\n*** skipped: valgrind not installed (CI installs it) ***\n");
        return None;
    }
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=memcheck", "--error-exitcode=42", "--leak-check=no", "-q"]);
    Some(cmd)
}

#[test]
fn memcheck_reports_a_read_of_a_freed_pool_block() {
    // The pools, and the pools under the debug hooks, where the program's
    // pointer is 16 bytes into a 48 + 24 -> 80-byte pool block.
    for (mode, header, block) in [("pymalloc", 0, SIZE), ("debug", 16, 80)] {
        let Some(cmd) = memcheck() else { return };
        let (out, stderr) = child(Some(cmd), "use_after_free", mode, &OFFSETS);
        assert_eq!(out.status.code(), Some(42), "{mode}: memcheck found no error:\n{stderr}");
        assert_eq!(stderr.matches("Invalid read of size 1").count(), OFFSETS.len(), "{mode}: {stderr}");
        for off in OFFSETS {
            let freed = format!("is {} bytes inside a block of size {block} free'd", header + off);
            let at = stderr.find(&freed).unwrap_or_else(|| panic!("{mode}: not found: {freed}\n{stderr}"));
            assert!(
                stderr[at..].contains("scenario_runner"),
                "the free's stack reaches the freeing code:\n{stderr}"
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("memcheck: true"), "{mode}: the child did not see memcheck: {stdout}");
    }
}

#[test]
fn memcheck_is_quiet_about_the_allocators_own_accesses() {
    for mode in ["pymalloc", "debug"] {
        let Some(cmd) = memcheck() else { return };
        let (out, stderr) = child(Some(cmd), "clean", mode, &[]);
        assert!(out.status.success(), "{mode}: memcheck reported errors in a clean workload:\n{stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("clean workload done") && stdout.contains("memcheck: true"),
            "{stdout}\n{stderr}"
        );
    }
}
