//! Runs every (crate, workload) pair in a child process and writes the
//! markdown table.
//!
//! A child is this same binary re-executed as `gc_bench run CRATE WORKLOAD`;
//! it prints one `sample VALUE [NOTE]` line per repetition. Its exit status
//! tells the rest: a stack overflow (Rust prints "has overflowed its stack"
//! and aborts), a panic (exit 101), a wrong answer (exit 3), a crash by
//! another signal, or a timeout (the driver kills it). Children inherit the
//! default 8 MiB main-thread stack, as in the survey's measurements.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{applicable, body, workload, Kind, Sample, Workload, CRATES, WORKLOADS};

/// Exit code of a child whose workload computed a wrong answer.
pub const EXIT_WRONG: i32 = 3;

/// The CPython column's script.
pub fn python_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python/gc_workloads.py")
}

/// What a pair produced.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Repetitions that completed.
    Samples(Vec<Sample>),
    /// Did not finish: "overflow", "panic: …", "timeout", "wrong: …", "crash".
    Failed(String),
    /// Not run, and why.
    Skipped(&'static str),
}

/// How to run the suite.
#[derive(Clone, Debug)]
pub struct Options {
    /// Repetitions per pair (at most).
    pub reps: usize,
    /// Stop repeating once a child has spent this long (at least one rep).
    pub budget: Duration,
    /// Kill a child after this long.
    pub timeout: Duration,
    /// Workload ids to run (empty: all).
    pub only: Vec<String>,
    /// Crates to run (empty: all).
    pub crates: Vec<String>,
    /// Whether to run the CPython column.
    pub python: bool,
    /// Where the markdown goes.
    pub out: PathBuf,
    /// The command line, for the report.
    pub command: String,
}

/// Child side: runs `workload` of `krate` up to `reps` times within
/// `budget`, printing samples; returns the process exit code.
pub fn run_child(krate: &str, workload_id: &str, reps: usize, budget: Duration) -> i32 {
    let (Some(w), Some(f)) = (workload(workload_id), body(krate, workload_id)) else {
        eprintln!("gc_bench: unknown crate {krate:?} or workload {workload_id:?}");
        return 2;
    };
    let reps = if w.kind == Kind::Bytes { 1 } else { reps.max(1) };
    let start = Instant::now();
    let stdout = std::io::stdout();
    for _ in 0..reps {
        match f() {
            Ok(s) => {
                let mut out = stdout.lock();
                let _ = match &s.note {
                    Some(n) => writeln!(out, "sample {} {}", s.value, n),
                    None => writeln!(out, "sample {}", s.value),
                };
                let _ = out.flush();
            }
            Err(msg) => {
                println!("wrong {msg}");
                return EXIT_WRONG;
            }
        }
        if start.elapsed() > budget {
            break;
        }
    }
    0
}

/// Parses a child's stdout and status into an outcome.
pub fn interpret(stdout: &str, stderr: &str, status: Option<std::process::ExitStatus>) -> Outcome {
    let mut samples = Vec::new();
    let mut wrong = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("sample ") {
            let (v, note) = match rest.split_once(' ') {
                Some((v, n)) => (v, Some(n.to_string())),
                None => (rest, None),
            };
            if let Ok(value) = v.trim().parse::<f64>() {
                samples.push(Sample { value, note });
            }
        } else if let Some(rest) = line.strip_prefix("wrong ") {
            wrong = Some(rest.to_string());
        }
    }
    let Some(status) = status else {
        return Outcome::Failed("timeout".into());
    };
    if stderr.contains("has overflowed its stack") || stderr.contains("maximum recursion depth") {
        return Outcome::Failed("overflow".into());
    }
    if let Some(w) = wrong {
        return Outcome::Failed(format!("wrong answer: {w}"));
    }
    if status.success() && !samples.is_empty() {
        return Outcome::Samples(samples);
    }
    if status.code() == Some(101) {
        let msg = stderr
            .lines()
            .skip_while(|l| !l.contains("panicked at"))
            .nth(1)
            .unwrap_or("")
            .trim()
            .chars()
            .take(60)
            .collect::<String>();
        return Outcome::Failed(format!("panic: {msg}"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Outcome::Failed(format!("crash (signal {sig})"));
        }
    }
    let last = stderr.lines().last().unwrap_or("").trim();
    Outcome::Failed(format!(
        "error (exit {:?}): {}",
        status.code(),
        last.chars().take(60).collect::<String>()
    ))
}

