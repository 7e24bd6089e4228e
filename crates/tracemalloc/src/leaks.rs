//! A test helper: fail when a closure leaves memory allocated.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::frame::Traceback;
use crate::snapshot::{KeyType, Snapshot, Statistic};
use crate::tracer;

// Scope ids wrap after 2^32 checks; 0 means "no check".
static NEXT_SCOPE: AtomicU32 = AtomicU32::new(1);
/// Active leak checks, and whether the first of them started tracing.
static ACTIVE: Mutex<(usize, bool)> = Mutex::new((0, false));

/// Frames kept when a leak check has to start tracing itself.
const LEAK_CHECK_FRAMES: i64 = 16;

/// The blocks a closure left allocated; `Display` lists them grouped by traceback, biggest
/// first, each headed by its allocating line and followed by its traceback (most recent
/// call first).
#[derive(Debug)]
pub struct LeakReport {
    /// The leaked traces.
    pub snapshot: Snapshot,
}

impl fmt::Display for LeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.snapshot.statistics(KeyType::Traceback, false).map_err(|_| fmt::Error)?;
        writeln!(
            f,
            "{} leaked block(s), {} bytes:",
            self.snapshot.traces().len(),
            self.snapshot.total_size()
        )?;
        for stat in stats {
            // Headed by the allocating line (Python's str() of a traceback key would show
            // the oldest frame), then the traceback, most recent call first.
            let site = Statistic {
                traceback: Traceback::new(vec![stat.traceback.most_recent().clone()], None),
                ..stat.clone()
            };
            writeln!(f, "{site}")?;
            for line in stat.traceback.format(None, true) {
                writeln!(f, "{line}")?;
            }
        }
        Ok(())
    }
}

/// Runs `f` and returns the blocks it allocated on this thread that are still allocated
/// when it returns (pygc objects and, with [`crate::Tracing`] as the global allocator,
/// Rust allocations).
///
/// Allocations are attributed to the calling thread's check, so checks running in
/// parallel tests do not see each other's blocks; blocks allocated by threads `f` spawns
/// are not attributed to it. If tracing is off, the check starts it (16 frames) and the
/// last active check stops it again. Lazily initialised statics (e.g. the first use of a
/// thread-local or of stdout) allocate once and count as leaks: warm them up first.
pub fn check_leaks(f: impl FnOnce()) -> Result<(), LeakReport> {
    {
        let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
        if active.0 == 0 && !tracer::is_tracing() {
            // Cannot fail: the frame count is in range.
            let _ = tracer::start(LEAK_CHECK_FRAMES, 0, 0);
            active.1 = true;
        }
        active.0 += 1;
    }
    let scope = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed).max(1);
    let previous = tracer::set_scope(scope);
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            tracer::set_scope(self.0);
            let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
            active.0 -= 1;
            if active.0 == 0 && active.1 {
                active.1 = false;
                tracer::stop();
            }
        }
    }
    let restore = Restore(previous);
    f();
    tracer::set_scope(previous);
    let leaked = tracer::snapshot(Some(scope));
    drop(restore);
    match leaked {
        Ok(snapshot) if !snapshot.traces().is_empty() => Err(LeakReport { snapshot }),
        _ => Ok(()),
    }
}

/// Runs `f` and panics, listing the leaked blocks and their tracebacks, if it left
/// anything allocated (see [`check_leaks`]).
///
/// ```
/// tracemalloc::assert_no_leaks(|| {
///     let v = vec![1u8; 100];
///     drop(v);
/// });
/// ```
#[track_caller]
pub fn assert_no_leaks(f: impl FnOnce()) {
    if let Err(report) = check_leaks(f) {
        panic!("memory leaked:\n{report}");
    }
}
