//! `mprof run` and `mprof attach`: sample a process's resident memory every
//! interval into a `.dat` file.
//!
//! Sampling happens from outside (reads of `/proc/<pid>/statm`), so the
//! command runs at full speed. The exact peak comes from the kernel: for a
//! command we started, `wait4`'s `ru_maxrss`; for an attached pid, the last
//! `VmHWM` read. It is written as an `HWM` record, which Python's reader
//! skips.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use memory_profiler::dat::{chld_line, cmdline_line, hwm_line, join_cmdline, mem_line};
use memory_profiler::sys::{descendants, hwm_bytes, is_alive, rss_bytes, to_mib, unix_time};
use memory_profiler::FUNC_FILE_ENV;

use crate::Error;

/// What to sample.
#[derive(Clone, Debug)]
pub enum Target {
    /// Start this command (program and arguments).
    Spawn(Vec<OsString>),
    /// Watch a running process.
    Attach(u32),
}

/// Validated settings of one recording.
#[derive(Clone, Debug)]
pub struct Config {
    /// Time between samples.
    pub interval: Duration,
    /// Add every descendant's RSS to each `MEM` sample (`-C`).
    pub include_children: bool,
    /// Write each descendant's RSS as `CHLD` records (`-M`).
    pub multiprocess: bool,
    /// Stop sampling after this long.
    pub timeout: Option<Duration>,
    /// The `.dat` file (appended to, as Python's mprof does).
    pub output: PathBuf,
    /// Show the live line on standard error (only drawn on a terminal).
    pub progress: bool,
}

/// Parses an interval in seconds: finite and positive.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("invalid interval {s:?}: expected seconds, e.g. 0.1"))?;
    if !v.is_finite() || v <= 0.0 || v > 86_400.0 {
        return Err(format!(
            "invalid interval {s:?}: must be more than 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// What a recording found.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The command's exit code (128 + signal if killed); `None` when
    /// attached or when the timeout left the command running.
    pub exit_code: Option<i32>,
    /// `MEM` samples written.
    pub samples: usize,
    /// Largest `MEM` sample, MiB.
    pub sampled_peak: f64,
    /// The kernel's exact peak RSS of the main process, MiB.
    pub exact_peak: Option<f64>,
}

struct Sink {
    file: File,
    path: PathBuf,
}

impl Sink {
    fn line(&mut self, s: &str) -> Result<(), Error> {
        // One write per record: the file is O_APPEND, and a profiled
        // program appends its FUNC records to it concurrently.
        self.file
            .write_all(s.as_bytes())
            .map_err(|e| Error::new(format!("cannot write {}: {e}", self.path.display())))
    }
}

fn spawn_error(program: &OsString, e: std::io::Error) -> Error {
    let name = program.to_string_lossy();
    match e.kind() {
        std::io::ErrorKind::NotFound => Error {
            message: format!("command not found: {name}"),
            code: 127,
        },
        std::io::ErrorKind::PermissionDenied => Error {
            message: format!("permission denied: {name}"),
            code: 126,
        },
        _ => Error {
            message: format!("cannot run {name}: {e}"),
            code: 126,
        },
    }
}

/// Non-blocking reap of our child: `Some((exit code, maxrss bytes))` once
/// it has ended.
fn try_reap(pid: u32) -> Option<(i32, u64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `ru` are valid for writes; WNOHANG never blocks;
    // `pid` is our own unreaped child.
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, libc::WNOHANG, &mut ru) };
    if r != pid as libc::pid_t {
        return None;
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    };
    Some((code, ru.ru_maxrss.max(0) as u64 * 1024))
}