/// Runs `cmd` with a timeout, returning (stdout, stderr, status or None on timeout).
fn run_with_timeout(
    mut cmd: Command,
    timeout: Duration,
) -> std::io::Result<(String, String, Option<std::process::ExitStatus>)> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    Ok((out, err, status))
}

fn run_pair(column: &str, w: &Workload, opts: &Options) -> Outcome {
    if column != "cpython" {
        if let Err(why) = applicable(column, w) {
            return Outcome::Skipped(why);
        }
    }
    let mut cmd = if column == "cpython" {
        let mut c = Command::new("python3");
        c.arg(python_script()).arg(w.id);
        c
    } else {
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => return Outcome::Failed(format!("cannot find own binary: {e}")),
        };
        let mut c = Command::new(exe);
        c.args(["run", column, w.id]);
        c
    };
    cmd.args([
        "--reps".to_string(),
        opts.reps.to_string(),
        "--budget-ms".to_string(),
        opts.budget.as_millis().to_string(),
    ]);
    match run_with_timeout(cmd, opts.timeout) {
        Ok((out, err, status)) => {
            let o = interpret(&out, &err, status);
            if let Outcome::Failed(f) = &o {
                if f.starts_with("error") || f.starts_with("wrong") || f.starts_with("panic") {
                    eprintln!("--- {column}/{}: stderr:\n{}", w.id, tail(&err, 15));
                }
            }
            o
        }
        Err(e) => Outcome::Failed(format!("spawn failed: {e}")),
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Median, min and max of the samples' values.
pub fn stats(samples: &[Sample]) -> (f64, f64, f64) {
    let mut v: Vec<f64> = samples.iter().map(|s| s.value).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    (median, v[0], v[n - 1])
}

/// Formats nanoseconds with three significant digits and a unit.
pub fn fmt_ns(ns: f64) -> String {
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

/// The text of one cell.
pub fn cell(w: &Workload, o: &Outcome) -> String {
    match o {
        Outcome::Skipped(why) => why.to_string(),
        Outcome::Failed(f) => format!("**{f}**"),
        Outcome::Samples(s) => {
            let (med, min, max) = stats(s);
            let note =
                s.iter().rev().find_map(|x| x.note.clone()).map(|n| format!(", {n}")).unwrap_or_default();
            match w.kind {
                Kind::Bytes => format!("{med:.0} B ({})", note.trim_start_matches(", ")),
                Kind::Time if s.len() == 1 => format!("{} (1 run{note})", fmt_ns(med)),
                Kind::Time => {
                    let unit = fmt_ns(med).split(' ').nth(1).unwrap_or("").to_string();
                    let scale = match unit.as_str() {
                        "s" => 1e9,
                        "ms" => 1e6,
                        "µs" => 1e3,
                        _ => 1.0,
                    };
                    format!("{} ({:.3}–{:.3}{note})", fmt_ns(med), min / scale, max / scale)
                }
            }
        }
    }
}

/// Median of a column, if it ran.
pub fn median(o: &Outcome) -> Option<f64> {
    match o {
        Outcome::Samples(s) => Some(stats(s).0),
        _ => None,
    }
}

const PEERS: &[&str] = &["gcmodule", "rust-cc", "dumpster", "bacon_rajan_cc", "gc", "gc-arena"];

fn column_title(c: &str) -> &str {
    match c {
        "rc" => "Rc",
        "pygc-noauto" => "pygc, gc.disable()",
        "cpython" => "CPython 3.11",
        other => other,
    }
}

/// Runs the suite and writes the markdown; returns the results too.
pub fn run_all(opts: &Options) -> std::io::Result<Vec<Row>> {
    let mut columns: Vec<String> = CRATES
        .iter()
        .filter(|c| opts.crates.is_empty() || opts.crates.iter().any(|x| x == *c))
        .map(|c| c.to_string())
        .collect();
    if opts.python {
        columns.push("cpython".into());
    }
    let mut results = Vec::new();
    for w in WORKLOADS {
        if !opts.only.is_empty() && !opts.only.iter().any(|x| x == w.id) {
            continue;
        }
        let mut row = Vec::new();
        for c in &columns {
            let t = Instant::now();
            let o = run_pair(c, w, opts);
            eprintln!("{:>16} {:>15}: {} [{:.1}s]", w.id, c, cell(w, &o), t.elapsed().as_secs_f64());
            row.push((c.clone(), o));
        }
        results.push((w, row));
    }
    let md = markdown(&results, &columns, opts);
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Keep the hand-written notes below the marker across runs.
    let marker = "<!-- notes: kept across runs -->";
    let notes = std::fs::read_to_string(&opts.out)
        .ok()
        .and_then(|old| old.split_once(marker).map(|(_, n)| n.to_string()))
        .unwrap_or_else(|| "\n".into());
    std::fs::write(&opts.out, format!("{md}\n{marker}{notes}"))?;
    Ok(results)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "?".into());
    format!(
        "{cores}-core KVM guest, {cpu}, shared with other engineers' builds \
         (5-minute load average when the table was written: {load})"
    )
}

fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// One table row: the workload and each column's outcome.
pub type Row = (&'static Workload, Vec<(String, Outcome)>);

type Results = [Row];

fn lookup<'a>(results: &'a Results, id: &str, col: &str) -> Option<&'a Outcome> {
    results
        .iter()
        .find(|(w, _)| w.id == id)
        .and_then(|(_, row)| row.iter().find(|(c, _)| c == col).map(|(_, o)| o))
}

