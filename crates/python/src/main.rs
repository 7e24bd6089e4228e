//! `pygc-python FILE.py [ARGS]` and `pygc-python -c CODE [ARGS]`.

use pygc_python::Outcome;

/// Every Rust allocation of the interpreter (list buffers, dict tables,
/// strings' text) comes from obmalloc's pools, as CPython's do from
/// pymalloc, through tracemalloc's wrapper, so that `tracemalloc` traces
/// them with the Python line that made them (one relaxed load per
/// allocation when it is not tracing).
#[global_allocator]
static ALLOCATOR: pygc::tracemalloc::Tracing<obmalloc::ObMalloc> =
    pygc::tracemalloc::Tracing::new(obmalloc::ObMalloc);

/// The interpreter thread's stack: nested evaluation loops (native code
/// calling Python) recurse on it; the bound is `vm::NATIVE_DEPTH_MAX`.
const STACK_SIZE: usize = 1 << 30;

fn usage() -> ! {
    eprintln!("usage: pygc-python FILE.py [ARGS...] | pygc-python -c CODE [ARGS...]");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let job = move || -> Outcome {
        match args.first().map(String::as_str) {
            Some("--version" | "-V") => {
                println!(
                    "pygc-python {} (the Python 3.11 language subset of crates/python)",
                    env!("CARGO_PKG_VERSION")
                );
                Outcome::Exit(0)
            }
            Some("-c") => {
                let Some(code) = args.get(1) else {
                    eprintln!("Argument expected for the -c option");
                    std::process::exit(2)
                };
                let mut argv = vec!["-c".to_string()];
                argv.extend(args[2..].iter().cloned());
                pygc_python::run_source("<string>", code.clone(), argv)
            }
            Some(f) if !f.starts_with('-') || f == "-" => pygc_python::run_file(f, args[1..].to_vec()),
            _ => usage(),
        }
    };
    let handle = std::thread::Builder::new()
        .name("python".into())
        .stack_size(STACK_SIZE)
        .spawn(job)
        .expect("spawn interpreter thread");
    match handle.join() {
        Ok(Outcome::Exit(code)) => std::process::exit(code),
        Err(_) => std::process::exit(70),
    }
}
