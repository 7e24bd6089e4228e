//! Tracing every Rust allocation of this test binary (`Tracing<System>` as the global
//! allocator). The tracer is process-wide, so these tests take turns (`SERIAL`).

// Separate heap blocks are the point of these tests.
#![allow(clippy::vec_box)]

use std::alloc::System;
use std::panic::Location;
use std::sync::Mutex;

use tracemalloc::{DomainFilter, Filter, KeyType, Snapshot, Tracing, OBJECT_DOMAIN, RUST_DOMAIN};

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tracemalloc::stop();
    guard
}

/// How tracebacks name this file, from DWARF and from `#[track_caller]` alike: as rustc
/// does, whatever the working directory.
const THIS_FILE: &str = file!();

/// Only this file's traces: the test harness allocates concurrently.
fn mine(snapshot: &Snapshot) -> Snapshot {
    snapshot.filter_traces(&[Filter::new(true, THIS_FILE)])
}

fn stat_at(snapshot: &Snapshot, line: u32) -> Option<(u64, u64)> {
    snapshot
        .statistics(KeyType::Lineno, false)
        .unwrap()
        .into_iter()
        .find(|s| {
            s.traceback.most_recent().lineno == line && &*s.traceback.most_recent().filename == THIS_FILE
        })
        .map(|s| (s.size, s.count))
}

#[test]
fn api_errors_and_limits() {
    let _s = serial();
    for bad in [0, -1, 65536, i64::MAX] {
        assert_eq!(
            tracemalloc::start(bad).unwrap_err().to_string(),
            "the number of frames must be in range [1; 65535]"
        );
    }
    assert!(!tracemalloc::is_tracing());
    assert_eq!(
        tracemalloc::take_snapshot().unwrap_err().to_string(),
        "the tracemalloc module must be tracing memory allocations to take a snapshot"
    );
    assert!(tracemalloc::track(5, 0x1000, 10).is_err());
    assert_eq!(tracemalloc::get_traced_memory(), (0, 0));
    tracemalloc::start(3).unwrap();
    tracemalloc::start(7).unwrap(); // already tracing: keeps 3, as CPython does
    assert_eq!(tracemalloc::get_traceback_limit(), 3);
    assert!(tracemalloc::start(65536).is_err()); // the range is checked even when tracing
    let snapshot = tracemalloc::take_snapshot().unwrap();
    assert_eq!(snapshot.traceback_limit(), 3);
    assert_eq!(snapshot.statistics("foo", false).unwrap_err().to_string(), "unknown key_type: 'foo'");
    assert_eq!(
        snapshot.statistics("traceback", true).unwrap_err().to_string(),
        "cumulative mode cannot by used with key type 'traceback'"
    );
    assert!(tracemalloc::get_tracemalloc_memory() > 0);
    tracemalloc::stop();
    assert_eq!(tracemalloc::get_traceback_limit(), 3, "the limit survives stop()");
    assert_eq!(tracemalloc::get_traced_memory(), (0, 0));
    assert!(tracemalloc::start_sampling(1, 0, 0).is_err());
}

#[inline(never)]
fn known_loop(out: &mut Vec<Box<[u8]>>) -> u32 {
    let line = line!() + 2;
    for i in 0..100 {
        out.push(vec![7u8; 1000 + i].into_boxed_slice());
    }
    line
}

#[test]
fn exact_sizes_and_counts_for_a_known_loop() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    let mut kept = Vec::with_capacity(100);
    let line = known_loop(&mut kept);
    let snapshot = mine(&tracemalloc::take_snapshot().unwrap());
    let expected: u64 = (0..100).map(|i| 1000 + i).sum();
    assert_eq!(stat_at(&snapshot, line), Some((expected, 100)));
    let top = &snapshot.statistics(KeyType::Lineno, false).unwrap()[0];
    // The average 1049.5 rounds half to even, as Python's %.0f does.
    assert_eq!(top.to_string(), format!("{THIS_FILE}:{line}: size=102 KiB, count=100, average=1050 B"));
    let by_file = snapshot.statistics(KeyType::Filename, false).unwrap();
    assert_eq!(by_file[0].traceback.most_recent().lineno, 0);
    assert!(by_file[0].size >= expected);
    let (current, peak) = tracemalloc::get_traced_memory();
    assert!(current >= expected && peak >= current);
    drop(kept);
    let after = mine(&tracemalloc::take_snapshot().unwrap());
    assert_eq!(stat_at(&after, line), None);
    let (current2, _) = tracemalloc::get_traced_memory();
    assert!(current2 + expected <= current + 4096, "freeing untracks: {current} -> {current2}");
    tracemalloc::stop();
}

