//! Which allocator serves requests: `PYGC_MALLOC` (read once, without
//! allocating) or [`set_allocator`](crate::set_allocator) before first use.

use crate::os;
use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering::*};

/// The allocator behind every API, named as `PYTHONMALLOC` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Allocator {
    /// `pymalloc` (the default): pools and arenas.
    PyMalloc,
    /// `malloc`: every request goes to the system allocator.
    Malloc,
    /// `debug` / `pymalloc_debug`: pymalloc wrapped in CPython's debug hooks.
    Debug,
    /// `malloc_debug`: the system allocator wrapped in the debug hooks.
    MallocDebug,
}

/// The names `PYGC_MALLOC` accepts, listed in error messages.
pub const VALID_NAMES: &str = "pymalloc (default), malloc, debug, pymalloc_debug, malloc_debug";

impl Allocator {
    /// Parses a `PYTHONMALLOC`-style name (`default` and `""` mean pymalloc).
    pub fn from_name(name: &[u8]) -> Option<Allocator> {
        Some(match name {
            b"" | b"default" | b"pymalloc" => Allocator::PyMalloc,
            b"malloc" => Allocator::Malloc,
            b"debug" | b"pymalloc_debug" => Allocator::Debug,
            b"malloc_debug" => Allocator::MallocDebug,
            _ => return None,
        })
    }

    /// The canonical name (`pymalloc`, `malloc`, `pymalloc_debug`, `malloc_debug`).
    pub fn name(self) -> &'static str {
        match self {
            Allocator::PyMalloc => "pymalloc",
            Allocator::Malloc => "malloc",
            Allocator::Debug => "pymalloc_debug",
            Allocator::MallocDebug => "malloc_debug",
        }
    }

    /// Whether blocks carry the debug header and guards.
    pub fn has_debug_hooks(self) -> bool {
        matches!(self, Allocator::Debug | Allocator::MallocDebug)
    }

    /// Whether small requests are served by the pools.
    pub fn uses_pools(self) -> bool {
        matches!(self, Allocator::PyMalloc | Allocator::Debug)
    }

    fn code(self) -> u8 {
        match self {
            Allocator::PyMalloc => 1,
            Allocator::Malloc => 2,
            Allocator::Debug => 3,
            Allocator::MallocDebug => 4,
        }
    }

    fn from_code(c: u8) -> Allocator {
        match c & 0x7f {
            2 => Allocator::Malloc,
            3 => Allocator::Debug,
            4 => Allocator::MallocDebug,
            _ => Allocator::PyMalloc,
        }
    }
}

impl fmt::Display for Allocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for Allocator {
    type Err = Error;
    fn from_str(s: &str) -> Result<Allocator, Error> {
        Allocator::from_name(s.as_bytes()).ok_or_else(|| Error::UnknownAllocator(s.to_owned()))
    }
}

/// Errors from choosing the allocator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Memory was already allocated with another allocator; blocks cannot
    /// change hands between allocators, so the choice is final.
    AlreadyInUse {
        /// The allocator serving requests.
        current: Allocator,
        /// The one asked for.
        requested: Allocator,
    },
    /// A name that is not one of [`VALID_NAMES`].
    UnknownAllocator(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::AlreadyInUse { current, requested } => write!(
                f,
                "cannot switch the allocator to {requested}: {current} has already allocated memory \
                 (choose it before the first allocation, or set PYGC_MALLOC)"
            ),
            Error::UnknownAllocator(name) => {
                write!(f, "unknown allocator {name:?}; valid values are {VALID_NAMES}")
            }
        }
    }
}

impl std::error::Error for Error {}

const LOCKED: u8 = 0x80;
/// 0 = not chosen yet; else `code | LOCKED` once something was allocated.
static MODE: AtomicU8 = AtomicU8::new(0);

/// The allocator, fixing the choice (called by every slow path).
#[inline]
pub(crate) fn mode_locked() -> Allocator {
    let m = MODE.load(Relaxed);
    if m & LOCKED != 0 {
        return Allocator::from_code(m);
    }
    lock_slow()
}

#[cold]
fn lock_slow() -> Allocator {
    let mut m = MODE.load(Acquire);
    loop {
        if m & LOCKED != 0 {
            return Allocator::from_code(m);
        }
        let code = if m == 0 { from_env().code() } else { m };
        match MODE.compare_exchange(m, code | LOCKED, AcqRel, Acquire) {
            Ok(_) => return Allocator::from_code(code),
            Err(x) => m = x,
        }
    }
}

/// Reads `PYGC_MALLOC`; an unknown value is fatal, as in CPython.
fn from_env() -> Allocator {
    let Some(v) = os::getenv(b"PYGC_MALLOC\0") else {
        return Allocator::PyMalloc;
    };
    if let Some(a) = Allocator::from_name(v) {
        return a;
    }
    let mut w = os::StderrWriter::new();
    w.write_bytes(b"Fatal Python error: PYGC_MALLOC: unknown allocator \"");
    w.write_bytes(v);
    w.write_bytes(b"\"; valid values are ");
    w.write_bytes(VALID_NAMES.as_bytes());
    w.write_bytes(b"\n");
    w.flush();
    os::abort()
}

/// The allocator in use (or that will be used).
pub fn allocator() -> Allocator {
    let m = MODE.load(Acquire);
    if m == 0 {
        return from_env();
    }
    Allocator::from_code(m)
}

/// Chooses the allocator. Works until the first allocation; afterwards asking
/// for a different one is [`Error::AlreadyInUse`] (the same one is fine).
pub fn set_allocator(a: Allocator) -> Result<(), Error> {
    let mut m = MODE.load(Acquire);
    loop {
        if m & LOCKED != 0 {
            let current = Allocator::from_code(m);
            return if current == a {
                Ok(())
            } else {
                Err(Error::AlreadyInUse {
                    current,
                    requested: a,
                })
            };
        }
        match MODE.compare_exchange(m, a.code(), AcqRel, Acquire) {
            Ok(_) => return Ok(()),
            Err(x) => m = x,
        }
    }
}
