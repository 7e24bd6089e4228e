//! Python's `tracemalloc` for Rust: where was this memory allocated?
//!
//! Traces live memory blocks with the traceback of their allocation, takes snapshots,
//! groups them into statistics by line, file or traceback, and diffs two snapshots, with
//! CPython's semantics and CPython's text formats (`Display` is Python's `str()`).
//!
//! Two kinds of blocks, in two domains:
//! - [`OBJECT_DOMAIN`]: objects of the pygc heap, recorded by `Gc::new` through
//!   [`track_object`] (their `#[track_caller]` site is the first frame, nearly free);
//! - [`RUST_DOMAIN`]: every Rust allocation, when [`Tracing`] is the global allocator.
//!
//! Native frames are captured as return addresses and symbolized to `file:line` only when
//! a snapshot or a traceback is asked for.
//!
//! ```
//! use std::alloc::System;
//! use tracemalloc::{KeyType, Tracing};
//!
//! #[global_allocator]
//! static GLOBAL: Tracing<System> = Tracing::new(System);
//!
//! fn main() -> Result<(), tracemalloc::Error> {
//!     tracemalloc::start(1)?;
//!     let kept: Vec<String> = (0..100).map(|i| i.to_string().repeat(3)).collect();
//!     let snapshot = tracemalloc::take_snapshot()?;
//!     for stat in snapshot.statistics(KeyType::Lineno, false)?.iter().take(3) {
//!         println!("{stat}"); // e.g. "src/main.rs:9: size=1200 B, count=101, average=12 B"
//!     }
//!     tracemalloc::stop();
//!     drop(kept);
//!     Ok(())
//! }
//! ```
//!
//! An interpreter running on pygc gives the traces its own frames (Python files and lines)
//! with [`set_frame_source`].
//!
//! Beyond Python: [`Snapshot::write_flamegraph`], [`Snapshot::to_dhat_json`],
//! [`assert_no_leaks`] for tests, and [`start_sampling`] for production use.

mod alloc;
mod dump;
mod error;
mod export;
mod filter;
mod frame;
mod hook;
mod host;
mod leaks;
#[cfg(feature = "objects")]
mod objects;
mod os;
mod paths;
mod recipes;
mod size;
mod snapshot;
mod symbols;
mod tracer;
mod unwind;

use std::panic::Location;
use std::sync::atomic::Ordering;

pub use alloc::Tracing;
pub use dump::{FORMAT_MAGIC, FORMAT_VERSION};
pub use error::Error;
pub use filter::{DomainFilter, Filter, TraceFilter};
pub use frame::{getline, Frame, Traceback};
pub use hook::block_traceback;
pub use host::{frame_source, set_frame_source, FrameSource, HostFrame};
pub use leaks::{assert_no_leaks, check_leaks, LeakReport};
#[cfg(feature = "objects")]
pub use objects::get_object_traceback;
pub use recipes::{display_top, display_top_differences};
pub use size::{format_bytes, format_size};
pub use snapshot::{IntoKeyType, KeyType, Snapshot, Statistic, StatisticDiff, Trace};
pub use tracer::{MAX_NATIVE_FRAMES, PLUMBING_BUDGET};
pub use unwind::{set_unwinder, unwinder, Unwinder};

/// Domain of pygc heap objects (CPython's domain 0 holds its objects too).
pub const OBJECT_DOMAIN: u32 = 0;
/// Domain of the Rust allocations seen by the [`Tracing`] global-allocator wrapper.
pub const RUST_DOMAIN: u32 = 1;

/// Starts tracing, keeping at most `nframe` frames per traceback (Python's
/// `tracemalloc.start(nframe=1)`).
///
/// `nframe` must be in `[1; 65535]` (CPython's `ValueError` text otherwise). Calling it
/// while already tracing changes nothing, as in CPython.
pub fn start(nframe: i64) -> Result<(), Error> {
    tracer::start(nframe, 0, 0)?;
    #[cfg(feature = "objects")]
    objects::install();
    Ok(())
}

/// Starts tracing a byte-weighted random sample of the blocks (not in Python).
///
/// Each allocated byte is sampled with probability `1/mean_bytes` (a Poisson process over
/// the allocation stream, per thread); a block of `s` bytes is therefore traced with
/// probability `1 - exp(-s/mean_bytes)` and weighs `s` divided by that, so statistics and
/// [`get_traced_memory`] are unbiased estimates of the exact figures. `seed` fixes the
/// random streams (each thread mixes in its order of arrival). Like `start`, it does
/// nothing while tracing.
pub fn start_sampling(nframe: i64, mean_bytes: u64, seed: u64) -> Result<(), Error> {
    if mean_bytes == 0 {
        return Err(Error::SamplingMean);
    }
    tracer::start(nframe, mean_bytes, seed)?;
    #[cfg(feature = "objects")]
    objects::install();
    Ok(())
}

/// The sampling mean in bytes, or `None` when every block is traced.
pub fn sampling_mean() -> Option<u64> {
    tracer::sampling_mean()
}

/// Stops tracing and clears the traces; the traceback limit survives (Python's `stop()`).
pub fn stop() {
    #[cfg(feature = "objects")]
    objects::uninstall();
    tracer::stop()
}

