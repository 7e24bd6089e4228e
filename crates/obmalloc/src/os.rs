//! The one gate to raw memory and the process: `mmap`/`munmap`, libc `malloc`
//! and friends, `getenv`, writing to stderr and aborting. Nothing else in the
//! crate calls libc directly.
//!
//! Contract: every function here is a thin wrapper; none of them allocates
//! through this crate, so they are safe to call from inside the allocator
//! (with or without the arena lock held).

use core::ffi::c_void;
use core::fmt;

/// Maps `size` bytes of fresh, zeroed, read-write anonymous memory.
/// Returns null on failure.
pub(crate) fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping with a null hint has no
    // preconditions; failure is reported as MAP_FAILED, handled below.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        core::ptr::null_mut()
    } else {
        p.cast()
    }
}

/// Returns a mapping made by [`map`] to the OS.
///
/// # Safety
/// `p`/`size` must be exactly one earlier `map` result and its size, and no
/// pointer into it may be used afterwards.
pub(crate) unsafe fn unmap(p: *mut u8, size: usize) {
    // SAFETY: the caller hands back a whole mapping that nothing uses any more.
    unsafe { libc::munmap(p.cast(), size) };
}

/// libc `malloc`.
pub(crate) fn sys_malloc(size: usize) -> *mut u8 {
    // SAFETY: malloc has no preconditions.
    unsafe { libc::malloc(size) }.cast()
}

/// libc `calloc`.
pub(crate) fn sys_calloc(n: usize, size: usize) -> *mut u8 {
    // SAFETY: calloc has no preconditions (it checks n*size for overflow).
    unsafe { libc::calloc(n, size) }.cast()
}

/// libc `posix_memalign` (for alignments above 16). Null on failure.
pub(crate) fn sys_memalign(align: usize, size: usize) -> *mut u8 {
    let mut out: *mut c_void = core::ptr::null_mut();
    let align = align.max(core::mem::size_of::<usize>());
    // SAFETY: `out` is a valid out-pointer; align is a power of two (from a
    // Layout) and a multiple of sizeof(void*).
    let rc = unsafe { libc::posix_memalign(&mut out, align, size) };
    if rc == 0 {
        out.cast()
    } else {
        core::ptr::null_mut()
    }
}

/// libc `realloc`.
///
/// # Safety
/// `p` is null or a live libc block.
pub(crate) unsafe fn sys_realloc(p: *mut u8, size: usize) -> *mut u8 {
    // SAFETY: forwarded caller contract.
    unsafe { libc::realloc(p.cast(), size) }.cast()
}

/// libc `free`.
///
/// # Safety
/// `p` is null or a live libc block, not used afterwards.
pub(crate) unsafe fn sys_free(p: *mut u8) {
    // SAFETY: forwarded caller contract.
    unsafe { libc::free(p.cast()) }
}

/// libc `malloc_usable_size`.
///
/// # Safety
/// `p` is a live libc block.
pub(crate) unsafe fn sys_usable_size(p: *mut u8) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { libc::malloc_usable_size(p.cast()) }
}

/// Reads an environment variable without allocating; `None` when unset.
/// `name` must end with a NUL byte.
pub(crate) fn getenv(name: &'static [u8]) -> Option<&'static [u8]> {
    assert!(name.last() == Some(&0));
    // SAFETY: `name` is NUL-terminated (checked above). The returned pointer
    // stays valid as long as nobody calls setenv for this name, which the
    // crate documents as unsupported after start-up.
    let p = unsafe { libc::getenv(name.as_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: getenv returns a NUL-terminated C string.
    let s = unsafe { core::ffi::CStr::from_ptr(p) };
    Some(s.to_bytes())
}

/// Writes all of `bytes` to file descriptor 2, ignoring errors.
pub(crate) fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the buffer is valid for `bytes.len()` bytes.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// A `fmt::Write` to stderr through a stack buffer: formats without allocating.
pub(crate) struct StderrWriter {
    buf: [u8; 512],
    len: usize,
}

impl StderrWriter {
    pub(crate) const fn new() -> Self {
        StderrWriter {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Writes out what is buffered.
    pub(crate) fn flush(&mut self) {
        write_stderr(&self.buf[..self.len]);
        self.len = 0;
    }

    /// Appends raw bytes (used for the API id, which may be any byte).
    pub(crate) fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
    }
}

impl fmt::Write for StderrWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

impl Drop for StderrWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Ends the process with SIGABRT, as CPython's fatal errors do.
pub(crate) fn abort() -> ! {
    // SAFETY: abort has no preconditions and does not return.
    unsafe { libc::abort() }
}
