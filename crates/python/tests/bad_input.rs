//! Bad input gives a clear error and never a panic: a syntax error, an
//! unsupported construct, an uncaught exception, a missing file, deep
//! recursion, an infinite generator consumed partly, an exception in
//! `__del__`, and `-c`. Each is checked against golden text and, when
//! `python3` is on the machine, against CPython's own stderr.

use std::path::Path;
use std::process::{Command, Output};

fn pygc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pygc-python"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run pygc-python")
}

fn python3(args: &[&str], dir: &Path) -> Option<Output> {
    Command::new("python3").args(args).current_dir(dir).output().ok()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes `name` in a fresh directory and runs it; checks that nothing
/// panicked (Rust's panic message, exit code 101, or a signal).
fn run_script(name: &str, source: &str) -> (tempfile::TempDir, String, Output) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, source).expect("write script");
    let path = path.to_str().expect("utf-8 path").to_string();
    let out = pygc(&[&path], dir.path());
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "pygc-python panicked:\n{err}");
    assert!(out.status.code().is_some_and(|c| c != 101), "pygc-python died: {:?}\n{err}", out.status);
    (dir, path, out)
}

/// The stderr of CPython for the same script, if python3 exists.
fn cpython_stderr(path: &str, dir: &Path) -> Option<String> {
    python3(&[path], dir).map(|o| text(&o.stderr))
}

#[test]
fn syntax_error_is_reported_as_cpython_reports_it() {
    let (dir, path, out) = run_script("syntax.py", "x = 1\ndef f(:\n    pass\n");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(
        err,
        format!("  File \"{path}\", line 2\n    def f(:\n          ^\nSyntaxError: invalid syntax\n")
    );
    if let Some(want) = cpython_stderr(&path, dir.path()) {
        assert_eq!(err, want);
    }
}

#[test]
fn unsupported_construct_names_itself_and_its_line() {
    let (_dir, path, out) = run_script("unsupported.py", "x = 1\nmatch x:\n    case 1:\n        pass\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "  File \"{path}\", line 2\n    match x:\n\
             NotImplementedError: pygc-python does not support match statement (line 2)\n"
        )
    );
    assert!(out.stdout.is_empty(), "nothing runs");
}

#[test]
fn uncaught_exception_prints_the_traceback() {
    let src = "def f(n):\n    return g(n)\n\ndef g(n):\n    return {}[n]\n\nprint('before')\nf('key')\n";
    let (dir, path, out) = run_script("uncaught.py", src);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "before\n");
    let err = text(&out.stderr);
    assert!(err.starts_with("Traceback (most recent call last):\n"), "{err}");
    assert!(err.contains(&format!("  File \"{path}\", line 5, in g\n    return {{}}[n]\n")), "{err}");
    assert!(err.ends_with("KeyError: 'key'\n"), "{err}");
    if let Some(want) = cpython_stderr(&path, dir.path()) {
        assert_eq!(err, want);
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = pygc(&["no_such_file.py"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let missing = dir.path().join("no_such_file.py");
    assert_eq!(
        text(&out.stderr),
        format!(
            "pygc-python: can't open file '{}': [Errno 2] No such file or directory\n",
            missing.display()
        )
    );
}

#[test]
fn deep_recursion_raises_recursion_error() {
    let (dir, path, out) = run_script("deep.py", "def r(n):\n    return r(n + 1)\n\nr(0)\n");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("  [Previous line repeated 996 more times]\n"), "{err}");
    assert!(err.ends_with("RecursionError: maximum recursion depth exceeded\n"), "{err}");
    if let Some(want) = cpython_stderr(&path, dir.path()) {
        assert_eq!(err, want);
    }
}

#[test]
fn deep_native_recursion_is_bounded_too() {
    // Python calls made from native code (a key function calling sorted
    // again) nest evaluation loops: still a RecursionError, not a crash.
    let src = "def k(x):\n    return sorted([x], key=k)[0]\n\nsorted([1], key=k)\n";
    let (_dir, _path, out) = run_script("native.py", src);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("RecursionError: maximum recursion depth exceeded"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_infinite_generator_can_be_consumed_partly() {
    let src = "def naturals():\n    n = 0\n    while True:\n        yield n\n        n += 1\n\n\
               for i in naturals():\n    if i == 3:\n        break\n    print(i)\n\
               g = naturals()\nprint(next(g), next(g))\ndel g\nprint('done')\n";
    let (_dir, _path, out) = run_script("infinite.py", src);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "0\n1\n2\n0 1\ndone\n");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn an_exception_in_del_is_reported_and_ignored() {
    let src = "class D:\n    def __del__(self):\n        raise ValueError('in del')\n\nD()\nprint('after')\n";
    let (_dir, path, out) = run_script("delerr.py", src);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "after\n");
    let err = text(&out.stderr);
    assert!(err.starts_with("Exception ignored in: <function D.__del__ at 0x"), "{err}");
    assert!(
        err.ends_with(&format!(
            "  File \"{path}\", line 3, in __del__\n    raise ValueError('in del')\nValueError: in del\n"
        )),
        "{err}"
    );
}

#[test]
fn dash_c_runs_code_and_reports_without_source_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = pygc(&["-c", "print(6 * 7)\n1 / 0"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "42\n");
    let want = "Traceback (most recent call last):\n  File \"<string>\", line 2, in <module>\nZeroDivisionError: division by zero\n";
    assert_eq!(text(&out.stderr), want);
    let out = pygc(&["-c", "import sys; sys.exit(3)"], dir.path());
    assert_eq!(out.status.code(), Some(3));
    let out = pygc(&["-c"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "Argument expected for the -c option\n");
}

#[test]
fn gc_debug_output_goes_to_stderr() {
    let src = "import gc\nclass Node:\n    pass\na = Node()\na.ref = a\ndel a\n\
               gc.set_debug(gc.DEBUG_COLLECTABLE)\nprint(gc.collect())\n";
    let (_dir, _path, out) = run_script("debug.py", src);
    assert_eq!(text(&out.stdout), "1\n");
    let err = text(&out.stderr);
    assert!(err.starts_with("gc: collectable <Node 0x"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
