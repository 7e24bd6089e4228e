//! obmalloc's debug hooks report a damaged block that is traced with its allocation
//! traceback, as CPython does. The damage is done in a child process (this binary run
//! again), which the hooks abort. The child runs under each debug allocator, over the
//! pools (`pymalloc_debug`) and over malloc (`malloc_debug`), whichever `PYGC_MALLOC` the
//! suite itself runs with: the report must name the site in both.

use std::alloc::{GlobalAlloc, Layout};
use std::process::Command;

use obmalloc::ObMalloc;
use tracemalloc::Tracing;

#[global_allocator]
static GLOBAL: Tracing<ObMalloc> = Tracing::new(ObMalloc);

const CHILD: &str = "TRACEMALLOC_HOOK_CHILD";

#[test]
fn child_overflows_a_block() {
    let Ok(traced) = std::env::var(CHILD) else {
        return;
    };
    if traced == "1" {
        tracemalloc::start(1).unwrap();
    }
    println!("ALLOCATOR {}", obmalloc::allocator());
    let layout = Layout::from_size_align(10, 1).unwrap();
    // SAFETY: deliberately writes one byte past a 10-byte block, in a child process only,
    // so that the debug hooks catch it on free and abort.
    unsafe {
        println!("LINE {}", line!() + 1);
        let p = GLOBAL.alloc(layout);
        std::ptr::write_bytes(p, 0x41, 11);
        GLOBAL.dealloc(p, layout);
    }
}

const DEBUG_ALLOCATORS: [&str; 2] = ["pymalloc_debug", "malloc_debug"];

fn run(traced: bool, allocator: &str) -> (String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_overflows_a_block", "--nocapture", "--test-threads=1"])
        .env(CHILD, if traced { "1" } else { "0" })
        .env("PYGC_MALLOC", allocator)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(stdout.contains(&format!("ALLOCATOR {allocator}\n")), "{stdout}");
    assert!(!out.status.success(), "the debug hooks abort the child ({allocator})");
    (stdout, stderr)
}

#[test]
fn damaged_traced_block_report_names_its_allocation_site() {
    for allocator in DEBUG_ALLOCATORS {
        damaged_traced_block_under(allocator);
    }
}

fn damaged_traced_block_under(allocator: &str) {
    let (stdout, stderr) = run(true, allocator);
    let line = stdout
        .split("LINE ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("the child printed the allocating line");
    let expected = format!(
        "\n\nMemory block allocated at (most recent call first):\n  File \"{}\", line {line}\n",
        file!()
    );
    assert!(stderr.contains(&expected), "{allocator}: {stderr}");
    assert!(stderr.contains("\n\nFatal Python error:"), "{allocator}: {stderr}");
}

#[test]
fn untraced_block_report_says_enable_tracemalloc() {
    for allocator in DEBUG_ALLOCATORS {
        let (_, stderr) = run(false, allocator);
        assert!(
            stderr.contains("Enable tracemalloc to get the memory block allocation traceback"),
            "{allocator}: {stderr}"
        );
    }
}
