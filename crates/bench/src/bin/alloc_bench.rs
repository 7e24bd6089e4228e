//! The allocator benchmark harness: one binary per global allocator.
//!
//! Usage: `alloc_bench [--only W1,W2,..] [--scale F] [--reps N] [--list]`.
//! Prints one JSON line per measured quantity on stdout; see the `bench`
//! crate docs and `scripts/bench-alloc.sh`.

use std::process::ExitCode;

use bench::workloads::{run, Config, WORKLOADS};

// The features are additive (so `--all-features` builds): if several are on,
// the first of obmalloc, jemalloc, mimalloc wins; none of them means System.
// The driver script always enables exactly one.

#[cfg(all(feature = "mimalloc", not(any(feature = "jemalloc", feature = "obmalloc"))))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(all(feature = "mimalloc", not(any(feature = "jemalloc", feature = "obmalloc"))))]
const ALLOC: &str = "mimalloc";

#[cfg(all(feature = "jemalloc", not(feature = "obmalloc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
#[cfg(all(feature = "jemalloc", not(feature = "obmalloc")))]
const ALLOC: &str = "jemalloc";

#[cfg(feature = "obmalloc")]
#[global_allocator]
static GLOBAL: obmalloc::ObMalloc = obmalloc::ObMalloc;
#[cfg(feature = "obmalloc")]
const ALLOC: &str = "obmalloc";

#[cfg(not(any(feature = "mimalloc", feature = "jemalloc", feature = "obmalloc")))]
const ALLOC: &str = "sys";

/// glibc: give free heap memory back (`malloc_trim(0)`).
#[cfg(not(any(feature = "mimalloc", feature = "jemalloc", feature = "obmalloc")))]
fn trim() {
    // SAFETY: malloc_trim has no preconditions.
    unsafe { libc::malloc_trim(0) };
}

/// mimalloc: `mi_collect(true)`, its aggressive "return memory to the OS".
#[cfg(all(feature = "mimalloc", not(any(feature = "jemalloc", feature = "obmalloc"))))]
fn trim() {
    // SAFETY: mi_collect has no preconditions.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// jemalloc: purge every arena (`arena.<MALLCTL_ARENAS_ALL>.purge`).
#[cfg(all(feature = "jemalloc", not(feature = "obmalloc")))]
fn trim() {
    let name = c"arena.4096.purge";
    // SAFETY: a NUL-terminated mallctl name with no old/new values, which
    // is how the "purge" command is invoked.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    assert_eq!(rc, 0, "mallctl(arena.4096.purge) failed");
}

/// obmalloc: `obmalloc::collect()`.
#[cfg(feature = "obmalloc")]
fn trim() {
    obmalloc::collect();
}

const USAGE: &str = "usage: alloc_bench [--only W1,W2,..] [--scale F] [--reps N] [--list]";

struct Args {
    only: Vec<String>,
    cfg: Config,
    list: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        only: WORKLOADS.iter().map(|s| s.to_string()).collect(),
        cfg: Config { trim: Some(trim), ..Config::default() },
        list: false,
    };
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--only" => {
                let v = value("--only")?;
                args.only = v.split(',').map(str::to_string).collect();
                if let Some(bad) = args.only.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
                    return Err(format!("unknown workload {bad:?}; valid: {}", WORKLOADS.join(", ")));
                }
            }
            "--scale" => {
                let v = value("--scale")?;
                args.cfg.scale = v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0 && *s <= 100.0)
                    .ok_or_else(|| format!("--scale wants a number in (0, 100], got {v:?}"))?;
            }
            "--reps" => {
                let v = value("--reps")?;
                args.cfg.reps = v
                    .parse::<usize>()
                    .ok()
                    .filter(|r| (1..=100).contains(r))
                    .ok_or_else(|| format!("--reps wants an integer in 1..=100, got {v:?}"))?;
            }
            "--list" => args.list = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("alloc_bench: {msg}");
            return ExitCode::from(2);
        }
    };
    if args.list {
        println!("{}", WORKLOADS.join("\n"));
        return ExitCode::SUCCESS;
    }
    for w in &args.only {
        let Some(result) = run(w, &args.cfg) else {
            unreachable!("workload names were validated");
        };
        match result {
            Ok(records) => {
                for r in records {
                    println!("{}", r.to_json(ALLOC));
                }
            }
            Err(e) => {
                eprintln!("alloc_bench [{ALLOC}] {w}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
