//! `PYGC_TRACEMALLOC=N` starts tracing at the first allocation, as PYTHONTRACEMALLOC does,
//! and `PYGC_TRACEMALLOC_UNWINDER` chooses the unwinder. The tests run this binary again
//! as a child with the variables set.

use std::alloc::System;
use std::process::Command;

use tracemalloc::Tracing;

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

struct Child {
    stdout: String,
    stderr: String,
}

fn run_child(vars: &[(&str, &str)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_reports_tracing", "--nocapture", "--test-threads=1"])
        .env_remove("PYGC_TRACEMALLOC")
        .env_remove("PYGC_TRACEMALLOC_UNWINDER")
        .env("PYGC_TRACEMALLOC_CHILD", "1");
    for (name, value) in vars {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    Child {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// In the child: what the variables did, then the unwinder once `start` has run.
#[test]
fn child_reports_tracing() {
    if std::env::var_os("PYGC_TRACEMALLOC_CHILD").is_none() {
        return; // only meaningful in the child
    }
    println!(
        "CHILD tracing={} limit={} unwinder={:?}",
        tracemalloc::is_tracing(),
        tracemalloc::get_traceback_limit(),
        tracemalloc::unwinder()
    );
    tracemalloc::start(1).unwrap();
    println!("CHILD started unwinder={:?}", tracemalloc::unwinder());
    tracemalloc::stop();
}

#[test]
fn env_variable_starts_tracing() {
    let out = run_child(&[("PYGC_TRACEMALLOC", "7")]);
    assert!(out.stdout.contains("CHILD tracing=true limit=7"), "{}", out.stdout);
    let out = run_child(&[("PYGC_TRACEMALLOC", "0")]);
    assert!(out.stdout.contains("CHILD tracing=false limit=1"), "{}", out.stdout);
    let out = run_child(&[("PYGC_TRACEMALLOC", "lots")]);
    assert!(out.stdout.contains("CHILD tracing=false"));
    assert!(out.stderr.contains("PYGC_TRACEMALLOC: invalid number of frames"));
    let out = run_child(&[("PYGC_TRACEMALLOC", "70000")]);
    assert!(out.stderr.contains("PYGC_TRACEMALLOC: the number of frames must be in range [1; 65535]"));
}

/// What `Auto` settles to in this build, decided by `start` in this process.
fn auto_choice() -> String {
    let out = run_child(&[]);
    let picked = out.stdout.split("CHILD started unwinder=").nth(1).unwrap().lines().next().unwrap();
    assert_ne!(picked, "Auto", "start settles Auto");
    picked.to_string()
}

#[test]
fn env_variable_chooses_the_unwinder() {
    let auto = auto_choice();
    // (value, before start, after start)
    let cases = [
        ("dwarf", "Dwarf".to_string(), "Dwarf".to_string()),
        ("fp", "FramePointers".into(), "FramePointers".into()),
        ("auto", "Auto".into(), auto.clone()),
        (" dwarf ", "Dwarf".into(), "Dwarf".into()),
        ("", "Auto".into(), auto.clone()),
    ];
    for (value, before, after) in cases {
        let out = run_child(&[("PYGC_TRACEMALLOC_UNWINDER", value)]);
        let expected =
            format!("CHILD tracing=false limit=1 unwinder={before}\nCHILD started unwinder={after}\n");
        assert!(out.stdout.contains(&expected), "{value:?}: {}", out.stdout);
        assert!(!out.stderr.contains("PYGC_TRACEMALLOC_UNWINDER"), "{value:?}: {}", out.stderr);
    }
}

#[test]
fn a_bad_unwinder_name_is_reported_and_loses_nothing() {
    let auto = auto_choice();
    for value in ["dwraf", "DWARF", "frame-pointers"] {
        let out = run_child(&[("PYGC_TRACEMALLOC_UNWINDER", value), ("PYGC_TRACEMALLOC", "3")]);
        assert!(
            out.stderr.contains(&format!(
                "PYGC_TRACEMALLOC_UNWINDER: unknown unwinder {value:?} (expected auto, fp or dwarf); using auto"
            )),
            "{}",
            out.stderr
        );
        // Tracing still starts as PYGC_TRACEMALLOC asks, with the default unwinder.
        assert!(
            out.stdout.contains(&format!("CHILD tracing=true limit=3 unwinder={auto}")),
            "{}",
            out.stdout
        );
    }
}
