//! Does `mprof run` slow the command it samples? Times a CPU-bound command
//! alone and under `mprof run` at two intervals (median of 5 runs each):
//! wall time, and CPU time of everything started (from
//! `getrusage(RUSAGE_CHILDREN)`), which the other jobs on a shared machine
//! do not disturb. Under mprof the CPU time includes mprof's own sampling.
//! Run: `cargo bench -p mprof --bench sampling_overhead`.

use std::process::Command;
use std::time::{Duration, Instant};

const PROGRAM: &str =
    "s = 0\nfor i in range(6_000_000):\n    s += i * i\nassert s == 71999982000001000000\n";

fn children_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is valid for writes; RUSAGE_CHILDREN is a valid selector.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// (wall, CPU) of one run.
fn time(cmd: &mut Command) -> (Duration, Duration) {
    let c0 = children_cpu();
    let s = Instant::now();
    let st = cmd.status().expect("runs");
    assert!(st.success());
    (s.elapsed(), children_cpu() - c0)
}

fn median(mut f: impl FnMut() -> (Duration, Duration)) -> (Duration, Duration) {
    let runs: Vec<(Duration, Duration)> = (0..5).map(|_| f()).collect();
    let mut w: Vec<Duration> = runs.iter().map(|r| r.0).collect();
    let mut c: Vec<Duration> = runs.iter().map(|r| r.1).collect();
    w.sort();
    c.sort();
    (w[2], c[2])
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mprof = env!("CARGO_BIN_EXE_mprof");
    let alone = median(|| time(Command::new("python3").args(["-c", PROGRAM])));
    let mut rows = vec![("python3 alone".to_string(), alone)];
    for interval in ["0.1", "0.01"] {
        let t = median(|| {
            time(
                Command::new(mprof)
                    .args([
                        "run", "-q", "-T", interval, "-o", "b.dat", "python3", "-c", PROGRAM,
                    ])
                    .current_dir(dir.path())
                    .stderr(std::process::Stdio::null()),
            )
        });
        rows.push((format!("mprof run -T {interval}"), t));
    }
    println!("| command | wall (median of 5) | vs alone | CPU time (median of 5) | vs alone |");
    println!("|---|---|---|---|---|");
    for (name, (w, c)) in rows {
        println!(
            "| {name} | {w:.3?} | {:+.1} % | {c:.3?} | {:+.1} % |",
            (w.as_secs_f64() / alone.0.as_secs_f64() - 1.0) * 100.0,
            (c.as_secs_f64() / alone.1.as_secs_f64() - 1.0) * 100.0
        );
    }
}
