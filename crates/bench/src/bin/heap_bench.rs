//! `heap_bench`: `Gc<dyn Trait>`, `Gc<str>` / `Gc<[T]>`, explicit heaps and
//! the byte-limit check, pygc against `Rc`, dumpster and rust-cc.
//!
//! ```text
//! heap_bench --all [--rounds R] [--reps N] [--scale S] [--cg-scale S]
//!                  [--no-callgrind] [--only BODY,..] [--out PATH]
//! heap_bench run CRATE BODY [--reps N] [--scale S] [--cg METRIC]   (one child)
//! heap_bench cg CRATE BODY METRIC [--cg-scale S]    (callgrind Ir per op of one metric)
//! heap_bench --list
//! ```
//!
//! `--all` runs `R` interleaved rounds: in each, every (workload, crate)
//! pair runs in a fresh child process (the crates' order rotated from round
//! to round), which reports the median of its `N` repetitions in thread
//! CPU nanoseconds per operation; a cell is the median of the rounds
//! (min–max). Then each metric runs once more under callgrind, counting
//! the instructions of its timed part only. Build with
//! `cargo +nightly build --release -p bench --bin heap_bench --features
//! rustcc-nightly` for the rust-cc column (its `Cc<dyn Trait>` needs
//! nightly); a stable build marks that column n/a.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use bench::heap::{self, MetricInfo, Recorder, Section, CRATES, METRICS};

const USAGE: &str = "usage: heap_bench --all [--rounds R] [--reps N] [--scale S] [--cg-scale S] \
[--no-callgrind] [--only BODY,..] [--out PATH] [--build-note CMD]\n       \
heap_bench run CRATE BODY [--reps N] [--scale S] [--cg METRIC]\n       \
heap_bench cg CRATE BODY METRIC [--cg-scale S]\n       heap_bench --list";

/// Exit code of a child whose workload computed a wrong answer.
const EXIT_WRONG: u8 = 3;

struct Options {
    rounds: usize,
    reps: usize,
    scale: f64,
    cg_scale: f64,
    callgrind: bool,
    only: Vec<String>,
    out: PathBuf,
    cg: Option<String>,
    command: String,
    /// How the binary was built, for the report (default: derived from the
    /// toolchain and features it was built with).
    build: Option<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_and_run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("heap_bench: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a String, String> {
    it.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn num<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{flag}: {s:?} is not a number"))
}

fn parse_and_run(args: &[String]) -> Result<u8, String> {
    let mut o = Options {
        rounds: 5,
        reps: 5,
        scale: 1.0,
        cg_scale: 0.05,
        callgrind: true,
        only: Vec::new(),
        out: PathBuf::from("bench-results/heap-features.md"),
        cg: None,
        command: {
            // The build note is shown on its own.
            let mut shown = Vec::new();
            let mut it = args.iter();
            while let Some(a) = it.next() {
                if a == "--build-note" {
                    it.next();
                } else {
                    shown.push(a.as_str());
                }
            }
            format!("heap_bench {}", shown.join(" "))
        },
        build: None,
    };
    let mut mode = None;
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--all" => mode = Some("all"),
            "--list" => mode = Some("list"),
            "run" | "cg" if mode.is_none() => mode = Some(if a == "run" { "run" } else { "cg" }),
            "--rounds" => o.rounds = num(value(&mut it, a)?, a)?,
            "--reps" => o.reps = num(value(&mut it, a)?, a)?,
            "--scale" => o.scale = num(value(&mut it, a)?, a)?,
            "--cg-scale" => o.cg_scale = num(value(&mut it, a)?, a)?,
            "--no-callgrind" => o.callgrind = false,
            "--only" => o.only = value(&mut it, a)?.split(',').map(str::to_string).collect(),
            "--out" => o.out = PathBuf::from(value(&mut it, a)?),
            "--cg" => o.cg = Some(value(&mut it, a)?.clone()),
            "--build-note" => o.build = Some(value(&mut it, a)?.clone()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(0);
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other => positional.push(other.to_string()),
        }
    }
    let bodies = heap::bodies();
    for b in &o.only {
        if !bodies.contains(&b.as_str()) {
            return Err(format!("unknown workload {b:?} (see --list)"));
        }
    }
    match mode {
        Some("list") => {
            for x in METRICS {
                println!("{:14} {:22} {}", x.body, x.id, x.label);
            }
            Ok(0)
        }
        Some("run") => {
            let [krate, body] = positional.as_slice() else {
                return Err("run needs CRATE and BODY".into());
            };
            Ok(run_child(krate, body, &o))
        }
        Some("cg") => {
            let [krate, body, metric] = positional.as_slice() else {
                return Err("cg needs CRATE, BODY and METRIC".into());
            };
            let ir = callgrind(krate, body, metric, o.cg_scale)?;
            println!("{krate} {metric} {ir:.1} Ir/op");
            Ok(0)
        }
        Some("all") => {
            run_all(&o)?;
            eprintln!("wrote {}", o.out.display());
            Ok(0)
        }
        _ => Err("choose --all, run, cg or --list".into()),
    }
}

