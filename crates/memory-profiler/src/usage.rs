//! `memory_usage`: sample a process's memory (this one, another pid, or this
//! one while a closure runs), in MiB, as memory_profiler's function does.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sys::{descendants, is_alive, rss_bytes, to_mib, unix_time};

/// Samples and, for a closure, its return value.
#[derive(Clone, Debug, PartialEq)]
pub struct Usage<R> {
    /// MiB values, oldest first (only the largest with `max_usage`).
    pub samples: Vec<f64>,
    /// Unix time of each sample (Python's `timestamps=True`).
    pub timestamps: Vec<f64>,
    /// What the closure returned (Python's `retval=True`); `()` otherwise.
    pub retval: R,
}

impl<R> Usage<R> {
    /// The largest sample in MiB (Python's `max_usage=True` result).
    pub fn max(&self) -> f64 {
        self.samples.iter().copied().fold(f64::NAN, f64::max)
    }
}

/// Builder for a measurement; start with [`memory_usage`].
#[derive(Clone, Debug)]
pub struct MemoryUsage {
    pid: Option<u32>,
    interval: Duration,
    timeout: Option<Duration>,
    include_children: bool,
    max_usage: bool,
}

/// Measures this process: `memory_usage().sample()` is Python's
/// `memory_usage(-1)`; `.call(f)` is `memory_usage((f, args, kw))`.
///
/// ```
/// let usage = memory_profiler::memory_usage()
///     .interval(std::time::Duration::from_millis(10))
///     .call(|| vec![1u8; 1 << 20].iter().map(|&b| b as u64).sum::<u64>())
///     .unwrap();
/// assert_eq!(usage.retval, 1 << 20);
/// assert!(usage.max() > 0.0);
/// ```
pub fn memory_usage() -> MemoryUsage {
    MemoryUsage {
        pid: None,
        interval: Duration::from_millis(100),
        timeout: None,
        include_children: false,
        max_usage: false,
    }
}

impl MemoryUsage {
    /// Measures another process instead of this one.
    pub fn pid(mut self, pid: u32) -> Self {
        self.pid = Some(pid);
        self
    }
    /// Time between samples (default 0.1 s).
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = d;
        self
    }
    /// Stops sampling after this long. Without it a pid or this process is
    /// sampled once, and a closure until it returns.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
    /// Adds the resident memory of every descendant process.
    pub fn include_children(mut self, yes: bool) -> Self {
        self.include_children = yes;
        self
    }
    /// Keeps only the largest sample.
    pub fn max_usage(mut self, yes: bool) -> Self {
        self.max_usage = yes;
        self
    }

    fn read(&self, pid: Option<u32>) -> io::Result<f64> {
        let mut bytes = rss_bytes(pid)?;
        if self.include_children {
            let me = pid.unwrap_or_else(std::process::id);
            bytes += descendants(me)
                .into_iter()
                .filter_map(|c| rss_bytes(Some(c)).ok())
                .sum::<u64>();
        }
        Ok(to_mib(bytes))
    }

    fn push(&self, u: &mut Usage<()>, mib: f64) {
        let ts = unix_time();
        if self.max_usage && !u.samples.is_empty() {
            if mib > u.samples[0] {
                u.samples[0] = mib;
                u.timestamps[0] = ts;
            }
        } else {
            u.samples.push(mib);
            u.timestamps.push(ts);
        }
    }

    /// Samples the process: once, or every interval until the timeout or
    /// until the process ends. Errors if the pid does not exist.
    pub fn sample(&self) -> io::Result<Usage<()>> {
        if self.interval.is_zero() && self.timeout.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "interval must be positive",
            ));
        }
        let mut u = Usage {
            samples: Vec::new(),
            timestamps: Vec::new(),
            retval: (),
        };
        let first = self.read(self.pid)?;
        self.push(&mut u, first);
        let Some(timeout) = self.timeout else {
            return Ok(u);
        };
        let start = Instant::now();
        while start.elapsed() + self.interval <= timeout {
            std::thread::sleep(self.interval);
            if let Some(p) = self.pid {
                if !is_alive(p) {
                    break;
                }
            }
            match self.read(self.pid) {
                Ok(m) => self.push(&mut u, m),
                Err(_) => break,
            }
        }
        Ok(u)
    }

    /// Runs `f` in this thread while another thread samples this process;
    /// returns the samples (one before, one after, one per interval between)
    /// and `f`'s value.
    pub fn call<R>(&self, f: impl FnOnce() -> R) -> io::Result<Usage<R>> {
        if self.interval.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "interval must be positive",
            ));
        }
        let shared = Arc::new(Mutex::new(Usage {
            samples: Vec::new(),
            timestamps: Vec::new(),
            retval: (),
        }));
        let first = self.read(None)?;
        if let Ok(mut u) = shared.lock() {
            self.push(&mut u, first);
        }
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (me, done, shared) = (self.clone(), done.clone(), shared.clone());
            std::thread::spawn(move || {
                let start = Instant::now();
                while !done.load(Ordering::Acquire) {
                    std::thread::park_timeout(me.interval);
                    if done.load(Ordering::Acquire)
                        || me.timeout.is_some_and(|t| start.elapsed() > t)
                    {
                        break;
                    }
                    if let (Ok(m), Ok(mut u)) = (me.read(None), shared.lock()) {
                        me.push(&mut u, m);
                    }
                }
            })
        };
        let retval = f();
        let last = self.read(None);
        done.store(true, Ordering::Release);
        sampler.thread().unpark();
        let _ = sampler.join();
        let mut u = shared
            .lock()
            .map(|u| u.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        if let Ok(m) = last {
            self.push(&mut u, m);
        }
        Ok(Usage {
            samples: u.samples,
            timestamps: u.timestamps,
            retval,
        })
    }
}

