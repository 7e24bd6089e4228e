//! Clocks and memory readings taken from the kernel.
//!
//! Single-thread loops are timed with `CLOCK_THREAD_CPUTIME_ID`: other
//! tenants of this 2-core VM steal wall time but not our thread's CPU time.
//! Memory is read from `/proc/self/status` (`VmRSS`, `VmHWM`) and
//! `/proc/self/smaps_rollup` (`LazyFree`, pages given back with `MADV_FREE`
//! that still count in RSS until the kernel reclaims them).

use std::io;

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec and the clock ids used here
    // (thread CPU time, monotonic) always exist on Linux.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock}) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CPU time consumed so far by the calling thread, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Monotonic wall-clock time in nanoseconds (for multi-thread workloads).
pub fn wall_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// Resident-set figures of this process, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemStatus {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident set so far.
    pub hwm_kib: u64,
}

/// Reads the `kB` value of the line `key:` from a `/proc` key-value file.
pub fn parse_kib(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let mut parts = rest.split_whitespace();
        let value = parts.next()?.parse().ok()?;
        (parts.next() == Some("kB")).then_some(value)
    })
}

/// Extracts `VmRSS` and `VmHWM` from the text of `/proc/<pid>/status`.
pub fn parse_status(text: &str) -> Option<MemStatus> {
    Some(MemStatus { rss_kib: parse_kib(text, "VmRSS")?, hwm_kib: parse_kib(text, "VmHWM")? })
}

/// This process's `VmRSS` and `VmHWM`.
pub fn mem_status() -> io::Result<MemStatus> {
    let text = std::fs::read_to_string("/proc/self/status")?;
    parse_status(&text).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, "/proc/self/status has no VmRSS/VmHWM lines")
    })
}

/// `LazyFree` of this process in KiB, or `None` where the kernel does not
/// report it.
pub fn lazyfree_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    parse_kib(&text, "LazyFree")
}

/// Converts KiB to MiB.
pub fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(parse_status(text), Some(MemStatus { rss_kib: 1024, hwm_kib: 2048 }));
        assert_eq!(parse_status("VmRSS: 12 kB\n"), None);
        // A key that is a prefix of another must not match it.
        assert_eq!(parse_kib("VmRSSx: 5 kB\nVmRSS: 6 kB\n", "VmRSS"), Some(6));
        assert_eq!(parse_kib("VmRSS: lots kB\n", "VmRSS"), None);
    }

    #[test]
    fn reads_own_process() {
        let s = mem_status().unwrap();
        assert!(s.rss_kib > 0 && s.hwm_kib >= s.rss_kib);
        let a = thread_cpu_ns();
        let mut x = 0u64;
        for i in 0..100_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(thread_cpu_ns() >= a, "{x}");
    }
}
