//! Python's tracemalloc as the oracle: the same raw traces go through this crate and
//! through CPython's `tracemalloc.Snapshot`; every `str()`/`repr()` must match.
//!
//! The expected output is committed in `tests/fixtures/python_oracle.txt` (made by
//! `python3 tests/python_oracle.py <input>`; the input is what `oracle_input()` writes) and,
//! when `python3` is on the PATH, recomputed live too.

use serde_json::{json, Value};
use tracemalloc::{
    format_bytes, DomainFilter, Error, Filter, Frame, KeyType, Snapshot, Trace, TraceFilter, Traceback,
};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const FILES: [&str; 5] = ["src/a.rs", "src/b.rs", "lib/c.rs", "ab.rs", "it's.rs"];

/// Raw traces: (domain, size, frames most recent first, total_nframe).
type Raw = Vec<(u32, u64, Vec<(String, u32)>, Option<u32>)>;

fn raw_snapshot(seed: u64, n: usize) -> Raw {
    let mut r = Lcg(seed);
    (0..n)
        .map(|_| {
            let depth = 1 + r.next(3) as usize;
            let frames =
                (0..depth).map(|_| (FILES[r.next(5) as usize].to_string(), 1 + r.next(4) as u32)).collect();
            let size = match r.next(4) {
                0 => r.next(200),
                1 => r.next(20_000),
                2 => r.next(3_000_000),
                _ => 64,
            };
            let total = if r.next(3) == 0 { None } else { Some(depth as u32 + r.next(3) as u32) };
            (r.next(3) as u32, size, frames, total)
        })
        .collect()
}

fn to_snapshot(raw: &Raw, limit: u32) -> Snapshot {
    let traces = raw
        .iter()
        .map(|(domain, size, frames, total)| Trace {
            domain: *domain,
            size: *size,
            weight: *size,
            traceback: Traceback::from_most_recent_first(
                frames.iter().map(|(f, l)| Frame::new(f.as_str(), *l)).collect(),
                *total,
            ),
        })
        .collect();
    Snapshot::new(traces, limit)
}

fn sizes() -> Vec<i64> {
    let mut v = vec![
        0,
        1,
        99,
        100,
        101,
        1023,
        1024,
        1025,
        10239,
        10240,
        10241,
        102_399,
        102_400,
        102_451,
        104_857,
        1_048_576,
        10_485_759,
        10_485_760,
        107_374_182,
        1 << 40,
        1 << 50,
        12_345_678_901,
        1_000_000_000_000_000,
        51_2000,
        153_600,
        153_599,
    ];
    let mut r = Lcg(7);
    for _ in 0..200 {
        let bits = 1 + r.next(44);
        v.push(r.next(1 << bits) as i64);
    }
    let neg: Vec<i64> = v.iter().map(|x| -x).collect();
    v.extend(neg);
    v
}

struct Spec {
    filters: Vec<Vec<Value>>,
}

fn filter_specs() -> Spec {
    let f = |inclusive: bool, pattern: &str, lineno: Option<u32>, all: bool, domain: Option<u32>| {
        json!({"kind": "filter", "inclusive": inclusive, "pattern": pattern, "lineno": lineno,
               "all_frames": all, "domain": domain})
    };
    let d =
        |inclusive: bool, domain: u32| json!({"kind": "domain", "inclusive": inclusive, "domain": domain});
    Spec {
        filters: vec![
            vec![],
            vec![f(true, "src/*", None, false, None)],
            vec![f(false, "*b.rs", Some(3), false, None)],
            vec![f(true, "src/?.rs", None, true, Some(1))],
            vec![f(false, "lib/*", None, true, Some(2)), d(false, 0)],
            vec![f(true, "[al]*", Some(2), false, None), f(true, "it*", None, false, None)],
            vec![d(true, 1), f(false, "*[!s]", None, true, None)],
            vec![f(true, "it's.rs", None, false, Some(0))],
        ],
    }
}

fn build_filters(spec: &[Value]) -> Vec<Box<dyn TraceFilter>> {
    spec.iter()
        .map(|f| -> Box<dyn TraceFilter> {
            let inclusive = f["inclusive"].as_bool().unwrap();
            if f["kind"] == "domain" {
                Box::new(DomainFilter::new(inclusive, f["domain"].as_u64().unwrap() as u32))
            } else {
                let mut filter = Filter::new(inclusive, f["pattern"].as_str().unwrap())
                    .all_frames(f["all_frames"].as_bool().unwrap());
                if let Some(l) = f["lineno"].as_u64() {
                    filter = filter.lineno(l as u32);
                }
                if let Some(d) = f["domain"].as_u64() {
                    filter = filter.domain(d as u32);
                }
                Box::new(filter)
            }
        })
        .collect()
}

