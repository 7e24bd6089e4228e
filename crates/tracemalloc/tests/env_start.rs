//! `PYGC_TRACEMALLOC=N` starts tracing at the first allocation, as PYTHONTRACEMALLOC does.
//! The test runs this binary again as a child with the variable set.

use std::alloc::System;
use std::process::Command;

use tracemalloc::Tracing;

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

fn run_child(value: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_reports_tracing", "--nocapture", "--test-threads=1"])
        .env("PYGC_TRACEMALLOC", value)
        .env("PYGC_TRACEMALLOC_CHILD", "1")
        .output()
        .unwrap()
}

#[test]
fn child_reports_tracing() {
    if std::env::var_os("PYGC_TRACEMALLOC_CHILD").is_none() {
        return; // only meaningful in the child
    }
    println!("CHILD tracing={} limit={}", tracemalloc::is_tracing(), tracemalloc::get_traceback_limit());
}

#[test]
fn env_variable_starts_tracing() {
    let out = run_child("7");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CHILD tracing=true limit=7"), "{stdout}");
    let out = run_child("0");
    assert!(String::from_utf8_lossy(&out.stdout).contains("CHILD tracing=false limit=1"));
    let out = run_child("lots");
    assert!(String::from_utf8_lossy(&out.stdout).contains("CHILD tracing=false"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PYGC_TRACEMALLOC: invalid number of frames"));
    let out = run_child("70000");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("PYGC_TRACEMALLOC: the number of frames must be in range [1; 65535]"));
}
