//! The line-by-line profiler behind `#[profile]`.
//!
//! The macro turns a function body into calls on a [`LineProfiler`]:
//! [`LineProfiler::enter`] before each statement, [`LineProfiler::iter`] at
//! the head of each loop iteration, [`LineProfiler::ret`] around the returned
//! value. As with memory_profiler's `sys.settrace` hook, a line's memory is
//! read when the *next* line starts, so it includes what the line did.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::dat::{func_line, FuncRecord};
use crate::measure::Measure;
use crate::sys::{rss_bytes, to_mib, unix_time};

/// The environment variable `mprof run` sets to its `.dat` file; each
/// profiled call appends a `FUNC` record there.
pub const FUNC_FILE_ENV: &str = "PYGC_MPROF_FILE";

/// Where a profiled function lives; the macro makes one `static` per function.
#[derive(Debug)]
pub struct Site {
    /// `file!()`: relative to the workspace root when compiled by cargo.
    pub file: &'static str,
    /// `env!("CARGO_MANIFEST_DIR")` of the crate that holds the function.
    pub manifest_dir: &'static str,
    /// `module_path!()`.
    pub module: &'static str,
    /// The function's name.
    pub name: &'static str,
    /// Line of the function's first token (its first attribute or `fn`).
    pub first_line: u32,
    /// Line of the function's closing brace.
    pub last_line: u32,
}

/// How a profiled call reports.
pub struct Options {
    /// Decimals of the MiB columns (memory_profiler's `precision`, default 1).
    pub precision: usize,
    /// What "memory" means; see [`Measure`].
    pub measure: Measure,
    /// Where the table goes; `None` = standard output.
    pub stream: Option<Box<dyn Write>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            precision: 1,
            measure: Measure::Auto,
            stream: None,
        }
    }
}

impl Options {
    /// Sets the precision.
    pub fn precision(mut self, p: usize) -> Self {
        self.precision = p;
        self
    }
    /// Sets the measure.
    pub fn measure(mut self, m: Measure) -> Self {
        self.measure = m;
        self
    }
    /// Sets the output stream.
    pub fn stream(mut self, w: impl Write + 'static) -> Self {
        self.stream = Some(Box::new(w));
        self
    }
}

#[derive(Clone, Copy, Default)]
struct Entry {
    /// Sum of deltas over occurrences, bytes.
    inc: i64,
    /// Largest value seen at this line, bytes.
    mem: u64,
    occurrences: u64,
}

struct State {
    entries: Vec<Option<Entry>>,
    prev: Option<u32>,
}

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// One profiled call: collects per-line memory and prints the table when
/// dropped (at return, early return or `?`; not while panicking).
pub struct LineProfiler {
    site: &'static Site,
    start_line: u32,
    measure: Measure,
    precision: usize,
    stream: RefCell<Option<Box<dyn Write>>>,
    state: RefCell<State>,
    pending: Cell<Option<u32>>,
    func: Option<(f64, f64, u32)>,
}

impl LineProfiler {
    /// Starts profiling a call of the function at `site`.
    pub fn start(site: &'static Site, options: Options) -> LineProfiler {
        let start_line = attribute_line(site);
        let func = std::env::var_os(FUNC_FILE_ENV).map(|_| {
            let depth = DEPTH.with(|d| {
                let v = d.get();
                d.set(v + 1);
                v
            });
            (to_mib(rss_bytes(None).unwrap_or(0)), unix_time(), depth)
        });
        let n = (site.last_line.saturating_sub(start_line) + 1) as usize;
        LineProfiler {
            site,
            start_line,
            measure: options.measure.resolve(),
            precision: options.precision,
            stream: RefCell::new(options.stream),
            state: RefCell::new(State {
                entries: vec![None; n],
                prev: None,
            }),
            pending: Cell::new(Some(start_line)),
            func,
        }
    }