/// The result of [`memit`]; displays as IPython's `%memit` line,
/// `peak memory: 52.10 MiB, increment: 31.08 MiB`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Memit {
    /// Largest RSS seen while the closure ran, MiB.
    pub peak: f64,
    /// `peak` minus the RSS just before the call, MiB.
    pub increment: f64,
}

impl std::fmt::Display for Memit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "peak memory: {:.2} MiB, increment: {:.2} MiB",
            self.peak, self.increment
        )
    }
}

/// Runs `f` once and reports its peak and increment as `%memit` does.
///
/// Python samples every 10 ms and so misses a spike shorter than that. We
/// also sample, but first reset the kernel's high-water mark (writing `5` to
/// `/proc/self/clear_refs`, Linux 4.0+) and read `VmHWM` afterwards, so the
/// peak is exact. Side effect: the process's `VmHWM` restarts from now.
pub fn memit<R>(f: impl FnOnce() -> R) -> io::Result<(Memit, R)> {
    let base = memory_usage().sample()?.max();
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let u = memory_usage()
        .interval(Duration::from_millis(10))
        .max_usage(true)
        .call(f)?;
    let mut peak = u.max();
    if reset {
        if let Ok(Some(h)) = crate::sys::hwm_bytes(None) {
            peak = peak.max(to_mib(h));
        }
    }
    Ok((
        Memit {
            peak,
            increment: peak - base,
        },
        u.retval,
    ))
}

/// RSS-measuring tests of this module run one at a time: a neighbour's
/// allocation would move the numbers they compare.
#[cfg(test)]
static RSS_TESTS: Mutex<()> = Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_once() {
        let u = memory_usage().sample().unwrap();
        assert_eq!(u.samples.len(), 1);
        assert!(u.samples[0] > 0.1);
    }

    #[test]
    fn closure_sees_touched_memory() {
        let _serial = RSS_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        let before = memory_usage().sample().unwrap().max();
        let u = memory_usage()
            .interval(Duration::from_millis(5))
            .max_usage(true)
            .call(|| {
                let v = vec![7u8; 32 << 20];
                std::thread::sleep(Duration::from_millis(30));
                v.iter().step_by(4096).map(|&b| b as usize).sum::<usize>()
            })
            .unwrap();
        assert_eq!(u.samples.len(), 1);
        assert_eq!(u.retval, 7 * (32 << 20) / 4096);
        assert!(u.max() >= before + 24.0, "before {before} max {}", u.max());
    }

    #[test]
    fn pid_with_timeout_and_missing_pid() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let u = memory_usage()
            .pid(child.id())
            .interval(Duration::from_millis(20))
            .timeout(Duration::from_millis(400))
            .sample()
            .unwrap();
        assert!(u.samples.len() >= 2, "{u:?}");
        assert!(u.timestamps.windows(2).all(|w| w[0] <= w[1]));
        child.kill().unwrap();
        child.wait().unwrap();
        let e = memory_usage().pid(child.id()).sample().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn children_are_added() {
        let _serial = RSS_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let alone = memory_usage().sample().unwrap().max();
        let with = memory_usage()
            .include_children(true)
            .sample()
            .unwrap()
            .max();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(with > alone, "{with} vs {alone}");
    }
}

#[cfg(test)]
mod memit_tests {
    use super::*;

    #[test]
    fn memit_line_format_and_increment() {
        let _serial = RSS_TESTS.lock().unwrap_or_else(|e| e.into_inner());
        let m = Memit {
            peak: 52.1,
            increment: 31.08,
        };
        assert_eq!(
            m.to_string(),
            "peak memory: 52.10 MiB, increment: 31.08 MiB"
        );
        let (m, n) = memit(|| {
            let v = vec![1u8; 16 << 20];
            v.iter().step_by(4096).count()
        })
        .unwrap();
        assert_eq!(n, 4096);
        assert!(m.increment >= 12.0, "{m}");
        assert!(m.peak >= m.increment);
    }
}
