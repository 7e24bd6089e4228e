//! Stack capture: return addresses only, symbolized later.
//!
//! Two unwinders:
//! - [`Unwinder::Dwarf`]: libgcc/libunwind through `backtrace`, correct for any code,
//!   about 100 ns per frame;
//! - [`Unwinder::FramePointers`]: follows the `rbp`/`x29` chain, a few ns per frame, but
//!   only complete when the program is built with `-C force-frame-pointers=yes`. Every
//!   frame address is checked to lie inside the current thread's stack, so it never reads
//!   outside the stack; code without frame pointers makes the chain skip its frames (it
//!   leaves the register alone) or end early.
//!
//! [`Unwinder::Auto`] (the default) is settled once per process, by the first `start`, on
//! the thread that calls it: both unwinders walk that stack and frame pointers are kept only
//! if their chain reproduces DWARF's return addresses one for one, from the first frame
//! (this build keeps frame pointers), DWARF otherwise. Deciding there rather than on the
//! first traced allocation makes the choice independent of which thread happens to
//! allocate first (a test harness's output thread, a pool) and keeps the check off the
//! allocation path.

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
    /// Frame pointers if this build keeps them (checked by the first `start`), else DWARF.
    Auto,
}

const DWARF: u8 = 0;
const FRAME_POINTERS: u8 = 1;
const AUTO: u8 = 2;

/// The choice made by `set_unwinder` (`DWARF`, `FRAME_POINTERS` or `AUTO`).
static CHOSEN: AtomicU8 = AtomicU8::new(AUTO);
/// The unwinder captures use (`DWARF` or `FRAME_POINTERS`, never `AUTO`).
static UNWINDER: AtomicU8 = AtomicU8::new(DWARF);
/// What `Auto` was settled to (`DWARF` or `FRAME_POINTERS`); `AUTO` until the first `start`.
static AUTO_DECISION: AtomicU8 = AtomicU8::new(AUTO);

impl Unwinder {
    /// Parses `PYGC_TRACEMALLOC_UNWINDER`'s values: `auto`, `fp` or `dwarf`.
    pub(crate) fn from_env_value(value: &str) -> Option<Unwinder> {
        match value {
            "auto" => Some(Unwinder::Auto),
            "fp" => Some(Unwinder::FramePointers),
            "dwarf" => Some(Unwinder::Dwarf),
            _ => None,
        }
    }
}

/// Chooses the unwinder for the captures that follow (also settable at start-up with
/// `PYGC_TRACEMALLOC_UNWINDER=auto`, `fp` or `dwarf`). `Auto` is settled by the next
/// `start` if no `start` has settled it yet.
pub fn set_unwinder(unwinder: Unwinder) {
    CHOSEN.store(unwinder as u8, Relaxed);
    match unwinder {
        Unwinder::Dwarf => UNWINDER.store(DWARF, Relaxed),
        Unwinder::FramePointers => UNWINDER.store(FRAME_POINTERS, Relaxed),
        Unwinder::Auto => match AUTO_DECISION.load(Relaxed) {
            AUTO => {} // `start` decides
            decided => UNWINDER.store(decided, Relaxed),
        },
    }
}

/// Settles `Auto` (called by `start`, on the thread that starts tracing, before any
/// capture): decided once per process, on this stack, then kept.
#[inline(never)]
pub(crate) fn resolve_auto() {
    if CHOSEN.load(Relaxed) != AUTO {
        return;
    }
    let mut decided = AUTO_DECISION.load(Relaxed);
    if decided == AUTO {
        decided = if frame_pointers_agree() { FRAME_POINTERS } else { DWARF };
        AUTO_DECISION.store(decided, Relaxed);
    }
    UNWINDER.store(decided, Relaxed);
}

/// Whether the frame-pointer chain of this very stack is DWARF's list of return addresses:
/// its first address is among DWARF's first few (before it come only the DWARF walker's
/// own frames), and from there the two lists agree address for address until the chain
/// ends, within a few frames of DWARF's end (the C runtime's outermost frames keep no
/// frame pointer) or at the buffer's end. A function without frame pointers anywhere on
/// the stack breaks the agreement: the chain skips its frame (or stops early).
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(never)]
fn frame_pointers_agree() -> bool {
    const N: usize = 64;
    /// DWARF frames that may precede the chain's first one: the walker's own.
    const WALKER_FRAMES: usize = 6;
    /// Outermost frames the chain may miss (`__libc_start_main`, `_start`, `clone`).
    const RUNTIME_FRAMES: usize = 3;
    let mut dwarf = [0usize; N];
    let mut nd = 0;
    walk_dwarf(&mut |ip| {
        dwarf[nd] = ip;
        nd += 1;
        nd < N
    });
    let mut fp = [0usize; N];
    let mut nf = 0;
    walk_frame_pointers(&mut |ip| {
        fp[nf] = ip;
        nf += 1;
        nf < N
    });
    agree(&dwarf[..nd], &fp[..nf], WALKER_FRAMES, RUNTIME_FRAMES, N)
}

