//! Stack capture: return addresses only, symbolized later.
//!
//! Two unwinders:
//! - [`Unwinder::Dwarf`]: libgcc/libunwind through `backtrace`, correct for any code,
//!   about 100 ns per frame;
//! - [`Unwinder::FramePointers`]: follows the `rbp`/`x29` chain, a few ns per frame, but
//!   only complete when the program is built with `-C force-frame-pointers=yes`. Every
//!   frame address is checked to lie inside the current thread's stack, so a broken chain
//!   (code without frame pointers) ends the walk early; it never reads outside the stack.
//!
//! [`Unwinder::Auto`] (the default) walks both ways on the first capture after `start` and
//! keeps frame pointers if they found the same return addresses (this build keeps frame
//! pointers), DWARF otherwise.

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

/// How native stacks are walked when a traceback is captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unwinder {
    /// DWARF call-frame information (libgcc / libunwind): always right, slower.
    Dwarf,
    /// The frame-pointer chain: fast; needs `-C force-frame-pointers=yes` to be complete.
    /// Only on x86_64 and aarch64 Linux; elsewhere it behaves as `Dwarf`.
    FramePointers,
    /// Frame pointers if this build keeps them (checked on the first capture), else DWARF.
    Auto,
}

/// The choice made by `set_unwinder` (0 Dwarf, 1 FramePointers, 2 Auto).
static CHOSEN: AtomicU8 = AtomicU8::new(2);
/// The unwinder in use (0 Dwarf, 1 FramePointers).
static UNWINDER: AtomicU8 = AtomicU8::new(0);

/// Chooses the unwinder for the captures that follow (also settable at start-up with
/// `PYGC_TRACEMALLOC_UNWINDER=fp` or `=dwarf`).
pub fn set_unwinder(unwinder: Unwinder) {
    CHOSEN.store(unwinder as u8, Relaxed);
    resolve_auto();
}

/// Settles the choice (called by `set_unwinder` and `start`): `Auto` becomes "undecided"
/// (2) and is decided on the first capture, where both walks run on a real allocation
/// path and are compared.
pub(crate) fn resolve_auto() {
    UNWINDER.store(CHOSEN.load(Relaxed), Relaxed);
}

/// Whether the frame-pointer walk agrees with DWARF on this stack: its return addresses
/// (from the second on, at least `MIN` of them) appear in order, contiguously, among
/// those DWARF found. Code without frame pointers breaks the chain within a few frames.
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn decide() -> Option<bool> {
    const MIN: usize = 6;
    let mut dwarf = [0usize; 48];
    let mut nd = 0;
    walk_dwarf(&mut |ip| {
        dwarf[nd] = ip;
        nd += 1;
        nd < dwarf.len()
    });
    if nd < MIN + 4 {
        return None; // too shallow a stack to tell; decide on a later capture
    }
    let mut fp = [0usize; MIN + 1];
    let mut nf = 0;
    walk_frame_pointers(&mut |ip| {
        fp[nf] = ip;
        nf += 1;
        nf < fp.len()
    });
    Some(nf == fp.len() && dwarf[..nd].windows(MIN).any(|w| w == &fp[1..]))
}

/// The unwinder in use (`Auto` until the first capture after `start` has decided).
pub fn unwinder() -> Unwinder {
    match UNWINDER.load(Relaxed) {
        0 => Unwinder::Dwarf,
        1 => Unwinder::FramePointers,
        _ => Unwinder::Auto,
    }
}

/// Pushes return addresses, innermost first, into `out` until `push` returns false.
#[inline(always)]
pub(crate) fn walk(push: &mut dyn FnMut(usize) -> bool) {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    match UNWINDER.load(Relaxed) {
        1 => return walk_frame_pointers(push),
        2 => {
            if let Some(fp_ok) = decide() {
                UNWINDER.store(fp_ok as u8, Relaxed);
            }
        }
        _ => {}
    }
    walk_dwarf(push);
}

fn walk_dwarf(push: &mut dyn FnMut(usize) -> bool) {
    let mut each = |frame: &backtrace::Frame| push(frame.ip() as usize);
    #[cfg(not(windows))]
    // SAFETY: `trace_unsynchronized` is unsafe only because some platforms' unwinders
    // (dbghelp on Windows) are not thread-safe; elsewhere it walks the current thread's
    // stack with libgcc/libunwind, which may be called from several threads at once.
    unsafe {
        backtrace::trace_unsynchronized(&mut each)
    };
    #[cfg(windows)]
    backtrace::trace(&mut each);
}

thread_local! {
    /// This thread's stack as `[low, high)`; (0, 0) until first asked.
    static STACK: (Cell<usize>, Cell<usize>) = const { (Cell::new(0), Cell::new(0)) };
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
fn stack_bounds() -> Option<(usize, usize)> {
    STACK
        .try_with(|(lo, hi)| {
            if hi.get() == 0 {
                let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
                // SAFETY: `attr` is written by pthread_getattr_np before any read; on success
                // it is destroyed exactly once below.
                if unsafe { libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) } != 0 {
                    return None;
                }
                let mut addr: *mut libc::c_void = std::ptr::null_mut();
                let mut size: libc::size_t = 0;
                // SAFETY: `attr` was initialized by the successful call above.
                let rc = unsafe { libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size) };
                // SAFETY: `attr` is initialized and not used after this.
                unsafe { libc::pthread_attr_destroy(attr.as_mut_ptr()) };
                if rc != 0 {
                    return None;
                }
                lo.set(addr as usize);
                hi.set(addr as usize + size);
            }
            Some((lo.get(), hi.get()))
        })
        .ok()
        .flatten()
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn walk_frame_pointers(push: &mut dyn FnMut(usize) -> bool) {
    let Some((lo, hi)) = stack_bounds() else {
        return walk_dwarf(push);
    };
    let mut fp: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads a register, no memory access.
    unsafe {
        std::arch::asm!("mov {}, rbp", out(reg) fp, options(nomem, nostack, preserves_flags))
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reads a register, no memory access.
    unsafe {
        std::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags))
    };
    // A frame record is [saved fp, return address] at fp (both architectures).
    loop {
        let in_stack = fp >= lo && fp.checked_add(16).is_some_and(|end| end <= hi);
        if !in_stack || fp & (std::mem::align_of::<usize>() - 1) != 0 {
            break;
        }
        // SAFETY: fp..fp+16 lies inside this thread's stack mapping (checked just above),
        // which is readable, and is aligned for usize.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if ret == 0 || !push(ret) || next <= fp {
            break; // end of chain, caller satisfied, or not growing toward the stack base
        }
        fp = next;
    }
}
