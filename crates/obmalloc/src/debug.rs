//! CPython's debug hooks (`PYTHONMALLOC=debug`): every block carries its size,
//! the API that allocated it and guard bytes, checked on free and realloc.
//!
//! ```text
//!  base                       p = base + 16                 p + n
//!  +---------------+---+------+----------------------------+------------+
//!  | n (8 B, BE)   |id | FD×7 | data: CD on malloc,         | FD×8       |
//!  |               |   |      | 00 on calloc                |            |
//!  +---------------+---+------+----------------------------+------------+
//! ```
//! On free the whole block (header and guards included) becomes 0xDD, so a
//! second free finds id 0xDD and reports "bad ID". Reports are written to
//! stderr without allocating, then the process aborts (SIGABRT).

use crate::account;
use crate::arena::{self, pool_of};
use crate::checkers;
use crate::geometry::*;
use crate::heap;
use crate::mode::Allocator;
use crate::os::{self, StderrWriter};
use core::fmt::Write as _;
use core::sync::atomic::{AtomicUsize, Ordering::*};

/// Fill for new blocks (`CLEANBYTE`).
pub const CLEANBYTE: u8 = 0xCD;
/// Fill for freed blocks (`DEADBYTE`).
pub const DEADBYTE: u8 = 0xDD;
/// Guard bytes (`FORBIDDENBYTE`).
pub const FORBIDDENBYTE: u8 = 0xFD;
/// Size of the size field (`SST`).
const SST: usize = 8;
/// Bytes added to every request: header (2×SST) and trailer (SST).
pub const OVERHEAD: usize = 3 * SST;

/// API id of `PyMem_Raw*` ([`raw_malloc`](crate::raw_malloc) …).
pub const API_RAW: u8 = b'r';
/// API id of `PyMem_*` ([`malloc`](crate::malloc) …) and of the global allocator.
pub const API_MEM: u8 = b'm';
/// API id of `PyObject_*` ([`object_alloc`](crate::object_alloc)).
pub const API_OBJ: u8 = b'o';

/// The tracemalloc hook: writes "Memory block allocated at …" for a pointer.
pub type TracebackHook = fn(ptr: usize, out: &mut dyn core::fmt::Write) -> bool;

static HOOK: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn set_hook(h: Option<TracebackHook>) {
    HOOK.store(h.map_or(0, |f| f as usize), Release);
}

fn hook() -> Option<TracebackHook> {
    let v = HOOK.load(Acquire);
    if v == 0 {
        None
    } else {
        // SAFETY: only values stored by `set_hook` from a `TracebackHook` are non-zero.
        Some(unsafe { core::mem::transmute::<usize, TracebackHook>(v) })
    }
}

/// Underlying allocation for a debug block of `total` bytes.
fn under_alloc(api: u8, mode: Allocator, total: usize) -> *mut u8 {
    if api != API_RAW && mode == Allocator::Debug && total <= SMALL_REQUEST_THRESHOLD {
        heap::pool_alloc(size_class(total), 0, false)
    } else {
        os::sys_malloc(total)
    }
}

/// # Safety
/// `base` came from [`under_alloc`] and is not used afterwards.
unsafe fn under_free(base: *mut u8) {
    if arena::address_in_range(base as usize) {
        // SAFETY: a live pool block (address_in_range), given up.
        unsafe { heap::pool_free(base, 0, false) };
    } else {
        // SAFETY: a live libc block, given up.
        unsafe { os::sys_free(base) };
    }
}

/// Bytes the underlying block of `base` can hold (plausibility bound).
fn under_capacity(base: *mut u8) -> usize {
    if arena::address_in_range(base as usize) {
        // SAFETY: inside an arena, so the pool header is mapped.
        class_size(unsafe { (*pool_of(base)).szidx() })
    } else {
        usize::MAX
    }
}

/// Allocates `n` bytes with the debug layout; null on failure.
pub(crate) fn alloc(api: u8, mode: Allocator, n: usize, zero: bool) -> *mut u8 {
    let Some(total) = n.checked_add(OVERHEAD) else {
        return core::ptr::null_mut();
    };
    let base = under_alloc(api, mode, total);
    if base.is_null() {
        return base;
    }
    // SAFETY: base has `total` writable bytes.
    unsafe {
        write_header(base, api, n);
        core::ptr::write_bytes(base.add(2 * SST), if zero { 0 } else { CLEANBYTE }, n);
    }
    account::block_new(base, n);
    // SAFETY: inside the block.
    unsafe { base.add(2 * SST) }
}