#[test]
fn diff_includes_keys_only_in_the_old_snapshot() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    let first_line = line!() + 1;
    let first: Vec<Box<[u8; 300]>> = (0..10).map(|_| Box::new([1; 300])).collect();
    let old = mine(&tracemalloc::take_snapshot().unwrap());
    drop(first);
    let second_line = line!() + 1;
    let second: Vec<Box<[u8; 500]>> = (0..4).map(|_| Box::new([2; 500])).collect();
    let new = mine(&tracemalloc::take_snapshot().unwrap());
    let diff = new.compare_to(&old, KeyType::Lineno, false).unwrap();
    let gone = diff.iter().find(|d| d.traceback.most_recent().lineno == first_line).unwrap();
    // Ten boxes plus the Vec holding them, allocated on the same line.
    assert_eq!((gone.size, gone.size_diff, gone.count, gone.count_diff), (0, -3080, 0, -11));
    assert_eq!(gone.to_string(), format!("{THIS_FILE}:{first_line}: size=0 B (-3080 B), count=0 (-11)"));
    let came = diff.iter().find(|d| d.traceback.most_recent().lineno == second_line).unwrap();
    assert_eq!((came.size, came.size_diff, came.count, came.count_diff), (2032, 2032, 5, 5));
    assert!(came.to_string().ends_with("size=2032 B (+2032 B), count=5 (+5), average=406 B"));
    drop(second);
    tracemalloc::stop();
}

#[test]
fn peak_reset_and_clear() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    let big = vec![0u8; 200_000];
    let (current, peak) = tracemalloc::get_traced_memory();
    assert!(current >= 200_000 && peak >= current);
    drop(big);
    let (current2, peak2) = tracemalloc::get_traced_memory();
    assert!(current2 + 200_000 <= current + 65_536 && peak2 >= 200_000);
    tracemalloc::reset_peak();
    let (current3, peak3) = tracemalloc::get_traced_memory();
    assert!(peak3 < 200_000 && peak3 >= current3);
    let kept = vec![0u8; 50_000];
    tracemalloc::clear_traces();
    let snapshot = tracemalloc::take_snapshot().unwrap();
    assert!(snapshot.traces().iter().all(|t| t.size != 50_000));
    let (current4, peak4) = tracemalloc::get_traced_memory();
    assert!(current4 < 50_000 && peak4 < 50_000, "clear_traces zeroes current and peak");
    drop(kept); // untracked now: must not underflow the counters
    assert!(tracemalloc::get_traced_memory().0 < 1 << 40);
    tracemalloc::stop();
}

/// The boxes and the Vec holding them, allocated on the line `line!()` names.
fn boxes() -> (u32, Vec<Box<[u8; 64]>>) {
    (line!(), (0..200).map(|_| Box::new([3; 64])).collect())
}

#[test]
fn multi_threaded_tracing() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    let handles: Vec<_> = (0..4).map(|_| std::thread::spawn(boxes)).collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let line = results[0].0;
    let blocks: Vec<Vec<Box<[u8; 64]>>> = results.into_iter().map(|r| r.1).collect();
    let snapshot = mine(&tracemalloc::take_snapshot().unwrap());
    // 800 boxes and each thread's Vec of 200 pointers.
    assert_eq!(stat_at(&snapshot, line), Some((800 * 64 + 4 * 1600, 804)));
    drop(blocks);
    let after = mine(&tracemalloc::take_snapshot().unwrap());
    assert_eq!(stat_at(&after, line), None);
    tracemalloc::stop();
}

#[test]
fn tracebacks_of_blocks_and_deeper_frames() {
    let _s = serial();
    tracemalloc::start(4).unwrap();
    let line = line!() + 1;
    let b = Box::new([9u8; 48]);
    let tb = tracemalloc::get_traceback(RUST_DOMAIN, &*b as *const _ as usize).unwrap();
    assert_eq!(tb.most_recent().to_string(), format!("{THIS_FILE}:{line}"));
    assert!(tb.len() >= 2, "the test function's caller too: {tb:?}");
    assert_eq!(tb.format(Some(1), false)[1], "    let b = Box::new([9u8; 48]);");
    let mut report = String::new();
    assert!(tracemalloc::block_traceback(&*b as *const _ as usize, &mut report));
    assert!(report.starts_with(&format!(
        "Memory block allocated at (most recent call first):\n  File \"{THIS_FILE}\", line {line}\n"
    )));
    // One line per frame; obmalloc's report adds the blank line after.
    assert_eq!(report.lines().count(), 1 + tb.len(), "{report}");
    assert!(!report.ends_with("\n\n"));
    assert!(!tracemalloc::block_traceback(0x10, &mut String::new()));
    drop(b);
    tracemalloc::stop();
}

