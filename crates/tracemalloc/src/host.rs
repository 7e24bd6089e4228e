//! Frames from a host interpreter: an interpreter running on pygc tells the tracer where
//! *its* program is (a Python file and line), and those frames replace the native and
//! `#[track_caller]` frames of the traces, as CPython's tracemalloc records Python frames
//! rather than C ones.
//!
//! The interpreter registers one [`FrameSource`] with [`set_frame_source`]. The tracer
//! calls it for every traced allocation (with this thread's allocations untraced, so the
//! source may allocate), asking for at most the traceback limit of frames, most recent
//! first. A thread where the source reports no frame (a helper thread, or the host between
//! two programs) keeps native frames. Host frames are symbolized as they are: no debug
//! info is read.
//!
//! ```
//! use tracemalloc::{HostFrame, KeyType};
//!
//! // The host's stack: `main.py` line 7 called `lib.py`, now at line 3.
//! fn python_stack(push: &mut dyn FnMut(HostFrame) -> bool) -> usize {
//!     let frames = [HostFrame::new("lib.py", 3), HostFrame::new("main.py", 7)];
//!     for f in frames {
//!         if !push(f) {
//!             break;
//!         }
//!     }
//!     frames.len()
//! }
//!
//! tracemalloc::set_frame_source(Some(python_stack));
//! tracemalloc::start(2).unwrap();
//! let block = vec![0u8; 100];
//! tracemalloc::track(7, block.as_ptr() as usize, block.len()).unwrap();
//! let snapshot = tracemalloc::take_snapshot().unwrap();
//! let stats = snapshot.statistics(KeyType::Traceback, false).unwrap();
//! let mine = stats.iter().find(|s| s.size == 100).unwrap();
//! assert_eq!(format!("{:?}", mine.traceback),
//!            "<Traceback (<Frame filename='main.py' lineno=7>, <Frame filename='lib.py' lineno=3>)>");
//! tracemalloc::stop();
//! tracemalloc::set_frame_source(None);
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::frame::{Frame, Traceback};
use crate::tracer::RawFrame;

/// One frame of the host interpreter's stack: a source file and a line.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct HostFrame {
    /// The file, as the host names it (Python's `co_filename`). `'static`: the host keeps
    /// one string per source file for the life of the process.
    pub filename: &'static str,
    /// The line being run in that frame (1-based; 0 when unknown).
    pub lineno: u32,
}

impl HostFrame {
    /// A frame for `filename:lineno`.
    pub const fn new(filename: &'static str, lineno: u32) -> HostFrame {
        HostFrame { filename, lineno }
    }
}

/// Reports the calling thread's host frames, **most recent first**, by calling `push` for
/// each until it returns false (the traceback limit is reached); returns how many frames
/// were reported (0: this thread runs no host code; native frames are captured instead).
///
/// It runs inside the allocator, for every traced allocation: it must be quick, must not
/// panic, and must not wait for a lock another allocation could hold. Its own allocations
/// are not traced.
pub type FrameSource = fn(push: &mut dyn FnMut(HostFrame) -> bool) -> usize;

/// The registered source, as a function-pointer address (0: none).
static SOURCE: AtomicUsize = AtomicUsize::new(0);

/// Registers (or with `None` removes) the host interpreter's frame source: while it is
/// set, traces taken on a thread where it reports frames carry those frames instead of
/// native ones. Traces already taken keep their frames.
pub fn set_frame_source(source: Option<FrameSource>) {
    SOURCE.store(source.map_or(0, |f| f as usize), Ordering::SeqCst);
}

/// The registered frame source, if any.
pub fn frame_source() -> Option<FrameSource> {
    match SOURCE.load(Ordering::Relaxed) {
        0 => None,
        addr => {
            let f: *const () = addr as *const ();
            // SAFETY: `SOURCE` only ever holds 0 or an address stored by
            // `set_frame_source` from a value of type `FrameSource`, and function pointers
            // round-trip through `usize` on every platform Rust supports.
            Some(unsafe { std::mem::transmute::<*const (), FrameSource>(f) })
        }
    }
}

/// Fills `buf` with at most `nframe` host frames of this thread; `None` when no source is
/// set or it reported none (the caller then captures native frames).
#[inline]
pub(crate) fn capture(buf: &mut [RawFrame], nframe: usize) -> Option<usize> {
    let source = frame_source()?;
    let limit = nframe.min(buf.len());
    let mut n = 0;
    source(&mut |f| {
        if n < limit {
            buf[n] = RawFrame::Host(f);
            n += 1;
        }
        n < limit
    });
    (n > 0).then_some(n)
}

/// The traceback of a raw traceback made of host frames (`None` if it has none).
pub(crate) fn symbolize(raw: &[RawFrame], limit: u32) -> Option<Traceback> {
    let mut frames: Vec<Frame> = raw
        .iter()
        .filter_map(|f| match f {
            RawFrame::Host(h) => Some(Frame::new(h.filename, h.lineno)),
            _ => None,
        })
        .collect();
    if frames.is_empty() {
        return None;
    }
    frames.truncate(limit.max(1) as usize);
    Some(Traceback::from_most_recent_first(frames, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Only the test's own thread has host frames: other unit tests of this binary
        /// may be tracing on their threads meanwhile.
        static HOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    fn three(push: &mut dyn FnMut(HostFrame) -> bool) -> usize {
        if !HOST.with(|h| h.get()) {
            return 0;
        }
        let mut n = 0;
        for f in [HostFrame::new("c.py", 3), HostFrame::new("b.py", 2), HostFrame::new("a.py", 1)] {
            n += 1;
            if !push(f) {
                break;
            }
        }
        n
    }

    fn none(_push: &mut dyn FnMut(HostFrame) -> bool) -> usize {
        0
    }

    // One test, so that the global source is never set by two tests at once.
    #[test]
    fn capture_follows_the_source_and_the_limit() {
        HOST.with(|h| h.set(true));
        set_frame_source(None);
        let mut buf = [RawFrame::Ip(0); 8];
        assert_eq!(capture(&mut buf, 5), None, "no source: native frames");
        set_frame_source(Some(three));
        assert_eq!(capture(&mut buf, 2), Some(2), "stops at the limit");
        assert_eq!(buf[0], RawFrame::Host(HostFrame::new("c.py", 3)));
        assert_eq!(buf[1], RawFrame::Host(HostFrame::new("b.py", 2)));
        assert_eq!(capture(&mut buf, 10), Some(3));
        let tb = symbolize(&buf[..3], 10).unwrap();
        assert_eq!(tb.to_string(), "a.py:1", "oldest first");
        assert_eq!(tb.most_recent().to_string(), "c.py:3");
        assert_eq!(symbolize(&buf[..3], 1).unwrap().most_recent().to_string(), "c.py:3");
        set_frame_source(Some(none));
        assert_eq!(capture(&mut buf, 5), None, "a thread with no host frames");
        set_frame_source(None);
        assert!(frame_source().is_none());
        assert_eq!(symbolize(&[RawFrame::Ip(1)], 5), None);
    }
}
