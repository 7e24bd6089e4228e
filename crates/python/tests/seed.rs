//! `examples/seed.py` under CPython (with objgraph and memory_profiler from
//! the `target/pyvenv` that `.ci/run` makes) and under pygc-python: the same
//! stdout once what cannot match between two interpreters is normalised.
//!
//! Normalised, and nothing else:
//! - the rows of the first `show_most_common_types()` and `show_growth()`:
//!   a census of each interpreter's own start-up objects (CPython's 2072
//!   stdlib functions; pygc-python's built-in types), one placeholder line
//!   each section;
//! - the count column of the later `show_growth()` rows (the same types and
//!   the same increases are required; the totals include start-up objects);
//! - the MiB figures of memory_profiler's table (memory figures);
//! - tracemalloc's `size=`, `count=` and `average=` (memory figures, and
//!   block counts that depend on how each interpreter lays out a str or a
//!   list), and the statistics of files other than `seed.py` (CPython's
//!   `tracemalloc.py`: pygc-python's tracemalloc has no Python code).

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &Path, script: &Path) -> String {
    let out = Command::new(cmd)
        .arg(script)
        .current_dir(script.parent().expect("dir"))
        .output()
        .expect("run interpreter");
    assert!(out.status.success(), "{} failed:\n{}", cmd.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Replaces every `12.3 MiB` (possibly negative) with `<MiB>`; the
/// columns' padding, which follows the figures' widths, becomes one space.
fn mib(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if words.get(i + 1) == Some(&"MiB") && w.parse::<f64>().is_ok() {
            out.push("<MiB>");
            i += 2;
            continue;
        }
        out.push(w);
        i += 1;
    }
    out.join(" ")
}

/// `file:line: size=..., count=..., average=...` → `seed.py:line: size=<size>...`,
/// or `None` for a file other than seed.py.
fn tracemalloc_stat(line: &str) -> Option<Option<String>> {
    let (place, rest) = line.split_once(": size=")?;
    let _ = rest;
    let (file, lineno) = place.rsplit_once(':')?;
    lineno.parse::<u32>().ok()?;
    Some(
        file.ends_with("/seed.py")
            .then(|| format!("seed.py:{lineno}: size=<size>, count=<n>, average=<size>")),
    )
}

fn normalise(text: &str) -> String {
    let mut out = Vec::new();
    let mut section = "";
    for line in text.lines() {
        if line.starts_with("--") || line.starts_with("==") {
            section = match line {
                "-- objgraph.show_most_common_types()" | "-- objgraph.show_growth()" => "census",
                "-- objgraph.show_growth() after 100 Nodes" => "growth",
                _ => "",
            };
            out.push(line.to_string());
            if section == "census" {
                out.push("<census of the interpreter's own objects>".to_string());
            }
            continue;
        }
        match section {
            "census" => continue,
            "growth" => {
                let cols: Vec<&str> = line.split_whitespace().collect();
                if let [name, count, delta] = cols[..] {
                    if count.parse::<u64>().is_ok() && delta.starts_with('+') {
                        out.push(format!("{name} <count> {delta}"));
                        continue;
                    }
                }
                section = "";
            }
            _ => {}
        }
        if let Some(stat) = tracemalloc_stat(line) {
            out.extend(stat);
            continue;
        }
        out.push(if line.contains(" MiB ") { mib(line) } else { line.to_string() });
    }
    out.join("\n")
}

#[test]
fn the_normaliser_keeps_what_must_match() {
    assert_eq!(mib("    74     30.7 MiB      7.6 MiB           1       a = [1]"), "74 <MiB> <MiB> 1 a = [1]");
    assert_eq!(mib("    76     25.2 MiB   -305.2 MiB           1       del b"), "76 <MiB> <MiB> 1 del b");
    assert_eq!(
        tracemalloc_stat("/x/seed.py:87: size=941 KiB, count=10001, average=96 B"),
        Some(Some("seed.py:87: size=<size>, count=<n>, average=<size>".into()))
    );
    assert_eq!(
        tracemalloc_stat("/usr/lib/python3.11/tracemalloc.py:558: size=56 B, count=1, average=56 B"),
        Some(None)
    );
    assert_eq!(tracemalloc_stat("print(1)"), None);
    let text = "-- objgraph.show_growth()\nfunction 2072 +2072\n-- objgraph.show_growth() after 100 Nodes\nNode      100      +100\n101\n";
    assert_eq!(
        normalise(text),
        "-- objgraph.show_growth()\n<census of the interpreter's own objects>\n-- objgraph.show_growth() after 100 Nodes\nNode <count> +100\n101"
    );
}

#[test]
fn seed_matches_cpython() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv: PathBuf = root.join("../../target/pyvenv/bin/python");
    if !venv.exists() {
        eprintln!("{} not found (.ci/run makes it): seed test skipped", venv.display());
        return;
    }
    let seed = root.join("examples/seed.py").canonicalize().expect("examples/seed.py");
    let want = normalise(&run(&venv, &seed));
    let got = normalise(&run(Path::new(env!("CARGO_BIN_EXE_pygc-python")), &seed));
    assert_eq!(want, got, "\n--- CPython (normalised)\n{want}\n--- pygc-python (normalised)\n{got}");
}