#[track_caller]
fn fake_gc_new(size: usize) -> Box<[u8]> {
    let b = vec![0u8; size].into_boxed_slice();
    if tracemalloc::is_tracing() {
        tracemalloc::track_object(b.as_ptr() as usize, size, Location::caller());
    }
    b
}

#[inline(never)]
fn make_objects() -> (Vec<Box<[u8]>>, u32) {
    let mut objects = Vec::new();
    let line = line!() + 2;
    for _ in 0..5 {
        objects.push(fake_gc_new(40));
    }
    (objects, line)
}

#[test]
fn object_domain_uses_the_track_caller_site() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    let (objects, line) = make_objects();
    let snap = tracemalloc::take_snapshot().unwrap();
    let objs = snap.filter_traces(&[DomainFilter::new(true, OBJECT_DOMAIN)]);
    let stats = objs.statistics(KeyType::Lineno, false).unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].to_string(), format!("{THIS_FILE}:{line}: size=200 B, count=5, average=40 B"));
    let tb = tracemalloc::get_traceback(OBJECT_DOMAIN, objects[0].as_ptr() as usize).unwrap();
    assert_eq!(format!("{tb:?}"), format!("<Traceback (<Frame filename='{THIS_FILE}' lineno={line}>,)>"));
    for o in &objects {
        tracemalloc::untrack(OBJECT_DOMAIN, o.as_ptr() as usize);
    }
    let snap = tracemalloc::take_snapshot().unwrap();
    assert!(snap.traces().iter().all(|t| t.domain != OBJECT_DOMAIN));
    tracemalloc::stop();

    // Deeper frames: the site, then the native callers above the site's function.
    tracemalloc::start(3).unwrap();
    let (objects, line) = make_objects();
    let tb = tracemalloc::get_traceback(OBJECT_DOMAIN, objects[0].as_ptr() as usize).unwrap();
    let frames: Vec<String> = tb.frames().iter().rev().map(|f| f.to_string()).collect();
    assert_eq!(frames[0], format!("{THIS_FILE}:{line}"));
    assert!(frames.len() >= 2 && frames[1].starts_with(THIS_FILE), "{frames:?}");
    assert_ne!(frames[1], frames[0], "the site's own native frame is not repeated");
    tracemalloc::stop();
}

#[test]
fn track_and_untrack_other_domains() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    tracemalloc::track(42, 0xdead_0000, 777).unwrap();
    tracemalloc::track(42, 0xdead_0000, 888).unwrap(); // re-tracking replaces
    let snap = tracemalloc::take_snapshot().unwrap().filter_traces(&[DomainFilter::new(true, 42)]);
    assert_eq!(snap.traces().len(), 1);
    assert_eq!(snap.traces()[0].size, 888);
    assert!(
        format!("{:?}", snap.traces()[0]).starts_with("<Trace domain=42 size=888 B, traceback=<Traceback (")
    );
    tracemalloc::untrack(42, 0xdead_0000);
    let snap = tracemalloc::take_snapshot().unwrap().filter_traces(&[DomainFilter::new(true, 42)]);
    assert!(snap.traces().is_empty());
    tracemalloc::stop();
}

#[test]
fn realloc_moves_the_trace() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    let mut v: Vec<u8> = Vec::with_capacity(10);
    let line = line!() + 1;
    v.reserve_exact(5000);
    let snap = mine(&tracemalloc::take_snapshot().unwrap());
    assert_eq!(stat_at(&snap, line), Some((v.capacity() as u64, 1)));
    drop(v);
    tracemalloc::stop();
}

