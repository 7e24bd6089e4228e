//! Runs every `tests/python/*.py` with `python3` and with `pygc-python`
//! and compares stdout exactly (and the exit status).

use std::path::Path;
use std::process::Command;

fn run(cmd: &str, script: &Path) -> (String, i32) {
    let out = Command::new(cmd)
        .arg(script)
        .current_dir(script.parent().expect("dir"))
        .output()
        .expect("run interpreter");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn python_scripts_match_cpython() {
    if Command::new("python3").arg("-c").arg("pass").output().is_err() {
        eprintln!("python3 not found: differential test skipped");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let ours = env!("CARGO_BIN_EXE_pygc-python");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/python")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    scripts.sort();
    let mut failures = Vec::new();
    for s in &scripts {
        let (want, want_rc) = run("python3", s);
        let (got, got_rc) = run(ours, s);
        if want != got || want_rc != got_rc {
            failures.push(format!(
                "{}: rc {want_rc} vs {got_rc}\n--- python3\n{want}\n--- pygc-python\n{got}",
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
