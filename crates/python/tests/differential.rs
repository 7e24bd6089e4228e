//! Runs every `tests/python/*.py` with CPython and with `pygc-python` and
//! compares stdout exactly (and the exit status).
//!
//! CPython is the `target/pyvenv` interpreter `.ci/run` makes (it has
//! objgraph and memory_profiler) when it exists, else `python3`; without
//! the venv the scripts that import those two are skipped, and said so.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &Path, script: &Path) -> (String, i32) {
    let out = Command::new(cmd)
        .arg(script)
        .current_dir(script.parent().expect("dir"))
        .output()
        .expect("run interpreter");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().unwrap_or(-1))
}

fn needs_venv(script: &Path) -> bool {
    let text = std::fs::read_to_string(script).unwrap_or_default();
    text.contains("import objgraph")
        || text.contains("from memory_profiler")
        || text.contains("import memory_profiler")
}

#[test]
fn python_scripts_match_cpython() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("../../target/pyvenv/bin/python");
    let (python, have_venv): (PathBuf, bool) =
        if venv.exists() { (venv, true) } else { (PathBuf::from("python3"), false) };
    if Command::new(&python).arg("-c").arg("pass").output().is_err() {
        eprintln!("python3 not found: differential test skipped");
        return;
    }
    let dir = root.join("tests/python");
    let ours = Path::new(env!("CARGO_BIN_EXE_pygc-python"));
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/python")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    scripts.sort();
    let mut failures = Vec::new();
    for s in &scripts {
        if !have_venv && needs_venv(s) {
            eprintln!("{}: skipped (needs target/pyvenv with objgraph and memory_profiler)", s.display());
            continue;
        }
        let (want, want_rc) = run(&python, s);
        let (got, got_rc) = run(ours, s);
        if want != got || want_rc != got_rc {
            failures.push(format!(
                "{}: rc {want_rc} vs {got_rc}\n--- CPython\n{want}\n--- pygc-python\n{got}",
                s.display()
            ));
        }
    }
    assert!(!scripts.is_empty());
    assert!(
        failures.is_empty(),
        "{} of {} scripts differ:\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n")
    );
}