    /// The measure in use (never `Auto`).
    pub fn measure(&self) -> Measure {
        self.measure
    }

    fn record(&self, line: u32) {
        let m = self.measure.bytes();
        let mut st = self.state.borrow_mut();
        let prev_mem = st
            .prev
            .and_then(|p| {
                st.entries
                    .get(p.wrapping_sub(self.start_line) as usize)
                    .copied()
                    .flatten()
            })
            .map_or(0, |e| e.mem);
        let idx = line.wrapping_sub(self.start_line) as usize;
        if idx >= st.entries.len() {
            st.entries.resize(idx + 1, None);
        }
        let e = st.entries[idx].get_or_insert_with(Entry::default);
        e.inc += m as i64 - prev_mem as i64;
        e.mem = e.mem.max(m);
        e.occurrences += 1;
        st.prev = Some(line);
    }

    /// A statement on `line` is about to run: records the line before it.
    #[inline]
    pub fn enter(&self, line: u32) {
        if let Some(p) = self.pending.replace(Some(line)) {
            self.record(p);
        }
    }

    /// A loop head on `line` is evaluated again (once per iteration and
    /// once at exit); a no-op right after `enter(line)`.
    #[inline]
    pub fn iter(&self, line: u32) {
        if self.pending.get() != Some(line) {
            self.enter(line);
        }
    }

    /// The function returns `v`: records the last line while its locals
    /// are still alive, as Python's `return` event does.
    #[inline]
    pub fn ret<T>(&self, v: T) -> T {
        if let Some(p) = self.pending.take() {
            self.record(p);
        }
        v
    }

    /// The table, in memory_profiler's exact layout.
    pub fn table(&self) -> String {
        let lines = source_lines(self.site);
        let st = self.state.borrow();
        let p = self.precision;
        let mib = |b: f64| format!("{:w$.p$} MiB", b / crate::sys::MIB, w = p + 4);
        let header = format!(
            "{:>6} {:>12} {:>12}  {:>10}   {:<}",
            "Line #", "Mem usage", "Increment", "Occurrences", "Line Contents"
        );
        let mut out = format!(
            "Filename: {}\n\n{header}\n{}\n",
            self.site.file,
            "=".repeat(header.len())
        );
        for line in self.start_line..=self.site.last_line {
            let text = lines
                .as_ref()
                .and_then(|l| l.get(line as usize - 1))
                .map_or("", |s| s.as_str());
            let entry = st
                .entries
                .get((line - self.start_line) as usize)
                .copied()
                .flatten();
            let (mem, inc, occ) = match entry {
                Some(e) => (
                    mib(e.mem as f64),
                    mib(e.inc as f64),
                    e.occurrences.to_string(),
                ),
                None => (String::new(), String::new(), String::new()),
            };
            out.push_str(&format!(
                "{line:>6} {mem:>12} {inc:>12}  {occ:>10}   {text}\n"
            ));
        }
        out.push_str("\n\n");
        out
    }

    fn write_func_record(&self) {
        let (Some((mem0, t0, depth)), Some(path)) = (self.func, std::env::var_os(FUNC_FILE_ENV))
        else {
            return;
        };
        DEPTH.with(|d| d.set(depth));
        let rec = FuncRecord {
            name: format!("{}.{}", self.site.module.replace("::", "."), self.site.name),
            mem_start: mem0,
            t_start: t0,
            mem_end: to_mib(rss_bytes(None).unwrap_or(0)),
            t_end: unix_time(),
            stack_level: Some(depth),
        };
        // One write of one line on an O_APPEND file: atomic next to the
        // sampler's own records.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = f.write_all(func_line(&rec).as_bytes());
        }
    }
}