/// Child side: `reps` repetitions of one body; prints `metric ID NS OPS`
/// per metric and repetition.
fn run_child(krate: &str, body: &str, o: &Options) -> u8 {
    if let Err(why) = heap::applicable(krate, body) {
        eprintln!("heap_bench: {krate}/{body}: {why}");
        return 2;
    }
    let Some(f) = heap::body(krate, body) else {
        eprintln!("heap_bench: unknown crate {krate:?} or workload {body:?}");
        return 2;
    };
    for _ in 0..o.reps.max(1) {
        let mut r = Recorder::new(o.cg.clone());
        if let Err(msg) = f(&mut r, o.scale) {
            println!("wrong {msg}");
            return EXIT_WRONG;
        }
        for e in r.entries() {
            let per = |x: u64| x as f64 / e.ops as f64;
            println!("metric {} {} {} {}", e.id, per(e.ns), e.ops, per(e.faults) * 1000.0);
        }
    }
    0
}

/// One repetition's numbers for a metric: ns per op, ops, page faults per 1000 ops.
type Sample = (f64, u64, f64);

/// A child's per-metric samples, or why it failed.
fn spawn_child(cmd: &mut Command) -> Result<HashMap<String, Vec<Sample>>, String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("spawn failed: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut samples: HashMap<String, Vec<Sample>> = HashMap::new();
    for line in stdout.lines() {
        if let Some(msg) = line.strip_prefix("wrong ") {
            return Err(format!("wrong answer: {msg}"));
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if let ["metric", id, ns, ops, sys] = f.as_slice() {
            let (Ok(ns), Ok(ops), Ok(sys)) = (ns.parse::<f64>(), ops.parse::<u64>(), sys.parse::<f64>())
            else {
                continue;
            };
            samples.entry(id.to_string()).or_default().push((ns, ops, sys));
        }
    }
    if !out.status.success() {
        let last = stderr.lines().rfind(|l| !l.starts_with("==")).unwrap_or("").trim().to_string();
        return Err(format!("failed ({}): {}", out.status, last.chars().take(80).collect::<String>()));
    }
    Ok(samples)
}

fn child_cmd(krate: &str, body: &str, reps: usize, scale: f64) -> Result<Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    let mut c = Command::new(exe);
    c.args(["run", krate, body, "--reps", &reps.to_string(), "--scale", &scale.to_string()]);
    Ok(c)
}