/// Whether tracing is on: one relaxed atomic load (the heap checks it on every `Gc::new`).
#[inline]
pub fn is_tracing() -> bool {
    tracer::TRACING.load(Ordering::Relaxed)
}

/// Clears the traces and sets the current and peak sizes to zero (Python's
/// `clear_traces()`).
pub fn clear_traces() {
    tracer::clear_traces()
}

/// The maximum number of frames per traceback (1 before the first `start`).
pub fn get_traceback_limit() -> u32 {
    tracer::traceback_limit()
}

/// `(current, peak)` traced bytes, `(0, 0)` when not tracing (Python's
/// `get_traced_memory()`). Estimates in sampling mode.
pub fn get_traced_memory() -> (u64, u64) {
    tracer::traced_memory()
}

/// Sets the peak to the current size (Python's `reset_peak()`).
pub fn reset_peak() {
    tracer::reset_peak()
}

/// Bytes the tracer uses for itself (Python's `get_tracemalloc_memory()`): its tables,
/// the symbolizer's cache and the snapshots still alive. With obmalloc underneath (the
/// global allocator, or `Tracing<obmalloc::ObMalloc>`), this is obmalloc's exact
/// [`tool_bytes`](obmalloc::tool_bytes), which `obmalloc::live_bytes()` (and so
/// `#[profile]`) leaves out; otherwise the tracer's estimate of its tables.
pub fn get_tracemalloc_memory() -> u64 {
    tracer::tracemalloc_memory()
}

/// The traces alive now, symbolized (Python's `take_snapshot()`). Fails when not tracing,
/// with CPython's message. The snapshot's own memory is not traced.
pub fn take_snapshot() -> Result<Snapshot, Error> {
    tracer::snapshot(None)
}

/// Records a pygc heap object allocated at `caller` (called by `Gc::new` while
/// [`is_tracing`]). The first frame is `caller`; deeper native frames are added when the
/// limit is above 1.
#[cold]
#[inline(never)]
pub fn track_object(ptr: usize, size: usize, caller: &'static Location<'static>) {
    tracer::record(OBJECT_DOMAIN, ptr, size, Some(caller), true)
}

/// Forgets the block at `ptr` in `domain` (an object freed, `PyTraceMalloc_Untrack`).
/// Does nothing if it is not traced.
#[cold]
#[inline(never)]
pub fn untrack(domain: u32, ptr: usize) {
    if is_tracing() {
        tracer::forget(domain, ptr);
    }
}

/// Where the block at `ptr` in `domain` was allocated, or `None` if it is not traced
/// (pygc wraps it as `get_object_traceback(&obj)`).
pub fn get_traceback(domain: u32, ptr: usize) -> Option<Traceback> {
    let entry = tracer::peek_blocking(domain, ptr)?;
    Some(symbols::traceback_of(entry.tb, get_traceback_limit()))
}

/// Records a block of any domain with the current native backtrace (CPython's
/// `PyTraceMalloc_Track`). Re-tracking an address replaces its trace. Fails when not
/// tracing. Never sampled.
pub fn track(domain: u32, ptr: usize, size: usize) -> Result<(), Error> {
    if !is_tracing() {
        return Err(Error::NotTracing);
    }
    tracer::record(domain, ptr, size, None, false);
    Ok(())
}

/// Starts tracing if `PYGC_TRACEMALLOC=N` (N ≥ 1) is set, as `PYTHONTRACEMALLOC` does,
/// and reads `PYGC_TRACEMALLOC_UNWINDER` (`auto`, `fp` or `dwarf`, see [`Unwinder`]).
///
/// Runs once per process: the [`Tracing`] allocator calls it on its first allocation;
/// programs without that allocator call it at start-up. An unparsable value of either
/// variable prints an error naming the variable, the value and what is accepted to stderr
/// and is ignored: a bad unwinder name keeps the default (`auto`) and still starts tracing
/// if `PYGC_TRACEMALLOC` asks for it. An empty value is unset; `PYGC_TRACEMALLOC=0` means
/// off.
pub fn init_from_env() {
    use alloc::{ENV_DONE, ENV_STATE};
    if ENV_STATE.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        return; // done, or being done (possibly by this very thread, re-entering)
    }
    {
        let _busy = tracer::Busy::force();
        if let Some(value) = std::env::var_os("PYGC_TRACEMALLOC_UNWINDER") {
            match value.to_str().map(str::trim).map(|v| (v, Unwinder::from_env_value(v))) {
                Some(("", _)) => {} // set but empty: unset, as Python reads its variables
                Some((_, Some(unwinder))) => set_unwinder(unwinder),
                _ => eprintln!(
                    "PYGC_TRACEMALLOC_UNWINDER: unknown unwinder {value:?} (expected auto, fp or dwarf); \
                     using auto"
                ),
            }
        }
        if let Some(value) = std::env::var_os("PYGC_TRACEMALLOC") {
            match value.to_str().map(str::trim).map(str::parse::<i64>) {
                Some(Ok(0)) => {}
                Some(Ok(n)) => {
                    if let Err(e) = start(n) {
                        eprintln!("PYGC_TRACEMALLOC: {e}");
                    }
                }
                _ => eprintln!("PYGC_TRACEMALLOC: invalid number of frames: {value:?}"),
            }
        }
    }
    ENV_STATE.store(ENV_DONE, Ordering::SeqCst);
}