impl Drop for LineProfiler {
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            self.record(p);
        }
        self.write_func_record();
        if std::thread::panicking() {
            return;
        }
        let table = self.table();
        let result = match self.stream.get_mut() {
            Some(w) => w.write_all(table.as_bytes()).and_then(|_| w.flush()),
            None => {
                let mut out = io::stdout().lock();
                out.write_all(table.as_bytes()).and_then(|_| out.flush())
            }
        };
        if let Err(e) = result {
            eprintln!(
                "memory_profiler: cannot write the table of {}: {e}",
                self.site.name
            );
        }
    }
}

/// Finds the `#[profile...]` attribute line above the function's first
/// token, so the table starts where memory_profiler's starts (the decorator).
fn attribute_line(site: &Site) -> u32 {
    let Some(lines) = source_lines(site) else {
        return site.first_line;
    };
    let mut line = site.first_line;
    let mut l = site.first_line;
    while l > 1 {
        let Some(text) = lines.get(l as usize - 1) else {
            break;
        };
        let t = text.trim_start();
        if t.starts_with("#[") && t.contains("profile") {
            line = l;
            break;
        }
        if !(t.starts_with("#[")
            || t.starts_with("///")
            || t.starts_with("//")
            || l == site.first_line)
        {
            break;
        }
        l -= 1;
    }
    line.min(site.first_line)
}

type Lines = Option<Arc<Vec<String>>>;

/// The source file's lines, read once per file. `file!()` is relative to the
/// workspace root, the manifest directory, or the current directory,
/// depending on how the crate was built, so each is tried.
fn source_lines(site: &Site) -> Lines {
    static CACHE: OnceLock<Mutex<HashMap<(&'static str, &'static str), Lines>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(l) = cache
        .lock()
        .ok()
        .and_then(|c| c.get(&(site.manifest_dir, site.file)).cloned())
    {
        return l;
    }
    let lines = candidates(site)
        .into_iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|text| Arc::new(text.lines().map(str::to_string).collect::<Vec<_>>()));
    if let Ok(mut c) = cache.lock() {
        c.insert((site.manifest_dir, site.file), lines.clone());
    }
    lines
}

fn candidates(site: &Site) -> Vec<PathBuf> {
    let file = Path::new(site.file);
    let mut out = vec![file.to_path_buf()];
    if file.is_relative() {
        out.extend(
            Path::new(site.manifest_dir)
                .ancestors()
                .map(|a| a.join(file)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static SITE: Site = Site {
        file: "no/such/file.rs",
        manifest_dir: "/nonexistent",
        module: "m",
        name: "f",
        first_line: 10,
        last_line: 13,
    };

    #[test]
    fn loop_accounting_follows_memory_profiler() {
        let p = LineProfiler::start(&SITE, Options::default().measure(Measure::Heap));
        p.enter(11);
        for _ in 0..3 {
            p.iter(11);
            p.enter(12);
        }
        p.iter(11);
        p.enter(13);
        p.ret(());
        let st = p.state.borrow();
        let occ: Vec<u64> = st
            .entries
            .iter()
            .map(|e| e.map_or(0, |e| e.occurrences))
            .collect();
        assert_eq!(occ, vec![1, 4, 3, 1]);
        drop(st);
        std::mem::forget(p);
    }

    #[test]
    fn unreadable_source_degrades_to_empty_contents() {
        let mut buf = Vec::new();
        {
            let p =
                LineProfiler::start(&SITE, Options::default().measure(Measure::Rss).precision(2));
            p.enter(11);
            p.ret(());
            buf.extend_from_slice(p.table().as_bytes());
            std::mem::forget(p);
        }
        let text = String::from_utf8(buf).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "Filename: no/such/file.rs");
        assert_eq!(
            rows[2],
            "Line #    Mem usage    Increment  Occurrences   Line Contents"
        );
        assert_eq!(rows[3], "=".repeat(61));
        assert!(rows[4].starts_with("    10 "), "{}", rows[4]);
        assert!(rows[4].ends_with(" MiB           1   "), "{:?}", rows[4]);
        assert_eq!(rows[6], format!("{:>6}{}", 12, " ".repeat(41)));
    }
}