/// Instructions per operation of `metric`'s timed part, counted by callgrind.
fn callgrind(krate: &str, body: &str, metric: &str, scale: f64) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    let file = std::env::temp_dir().join(format!("heap_bench.{}.{metric}.{krate}.cg", std::process::id()));
    let mut c = Command::new("valgrind");
    c.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", file.display()))
        .args(["--collect-atstart=no", "--toggle-collect=*callgrind_region*"])
        .arg(exe)
        .args(["run", krate, body, "--reps", "1", "--scale", &scale.to_string(), "--cg", metric]);
    let samples = spawn_child(&mut c)?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let _ = std::fs::remove_file(&file);
    let total: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or("no totals line in the callgrind output")?;
    let ops = samples
        .get(metric)
        .and_then(|s| s.first())
        .map(|s| s.1)
        .ok_or("the child did not report the metric")?;
    Ok(total as f64 / ops as f64)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Everything measured: per (crate, metric) the per-process medians (of
/// the time and of the page faults), the callgrind count, and the failures
/// per (crate, body).
#[derive(Default)]
struct Results {
    times: HashMap<(String, String), Vec<f64>>,
    faults: HashMap<(String, String), Vec<f64>>,
    ir: HashMap<(String, String), f64>,
    failed: HashMap<(String, String), String>,
}

impl Results {
    fn time(&self, krate: &str, metric: &str) -> Option<(f64, f64, f64)> {
        let mut v = self.times.get(&(krate.to_string(), metric.to_string()))?.clone();
        if v.is_empty() {
            return None;
        }
        let med = median(&mut v);
        Some((med, v[0], v[v.len() - 1]))
    }

    /// Median page faults per 1000 operations across the rounds.
    fn faults(&self, krate: &str, metric: &str) -> Option<f64> {
        let mut v = self.faults.get(&(krate.to_string(), metric.to_string()))?.clone();
        (!v.is_empty()).then(|| median(&mut v))
    }

    /// The ratio `a / b` round by round (the two ran in the same round,
    /// one after the other, or in the same process for the limit rows):
    /// median and min–max of those ratios.
    fn paired(&self, a: (&str, &str), b: (&str, &str)) -> Option<(f64, f64, f64)> {
        let va = self.times.get(&(a.0.to_string(), a.1.to_string()))?;
        let vb = self.times.get(&(b.0.to_string(), b.1.to_string()))?;
        if va.len() != vb.len() || va.is_empty() {
            return None;
        }
        let mut q: Vec<f64> = va.iter().zip(vb).map(|(x, y)| x / y).collect();
        let med = median(&mut q);
        Some((med, q[0], q[q.len() - 1]))
    }

    fn ir(&self, krate: &str, metric: &str) -> Option<f64> {
        self.ir.get(&(krate.to_string(), metric.to_string())).copied()
    }
}

fn run_all(o: &Options) -> Result<(), String> {
    let uptime_before = sh("uptime", &[]);
    let bodies: Vec<&str> =
        heap::bodies().into_iter().filter(|b| o.only.is_empty() || o.only.iter().any(|x| x == b)).collect();
    let mut res = Results::default();
    for round in 0..o.rounds {
        for body in &bodies {
            let mut cols: Vec<&str> =
                CRATES.iter().copied().filter(|c| heap::applicable(c, body).is_ok()).collect();
            if !cols.is_empty() {
                let k = round % cols.len();
                cols.rotate_left(k);
            }
            for c in cols {
                let key = (c.to_string(), body.to_string());
                if res.failed.contains_key(&key) {
                    continue;
                }
                match spawn_child(&mut child_cmd(c, body, o.reps, o.scale)?) {
                    Ok(samples) => {
                        for (id, s) in samples {
                            let mut ns: Vec<f64> = s.iter().map(|x| x.0).collect();
                            let mut pf: Vec<f64> = s.iter().map(|x| x.2).collect();
                            let (med, pf) = (median(&mut ns), median(&mut pf));
                            eprintln!(
                                "round {round} {body:>15} {c:>9} {id:>22}: {med:9.3} ns/op ({pf:.1} faults/1k ops)"
                            );
                            res.times.entry((c.to_string(), id.clone())).or_default().push(med);
                            res.faults.entry((c.to_string(), id)).or_default().push(pf);
                        }
                    }
                    Err(e) => {
                        eprintln!("round {round} {body:>15} {c:>9}: {e}");
                        res.failed.insert(key, e);
                    }
                }
            }
        }
    }
    if o.callgrind {
        for body in &bodies {
            for c in CRATES.iter().filter(|c| heap::applicable(c, body).is_ok()) {
                if res.failed.contains_key(&(c.to_string(), body.to_string())) {
                    continue;
                }
                for x in heap::metrics_of(body) {
                    match callgrind(c, body, x.id, o.cg_scale) {
                        Ok(ir) => {
                            eprintln!("callgrind {:>22} {c:>9}: {ir:.1} Ir/op", x.id);
                            res.ir.insert((c.to_string(), x.id.to_string()), ir);
                        }
                        Err(e) => eprintln!("callgrind {:>22} {c:>9}: {e}", x.id),
                    }
                }
            }
        }
    }
    let uptime_after = sh("uptime", &[]);
    let md = markdown(&res, o, &bodies, &uptime_before, &uptime_after);
    if let Some(dir) = o.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    // Keep the hand-written notes below the marker across runs.
    let marker = "<!-- notes: kept across runs -->";
    let notes = std::fs::read_to_string(&o.out)
        .ok()
        .and_then(|old| old.split_once(marker).map(|(_, n)| n.to_string()))
        .unwrap_or_else(|| "\n".into());
    std::fs::write(&o.out, format!("{md}\n{marker}{notes}"))
        .map_err(|e| format!("writing {}: {e}", o.out.display()))
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into())
}

