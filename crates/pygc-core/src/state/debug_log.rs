//! The `DEBUG_*` output of a heap.
//!
//! A collection only appends its lines to a buffer (no user code runs); the
//! buffer goes to the writer after the collection, when nothing of it is
//! left to corrupt. The writer is user code (`gc::set_debug_output`): it may
//! panic, collect, replace itself or drop handles, and each of those is
//! safe there. Python writes these lines to `sys.stderr` during the
//! collection; writing them at its end changes only when they appear.

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write as _};
use std::io::Write;
use std::ops::{BitOr, BitOrAssign};

/// Debug flags for `gc::set_debug`: a set of CPython's `gc.DEBUG_*` values.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct DebugFlags(u32);

impl DebugFlags {
    /// No flags.
    pub const fn empty() -> DebugFlags {
        DebugFlags(0)
    }
    /// The integer value, as Python's `gc.get_debug()`.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Flags from CPython's integer (unknown bits are kept, as CPython does).
    pub const fn from_bits(bits: u32) -> DebugFlags {
        DebugFlags(bits)
    }
    /// Whether all of `other` is set.
    pub const fn contains(self, other: DebugFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Print statistics of each collection (`gc.DEBUG_STATS`, 1).
pub const DEBUG_STATS: DebugFlags = DebugFlags(1);
/// Print the collectable objects found (`gc.DEBUG_COLLECTABLE`, 2).
pub const DEBUG_COLLECTABLE: DebugFlags = DebugFlags(2);
/// Print the uncollectable objects found (`gc.DEBUG_UNCOLLECTABLE`, 4).
pub const DEBUG_UNCOLLECTABLE: DebugFlags = DebugFlags(4);
/// Save every unreachable object in `gc.garbage` instead of freeing it
/// (`gc.DEBUG_SAVEALL`, 32).
pub const DEBUG_SAVEALL: DebugFlags = DebugFlags(32);
/// `DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL`
/// (`gc.DEBUG_LEAK`, 38).
pub const DEBUG_LEAK: DebugFlags = DebugFlags(38);

impl BitOr for DebugFlags {
    type Output = DebugFlags;
    fn bitor(self, rhs: DebugFlags) -> DebugFlags {
        DebugFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for DebugFlags {
    fn bitor_assign(&mut self, rhs: DebugFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for DebugFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DebugFlags({})", self.0)
    }
}

/// The debug flags, the pending lines and where they go.
pub(crate) struct DebugLog {
    flags: Cell<DebugFlags>,
    pending: RefCell<String>,
    /// `None`: stderr.
    out: RefCell<Option<Box<dyn Write>>>,
    /// A flush is writing (the writer is taken out of `out` meanwhile).
    flushing: Cell<bool>,
    /// Counts `replace_output` calls, so a flush knows whether the writer
    /// was replaced while it wrote.
    replacements: Cell<u64>,
}

impl DebugLog {
    pub(crate) const fn new() -> DebugLog {
        DebugLog {
            flags: Cell::new(DebugFlags::empty()),
            pending: RefCell::new(String::new()),
            out: RefCell::new(None),
            flushing: Cell::new(false),
            replacements: Cell::new(0),
        }
    }

    pub(crate) fn flags(&self) -> DebugFlags {
        self.flags.get()
    }

    pub(crate) fn set_flags(&self, f: DebugFlags) {
        self.flags.set(f)
    }

    /// Appends a line (runs no user code).
    pub(crate) fn line(&self, args: fmt::Arguments<'_>) {
        let _ = self.pending.borrow_mut().write_fmt(args);
    }

    /// Replaces the writer and returns the old one, for the caller to drop
    /// outside any borrow (its `Drop` is user code and may collect).
    /// Whether the output goes to a writer of the heap's own (not stderr).
    pub(crate) fn has_own_output(&self) -> bool {
        self.flushing.get() || self.out.borrow().is_some()
    }

    pub(crate) fn replace_output(&self, out: Option<Box<dyn Write>>) -> Option<Box<dyn Write>> {
        self.replacements.set(self.replacements.get() + 1);
        std::mem::replace(&mut *self.out.borrow_mut(), out)
    }

    /// Writes the pending lines. User code runs; a panic in it propagates
    /// (after the writer is put back), so the caller runs this once its own
    /// bookkeeping is done. A flush started by the writer itself (it
    /// collected) leaves its lines to the outer flush, which loops.
    pub(crate) fn flush(&self) {
        if self.flushing.get() {
            return;
        }
        let writer = self.out.borrow_mut().take();
        let mut slot = PutBack { log: self, writer, replacements: self.replacements.get() };
        self.flushing.set(true);
        loop {
            let text = std::mem::take(&mut *self.pending.borrow_mut());
            if text.is_empty() {
                break;
            }
            match slot.writer.as_mut() {
                Some(w) => {
                    let _ = w.write_all(text.as_bytes());
                    let _ = w.flush();
                }
                None => {
                    let _ = std::io::stderr().write_all(text.as_bytes());
                }
            }
        }
        drop(slot);
    }
}

/// Puts the writer back after a flush, unless the writer installed a new
/// one meanwhile (then the old one is dropped, outside the borrow).
struct PutBack<'a> {
    log: &'a DebugLog,
    writer: Option<Box<dyn Write>>,
    replacements: u64,
}

impl Drop for PutBack<'_> {
    fn drop(&mut self) {
        self.log.flushing.set(false);
        let writer = self.writer.take();
        let stale = if self.log.replacements.get() == self.replacements {
            *self.log.out.borrow_mut() = writer;
            None
        } else {
            writer
        };
        drop(stale);
    }
}
