//! Does `mprof run` slow the command it samples? Times a CPU-bound command
//! alone and under `mprof run` at two intervals (median of 5 runs each).
//! Run: `cargo bench -p mprof --bench sampling_overhead`.

use std::process::Command;
use std::time::{Duration, Instant};

const PROGRAM: &str =
    "s = 0\nfor i in range(6_000_000):\n    s += i * i\nassert s == 71999982000001000000\n";

fn time(cmd: &mut Command) -> Duration {
    let s = Instant::now();
    let st = cmd.status().expect("runs");
    assert!(st.success());
    s.elapsed()
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..5).map(|_| f()).collect();
    v.sort();
    v[2]
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
    println!("| command | wall time (median of 5) | vs alone |");
    println!("|---|---|---|");
    for (name, t) in rows {
        println!(
            "| {name} | {t:.3?} | {:+.1} % |",
            (t.as_secs_f64() / alone.as_secs_f64() - 1.0) * 100.0
        );
    }
}
