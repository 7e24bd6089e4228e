//! Snapshot files: round trip, and every kind of bad file gives a clear error, no panic.

use tracemalloc::{Error, Frame, KeyType, Snapshot, Trace, Traceback, FORMAT_MAGIC};

fn sample() -> Snapshot {
    let tb = |frames: &[(&str, u32)], total| {
        Traceback::new(frames.iter().map(|(f, l)| Frame::new(*f, *l)).collect::<Vec<_>>(), total)
    };
    let a = tb(&[("src/main.rs", 3), ("src/lib.rs", 10)], Some(4));
    let b = tb(&[("it's \"odd\".rs", 1)], None);
    let trace = |domain, size, traceback: &Traceback| Trace {
        domain,
        size,
        weight: size,
        traceback: traceback.clone(),
    };
    Snapshot::new(vec![trace(0, 100, &a), trace(1, 2048, &b), trace(1, 50, &a)], 7)
}

fn describe(s: &Snapshot) -> Vec<String> {
    let mut v: Vec<String> = s.traces().iter().map(|t| format!("{t:?}")).collect();
    v.sort();
    v
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.tm");
    let snap = sample();
    snap.dump(&path).unwrap();
    let back = Snapshot::load(&path).unwrap();
    assert_eq!(describe(&back), describe(&snap));
    assert_eq!(back.traceback_limit(), 7);
    assert_eq!(
        back.statistics(KeyType::Lineno, false).unwrap(),
        snap.statistics(KeyType::Lineno, false).unwrap()
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(&format!("{FORMAT_MAGIC}\n{{\"version\":1,")));
}

fn load_err(bytes: &[u8]) -> String {
    match Snapshot::from_bytes(bytes) {
        Err(e @ Error::BadSnapshot(_)) => e.to_string(),
        other => panic!("expected BadSnapshot, got {other:?}"),
    }
}

#[test]
fn bad_files() {
    let good = sample().to_bytes().unwrap();
    // Every truncation is refused, never a panic.
    for cut in 0..good.len() - 1 {
        let e = load_err(&good[..cut]);
        assert!(e.contains("truncated") || e.contains("corrupt"), "cut at {cut}: {e}");
    }
    assert!(load_err(&good[..10]).contains("truncated (it ends inside the header)"));
    assert!(load_err(b"\x89PNG\r\n\x1a\n....").contains("does not start with \"PYGC-TRACEMALLOC-SNAPSHOT\""));
    let newer = String::from_utf8(good.clone()).unwrap().replace("\"version\":1", "\"version\":9");
    assert!(
        load_err(newer.as_bytes()).contains("format version 9 is not supported (this build reads version 1)")
    );
    let dangling = String::from_utf8(good.clone()).unwrap().replace("[1,2048,2048,1]", "[1,2048,2048,99]");
    assert!(load_err(dangling.as_bytes()).contains("trace 1 refers to missing traceback 99"));
    let corrupt = String::from_utf8(good.clone()).unwrap().replace("\"frames\":[[", "\"frames\":[{");
    assert!(load_err(corrupt.as_bytes()).contains("corrupt data"));
    // Flipping any single byte never panics.
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0x5a;
        let _ = Snapshot::from_bytes(&b);
    }
    let missing = Snapshot::load("/nonexistent/dir/snap.tm").unwrap_err();
    assert!(matches!(missing, Error::Io(_)));
}