/// # Safety
/// `base` has `n + OVERHEAD` writable bytes.
unsafe fn write_header(base: *mut u8, api: u8, n: usize) {
    // SAFETY: caller contract.
    unsafe {
        (base as *mut [u8; SST]).write_unaligned((n as u64).to_be_bytes());
        *base.add(SST) = api;
        core::ptr::write_bytes(base.add(SST + 1), FORBIDDENBYTE, SST - 1);
        core::ptr::write_bytes(base.add(2 * SST + n), FORBIDDENBYTE, SST);
    }
}

/// Reads `N` bytes at `p`, which may lie in a free pool block (the checkers
/// are told: see `checkers::peek`).
///
/// # Safety
/// `p..p + N` is mapped, inside a block of ours.
unsafe fn read<const N: usize>(p: *const u8) -> [u8; N] {
    let mut out = [0; N];
    // SAFETY: caller contract.
    unsafe { checkers::peek(p, &mut out) };
    out
}

/// # Safety
/// `p` is a pointer handed out by [`alloc`] (maybe corrupted or freed: that
/// is what is checked).
unsafe fn requested(p: *mut u8) -> usize {
    // SAFETY: the header precedes p.
    u64::from_be_bytes(unsafe { read::<SST>(p.sub(2 * SST)) }) as usize
}

/// Checks the block and aborts with CPython's report if it is damaged.
///
/// # Safety
/// `p` came from [`alloc`].
unsafe fn check(func: &str, api: u8, p: *mut u8) {
    // SAFETY: header bytes precede p.
    let [id] = unsafe { read::<1>(p.sub(SST)) };
    if id != api {
        // SAFETY: forwarded.
        unsafe { fatal(func, p, Problem::BadId { id, api }) };
    }
    // SAFETY: as above.
    if !unsafe { leading_ok(p) } {
        // SAFETY: forwarded.
        unsafe { fatal(func, p, Problem::Leading) };
    }
    // SAFETY: leading pad intact, so the size is trusted (bounded below).
    let n = unsafe { requested(p) };
    if !plausible(p, n) {
        // SAFETY: forwarded.
        unsafe { fatal(func, p, Problem::Size) };
    }
    // SAFETY: size checked against the underlying block.
    let tail = unsafe { read::<SST>(p.add(n)) };
    if tail.iter().any(|&b| b != FORBIDDENBYTE) {
        // SAFETY: forwarded.
        unsafe { fatal(func, p, Problem::Trailing) };
    }
}

fn plausible(p: *mut u8, n: usize) -> bool {
    let base = p.wrapping_sub(2 * SST);
    n <= (isize::MAX as usize) / 2 && n.saturating_add(OVERHEAD) <= under_capacity(base)
}

/// # Safety
/// The SST-1 bytes before `p` are readable.
unsafe fn leading_ok(p: *mut u8) -> bool {
    // SAFETY: caller contract.
    unsafe { read::<{ SST - 1 }>(p.sub(SST - 1)) }.iter().all(|&b| b == FORBIDDENBYTE)
}

/// Frees a debug block after checking it.
///
/// # Safety
/// `p` is null or came from [`alloc`] and is not used afterwards.
pub(crate) unsafe fn free(api: u8, p: *mut u8) {
    if p.is_null() {
        return;
    }
    // SAFETY: caller contract.
    unsafe { check("debug_raw_free", api, p) };
    // SAFETY: checked: n is the block's size.
    let n = unsafe { requested(p) };
    let base = p.wrapping_sub(2 * SST);
    // SAFETY: the whole block is ours.
    unsafe { core::ptr::write_bytes(base, DEADBYTE, n + OVERHEAD) };
    account::block_release(base, n);
    // SAFETY: base is the underlying block, given up.
    unsafe { under_free(base) };
}

/// Reallocates a debug block (always moves; growth filled with CLEANBYTE).
///
/// # Safety
/// `p` is null or came from [`alloc`]; on success it is not used afterwards.
pub(crate) unsafe fn realloc(api: u8, mode: Allocator, p: *mut u8, n: usize) -> *mut u8 {
    if p.is_null() {
        return alloc(api, mode, n, false);
    }
    // SAFETY: caller contract.
    unsafe { check("debug_raw_realloc", api, p) };
    // SAFETY: checked.
    let old = unsafe { requested(p) };
    let q = alloc(api, mode, n, false);
    if q.is_null() {
        return q;
    }
    // SAFETY: both blocks hold at least min(old, n) bytes; the rest of q is
    // already CLEANBYTE.
    unsafe {
        core::ptr::copy_nonoverlapping(p, q, old.min(n));
        free(api, p);
    }
    q
}

enum Problem {
    BadId { id: u8, api: u8 },
    Leading,
    Size,
    Trailing,
}

