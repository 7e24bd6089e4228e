//! valgrind memcheck's client requests, written out for x86-64 so that no
//! valgrind header is needed at build time (the crates that wrap them,
//! `crabgrind` and `valgrind-requests`, generate their bindings from the
//! installed headers). On other architectures every request is a no-op and
//! memcheck is never "on".
//!
//! A client request is a six-word array (request code and five arguments)
//! whose address is in `rax`, a default result in `rdx`, and a magic sequence
//! that does nothing on a real CPU: four rotations of `rdi` by 3, 13, 61 and
//! 51 bits (128 in all, so `rdi` is unchanged) and `xchg rbx, rbx`. Valgrind's
//! JIT recognises the sequence and puts the tool's answer in `rdx`; natively
//! `rdx` keeps the default. The codes are valgrind's stable ABI
//! (`valgrind.h`: `VG_USERREQ__*`; `memcheck.h`: `VG_USERREQ_TOOL_BASE('M','C') + n`).
//!
//! Whether memcheck is there is asked once, at first use, and cached in
//! [`STATE`]; the pools are then one memcheck mempool anchored at [`ANCHOR`].

use core::sync::atomic::{AtomicU8, Ordering::*};

const RUNNING_ON_VALGRIND: usize = 0x1001;
const CREATE_MEMPOOL: usize = 0x1303;
const MEMPOOL_ALLOC: usize = 0x1305;
const MEMPOOL_FREE: usize = 0x1306;
const MC_BASE: usize = ((b'M' as usize) << 24) | ((b'C' as usize) << 16);
const MAKE_MEM_NOACCESS: usize = MC_BASE;
const MAKE_MEM_UNDEFINED: usize = MC_BASE + 1;
const MAKE_MEM_DEFINED: usize = MC_BASE + 2;

const UNKNOWN: u8 = 0;
const DETECTING: u8 = 1;
const OFF: u8 = 2;
const ON: u8 = 3;

/// Whether memcheck watches the process (decided at first use).
static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);
/// The mempool's anchor: memcheck only uses its address as a key.
static ANCHOR: u8 = 0;

/// One client request; `default` when not running under valgrind (or when the
/// tool does not handle the request).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn request(default: usize, code: usize, a1: usize, a2: usize, a3: usize) -> usize {
    let args: [usize; 6] = [code, a1, a2, a3, 0, 0];
    let result;
    // SAFETY: natively the sequence only rotates rdi back to its value (128
    // bits; rdi is declared clobbered anyway) and exchanges rbx with itself:
    // no memory is touched and rbx is preserved. Under valgrind the request
    // reads the six words at rax (alive for the whole block) and only changes
    // valgrind's own state; its answer is in rdx. No `nomem`: the block also
    // orders the surrounding memory accesses around the request.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") default => result,
            inout("rdi") 0usize => _,
            options(nostack),
        );
    }
    result
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn request(default: usize, _code: usize, _a1: usize, _a2: usize, _a3: usize) -> usize {
    default
}

/// Whether the process runs under memcheck, deciding it on first use.
#[inline]
pub(super) fn on() -> bool {
    match STATE.load(Acquire) {
        OFF => false,
        ON => true,
        _ => detect(),
    }
}

/// Whether memcheck is known to watch: one load and compare. Right wherever a
/// pool exists, since mapping the first arena asks [`on`] first (and later
/// arenas and pools come after it, through the arena lock).
#[inline(always)]
pub(super) fn watching() -> bool {
    STATE.load(Relaxed) == ON
}

/// Asks valgrind once. Memcheck answers its `MAKE_MEM_*` requests with -1;
/// other tools (callgrind, cachegrind, …) leave the default 0, and then the
/// pools are not described and the fast paths stay on, so that those tools
/// measure the real allocator.
#[cold]
#[inline(never)]
fn detect() -> bool {
    let anchor = &ANCHOR as *const u8 as usize;
    match STATE.compare_exchange(UNKNOWN, DETECTING, Acquire, Acquire) {
        Ok(_) => {
            let memcheck = request(0, RUNNING_ON_VALGRIND, 0, 0, 0) != 0
                && request(0, MAKE_MEM_DEFINED, anchor, 1, 0) != 0;
            if memcheck {
                // No redzones (blocks are packed in their pool), not zeroed.
                request(0, CREATE_MEMPOOL, anchor, 0, 0);
            }
            STATE.store(if memcheck { ON } else { OFF }, Release);
            memcheck
        }
        Err(_) => {
            while STATE.load(Acquire) == DETECTING {
                core::hint::spin_loop();
            }
            STATE.load(Acquire) == ON
        }
    }
}

pub(super) fn make_noaccess(p: *mut u8, len: usize) {
    request(0, MAKE_MEM_NOACCESS, p as usize, len, 0);
}

pub(super) fn make_undefined(p: *mut u8, len: usize) {
    request(0, MAKE_MEM_UNDEFINED, p as usize, len, 0);
}

pub(super) fn make_defined(p: *mut u8, len: usize) {
    request(0, MAKE_MEM_DEFINED, p as usize, len, 0);
}

/// `b..b + size` is a block of the pools now in use: undefined, and reported
/// as "a block of size `size`" (and, once freed, "… free'd" with the stack of
/// its free).
pub(super) fn mempool_alloc(b: *mut u8, size: usize) {
    request(0, MEMPOOL_ALLOC, &ANCHOR as *const u8 as usize, b as usize, size);
}

/// The block at `b` is free: no access until handed out again.
pub(super) fn mempool_free(b: *mut u8) {
    request(0, MEMPOOL_FREE, &ANCHOR as *const u8 as usize, b as usize, 0);
}