fn oracle_input() -> (Value, Vec<Raw>) {
    let old = raw_snapshot(1, 60);
    // The new snapshot keeps part of the old one and adds its own traces, so some keys
    // exist only in the old one.
    let mut new: Raw = old.iter().step_by(2).cloned().collect();
    new.extend(raw_snapshot(2, 50));
    new.push((1, 4096, vec![("only/new.rs".into(), 9)], Some(1)));
    let mut old = old;
    old.push((1, 333, vec![("only/old.rs".into(), 4)], None));
    let snap = |raw: &Raw| json!({"limit": 3, "traces": raw.iter().map(|(d, s, f, n)| json!([d, s, f, n])).collect::<Vec<_>>()});
    let input = json!({
        "sizes": sizes(),
        "snapshots": [snap(&old), snap(&new)],
        "filters": filter_specs().filters,
    });
    (input, vec![old, new])
}

fn ours() -> String {
    let (_, raws) = oracle_input();
    let snaps: Vec<Snapshot> = raws.iter().map(|r| to_snapshot(r, 3)).collect();
    let mut out: Vec<String> = vec!["## sizes".into()];
    for s in sizes() {
        out.push(format!("{} | {}", format_bytes(s as i128, false), format_bytes(s as i128, true)));
    }
    for (i, snap) in snaps.iter().enumerate() {
        out.push(format!("## snapshot {i} traces"));
        for t in snap.traces() {
            out.push(t.to_string());
            out.push(format!("{t:?}"));
        }
        for key in ["lineno", "filename", "traceback"] {
            for cumulative in [false, true] {
                let py = if cumulative { "True" } else { "False" };
                out.push(format!("## snapshot {i} statistics {key} {py}"));
                match snap.statistics(key, cumulative) {
                    Ok(stats) => stats.iter().for_each(|st| {
                        out.push(st.to_string());
                        out.push(format!("{st:?}"));
                    }),
                    Err(e) => out.push(format!("error: {e}")),
                }
            }
        }
    }
    for key in ["lineno", "filename", "traceback", "foo"] {
        for cumulative in [false, true] {
            let py = if cumulative { "True" } else { "False" };
            out.push(format!("## compare {key} {py}"));
            match snaps[1].compare_to(&snaps[0], key, cumulative) {
                Ok(stats) => stats.iter().for_each(|st| {
                    out.push(st.to_string());
                    out.push(format!("{st:?}"));
                }),
                Err(e) => out.push(format!("error: {e}")),
            }
        }
    }
    for (j, spec) in filter_specs().filters.iter().enumerate() {
        out.push(format!("## filter {j}"));
        let filters = build_filters(spec);
        let filtered = snaps[1].filter_traces(filters.iter().map(|b| &**b));
        for st in filtered.statistics(KeyType::Traceback, false).unwrap() {
            out.push(st.to_string());
        }
    }
    out.push(format!("## start(0): {}", tracemalloc::start(0).unwrap_err()));
    out.push(format!("## take_snapshot: {}", Error::NotTracing));
    out.join("\n") + "\n"
}

fn fixture_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_oracle.txt")
}

fn compare(expected: &str, got: &str, what: &str) {
    for (n, (e, g)) in expected.lines().zip(got.lines()).enumerate() {
        assert_eq!(g, e, "{what}: line {} differs", n + 1);
    }
    assert_eq!(got.lines().count(), expected.lines().count(), "{what}: line counts differ");
}

#[test]
fn matches_committed_python_output() {
    let expected = std::fs::read_to_string(fixture_path()).expect("fixture present");
    compare(&expected, &ours(), "committed fixture");
}

#[test]
fn matches_live_python() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.json");
    std::fs::write(&input, oracle_input().0.to_string()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python_oracle.py");
    let output = match std::process::Command::new("python3").arg(&script).arg(&input).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIPPED matches_live_python: python3 cannot run ({e}); the committed fixture is still checked");
            return;
        }
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected = String::from_utf8(output.stdout).unwrap();
    if std::env::var_os("PYGC_REGENERATE_FIXTURES").is_some() {
        std::fs::write(fixture_path(), &expected).unwrap();
    }
    compare(&expected, &ours(), "live python3");
}
