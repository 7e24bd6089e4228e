//! Errors, with CPython's messages where CPython has one.

use std::fmt;

/// What can go wrong in the tracemalloc API. `Display` gives CPython's message where
/// CPython raises for the same condition.
#[derive(Debug)]
pub enum Error {
    /// `start(nframe)` with `nframe` outside `[1; 65535]` (Python's `ValueError`).
    FrameCount(i64),
    /// `take_snapshot` or `track` while not tracing (Python's `RuntimeError`).
    NotTracing,
    /// `statistics`/`compare_to` with a key type that is not lineno, filename or traceback.
    UnknownKeyType(String),
    /// Cumulative statistics asked for the traceback key (CPython's message, typo included).
    CumulativeTraceback,
    /// A sampling mean of zero bytes.
    SamplingMean,
    /// Reading or writing a snapshot file failed.
    Io(std::io::Error),
    /// A snapshot file that is not ours, is from a newer version, is truncated or corrupt.
    BadSnapshot(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::FrameCount(_) => f.write_str("the number of frames must be in range [1; 65535]"),
            Error::NotTracing => {
                f.write_str("the tracemalloc module must be tracing memory allocations to take a snapshot")
            }
            Error::UnknownKeyType(k) => {
                write!(f, "unknown key_type: {}", crate::frame::py_repr_str(k))
            }
            Error::CumulativeTraceback => {
                f.write_str("cumulative mode cannot by used with key type 'traceback'")
            }
            Error::SamplingMean => f.write_str("the sampling mean must be at least 1 byte"),
            Error::Io(e) => write!(f, "snapshot file: {e}"),
            Error::BadSnapshot(why) => write!(f, "not a readable tracemalloc snapshot: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}