/// Formats nanoseconds with three significant digits.
fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} µs", ns / 1e3)
    } else if ns >= 100.0 {
        format!("{ns:.0} ns")
    } else if ns >= 10.0 {
        format!("{ns:.1} ns")
    } else {
        format!("{ns:.2} ns")
    }
}

fn fmt_ir(ir: f64) -> String {
    if ir >= 1000.0 {
        let s = format!("{:.0}", ir);
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        out
    } else {
        format!("{ir:.1}")
    }
}

fn time_cell(res: &Results, krate: &str, x: &MetricInfo) -> String {
    if let Err(why) = heap::applicable(krate, x.body) {
        return why.to_string();
    }
    if let Some(f) = res.failed.get(&(krate.to_string(), x.body.to_string())) {
        return format!("**{f}**");
    }
    let sys = match res.faults(krate, x.id) {
        Some(pf) if pf >= 1.0 => format!("; {pf:.0} faults/1k"),
        _ => String::new(),
    };
    match res.time(krate, x.id) {
        Some((med, lo, hi)) if lo == hi => format!("{}{sys}", fmt_ns(med)),
        Some((med, lo, hi)) => {
            format!("{} ({}–{}{sys})", fmt_ns(med), trim_unit(lo, med), trim_unit(hi, med))
        }
        None => "–".into(),
    }
}

/// A bound in the unit of the median, without the unit.
fn trim_unit(v: f64, med: f64) -> String {
    let scale = if med >= 1e6 {
        1e6
    } else if med >= 1e3 {
        1e3
    } else {
        1.0
    };
    let digits = if med / scale >= 100.0 {
        0
    } else if med / scale >= 10.0 {
        1
    } else {
        2
    };
    format!("{:.digits$}", v / scale)
}

fn ir_cell(res: &Results, krate: &str, x: &MetricInfo) -> String {
    if let Err(why) = heap::applicable(krate, x.body) {
        return why.to_string();
    }
    res.ir(krate, x.id).map(fmt_ir).unwrap_or_else(|| "–".into())
}

fn column_title(c: &str) -> &str {
    match c {
        "rc" => "Rc",
        other => other,
    }
}

