//! One test per debug-hook error. Each runs in a child process (this test
//! binary re-executed with `OBMALLOC_SCENARIO` naming the scenario and
//! `PYGC_MALLOC` choosing the allocator), then the parent checks the report on
//! stderr and that the child died of SIGABRT.

use std::alloc::Layout;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const SCENARIO: &str = "OBMALLOC_SCENARIO";

/// Entry point of the child: runs the scenario named in the environment.
#[test]
fn scenario_runner() {
    let Ok(name) = std::env::var(SCENARIO) else {
        return;
    };
    // SAFETY: deliberately corrupts and misuses debug blocks (only ever in a
    // child process); the debug hooks must catch it before anything else.
    unsafe {
        match name.as_str() {
            "overflow" => {
                let p = obmalloc::malloc(10);
                std::ptr::write_bytes(p, 0x41, 11);
                obmalloc::free(p);
            }
            "underflow" => {
                let p = obmalloc::malloc(10);
                *p.sub(1) = 0x41;
                obmalloc::free(p);
            }
            "double_free" => {
                let p = obmalloc::malloc(24);
                obmalloc::free(p);
                obmalloc::free(p);
            }
            "api_mismatch" => {
                let p = obmalloc::malloc(16);
                obmalloc::object_dealloc(p, Layout::from_size_align(16, 8).unwrap());
            }
            "realloc_overflow" => {
                let p = obmalloc::raw_malloc(40);
                std::ptr::write_bytes(p, 0x42, 41);
                obmalloc::raw_realloc(p, 100);
            }
            "object_overflow_long" => {
                let l = Layout::from_size_align(600, 8).unwrap();
                let p = obmalloc::object_alloc(l);
                for i in 0..600 {
                    *p.add(i) = i as u8;
                }
                *p.add(603) = 0;
                obmalloc::object_dealloc(p, l);
            }
            "hook" => {
                obmalloc::set_block_traceback_hook(Some(|ptr, out| {
                    let _ = write!(out, "Memory block allocated at (most recent call first):\n  File \"x.py\", line 7\n");
                    ptr != 0
                }));
                let p = obmalloc::malloc(10);
                *p.add(10) = 0;
                obmalloc::free(p);
            }
            "layout" => {
                // Not an error: checks CPython's byte layout and fills, exits 0.
                let p = obmalloc::malloc(10);
                let block = std::slice::from_raw_parts(p.sub(16), 10 + 24);
                let mut want = vec![0, 0, 0, 0, 0, 0, 0, 10, b'm'];
                want.extend([0xfd; 7]);
                want.extend([0xcd; 10]);
                want.extend([0xfd; 8]);
                assert_eq!(block, &want[..]);
                let q = obmalloc::calloc(5, 4);
                assert!(std::slice::from_raw_parts(q, 20).iter().all(|&b| b == 0));
                let q = obmalloc::realloc(q, 30);
                let s = std::slice::from_raw_parts(q, 30);
                assert!(s[..20].iter().all(|&b| b == 0) && s[20..].iter().all(|&b| b == 0xcd));
                obmalloc::free(q);
                let o = obmalloc::object_alloc(Layout::from_size_align(8, 8).unwrap());
                assert_eq!(*o.sub(8), b'o');
                obmalloc::object_dealloc(o, Layout::from_size_align(8, 8).unwrap());
                let r = obmalloc::raw_malloc(0);
                assert_eq!(*r.sub(8), b'r');
                obmalloc::raw_free(r);
                obmalloc::free(p);
                println!("layout ok: {}", obmalloc::allocator());
                return;
            }
            "unknown_mode" => {
                obmalloc::malloc(8);
            }
            other => panic!("unknown scenario {other}"),
        }
    }
    panic!("scenario {name} did not abort");
}

struct Outcome {
    stderr: String,
    stdout: String,
    signal: Option<i32>,
    success: bool,
}

fn run(scenario: &str, mode: &str) -> Outcome {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "scenario_runner",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO, scenario)
        .env("PYGC_MALLOC", mode)
        .output()
        .unwrap();
    Outcome {
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        signal: out.status.signal(),
        success: out.status.success(),
    }
}

/// Replaces every `0x…` address by `0xADDR`.
fn scrub(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("=0x") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len());
        out.push_str("ADDR");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn report(o: &Outcome) -> String {
    // The report starts at "Debug memory block"; drop the test harness noise.
    let s = scrub(&o.stderr);
    let start = s
        .find("Debug memory block")
        .unwrap_or_else(|| panic!("no report in:\n{}", o.stderr));
    let end = s[start..]
        .find("Fatal Python error")
        .map(|e| start + e)
        .unwrap();
    let line_end = s[end..].find('\n').map(|e| end + e + 1).unwrap_or(s.len());
    s[start..line_end].to_string()
}

fn assert_aborted(o: &Outcome) {
    assert_eq!(
        o.signal,
        Some(libc::SIGABRT),
        "child did not abort:\n{}",
        o.stderr
    );
}

