//! The mprof `.dat` format: one record a line, in any order.
//!
//! ```text
//! CMDLINE <command line>
//! MEM <MiB:.6f> <unix time:.4f>
//! FUNC <module.func> <mem0:.4f> <t0:.4f> <mem1:.4f> <t1:.4f> <stack level>
//! CHLD <pid> <MiB:.6f> <unix time:.4f>
//! HWM <MiB:.6f> <unix time:.4f>
//! ```
//!
//! The first four are memory_profiler's grammar, with its decimals, so
//! Python's `mprof plot` reads our files. `HWM` is ours: the exact peak
//! resident set size (the kernel's high-water mark), which sampling can miss.
//! Python's reader ignores fields it does not know, so it skips `HWM`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One function call recorded by `#[profile]` under `mprof run`.
#[derive(Clone, Debug, PartialEq)]
pub struct FuncRecord {
    /// `module.func`.
    pub name: String,
    /// MiB on entry.
    pub mem_start: f64,
    /// Unix time on entry.
    pub t_start: f64,
    /// MiB on return.
    pub mem_end: f64,
    /// Unix time on return.
    pub t_end: f64,
    /// Nesting depth among profiled functions (0 = outermost); absent in
    /// files from old memory_profiler versions.
    pub stack_level: Option<u32>,
}

/// Everything one `.dat` file holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// The profiled command line (`CMDLINE`).
    pub cmdline: Option<String>,
    /// `(MiB, unix time)` samples of the main process (`MEM`).
    pub mem: Vec<(f64, f64)>,
    /// Function calls (`FUNC`), in file order.
    pub funcs: Vec<FuncRecord>,
    /// Per-child `(MiB, unix time)` samples (`CHLD`), keyed by pid as written.
    pub children: BTreeMap<String, Vec<(f64, f64)>>,
    /// The exact peak (`HWM`): `(MiB, unix time)`.
    pub hwm: Option<(f64, f64)>,
}

/// Formats a `CMDLINE` record.
pub fn cmdline_line(cmd: &str) -> String {
    format!("CMDLINE {cmd}\n")
}

/// Formats a `MEM` record.
pub fn mem_line(mib: f64, ts: f64) -> String {
    format!("MEM {mib:.6} {ts:.4}\n")
}

/// Formats a `CHLD` record.
pub fn chld_line(pid: &str, mib: f64, ts: f64) -> String {
    format!("CHLD {pid} {mib:.6} {ts:.4}\n")
}

/// Formats an `HWM` record.
pub fn hwm_line(mib: f64, ts: f64) -> String {
    format!("HWM {mib:.6} {ts:.4}\n")
}

/// Formats a `FUNC` record.
pub fn func_line(f: &FuncRecord) -> String {
    let mut s = format!(
        "FUNC {} {:.4} {:.4} {:.4} {:.4}",
        f.name, f.mem_start, f.t_start, f.mem_end, f.t_end
    );
    if let Some(l) = f.stack_level {
        s.push_str(&format!(" {l}"));
    }
    s.push('\n');
    s
}