#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
fn frame_pointers_agree() -> bool {
    false
}

/// The comparison `frame_pointers_agree` makes, on address lists (innermost first, each
/// walk stopped at `cap` entries): `fp` starts at one of `dwarf`'s first `walker + 1`
/// entries and, from there, the two lists are equal over their overlap; the chain does not
/// stop more than `runtime` frames short of the stack's end (DWARF's, when DWARF did not
/// hit `cap`). A trailing 0 in `dwarf` (the end marker libgcc reports) is ignored.
#[cfg_attr(
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))),
    allow(dead_code)
)]
fn agree(dwarf: &[usize], fp: &[usize], walker: usize, runtime: usize, cap: usize) -> bool {
    const MIN_FRAMES: usize = 4;
    let dwarf_cut = dwarf.len() >= cap;
    let dwarf = match dwarf.split_last() {
        Some((0, rest)) => rest,
        _ => dwarf,
    };
    let Some(&first) = fp.first() else { return false };
    let Some(k) = dwarf.iter().take(walker + 1).position(|&ip| ip == first) else {
        return false;
    };
    let rest = &dwarf[k..];
    let overlap = fp.len().min(rest.len());
    if overlap < MIN_FRAMES || rest[..overlap] != fp[..overlap] {
        return false;
    }
    let fp_cut = fp.len() >= cap;
    fp_cut || fp.len() >= rest.len() || (!dwarf_cut && fp.len() + runtime >= rest.len())
}

/// The unwinder in use (`Auto` only while `Auto` is chosen and no `start` has settled it).
pub fn unwinder() -> Unwinder {
    if CHOSEN.load(Relaxed) == AUTO && AUTO_DECISION.load(Relaxed) == AUTO {
        return Unwinder::Auto;
    }
    match UNWINDER.load(Relaxed) {
        FRAME_POINTERS => Unwinder::FramePointers,
        _ => Unwinder::Dwarf,
    }
}

/// Pushes return addresses, innermost first, into `out` until `push` returns false.
#[inline(always)]
pub(crate) fn walk(push: &mut dyn FnMut(usize) -> bool) {
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    if UNWINDER.load(Relaxed) == FRAME_POINTERS {
        return walk_frame_pointers(push);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_needs_every_frame() {
        // The regression, as a debug build's test-harness thread showed it: the chain
        // starts at the innermost std frame (the program's own functions keep no frame
        // pointer and leave `rbp` alone), then jumps over the program's frames to the
        // outer std ones. Its 6 addresses after the first are contiguous in DWARF's.
        let harness: Vec<usize> = (1..=24).chain([0]).collect();
        assert!(!agree(&harness, &[9, 17, 18, 19, 20, 21, 22, 23], 6, 3, 64));
        // DWARF: two walker frames, then program frames 10..=17, then the end marker.
        let dwarf = [1, 2, 10, 11, 12, 13, 14, 15, 16, 17, 0];
        assert!(agree(&dwarf, &[10, 11, 12, 13, 14, 15, 16, 17], 6, 3, 64));
        assert!(agree(&dwarf, &[10, 11, 12, 13, 14, 15], 6, 3, 64), "the runtime's last frames");
        assert!(!agree(&dwarf, &[10, 11, 12, 13], 6, 3, 64), "a chain that stops early");
        assert!(!agree(&dwarf, &[10, 13, 14, 15, 16, 17], 6, 3, 64), "frames skipped");
        // The chain starts further out: the innermost functions keep no frame pointer
        // (the case of a debug build, whose code omits them while the prebuilt std keeps them).
        let deep = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        assert!(!agree(&deep, &deep[9..], 6, 3, 64));
        assert!(!agree(&dwarf, &[], 6, 3, 64));
        // Both walks cut by the buffer: they agree over what they share.
        let long: Vec<usize> = (1..=64).collect();
        let fp_long: Vec<usize> = (3..=66).collect();
        assert!(agree(&long, &fp_long, 6, 3, 64));
        // DWARF cut by the buffer, the chain ending before it: broken.
        assert!(!agree(&long, &long[2..60], 6, 3, 64));
        // Too shallow to tell: DWARF.
        assert!(!agree(&[1, 2, 10, 11, 0], &[10, 11], 6, 3, 64));
    }

    #[test]
    fn env_values() {
        assert_eq!(Unwinder::from_env_value("auto"), Some(Unwinder::Auto));
        assert_eq!(Unwinder::from_env_value("fp"), Some(Unwinder::FramePointers));
        assert_eq!(Unwinder::from_env_value("dwarf"), Some(Unwinder::Dwarf));
        assert_eq!(Unwinder::from_env_value("DWARF"), None);
        assert_eq!(Unwinder::from_env_value(""), None);
    }
}