/// The fastest column other than pygc that ran `x`, for the goal.
fn fastest_other(res: &Results, x: &MetricInfo) -> Option<(f64, &'static str)> {
    CRATES
        .iter()
        .filter(|c| **c != "pygc")
        .filter_map(|c| res.time(c, x.id).map(|t| (t.0, *c)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

fn markdown(res: &Results, o: &Options, bodies: &[&str], up0: &str, up1: &str) -> String {
    let metrics: Vec<&MetricInfo> = METRICS.iter().filter(|x| bodies.contains(&x.body)).collect();
    let mut s = String::new();
    s.push_str(
        "# Heap features: `Gc<dyn Trait>`, `Gc<str>` / `Gc<[T]>`, explicit heaps, the limit check\n\n",
    );
    let toolchain = option_env!("RUSTUP_TOOLCHAIN").unwrap_or("default");
    let rustc = sh("rustc", &[&format!("+{toolchain}"), "--version"]);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let build = o.build.clone().unwrap_or_else(|| {
        format!(
            "cargo +{toolchain} build --release -p bench --bin heap_bench{}",
            if cfg!(feature = "rustcc-nightly") { " --features rustcc-nightly" } else { "" }
        )
    });
    s.push_str(&format!(
        "- Command: `{}` (built with `{build}`)\n\
         - Date: {}\n- Machine: {}-vCPU KVM guest, {cpu}, shared with other engineers' builds; `uptime` before: `{up0}`; after: `{up1}`\n\
         - Compiler: {rustc}; release profile (`debug = 1`); pygc at `{}`\n\
         - Peers: `std::rc::Rc` (glibc malloc), dumpster 2.1.0 (`unsync`), rust-cc 0.6.2 ({}); pygc's blocks come from obmalloc, the peers' from the system allocator (glibc {})\n\
         - Time cells: thread CPU time per operation; median of {} interleaved rounds (min–max), each round a fresh process per (workload, crate), crates in an order rotated from round to round, each process the median of its {} repetitions, less the cost of the clock reads (an empty timed part, measured in each process: about 0.5 µs, the thread CPU clock being a system call here); \"faults/1k\" (shown when at least 1) is the minor page faults per 1000 operations in that part (`getrusage(RUSAGE_THREAD)`): memory the allocator gave back to the kernel and touched again. Instruction cells: `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=*callgrind_region*`, the timed part of that one metric only, at scale {}{}.\n\n",
        o.command,
        sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        sh("git", &["log", "-1", "--format=%h"]),
        if cfg!(feature = "rustcc-nightly") { "features `derive`, `nightly`" } else { "feature `derive`; no `nightly`, so no `Cc<dyn Trait>`" },
        sh("ldd", &["--version"]).lines().next().unwrap_or("?").rsplit(' ').next().unwrap_or("?"),
        o.rounds,
        o.reps,
        o.cg_scale,
        if o.callgrind { "" } else { " (not run)" },
    ));

    // Gc<dyn Trait>.
    let sect = |sec: Section| metrics.iter().copied().filter(move |x| x.section == sec);
    let header = |s: &mut String, extra: &str| {
        s.push_str("| row |");
        for c in CRATES {
            s.push_str(&format!(" {} |", column_title(c)));
        }
        s.push_str(extra);
        s.push_str("\n|---|");
        for _ in CRATES {
            s.push_str("---:|");
        }
        for _ in 0..extra.matches('|').count() {
            s.push_str("---|");
        }
        s.push('\n');
    };
    if sect(Section::Dyn).next().is_some() {
        s.push_str("## `Gc<dyn Trait>` against the peers' trait-object handles\n\n");
        s.push_str("Goal: at least as fast as the fastest (`Rc<dyn Trait>` included where it can run).\n\n");
        header(&mut s, " goal: ≤ fastest other | met? (pygc / it, median per round) |");
        for x in sect(Section::Dyn) {
            s.push_str(&format!("| {} (`{}`) |", x.label, x.id));
            for c in CRATES {
                s.push_str(&format!(" {} |", time_cell(res, c, x)));
            }
            s.push_str(&goal_fastest(res, x));
            s.push('\n');
        }
        s.push('\n');
    }
    if sect(Section::Unsized).next().is_some() {
        s.push_str("## `Gc<str>` / `Gc<[T]>` against `Rc<str>` / `Rc<[T]>`\n\n");
        s.push_str("Goal: within 5 % of `Rc` (pygc / Rc ≤ 1.05).\n\n");
        header(&mut s, " pygc / Rc, per round | met? |");
        for x in sect(Section::Unsized) {
            s.push_str(&format!("| {} (`{}`) |", x.label, x.id));
            for c in CRATES {
                s.push_str(&format!(" {} |", time_cell(res, c, x)));
            }
            match res.paired(("pygc", x.id), ("rc", x.id)) {
                Some((q, lo, hi)) => {
                    let verdict = if q <= 1.05 { "yes" } else { "**no**" };
                    s.push_str(&format!(" {q:.2} ({lo:.2}–{hi:.2}) | {verdict} |"));
                }
                None => s.push_str(" – | – |"),
            }
            s.push('\n');
        }
        s.push('\n');
    }
    if sect(Section::Dyn).next().is_some() || sect(Section::Unsized).next().is_some() {
        s.push_str("**The same rows in instructions** (callgrind, per operation):\n\n");
        header(&mut s, " pygc / Rc | pygc / best other |");
        for x in sect(Section::Dyn).chain(sect(Section::Unsized)) {
            s.push_str(&format!("| `{}` |", x.id));
            for c in CRATES {
                s.push_str(&format!(" {} |", ir_cell(res, c, x)));
            }
            let p = res.ir("pygc", x.id);
            let r = res.ir("rc", x.id);
            let best = CRATES
                .iter()
                .filter(|c| **c != "pygc")
                .filter_map(|c| res.ir(c, x.id))
                .min_by(f64::total_cmp);
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => format!("{:.2}", a / b),
                _ => "–".into(),
            };
            s.push_str(&format!(" {} | {} |\n", ratio(p, r), ratio(p, best)));
        }
        s.push('\n');
    }
    if sect(Section::Heap).next().is_some() {
        s.push_str("## Explicit heaps (pygc only: none of the peers has heaps as values)\n\n");
        s.push_str("| row | pygc, time | pygc, instructions |\n|---|---:|---:|\n");
        for x in sect(Section::Heap) {
            s.push_str(&format!(
                "| {} (`{}`) | {} | {} |\n",
                x.label,
                x.id,
                time_cell(res, "pygc", x),
                ir_cell(res, "pygc", x)
            ));
        }
        s.push('\n');
    }
    if sect(Section::Limit).next().is_some() {
        s.push_str("## The byte-limit check on `Gc::new`\n\n");
        s.push_str(
            "Goal: under 1 %. The three heaps of a row run batch by batch in one process (10k allocations \
             per batch, the order rotated; the two explicit heaps swap which one has the limit every \
             three batches), allocation timed, the drop not.\n\n",
        );
        s.push_str(
            "| row | time | vs no limit, same process (per round: median, min to max) | instructions | vs no limit |\n\
             |---|---:|---:|---:|---:|\n",
        );
        for x in sect(Section::Limit) {
            let base = x.id.replace("_limit", "_nolimit").replace("_default", "_nolimit");
            let paired = match res.paired(("pygc", x.id), ("pygc", &base)) {
                Some((q, lo, hi)) if x.id != base => format!(
                    "{:+.2} % ({:+.1} to {:+.1})",
                    (q - 1.0) * 100.0,
                    (lo - 1.0) * 100.0,
                    (hi - 1.0) * 100.0
                ),
                _ => "–".into(),
            };
            let i = res.ir("pygc", x.id);
            let ib = res.ir("pygc", &base);
            let rel = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if x.id != base => format!("{:+.2} %", (a / b - 1.0) * 100.0),
                _ => "–".into(),
            };
            s.push_str(&format!(
                "| {} (`{}`) | {} | {} | {} | {} |\n",
                x.label,
                x.id,
                time_cell(res, "pygc", x),
                paired,
                ir_cell(res, "pygc", x),
                rel(i, ib)
            ));
        }
        s.push('\n');
    }
    s
}

fn goal_fastest(res: &Results, x: &MetricInfo) -> String {
    match (res.time("pygc", x.id), fastest_other(res, x)) {
        (Some(p), Some((best, who))) => {
            // Round by round against the fastest (by median) other.
            let q = res.paired(("pygc", x.id), (who, x.id)).map_or(p.0 / best, |r| r.0);
            let verdict = if q <= 1.0 {
                "yes"
            } else if q <= 1.02 {
                "tie (within 2 %)"
            } else {
                "**no**"
            };
            format!(" {} ({}) | {verdict} ({q:.3}x) |", fmt_ns(best), column_title(who))
        }
        _ => " – | – |".into(),
    }
}