/// Joins a command's words the way mprof does: words holding a blank are
/// single-quoted.
pub fn join_cmdline<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| {
            let w = w.as_ref();
            if w.contains([' ', '\t']) {
                format!("'{w}'")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `.dat` file that could not be read: names the file and, for a bad
/// record, its line.
#[derive(Debug)]
pub struct DatError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line of the bad record; `None` when the file itself failed.
    pub line: Option<usize>,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for DatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.path.display(), l, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for DatError {}

impl Profile {
    /// Reads and parses a `.dat` file.
    pub fn read(path: impl AsRef<Path>) -> Result<Profile, DatError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| DatError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        Profile::parse(&bytes, path)
    }

    /// Parses `.dat` bytes; `path` is only used in errors. Unknown record
    /// names are skipped, as Python's reader does; a known record with bad
    /// fields is an error naming its line.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Profile, DatError> {
        let mut p = Profile::default();
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let lineno = i + 1;
            let err = |message: String| DatError {
                path: path.to_path_buf(),
                line: Some(lineno),
                message,
            };
            let line = std::str::from_utf8(raw).map_err(|_| err("not UTF-8 text".into()))?;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let (field, value) = line.split_once(' ').unwrap_or((line, ""));
            let nums = |n: usize| -> Result<Vec<f64>, DatError> {
                let parts: Vec<&str> = value.split(' ').collect();
                if parts.len() < n {
                    return Err(err(format!("{field} needs {n} numbers, found {:?}", value)));
                }
                parts[..n]
                    .iter()
                    .map(|s| {
                        s.parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or_else(|| err(format!("{field}: {s:?} is not a number")))
                    })
                    .collect()
            };
            match field {
                "CMDLINE" => p.cmdline = Some(value.to_string()),
                "MEM" => {
                    let v = nums(2)?;
                    p.mem.push((v[0], v[1]));
                }
                "HWM" => {
                    let v = nums(2)?;
                    p.hwm = Some((v[0], v[1]));
                }
                "CHLD" => {
                    let (pid, rest) = value
                        .split_once(' ')
                        .ok_or_else(|| err("CHLD needs a pid, MiB and a time".into()))?;
                    let v: Vec<f64> = rest
                        .split(' ')
                        .take(2)
                        .map(|s| s.parse::<f64>().ok().filter(|v| v.is_finite()))
                        .collect::<Option<_>>()
                        .filter(|v: &Vec<f64>| v.len() == 2)
                        .ok_or_else(|| err(format!("CHLD: bad numbers {rest:?}")))?;
                    p.children
                        .entry(pid.to_string())
                        .or_default()
                        .push((v[0], v[1]));
                }
                "FUNC" => {
                    let parts: Vec<&str> = value.split(' ').collect();
                    if parts.len() < 5 {
                        return Err(err(format!(
                            "FUNC needs a name and 4 numbers, found {value:?}"
                        )));
                    }
                    let num = |s: &str| {
                        s.parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or_else(|| err(format!("FUNC: {s:?} is not a number")))
                    };
                    let stack_level = match parts.get(5) {
                        Some(s) => Some(s.trim().parse::<u32>().map_err(|_| {
                            err(format!("FUNC: stack level {s:?} is not an integer"))
                        })?),
                        None => None,
                    };
                    p.funcs.push(FuncRecord {
                        name: parts[0].to_string(),
                        mem_start: num(parts[1])?,
                        t_start: num(parts[2])?,
                        mem_end: num(parts[3])?,
                        t_end: num(parts[4])?,
                        stack_level,
                    });
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// Writes every record in the order CMDLINE, MEM, CHLD, FUNC, HWM.
    pub fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        if let Some(c) = &self.cmdline {
            w.write_all(cmdline_line(c).as_bytes())?;
        }
        for &(m, t) in &self.mem {
            w.write_all(mem_line(m, t).as_bytes())?;
        }
        for (pid, v) in &self.children {
            for &(m, t) in v {
                w.write_all(chld_line(pid, m, t).as_bytes())?;
            }
        }
        for f in &self.funcs {
            w.write_all(func_line(f).as_bytes())?;
        }
        if let Some((m, t)) = self.hwm {
            w.write_all(hwm_line(m, t).as_bytes())?;
        }
        Ok(())
    }

    /// The largest `MEM` sample, in MiB.
    pub fn peak(&self) -> Option<f64> {
        self.mem.iter().map(|m| m.0).reduce(f64::max)
    }

    /// The largest sample of one child, in MiB.
    pub fn child_peak(&self, pid: &str) -> Option<f64> {
        self.children.get(pid)?.iter().map(|m| m.0).reduce(f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Profile, DatError> {
        Profile::parse(s.as_bytes(), Path::new("x.dat"))
    }

    #[test]
    fn formats_have_memory_profilers_decimals() {
        assert_eq!(
            mem_line(0.644531, 1795587920.2162),
            "MEM 0.644531 1795587920.2162\n"
        );
        assert_eq!(
            chld_line("5384", 41.277344, 1795587926.6776),
            "CHLD 5384 41.277344 1795587926.6776\n"
        );
        let f = FuncRecord {
            name: "__main__.alloc".into(),
            mem_start: 22.9141,
            t_start: 1795587920.3632,
            mem_end: 61.0625,
            t_end: 1795587920.6825,
            stack_level: Some(1),
        };
        assert_eq!(
            func_line(&f),
            "FUNC __main__.alloc 22.9141 1795587920.3632 61.0625 1795587920.6825 1\n"
        );
    }

    #[test]
    fn round_trip() {
        let text = "CMDLINE python multi.py\nMEM 1.015625 1795587926.4612\nMEM 9.609375 1795587926.5680\nCHLD 5384 41.277344 1795587926.6776\nFUNC m.f 1.0000 2.0000 3.0000 4.0000 0\nHWM 12.500000 1795587927.0000\n";
        let prof = p(text).unwrap();
        let mut out = Vec::new();
        prof.write_to(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), text);
        assert_eq!(prof.peak(), Some(9.609375));
        assert_eq!(prof.child_peak("5384"), Some(41.277344));
    }

    #[test]
    fn malformed_lines_are_named() {
        let e = p("CMDLINE x\nMEM 1.0 2.0\nMEM abc 3.0\n").unwrap_err();
        assert_eq!(e.to_string(), "x.dat:3: MEM: \"abc\" is not a number");
        let e = p("MEM 1.0\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = p("FUNC f 1 2 3\n").unwrap_err();
        assert!(e.to_string().starts_with("x.dat:1: FUNC needs"), "{e}");
        let e = Profile::parse(b"MEM 1 2\n\xff\xfe\n", Path::new("b.dat")).unwrap_err();
        assert_eq!(e.to_string(), "b.dat:2: not UTF-8 text");
        let e = Profile::read("/nonexistent/q.dat").unwrap_err();
        assert!(
            e.to_string().starts_with("/nonexistent/q.dat: cannot read"),
            "{e}"
        );
    }

    #[test]
    fn unknown_records_are_skipped() {
        let prof = p("# a comment\nXYZ 1 2\nMEM 1.5 2.5\n").unwrap();
        assert_eq!(prof.mem, vec![(1.5, 2.5)]);
    }

    #[test]
    fn cmdline_quoting() {
        assert_eq!(
            join_cmdline(&["python3", "-c", "print(1)"]),
            "python3 -c print(1)"
        );
        assert_eq!(join_cmdline(&["sh", "-c", "echo hi"]), "sh -c 'echo hi'");
    }
}