/// An automatic-trigger run that freed under half its garbage while timed
/// did not do the work; it is left out of the "best peer" comparison.
fn collected_little(o: &Outcome) -> bool {
    let Outcome::Samples(s) = o else { return false };
    s.iter().any(|x| {
        x.note
            .as_deref()
            .and_then(|n| n.strip_suffix("% freed in run"))
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| p < 50)
    })
}

/// Ratio of the best cycle-collecting peer to pygc (> 1: pygc is better).
fn vs_best_peer(row: &[(String, Outcome)]) -> Option<(f64, String)> {
    let pygc = median(&row.iter().find(|(c, _)| c == "pygc")?.1)?;
    let best = row
        .iter()
        .filter(|(c, _)| PEERS.contains(&c.as_str()))
        .filter(|(_, o)| !collected_little(o))
        .filter_map(|(c, o)| median(o).map(|m| (m, c.clone())))
        .min_by(|a, b| a.0.total_cmp(&b.0))?;
    Some((best.0 / pygc, best.1))
}

fn markdown(results: &Results, columns: &[String], opts: &Options) -> String {
    let mut s = String::new();
    s.push_str("# pygc's Gc<T> heap and cycle collector against the Rust peers and CPython\n\n");
    s.push_str(&format!(
        "- Command: `{}`\n- Date: {}\n- Machine: {}\n- Build: release (`debug = 1`), \
         peers at gcmodule 0.3.3, rust-cc 0.6.2, dumpster 2.1.0, bacon_rajan_cc 0.4.0, gc 0.5.1, gc-arena 0.5.3; \
         CPython {}\n- Each cell: median of up to {} runs in one child process \
         (fewer when a run is slow: the child stops after {} s), then (min–max). \
         Each (crate, workload) pair runs in its own process with the default 8 MiB main-thread stack; \
         **overflow** / **panic** / **timeout** (> {} s) / **wrong answer** mean the crate did not finish.\n\n",
        opts.command,
        date(),
        machine(),
        python_version(),
        opts.reps,
        opts.budget.as_secs(),
        opts.timeout.as_secs(),
    ));
    s.push_str("| workload |");
    for c in columns {
        s.push_str(&format!(" {} |", column_title(c)));
    }
    s.push_str(" best peer / pygc |\n|---|");
    for _ in columns {
        s.push_str("---|");
    }
    s.push_str("---|\n");
    for (w, row) in results {
        s.push_str(&format!("| {} (`{}`) |", w.label, w.id));
        for c in columns {
            let o = row.iter().find(|(x, _)| x == c).map(|(_, o)| o);
            let text = o.map(|o| cell(w, o)).unwrap_or_default();
            s.push_str(&format!(" {text} |"));
        }
        let ratio =
            vs_best_peer(row).map(|(r, who)| format!("{r:.2}x ({who})")).unwrap_or_else(|| "–".into());
        s.push_str(&format!(" {ratio} |\n"));
    }
    s.push_str(&goals(results));
    s
}

fn python_version() -> String {
    Command::new("python3")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().replace("Python ", ""))
        .unwrap_or_else(|| "?".into())
}