/// Runs or attaches, sampling until the process ends or the timeout.
pub fn record(cfg: &Config, target: &Target) -> Result<Outcome, Error> {
    let abs_output = std::path::absolute(&cfg.output).unwrap_or_else(|_| cfg.output.clone());
    let existed = cfg.output.exists();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cfg.output)
        .map_err(|e| {
            Error::new(format!(
                "cannot open {} for writing: {e}",
                cfg.output.display()
            ))
        })?;
    let mut sink = Sink {
        file,
        path: cfg.output.clone(),
    };

    let (pid, cmdline, spawned) = match target {
        Target::Spawn(argv) => {
            let Some(program) = argv.first() else {
                return Err(Error::new(
                    "no command given: usage `mprof run [options] COMMAND [ARGS...]`",
                ));
            };
            ignore_interrupts_while_child_runs();
            let child = Command::new(program)
                .args(&argv[1..])
                .env(FUNC_FILE_ENV, &abs_output)
                .spawn()
                .map_err(|e| {
                    if !existed {
                        let _ = std::fs::remove_file(&cfg.output);
                    }
                    spawn_error(program, e)
                })?;
            let words: Vec<String> = argv
                .iter()
                .map(|w| w.to_string_lossy().into_owned())
                .collect();
            (child.id(), join_cmdline(&words), true)
        }
        Target::Attach(pid) => {
            if !is_alive(*pid) {
                if !existed {
                    let _ = std::fs::remove_file(&cfg.output);
                }
                return Err(Error::new(format!("no process with pid {pid}")));
            }
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let words: Vec<String> = cmd
                .split(|&b| b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            let cmdline = if words.is_empty() {
                pid.to_string()
            } else {
                join_cmdline(&words)
            };
            (*pid, cmdline, false)
        }
    };
    sink.line(&cmdline_line(&cmdline))?;

    let bar = progress_bar(cfg.progress);
    let start = Instant::now();
    let mut out = Outcome {
        exit_code: None,
        samples: 0,
        sampled_peak: 0.0,
        exact_peak: None,
    };
    let mut hwm: Option<u64> = None;
    let mut next = start;
    loop {
        if let Some((code, maxrss)) = spawned.then(|| try_reap(pid)).flatten() {
            out.exit_code = Some(code);
            if maxrss > 0 {
                hwm = Some(hwm.map_or(maxrss, |h| h.max(maxrss)));
            }
            break;
        }
        if !spawned && !is_alive(pid) {
            break;
        }
        if cfg.timeout.is_some_and(|t| start.elapsed() >= t) {
            eprintln!(
                "mprof: timeout: stopped sampling after {:?}; pid {pid} is still running",
                cfg.timeout.unwrap_or_default()
            );
            break;
        }
        let ts = unix_time();
        if let Ok(mut bytes) = rss_bytes(Some(pid)) {
            if let Ok(Some(h)) = hwm_bytes(Some(pid)) {
                hwm = Some(hwm.map_or(h, |x| x.max(h)));
            }
            let kids = if cfg.include_children || cfg.multiprocess {
                descendants(pid)
            } else {
                Vec::new()
            };
            let mut chld = String::new();
            for k in kids {
                if let Ok(b) = rss_bytes(Some(k)) {
                    if cfg.include_children {
                        bytes += b;
                    }
                    if cfg.multiprocess {
                        chld.push_str(&chld_line(&k.to_string(), to_mib(b), ts));
                    }
                }
            }
            let mib = to_mib(bytes);
            sink.line(&mem_line(mib, ts))?;
            if !chld.is_empty() {
                sink.line(&chld)?;
            }
            out.samples += 1;
            out.sampled_peak = out.sampled_peak.max(mib);
            bar.set_message(format!(
                "{:.1}s  current {mib:.1} MiB  peak {:.1} MiB",
                start.elapsed().as_secs_f64(),
                out.sampled_peak
            ));
        }
        next += cfg.interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    bar.finish_and_clear();
    if let Some(h) = hwm {
        let mib = to_mib(h);
        out.exact_peak = Some(mib);
        sink.line(&hwm_line(mib, unix_time()))?;
    }
    Ok(out)
}

extern "C" fn on_interrupt(_: libc::c_int) {}

/// Ctrl-C reaches the whole foreground process group. Like `time`, we let
/// the command decide what to do and keep sampling until it exits, so the
/// file gets its last samples, the exact peak and the exit code (130). A
/// handler (not `SIG_IGN`) is used because handlers reset to the default at
/// `exec`, so the command still sees a normal SIGINT.
fn ignore_interrupts_while_child_runs() {
    let handler: extern "C" fn(libc::c_int) = on_interrupt;
    // SAFETY: installs an async-signal-safe handler that does nothing;
    // `signal` has no other precondition.
    unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) };
}

fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("mprof {spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The path `mprof run` writes to without `-o`.
pub fn default_output(dir: &Path) -> PathBuf {
    let name = crate::files::default_name(unix_time());
    if dir == Path::new(".") {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("0.1").unwrap(), Duration::from_millis(100));
        for bad in ["0", "-1", "abc", "nan", "inf", ""] {
            assert!(
                parse_interval(bad)
                    .unwrap_err()
                    .contains("invalid interval"),
                "{bad}"
            );
        }
    }
}