/// Writes the report for `p` and aborts.
///
/// # Safety
/// The 16 header bytes before `p` are readable.
unsafe fn fatal(func: &str, p: *mut u8, problem: Problem) -> ! {
    let mut w = StderrWriter::new();
    // SAFETY: forwarded.
    unsafe { dump(&mut w, p) };
    let _ = write!(w, "Fatal Python error: {func}: ");
    match problem {
        Problem::BadId { id, api } => {
            w.write_bytes(b"bad ID: Allocated using API '");
            w.write_bytes(&[id]);
            w.write_bytes(b"', verified using API '");
            w.write_bytes(&[api]);
            w.write_bytes(b"'");
        }
        Problem::Leading => w.write_bytes(b"bad leading pad byte"),
        Problem::Size => w.write_bytes(b"bad byte count in the block header"),
        Problem::Trailing => w.write_bytes(b"bad trailing pad byte"),
    }
    w.write_bytes(b"\n");
    w.flush();
    os::abort()
}

/// CPython's `_PyObject_DebugDumpAddress` (without serial numbers).
///
/// # Safety
/// The 16 header bytes before `p` are readable.
unsafe fn dump(w: &mut StderrWriter, p: *mut u8) {
    // SAFETY: caller contract (header).
    let ([id], n, lead_ok) = unsafe { (read::<1>(p.sub(SST)), requested(p), leading_ok(p)) };
    let _ = write!(w, "Debug memory block at address p={p:p}: API '");
    w.write_bytes(&[id]);
    w.write_bytes(b"'\n");
    let _ = writeln!(w, "    {n} bytes originally requested");
    let _ = write!(w, "    The {} pad bytes at p-{} are ", SST - 1, SST - 1);
    if lead_ok {
        w.write_bytes(b"FORBIDDENBYTE, as expected.\n");
    } else {
        let _ = writeln!(w, "not all FORBIDDENBYTE (0x{FORBIDDENBYTE:02x}):");
        // SAFETY: header bytes.
        let pad = unsafe { read::<{ SST - 1 }>(p.sub(SST - 1)) };
        for i in (1..SST).rev() {
            let b = pad[SST - 1 - i];
            let _ = write!(w, "        at p-{i}: 0x{b:02x}");
            if b != FORBIDDENBYTE {
                w.write_bytes(b" *** OUCH");
            }
            w.write_bytes(b"\n");
        }
        w.write_bytes(
            b"    Because memory is corrupted at the start, the count of bytes requested\n       \
              may be bogus, and checking the trailing pad bytes may segfault.\n",
        );
    }
    let tail = p.wrapping_add(n);
    if !plausible(p, n) {
        // CPython would read there and may crash; we refuse to.
        let _ =
            writeln!(w, "    The {SST} pad bytes at tail={tail:p} are not checked: the byte count is bogus.");
        w.write_bytes(b"    Data at p: not shown\n");
    } else {
        let _ = write!(w, "    The {SST} pad bytes at tail={tail:p} are ");
        // SAFETY: plausible: inside the underlying block.
        let t = unsafe { read::<SST>(tail) };
        if t.iter().all(|&b| b == FORBIDDENBYTE) {
            w.write_bytes(b"FORBIDDENBYTE, as expected.\n");
        } else {
            let _ = writeln!(w, "not all FORBIDDENBYTE (0x{FORBIDDENBYTE:02x}):");
            for (i, &b) in t.iter().enumerate() {
                let _ = write!(w, "        at tail+{i}: 0x{b:02x}");
                if b != FORBIDDENBYTE {
                    w.write_bytes(b" *** OUCH");
                }
                w.write_bytes(b"\n");
            }
        }
        w.write_bytes(b"    Data at p:");
        if n <= 2 * SST {
            let mut data = [0; 2 * SST];
            // SAFETY: n data bytes are inside the block (plausible).
            unsafe { checkers::peek(p, &mut data[..n]) };
            for b in &data[..n] {
                let _ = write!(w, " {b:02x}");
            }
        } else {
            // SAFETY: n > 16 data bytes are inside the block (plausible).
            let (first, last) = unsafe { (read::<SST>(p), read::<SST>(p.add(n - SST))) };
            for b in &first {
                let _ = write!(w, " {b:02x}");
            }
            w.write_bytes(b" ...");
            for b in &last {
                let _ = write!(w, " {b:02x}");
            }
        }
        w.write_bytes(b"\n");
    }
    w.write_bytes(b"\n");
    match hook() {
        Some(f) if f(p as usize, w) => w.write_bytes(b"\n"),
        _ => w.write_bytes(b"Enable tracemalloc to get the memory block allocation traceback\n\n"),
    }
}
