//! memory_profiler for Rust: how much memory each line of a function uses,
//! and how much a process uses over time.
//!
//! * [`LineProfiler`] is the runtime of the `#[profile]` attribute
//!   (`pygc::profile`): it prints memory_profiler's line table when the
//!   function returns, and appends a `FUNC` record to the file named by
//!   [`FUNC_FILE_ENV`] when `mprof run` set it.
//! * [`memory_usage`] samples this process, another pid, or this process
//!   while a closure runs, in MiB; [`memit`] is IPython's `%memit`.
//! * [`dat`] reads and writes mprof's `.dat` format; [`sys`] reads `/proc`.
//!
//! # Which memory
//! [`Measure::Auto`] (the default) reports **exact live heap bytes** when a
//! counting allocator is installed ([`CountingAlloc`]), and resident set
//! size otherwise. RSS is what memory_profiler prints, but it counts what
//! the allocator keeps, so a line that frees 20 MiB can show +0.0 and a
//! line that allocates can show a negative number (memory_profiler issues
//! #195, #211, #226, #400). The heap counter moves only when a line
//! allocates or frees, so each increment is the truth about that line.
//!
//! ```
//! use memory_profiler::{LineProfiler, Measure, Options, Site};
//! static SITE: Site = Site {
//!     file: file!(), manifest_dir: env!("CARGO_MANIFEST_DIR"),
//!     module: module_path!(), name: "demo", first_line: 1, last_line: 3,
//! };
//! let p = LineProfiler::start(&SITE, Options::default().measure(Measure::Rss).stream(std::io::sink()));
//! p.enter(2);
//! let v = p.ret(vec![0u8; 1000]);
//! drop(p); // prints the table to the sink
//! assert_eq!(v.len(), 1000);
//! ```
#![cfg(target_os = "linux")]

pub mod dat;
mod line;
mod measure;
pub mod sys;
mod usage;

pub use line::{LineProfiler, Options, Site, FUNC_FILE_ENV};
pub use measure::{heap_live_bytes, heap_tracking, set_heap_source, CountingAlloc, Measure};
pub use usage::{memit, memory_usage, Memit, MemoryUsage, Usage};
