//! `gc_bench`: pygc's cycle collector against the Rust peers and CPython.
//!
//! ```text
//! gc_bench --all [--reps N] [--budget-ms MS] [--timeout-s S] [--only ID,..]
//!                [--crates NAME,..] [--no-python] [--out PATH]
//! gc_bench run CRATE WORKLOAD [--reps N] [--budget-ms MS]   (one child run)
//! gc_bench --list
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bench::gc::{self, driver};

#[global_allocator]
static ALLOC: gc::CountingAlloc = gc::CountingAlloc;

const USAGE: &str = "usage: gc_bench --all [--reps N] [--budget-ms MS] [--timeout-s S] \
[--only ID,..] [--crates NAME,..] [--no-python] [--out PATH]\n       \
gc_bench run CRATE WORKLOAD [--reps N] [--budget-ms MS]\n       gc_bench --list";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_and_run(&args) {
        Ok(code) => ExitCode::from(code as u8),
        Err(msg) => {
            eprintln!("gc_bench: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a String, String> {
    it.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn number(s: &str, flag: &str) -> Result<u64, String> {
    s.parse().map_err(|_| format!("{flag}: {s:?} is not a number"))
}

fn parse_and_run(args: &[String]) -> Result<i32, String> {
    let mut opts = driver::Options {
        reps: 5,
        budget: Duration::from_secs(20),
        timeout: Duration::from_secs(120),
        only: Vec::new(),
        crates: Vec::new(),
        python: true,
        out: PathBuf::from("bench-results/gc.md"),
        command: format!("cargo run --release -p bench --bin gc_bench -- {}", args.join(" ")),
    };
    let mut mode = None;
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--all" => mode = Some("all"),
            "--list" => mode = Some("list"),
            "run" if mode.is_none() => mode = Some("run"),
            "--reps" => opts.reps = number(value(&mut it, a)?, a)? as usize,
            "--budget-ms" => opts.budget = Duration::from_millis(number(value(&mut it, a)?, a)?),
            "--timeout-s" => opts.timeout = Duration::from_secs(number(value(&mut it, a)?, a)?),
            "--only" => opts.only = value(&mut it, a)?.split(',').map(str::to_string).collect(),
            "--crates" => opts.crates = value(&mut it, a)?.split(',').map(str::to_string).collect(),
            "--no-python" => opts.python = false,
            "--out" => opts.out = PathBuf::from(value(&mut it, a)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(0);
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other => positional.push(other.to_string()),
        }
    }
    for id in &opts.only {
        if gc::workload(id).is_none() {
            return Err(format!("unknown workload {id:?} (see --list)"));
        }
    }
    for c in &opts.crates {
        if !gc::CRATES.contains(&c.as_str()) {
            return Err(format!("unknown crate {c:?} (one of {:?})", gc::CRATES));
        }
    }
    match mode {
        Some("run") => {
            let [krate, workload] = positional.as_slice() else {
                return Err("run needs CRATE and WORKLOAD".into());
            };
            Ok(driver::run_child(krate, workload, opts.reps, opts.budget))
        }
        Some("list") => {
            for w in gc::WORKLOADS {
                println!("{:16} {}", w.id, w.label);
            }
            Ok(0)
        }
        Some("all") => {
            driver::run_all(&opts).map_err(|e| format!("writing {}: {e}", opts.out.display()))?;
            eprintln!("wrote {}", opts.out.display());
            Ok(0)
        }
        _ => Err("choose --all, run or --list".into()),
    }
}