fn goals(results: &Results) -> String {
    let mut s = String::from("\n## Goals of issue 3, checked against this run\n\n");
    // 1. Faster than the fastest peer.
    let mut misses = Vec::new();
    let mut under2 = Vec::new();
    let mut wins = 0;
    for (w, row) in results {
        if w.kind != Kind::Time || w.id.starts_with("clone") {
            continue;
        }
        if let Some((r, who)) = vs_best_peer(row) {
            if r < 1.0 {
                misses.push(format!("`{}` ({r:.2}x of {who})", w.id));
            } else {
                wins += 1;
                if r < 2.0 {
                    under2.push(format!("`{}` ({r:.2}x)", w.id));
                }
            }
        }
    }
    s.push_str(&format!(
        "- **Faster than the fastest peer on every workload (aim 2x).** pygc is faster on {wins} \
         timed workloads; slower on {}: {}. Faster but under 2x on: {}.\n",
        misses.len(),
        if misses.is_empty() { "none".into() } else { misses.join(", ") },
        if under2.is_empty() { "none".into() } else { under2.join(", ") },
    ));
    // 2. Per object against CPython's collector.
    let mut per = Vec::new();
    for id in ["dll1m_live", "live1m_full", "dll1m_garbage", "stress", "ptree11"] {
        let p = lookup(results, id, "pygc").and_then(median);
        let c = lookup(results, id, "cpython").and_then(median);
        if let (Some(p), Some(c)) = (p, c) {
            per.push(format!("`{id}` {:.1}x", c / p));
        }
    }
    s.push_str(&format!(
        "- **At least 10x faster per object than CPython's collector.** CPython time / pygc time on \
         the same graphs: {}. (`dll1m_live` and `live1m_full` time the collector alone; the others \
         include building the graph, which is interpreter work in CPython.)\n",
        if per.is_empty() { "not measured".into() } else { per.join(", ") }
    ));
    // 3. Clone/drop against Rc.
    let mut cl = Vec::new();
    for id in ["clone_drop", "clone_vec"] {
        let p = lookup(results, id, "pygc").and_then(median);
        let r = lookup(results, id, "rc").and_then(median);
        if let (Some(p), Some(r)) = (p, r) {
            cl.push(format!(
                "`{id}` pygc {} vs Rc {} ({:+.1} %)",
                fmt_ns(p),
                fmt_ns(r),
                (p / r - 1.0) * 100.0
            ));
        }
    }
    s.push_str(&format!(
        "- **Handle clone/drop within 5 % of Rc.** {}.\n",
        if cl.is_empty() { "not measured".into() } else { cl.join("; ") }
    ));
    // 4. Header sizes.
    s.push_str(&format!(
        "- **Header ≤ 32 B tracked, ≤ 16 B untracked.** pygc's headers are {} B tracked and {} B \
         untracked (`pygc::TRACKED_HEADER_SIZE`, `UNTRACKED_HEADER_SIZE`); the bytes rows give the \
         whole block (header + value, rounded to obmalloc's 16-B size classes) and the resident \
         memory per object measured over 1M objects.\n",
        pygc::TRACKED_HEADER_SIZE,
        pygc::UNTRACKED_HEADER_SIZE
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(v: f64) -> Sample {
        Sample { value: v, note: None }
    }

    #[test]
    fn stats_median_min_max() {
        let s: Vec<Sample> = [3.0, 1.0, 2.0].map(sample).to_vec();
        assert_eq!(stats(&s), (2.0, 1.0, 3.0));
        let s: Vec<Sample> = [4.0, 1.0, 2.0, 3.0].map(sample).to_vec();
        assert_eq!(stats(&s), (2.5, 1.0, 4.0));
    }

    #[test]
    fn formats_units() {
        assert_eq!(fmt_ns(1.234), "1.23 ns");
        assert_eq!(fmt_ns(12_345_678.0), "12.3 ms");
        assert_eq!(fmt_ns(2.5e9), "2.50 s");
    }

    #[test]
    fn interprets_overflow_and_wrong_answers() {
        use std::os::unix::process::ExitStatusExt;
        let abort = std::process::ExitStatus::from_raw(6);
        let o = interpret("", "thread 'main' has overflowed its stack\n", Some(abort));
        assert!(matches!(o, Outcome::Failed(ref f) if f == "overflow"), "{o:?}");
        let wrong = std::process::ExitStatus::from_raw(EXIT_WRONG << 8);
        let o = interpret("wrong expected 3 got 2\n", "", Some(wrong));
        assert!(matches!(o, Outcome::Failed(ref f) if f.starts_with("wrong answer")), "{o:?}");
        let ok = std::process::ExitStatus::from_raw(0);
        let o = interpret("sample 5\nsample 7 RSS 3\n", "", Some(ok));
        match o {
            Outcome::Samples(s) => {
                assert_eq!(s.len(), 2);
                assert_eq!(s[1].note.as_deref(), Some("RSS 3"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(interpret("", "", None), Outcome::Failed(ref f) if f == "timeout"));
    }
}
