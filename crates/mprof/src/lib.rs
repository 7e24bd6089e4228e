//! mprof: record any command's memory over time into memory_profiler's
//! `.dat` format, and plot it.
//!
//! The binary is a thin clap front end over this library:
//! [`record`] samples a process (`mprof run` / `mprof attach`), [`files`]
//! finds and names profiles (`list`, `clean`, `rm`, `peak`), [`plot`] draws
//! them with plotters. The format itself lives in the runtime crate
//! ([`memory_profiler::dat`]) so a `#[profile]`d program writes the same
//! `FUNC` records `mprof plot` reads.
#![cfg(target_os = "linux")]

pub mod files;
pub mod plot;
pub mod record;

pub use memory_profiler::dat::{DatError, FuncRecord, Profile};

/// An error the command reports: a message and the exit code to leave with.
#[derive(Debug)]
pub struct Error {
    /// What went wrong, naming the file, line, command or value at fault.
    pub message: String,
    /// Process exit code (127 = command not found, as shells do).
    pub code: i32,
}

impl Error {
    /// An error with exit code 1.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            code: 1,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<DatError> for Error {
    fn from(e: DatError) -> Error {
        Error::new(e.to_string())
    }
}

/// Local calendar time of a Unix timestamp: (year, month, day, hour, min, sec).
pub fn local_time(ts: f64) -> (i32, u32, u32, u32, u32, u32) {
    let t = ts.floor() as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // thread-safe variant and writes only into `tm`.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        return (1970, 1, 1, 0, 0, 0);
    }
    (
        tm.tm_year + 1900,
        tm.tm_mon as u32 + 1,
        tm.tm_mday as u32,
        tm.tm_hour as u32,
        tm.tm_min as u32,
        tm.tm_sec as u32,
    )
}