#[test]
fn exports() {
    let _s = serial();
    tracemalloc::start(3).unwrap();
    let kept: Vec<Box<[u8; 256]>> = (0..8).map(|_| Box::new([0; 256])).collect();
    let snap = mine(&tracemalloc::take_snapshot().unwrap());
    let folded = snap.folded_stacks();
    assert!(folded.iter().any(|l| l.contains(THIS_FILE) && l.ends_with(" 2048")), "{folded:?}");
    let mut svg = Vec::new();
    snap.write_flamegraph("live bytes", &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("global.rs"));
    let dhat: serde_json::Value = serde_json::from_str(&snap.to_dhat_json()).unwrap();
    assert_eq!(dhat["dhatFileVersion"], 2);
    assert_eq!(dhat["mode"], "rust-heap");
    assert_eq!(dhat["ftbl"][0], "[root]");
    // The fields valgrind's dh_view.js (buildTree, checkPP) requires when `bklt` is true.
    for field in [
        "dhatFileVersion",
        "mode",
        "verb",
        "bklt",
        "bkacc",
        "tu",
        "Mtu",
        "cmd",
        "pid",
        "te",
        "pps",
        "ftbl",
        "tg",
        "tuth",
    ] {
        assert!(dhat.get(field).is_some(), "missing {field}");
    }
    assert_eq!(dhat["bklt"], true);
    for pp in dhat["pps"].as_array().unwrap() {
        for field in ["tb", "tbk", "fs", "mb", "mbk", "gb", "gbk", "eb", "ebk"] {
            assert!(pp.get(field).is_some(), "missing pp.{field}");
        }
    }
    let pps = dhat["pps"].as_array().unwrap();
    let total: u64 = pps.iter().map(|p| p["tb"].as_u64().unwrap()).sum();
    assert_eq!(total, snap.total_size());
    let ftbl = dhat["ftbl"].as_array().unwrap();
    for pp in pps {
        for f in pp["fs"].as_array().unwrap() {
            assert!((f.as_u64().unwrap() as usize) < ftbl.len());
        }
    }
    drop(kept);
    tracemalloc::stop();
}

#[test]
fn dump_and_load_a_real_snapshot() {
    let _s = serial();
    tracemalloc::start(5).unwrap();
    let kept: Vec<String> = (0..50).map(|i| i.to_string().repeat(20)).collect();
    let snap = tracemalloc::take_snapshot().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.tm");
    snap.dump(&path).unwrap();
    let back = Snapshot::load(&path).unwrap();
    assert_eq!(back.traceback_limit(), 5);
    let a: Vec<String> =
        snap.statistics(KeyType::Traceback, false).unwrap().iter().map(|s| format!("{s:?}")).collect();
    let b: Vec<String> =
        back.statistics(KeyType::Traceback, false).unwrap().iter().map(|s| format!("{s:?}")).collect();
    assert_eq!(a, b);
    drop(kept);
    tracemalloc::stop();
}

#[test]
fn frame_pointer_unwinder_never_crashes_and_auto_picks_a_working_one() {
    let _s = serial();
    tracemalloc::set_unwinder(tracemalloc::Unwinder::FramePointers);
    tracemalloc::start(8).unwrap();
    let kept: Vec<Box<[u8; 24]>> = (0..16).map(|_| Box::new([1; 24])).collect();
    let tb = tracemalloc::get_traceback(RUST_DOMAIN, &*kept[0] as *const _ as usize).unwrap();
    tracemalloc::stop();
    // Without -C force-frame-pointers the chain may break early (an `<unknown>` frame),
    // but it must never read outside the stack.
    eprintln!("frame pointers gave {tb:?}");
    drop(kept);

    // Auto is settled by start; whatever it picks must give the right line. (The closure
    // differs from the one above: optimized builds merge identical functions, and the
    // merged code has one line.)
    tracemalloc::set_unwinder(tracemalloc::Unwinder::Auto);
    tracemalloc::start(8).unwrap();
    let line = line!() + 1;
    let kept: Vec<Box<[u8; 24]>> = (0..16).map(|_| Box::new([2; 24])).collect();
    let tb = tracemalloc::get_traceback(RUST_DOMAIN, &*kept[0] as *const _ as usize).unwrap();
    let picked = tracemalloc::unwinder();
    tracemalloc::stop();
    eprintln!("auto picked {picked:?}: {tb:?}");
    assert_ne!(picked, tracemalloc::Unwinder::Auto, "settled by start");
    assert_eq!(tb.most_recent().to_string(), format!("{THIS_FILE}:{line}"), "{picked:?}");
    drop(kept);
}