#[test]
fn overflow_reports_trailing_pad() {
    for mode in ["debug", "malloc_debug"] {
        let o = run("overflow", mode);
        assert_aborted(&o);
        assert_eq!(
            report(&o),
            "Debug memory block at address p=0xADDR: API 'm'\n\
             \x20   10 bytes originally requested\n\
             \x20   The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.\n\
             \x20   The 8 pad bytes at tail=0xADDR are not all FORBIDDENBYTE (0xfd):\n\
             \x20       at tail+0: 0x41 *** OUCH\n\
             \x20       at tail+1: 0xfd\n\
             \x20       at tail+2: 0xfd\n\
             \x20       at tail+3: 0xfd\n\
             \x20       at tail+4: 0xfd\n\
             \x20       at tail+5: 0xfd\n\
             \x20       at tail+6: 0xfd\n\
             \x20       at tail+7: 0xfd\n\
             \x20   Data at p: 41 41 41 41 41 41 41 41 41 41\n\
             \n\
             Enable tracemalloc to get the memory block allocation traceback\n\
             \n\
             Fatal Python error: debug_raw_free: bad trailing pad byte\n",
            "mode {mode}"
        );
    }
}

#[test]
fn underflow_reports_leading_pad() {
    let o = run("underflow", "debug");
    assert_aborted(&o);
    let r = report(&o);
    assert!(
        r.contains(
            "    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):\n\
             \x20       at p-7: 0xfd\n\
             \x20       at p-6: 0xfd\n\
             \x20       at p-5: 0xfd\n\
             \x20       at p-4: 0xfd\n\
             \x20       at p-3: 0xfd\n\
             \x20       at p-2: 0xfd\n\
             \x20       at p-1: 0x41 *** OUCH\n"
        ),
        "{r}"
    );
    assert!(
        r.contains("    Data at p: cd cd cd cd cd cd cd cd cd cd\n"),
        "{r}"
    );
    assert!(
        r.ends_with("Fatal Python error: debug_raw_free: bad leading pad byte\n"),
        "{r}"
    );
}

#[test]
fn double_free_reports_dead_id() {
    let o = run("double_free", "debug");
    assert_aborted(&o);
    // The id byte is 0xDD (DEADBYTE), printed raw as CPython's %c does.
    assert!(
        o.stderr.contains("Fatal Python error: debug_raw_free: bad ID: Allocated using API '\u{FFFD}', verified using API 'm'"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("Debug memory block at address p=0x"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("*** OUCH"), "{}", o.stderr);
}

#[test]
fn api_mismatch_reports_bad_id() {
    let o = run("api_mismatch", "debug");
    assert_aborted(&o);
    let r = report(&o);
    assert!(
        r.starts_with(
            "Debug memory block at address p=0xADDR: API 'm'\n    16 bytes originally requested\n"
        ),
        "{r}"
    );
    assert!(r.ends_with("Fatal Python error: debug_raw_free: bad ID: Allocated using API 'm', verified using API 'o'\n"), "{r}");
}

#[test]
fn realloc_checks_the_block() {
    let o = run("realloc_overflow", "debug");
    assert_aborted(&o);
    let r = report(&o);
    assert!(
        r.starts_with(
            "Debug memory block at address p=0xADDR: API 'r'\n    40 bytes originally requested\n"
        ),
        "{r}"
    );
    assert!(
        r.contains("    Data at p: 42 42 42 42 42 42 42 42 ... 42 42 42 42 42 42 42 42\n"),
        "{r}"
    );
    assert!(
        r.ends_with("Fatal Python error: debug_raw_realloc: bad trailing pad byte\n"),
        "{r}"
    );
}

#[test]
fn large_object_block_elides_data() {
    let o = run("object_overflow_long", "debug");
    assert_aborted(&o);
    let r = report(&o);
    assert!(
        r.starts_with(
            "Debug memory block at address p=0xADDR: API 'o'\n    600 bytes originally requested\n"
        ),
        "{r}"
    );
    assert!(r.contains("        at tail+3: 0x00 *** OUCH\n"), "{r}");
    assert!(
        r.contains("    Data at p: 00 01 02 03 04 05 06 07 ... 50 51 52 53 54 55 56 57\n"),
        "{r}"
    );
}

#[test]
fn traceback_hook_replaces_the_hint() {
    let o = run("hook", "debug");
    assert_aborted(&o);
    let r = report(&o);
    assert!(
        r.contains("\n\nMemory block allocated at (most recent call first):\n  File \"x.py\", line 7\n\nFatal Python error:"),
        "{r}"
    );
    assert!(!r.contains("Enable tracemalloc"), "{r}");
}

#[test]
fn debug_layout_and_fills() {
    for mode in ["debug", "pymalloc_debug", "malloc_debug"] {
        let o = run("layout", mode);
        assert!(o.success, "{mode}: {}\n{}", o.stdout, o.stderr);
        assert!(o.stdout.contains("layout ok"), "{}", o.stdout);
    }
}

#[test]
fn unknown_mode_is_fatal_and_lists_valid_names() {
    let o = run("unknown_mode", "bogus");
    assert_aborted(&o);
    assert!(
        o.stderr.contains(
            "Fatal Python error: PYGC_MALLOC: unknown allocator \"bogus\"; valid values are \
             pymalloc (default), malloc, debug, pymalloc_debug, malloc_debug\n"
        ),
        "{}",
        o.stderr
    );
}
