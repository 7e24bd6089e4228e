//! The one place the tracer maps memory itself: a read-only view of a file (the running
//! executable, to read its debug information's compilation directories).

/// A file mapped read-only and private; unmapped when dropped.
#[cfg(unix)]
pub(crate) struct MappedFile {
    ptr: *mut libc::c_void,
    len: usize,
}

#[cfg(unix)]
impl MappedFile {
    /// Maps the whole of `path`, or `None` if it cannot be opened, is empty or cannot be
    /// mapped.
    pub(crate) fn open(path: &std::path::Path) -> Option<MappedFile> {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::File::open(path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        if len == 0 {
            return None;
        }
        // SAFETY: a fresh mapping (null hint) of `len` bytes of an open file descriptor,
        // read-only and private, so it aliases no Rust object; the result is checked
        // against MAP_FAILED before use. The descriptor may be closed afterwards (the
        // mapping keeps the file).
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0)
        };
        (ptr != libc::MAP_FAILED).then_some(MappedFile { ptr, len })
    }

    /// The file's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is the start of a live mapping of `len` readable bytes (made in
        // `open`, unmapped only in `drop`, which the borrow of `self` excludes); nothing
        // writes through a read-only private mapping. The file itself could be rewritten
        // underneath by another process, the risk every symbolizer that maps binaries
        // takes (the `backtrace` crate maps them too).
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

#[cfg(unix)]
impl Drop for MappedFile {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe the mapping `open` made, unmapped only here, and no
        // borrow of its bytes outlives `self`.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}