#[inline(never)]
fn native_boxes() -> (Vec<Box<[u8; 72]>>, u32) {
    let line = line!() + 1;
    let boxes = (0..3).map(|_| Box::new([5u8; 72])).collect();
    (boxes, line)
}

/// The child's half of `one_file_one_name_from_any_directory`: a frame from each source
/// (a `#[track_caller]` site, a DWARF line) for this file, in one statistic per file.
#[test]
fn one_file_one_name_from_both_sources() {
    let _s = serial();
    tracemalloc::start(1).unwrap();
    let (objects, object_line) = make_objects();
    let (boxes, native_line) = native_boxes();
    let snapshot = tracemalloc::take_snapshot().unwrap();
    let object_tb = tracemalloc::get_traceback(OBJECT_DOMAIN, objects[0].as_ptr() as usize).unwrap();
    let native_tb = tracemalloc::get_traceback(RUST_DOMAIN, &*boxes[0] as *const _ as usize).unwrap();
    assert_eq!(object_tb.most_recent().to_string(), format!("{THIS_FILE}:{object_line}"));
    assert_eq!(native_tb.most_recent().to_string(), format!("{THIS_FILE}:{native_line}"));
    // Grouped by file, the two sources make one statistic.
    let both = snapshot.filter_traces(&[
        Filter::new(true, THIS_FILE).lineno(object_line),
        Filter::new(true, THIS_FILE).lineno(native_line),
    ]);
    let by_file = both.statistics(KeyType::Filename, false).unwrap();
    assert_eq!(by_file.len(), 1, "{by_file:?}");
    // On the objects' line: 5 objects of 40 B and the buffer of the Vec they are pushed
    // into (grown to 8 fat pointers); on the boxes' line, 3 boxes of 72 B and their Vec.
    assert_eq!((by_file[0].size, by_file[0].count), (5 * 40 + 8 * 16 + 3 * 72 + 3 * 8, 5 + 1 + 3 + 1));
    // The source line is found wherever the program runs.
    assert_eq!(
        native_tb.format(None, false)[1],
        "    let boxes = (0..3).map(|_| Box::new([5u8; 72])).collect();"
    );
    for o in &objects {
        tracemalloc::untrack(OBJECT_DOMAIN, o.as_ptr() as usize);
    }
    drop((objects, boxes));
    tracemalloc::stop();
}

/// Names and results do not depend on the working directory: the test above, run again
/// from the root directory and from a temporary one.
#[test]
fn one_file_one_name_from_any_directory() {
    if std::env::var_os("TRACEMALLOC_CWD_CHILD").is_some() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for dir in [std::path::Path::new("/"), tmp.path()] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "one_file_one_name_from_both_sources", "--test-threads=1"])
            .env("TRACEMALLOC_CWD_CHILD", "1")
            .current_dir(dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && stdout.contains("1 passed"), "from {dir:?}:\n{stdout}");
    }
}

/// `Auto` is settled by `start` on the starting thread, before any capture, and the
/// decision holds for every later start: it cannot depend on which thread allocates first.
#[test]
fn auto_unwinder_is_settled_by_start() {
    let _s = serial();
    tracemalloc::set_unwinder(tracemalloc::Unwinder::Auto);
    tracemalloc::start(1).unwrap();
    let picked = tracemalloc::unwinder();
    tracemalloc::stop();
    assert_ne!(picked, tracemalloc::Unwinder::Auto, "settled by start itself");
    let again = std::thread::spawn(|| {
        tracemalloc::set_unwinder(tracemalloc::Unwinder::Auto);
        tracemalloc::start(1).unwrap();
        let picked = tracemalloc::unwinder();
        tracemalloc::stop();
        picked
    })
    .join()
    .unwrap();
    assert_eq!(again, picked);
    // Whatever Auto picked gives the tracebacks DWARF gives.
    let traceback_with = |unwinder| {
        tracemalloc::set_unwinder(unwinder);
        tracemalloc::start(6).unwrap();
        let (boxes, _) = native_boxes();
        let tb = tracemalloc::get_traceback(RUST_DOMAIN, &*boxes[0] as *const _ as usize).unwrap();
        tracemalloc::stop();
        tb
    };
    let (dwarf, auto) = (traceback_with(tracemalloc::Unwinder::Dwarf), traceback_with(picked));
    tracemalloc::set_unwinder(tracemalloc::Unwinder::Auto);
    assert_eq!(format!("{auto:?}"), format!("{dwarf:?}"), "{picked:?}");
}
