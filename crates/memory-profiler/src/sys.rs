//! Reading a process's memory from Linux's `/proc`: resident set size, the
//! high-water mark, and the process tree.
//!
//! These are the numbers `psutil.Process().memory_info()` reads on Linux, so
//! our values agree with Python's memory_profiler to the page.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::sync::OnceLock;

/// Bytes in one MiB: memory_profiler divides by `2**20`.
pub const MIB: f64 = 1024.0 * 1024.0;

/// Converts bytes to MiB the way memory_profiler does.
pub fn to_mib(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

/// The kernel's page size (the unit of `/proc/<pid>/statm`).
pub fn page_size() -> u64 {
    static PAGE: OnceLock<u64> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions; it only reads a constant.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 {
            n as u64
        } else {
            4096
        }
    })
}

fn proc_dir(pid: Option<u32>) -> String {
    match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_string(),
    }
}

fn not_found(pid: Option<u32>, e: io::Error) -> io::Error {
    match (pid, e.kind()) {
        (Some(p), io::ErrorKind::NotFound) => {
            io::Error::new(io::ErrorKind::NotFound, format!("no process with pid {p}"))
        }
        _ => e,
    }
}

/// Reads this process's `/proc/self/statm` through a per-thread open file
/// with `pread` at offset 0 (which regenerates the text): one system call
/// instead of open + read + close, for the line profiler's hot path.
fn own_statm(buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    thread_local! {
        static STATM: std::cell::RefCell<Option<fs::File>> = const { std::cell::RefCell::new(None) };
    }
    STATM.with(|f| {
        let mut f = f.borrow_mut();
        if f.is_none() {
            *f = Some(fs::File::open("/proc/self/statm")?);
        }
        match f.as_ref() {
            Some(file) => file.read_at(buf, 0),
            None => Ok(0),
        }
    })
}

/// Resident set size in bytes of `pid` (`None` = this process), from
/// `/proc/<pid>/statm`.
pub fn rss_bytes(pid: Option<u32>) -> io::Result<u64> {
    let mut buf = [0u8; 128];
    let owned;
    let text: &str = match pid {
        None => {
            let n = own_statm(&mut buf)?;
            std::str::from_utf8(&buf[..n]).unwrap_or("")
        }
        Some(_) => {
            owned = fs::read_to_string(format!("{}/statm", proc_dir(pid)))
                .map_err(|e| not_found(pid, e))?;
            &owned
        }
    };
    let pages = text
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc statm format")
        })?;
    Ok(pages * page_size())
}

/// The peak resident set size (`VmHWM`) of `pid` in bytes, from
/// `/proc/<pid>/status`. `Ok(None)` for a zombie or kernel thread, which has
/// no memory map any more.
pub fn hwm_bytes(pid: Option<u32>) -> io::Result<Option<u64>> {
    let text =
        fs::read_to_string(format!("{}/status", proc_dir(pid))).map_err(|e| not_found(pid, e))?;
    Ok(text.lines().find_map(|l| {
        let rest = l.strip_prefix("VmHWM:")?;
        let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    }))
}

/// True while `/proc/<pid>` exists and the process is not a zombie.
pub fn is_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => parse_stat(&s).is_some_and(|(state, _)| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// Parses `/proc/<pid>/stat` into (state, ppid). The command name may hold
/// spaces and parentheses, so fields are counted after the last `)`.
fn parse_stat(s: &str) -> Option<(char, u32)> {
    let rest = &s[s.rfind(')')? + 1..];
    let mut it = rest.split_ascii_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Every live descendant of `pid` (children, grandchildren, ...), in pid
/// order, found by scanning `/proc/*/stat` for parent links.
pub fn descendants(pid: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in dir.flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        if let Some((state, ppid)) = parse_stat(&stat) {
            if state != 'Z' && state != 'X' {
                children.entry(ppid).or_default().push(p);
            }
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        if let Some(kids) = children.get(&p) {
            for &k in kids {
                if !out.contains(&k) && k != pid {
                    out.push(k);
                    todo.push(k);
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// Current time as seconds since the Unix epoch (the .dat timestamps).
pub fn unix_time() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_rss_is_positive_and_hwm_is_at_least_rss() {
        let rss = rss_bytes(None).unwrap();
        assert!(rss > 0);
        let hwm = hwm_bytes(None).unwrap().unwrap();
        assert!(hwm >= rss - page_size() * 64, "hwm {hwm} rss {rss}");
    }

    #[test]
    fn stat_parsing_handles_parens_in_names() {
        assert_eq!(parse_stat("12 (a) b) (c) S 7 12 12"), Some(('S', 7)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn missing_pid_is_named() {
        let e = rss_bytes(Some(u32::MAX - 1)).unwrap_err();
        assert!(e.to_string().contains("no process with pid"), "{e}");
    }

    #[test]
    fn child_is_a_descendant() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id();
        let d = descendants(me);
        assert!(d.contains(&child.id()), "{d:?}");
        assert!(is_alive(child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_alive(child.id()));
    }
}
