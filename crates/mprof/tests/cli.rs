//! End-to-end tests of the `mprof` binary, each in its own temporary
//! directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mprof::Profile;

fn mprof(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mprof")).args(args).current_dir(dir).output().expect("mprof runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// `cargo test` builds the examples next to the test binaries' `deps`.
fn example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("examples").join(name);
    p.exists().then_some(p)
}

#[test]
fn run_records_a_known_allocation_and_func_records() {
    let Some(prog) = example("profiled") else {
        eprintln!("SKIP: examples/profiled not built (run through `cargo test -p mprof`)");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let out = mprof(d.path(), &["run", "-q", "-T", "0.05", "-o", "p.dat", prog.to_str().unwrap(), "100"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let p = Profile::read(d.path().join("p.dat")).unwrap();
    assert_eq!(p.cmdline.as_deref(), Some(format!("{} 100", prog.display()).as_str()));
    assert!(p.mem.len() >= 5, "{:?}", p.mem);
    let exact = p.hwm.expect("HWM record").0;
    // 100 MiB and the program itself; a memory checker (scripts/asan.sh and
    // valgrind.sh set PYGC_UNDER_VALGRIND) adds its shadow memory.
    let limit = if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() { 160.0 } else { 115.0 };
    assert!((100.0..limit).contains(&exact), "exact peak {exact}");
    let sampled = p.peak().unwrap();
    assert!((sampled - exact).abs() <= 0.1 * exact, "sampled {sampled} exact {exact}");
    // The profiled program's FUNC records, nested.
    let names: Vec<(&str, Option<u32>)> = p.funcs.iter().map(|f| (f.name.as_str(), f.stack_level)).collect();
    assert!(names.contains(&("profiled.alloc", Some(1))), "{names:?}");
    assert!(names.contains(&("profiled.outer", Some(0))), "{names:?}");
    let alloc = p.funcs.iter().find(|f| f.name == "profiled.alloc").unwrap();
    assert!(alloc.t_end > alloc.t_start);
    // The samples taken while alloc ran hold its 100 MiB (`peak --func`).
    let during =
        p.mem.iter().filter(|m| alloc.t_start <= m.1 && m.1 <= alloc.t_end).map(|m| m.0).fold(0.0, f64::max);
    assert!(during - alloc.mem_start > 90.0, "{alloc:?} {during}");
    let peak = mprof(d.path(), &["peak", "--func", "profiled.alloc", "p.dat"]);
    let shown: f64 = text(&peak.stdout)
        .trim_end()
        .strip_suffix(" MiB")
        .unwrap()
        .rsplit('\t')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((shown - during).abs() < 0.001, "{shown} {during}");
    // The line table went to the program's stdout.
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Line #    Mem usage    Increment  Occurrences   Line Contents"), "{stdout}");
    assert!(stdout.contains("let v = vec![1u8; mib << 20];"), "{stdout}");
}

#[test]
fn exit_code_is_passed_through_and_default_name_is_used() {
    let d = tempfile::tempdir().unwrap();
    let out = mprof(d.path(), &["run", "sh", "-c", "sleep 0.2; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let list = mprof(d.path(), &["list"]);
    let line = text(&list.stdout);
    assert!(
        line.starts_with("0 mprofile_") && line.trim_end().ends_with(&line[24..].trim_end().to_string()),
        "{line}"
    );
    let name = line.split(' ').nth(1).unwrap();
    assert!(mprof::files::is_profile_name(name), "{name}");
    let p = Profile::read(d.path().join(name)).unwrap();
    assert_eq!(p.cmdline.as_deref(), Some("sh -c 'sleep 0.2; exit 3'"));
    assert!(!p.mem.is_empty());
}

#[test]
fn children_are_summed_and_recorded_separately() {
    let d = tempfile::tempdir().unwrap();
    let out = mprof(
        d.path(),
        &["run", "-q", "-C", "-M", "-T", "0.05", "-o", "c.dat", "sh", "-c", "sleep 0.4 & sleep 0.4; wait"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let p = Profile::read(d.path().join("c.dat")).unwrap();
    assert!(p.children.len() >= 2, "{:?}", p.children.keys());
    // -C: each MEM sample includes the children, so it exceeds the shell alone.
    let shell_alone = p.children.values().flatten().map(|c| c.0).fold(0.0, f64::max);
    assert!(p.peak().unwrap() > shell_alone);
}

#[test]
fn python_fixtures_load_and_peak_prints_pythons_lines() {
    let d = tempfile::tempdir().unwrap();
    let out = mprof(d.path(), &["peak", fixture("mprofile_example.dat").to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{}\t61.062 MiB\n", fixture("mprofile_example.dat").display()));
    let m = fixture("mprofile_multiprocess.dat");
    let out = mprof(d.path(), &["peak", m.to_str().unwrap()]);
    assert_eq!(
        text(&out.stdout),
        format!("{}\t127.289 MiB\n  Child 5384\t\t\t41.277 MiB\n  Child 5385\t\t\t71.277 MiB\n", m.display())
    );
    let out = mprof(
        d.path(),
        &["peak", "--func", "__main__.alloc", fixture("mprofile_example.dat").to_str().unwrap()],
    );
    assert!(text(&out.stdout).ends_with("\t61.062 MiB\n"), "{}", text(&out.stdout));
    let p = Profile::read(fixture("mprofile_example.dat")).unwrap();
    assert_eq!(p.funcs.len(), 2);
    assert_eq!(p.mem.len(), 10);
}

#[test]
fn list_rm_clean() {
    let d = tempfile::tempdir().unwrap();
    for n in ["mprofile_20260101000000.dat", "mprofile_20260102030405.dat", "other.dat"] {
        std::fs::write(d.path().join(n), "MEM 1.0 2.0\n").unwrap();
    }
    let out = mprof(d.path(), &["list"]);
    assert_eq!(
        text(&out.stdout),
        "0 mprofile_20260101000000.dat 00:00:00 01/01/2026\n1 mprofile_20260102030405.dat 03:04:05 02/01/2026\n"
    );
    let out = mprof(d.path(), &["rm", "--dry-run", "0"]);
    assert_eq!(text(&out.stdout), "Files to be removed: \nmprofile_20260101000000.dat\n");
    assert!(d.path().join("mprofile_20260101000000.dat").exists());
    assert!(mprof(d.path(), &["rm", "-1"]).status.success());
    assert!(!d.path().join("mprofile_20260102030405.dat").exists());
    assert!(mprof(d.path(), &["clean"]).status.success());
    assert!(!d.path().join("mprofile_20260101000000.dat").exists());
    assert!(d.path().join("other.dat").exists(), "clean only removes mprof's own files");
}

#[test]
fn plot_writes_png_and_svg() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("mprofile_example.dat"), d.path().join("mprofile_20261125062520.dat")).unwrap();
    std::fs::copy(fixture("mprofile_multiprocess.dat"), d.path().join("multi.dat")).unwrap();
    // Default output: the newest profile's name with .png.
    let out = mprof(d.path(), &["plot"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let png = std::fs::read(d.path().join("mprofile_20261125062520.png")).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1260, 540));
    assert!(buf.iter().any(|&b| b != 255), "not blank");

    for (args, name) in [
        (vec!["plot", "-o", "a.svg", "multi.dat"], "a.svg"),
        (vec!["plot", "-s", "-o", "s.svg", "multi.dat"], "s.svg"),
        (vec!["plot", "--flame", "-w", "0,0.5", "-o", "f.svg"], "f.svg"),
        (vec!["plot", "-t", "two files", "-o", "two.svg", "multi.dat", "0"], "two.svg"),
    ] {
        let out = mprof(d.path(), &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let svg = std::fs::read_to_string(d.path().join(name)).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("valid SVG XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).map(str::trim).collect();
        match name {
            "a.svg" => {
                assert!(texts.contains(&"python multi.py"), "{texts:?}");
                assert!(texts.contains(&"child 5384"), "{texts:?}");
                assert!(texts.contains(&"time (in seconds)"));
            }
            "s.svg" => assert!(texts.iter().any(|t| t.contains(" slope ")), "{texts:?}"),
            "f.svg" => assert!(texts.contains(&"alloc"), "{texts:?}"),
            _ => assert!(texts.contains(&"two files"), "{texts:?}"),
        }
    }
}

#[test]
fn bad_input_gets_a_clear_message_and_nonzero_exit() {
    let d = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["run"], 2, "required arguments were not provided"),
        (vec!["run", "definitely-not-a-command-xyz"], 127, "command not found: definitely-not-a-command-xyz"),
        (vec!["run", "-T", "0", "true"], 2, "invalid interval \"0\""),
        (vec!["run", "-T", "fast", "true"], 2, "invalid interval \"fast\""),
        (vec!["run", "-t", "-1", "true"], 2, "invalid timeout"),
        (vec!["attach", "4294967"], 1, "no process with pid 4294967"),
        (vec!["peak"], 1, "no input file found"),
        (vec!["plot"], 1, "no input file found"),
        (vec!["peak", "missing.dat"], 1, "file not found: missing.dat"),
        (vec!["rm", "3"], 1, "invalid index"),
        (vec!["peak", "bad.dat"], 1, "bad.dat:3: MEM: \"1.0x\" is not a number"),
        (vec!["plot", "bin.dat"], 1, "bin.dat:1: not UTF-8 text"),
        (vec!["plot", "empty.dat"], 1, "empty.dat: no memory samples"),
        (vec!["plot", "-o", "x.jpg", "good.dat"], 1, "must end in .png or .svg"),
        (vec!["plot", "-w", "3,1", "good.dat"], 2, "invalid window"),
        (vec!["peak", "sub"], 1, "sub is a directory"),
    ];
    std::fs::write(d.path().join("bad.dat"), "CMDLINE x\nMEM 1.0 2.0\nMEM 1.0x 3.0\n").unwrap();
    std::fs::write(d.path().join("bin.dat"), b"\x89PNG\xff\n").unwrap();
    std::fs::write(d.path().join("empty.dat"), "CMDLINE x\n").unwrap();
    std::fs::write(d.path().join("good.dat"), "MEM 1.0 2.0\nMEM 2.0 3.0\n").unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    for (args, code, msg) in cases {
        let out = mprof(d.path(), &args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // A failed spawn leaves no profile behind.
    assert!(mprof::files::profiles_in(d.path()).unwrap().is_empty());
}

/// Our .dat files load in Python's mprof (memory_profiler 0.61's reader).
/// Needs `target/pyvenv` (see docs/design/memory_profiler.md).
#[test]
fn pythons_reader_loads_our_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = root.join("target/pyvenv/bin/python");
    if !py.exists() {
        eprintln!("SKIP: {} missing; create it with `python3 -m venv target/pyvenv && target/pyvenv/bin/pip install memory_profiler`", py.display());
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let out = mprof(
        d.path(),
        &["run", "-q", "-M", "-C", "-T", "0.05", "-o", "ours.dat", "sh", "-c", "sleep 0.3 & sleep 0.3; wait"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let func = "FUNC m.f 1.0000 1.0000 2.0000 2.0000 0\n";
    let mut f = std::fs::OpenOptions::new().append(true).open(d.path().join("ours.dat")).unwrap();
    std::io::Write::write_all(&mut f, func.as_bytes()).unwrap();
    let ours = Profile::read(d.path().join("ours.dat")).unwrap();
    let script = "import sys, mprof\np = mprof.read_mprofile_file(sys.argv[1])\nprint(len(p['mem_usage']), '%.6f' % max(p['mem_usage']), len(p['children']), sorted(p['func_timestamp']), p['cmd_line'].strip())";
    let out = Command::new(&py).args(["-c", script, "ours.dat"]).current_dir(d.path()).output().unwrap();
    assert!(out.status.success(), "Python could not read our file: {}", text(&out.stderr));
    let expected = format!(
        "{} {:.6} {} ['m.f'] {}\n",
        ours.mem.len(),
        ours.peak().unwrap(),
        ours.children.len(),
        ours.cmdline.as_deref().unwrap()
    );
    assert_eq!(text(&out.stdout), expected);
    // And Python's own peak command agrees with ours.
    let theirs = Command::new(root.join("target/pyvenv/bin/mprof"))
        .args(["peak", "ours.dat"])
        .current_dir(d.path())
        .output()
        .unwrap();
    let mine = mprof(d.path(), &["peak", "ours.dat"]);
    let mine = text(&mine.stdout);
    let mine_python_part: String =
        mine.lines().filter(|l| !l.contains("VmHWM")).map(|l| format!("{l}\n")).collect();
    assert_eq!(text(&theirs.stdout), mine_python_part);
}

#[test]
fn attach_samples_until_the_process_ends() {
    let d = tempfile::tempdir().unwrap();
    let mut child = Command::new("sleep").arg("0.6").spawn().unwrap();
    let pid = child.id().to_string();
    let out = mprof(d.path(), &["attach", "-q", "-T", "0.05", "-o", "a.dat", &pid]);
    child.wait().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let p = Profile::read(d.path().join("a.dat")).unwrap();
    assert_eq!(p.cmdline.as_deref(), Some("sleep 0.6"));
    assert!(p.mem.len() >= 2, "{:?}", p.mem);
    assert!(p.hwm.is_some());
}

#[test]
fn timeout_stops_sampling_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let out = mprof(d.path(), &["run", "-q", "-t", "0.2", "-T", "0.05", "-o", "t.dat", "sleep", "3"]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("timeout: stopped sampling"), "{}", text(&out.stderr));
    let p = Profile::read(d.path().join("t.dat")).unwrap();
    assert!(!p.mem.is_empty());
    assert!(p.mem.iter().all(|m| m.1 - p.mem[0].1 < 1.0), "sampling went on past the timeout");
}

#[test]
fn ctrl_c_reaches_the_command_and_the_profile_is_finished() {
    use std::os::unix::process::CommandExt;
    let d = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mprof"))
        .args(["run", "-q", "-T", "0.05", "-o", "i.dat", "sleep", "5"])
        .current_dir(d.path())
        .process_group(0)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until sampling has begun (the first MEM record), then interrupt
    // the whole group as a terminal's Ctrl-C does.
    let dat = d.path().join("i.dat");
    for _ in 0..1000 {
        if std::fs::read_to_string(&dat).unwrap_or_default().contains("MEM ") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: kill has no memory preconditions; the group is the one we made.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "128 + SIGINT, from the command");
    let p = Profile::read(&dat).unwrap();
    assert!(p.hwm.is_some(), "mprof survived to write the exact peak");
}

#[test]
fn python_fixtures_round_trip_through_our_writer() {
    for name in ["mprofile_example.dat", "mprofile_multiprocess.dat"] {
        let p = Profile::read(fixture(name)).unwrap();
        let mut out = Vec::new();
        p.write_to(&mut out).unwrap();
        let again = Profile::parse(&out, Path::new(name)).unwrap();
        assert_eq!(again, p, "{name}");
        // Every line we wrote is byte-identical to one in the original.
        let original = std::fs::read_to_string(fixture(name)).unwrap();
        for line in String::from_utf8(out).unwrap().lines() {
            assert!(original.lines().any(|l| l == line), "{name}: {line}");
        }
    }
}
