//! The recipes of Python's tracemalloc documentation, as functions.

use std::fmt::Write;

use crate::error::Error;
use crate::filter::Filter;
use crate::snapshot::{IntoKeyType, Snapshot};

/// The `display_top` recipe of Python's documentation: the `limit` biggest keys, each with
/// its source line, then the rest summed, then the total:
///
/// ```text
/// Top 10 lines
/// #1: src/main.rs:12: 675.7 KiB
///     let names: Vec<String> = (0..10_000).map(|i| i.to_string().repeat(3)).collect();
/// ...
/// 4 other: 0.3 KiB
/// Total allocated size: 1203.1 KiB
/// ```
///
/// Like the recipe, it leaves out `<unknown>` frames.
pub fn display_top(snapshot: &Snapshot, key_type: impl IntoKeyType, limit: usize) -> Result<String, Error> {
    let snapshot = snapshot.filter_traces(&[Filter::new(false, "<unknown>")]);
    let top_stats = snapshot.statistics(key_type, false)?;
    let mut out = String::new();
    let kib = |bytes: u64| bytes as f64 / 1024.0;
    // Writing to a String cannot fail.
    let _ = writeln!(out, "Top {limit} lines");
    for (index, stat) in top_stats.iter().take(limit).enumerate() {
        let frame = &stat.traceback.frames()[0];
        let _ =
            writeln!(out, "#{}: {}:{}: {:.1} KiB", index + 1, frame.filename, frame.lineno, kib(stat.size));
        if let Some(line) = frame.source_line() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let other = top_stats.get(limit..).unwrap_or(&[]);
    if !other.is_empty() {
        let size: u64 = other.iter().map(|s| s.size).sum();
        let _ = writeln!(out, "{} other: {:.1} KiB", other.len(), kib(size));
    }
    let total: u64 = top_stats.iter().map(|s| s.size).sum();
    let _ = writeln!(out, "Total allocated size: {:.1} KiB", kib(total));
    Ok(out)
}

/// The "compute differences" recipe: `[ Top N differences ]` then the `limit` biggest
/// `StatisticDiff`s, one per line.
pub fn display_top_differences(
    new: &Snapshot,
    old: &Snapshot,
    key_type: impl IntoKeyType,
    limit: usize,
) -> Result<String, Error> {
    let stats = new.compare_to(old, key_type, false)?;
    let mut out = format!("[ Top {limit} differences ]\n");
    for stat in stats.iter().take(limit) {
        let _ = writeln!(out, "{stat}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, Traceback};
    use crate::snapshot::Trace;

    fn snap(traces: &[(&str, u32, u64)]) -> Snapshot {
        Snapshot::new(
            traces
                .iter()
                .map(|&(f, l, size)| Trace {
                    domain: 1,
                    size,
                    weight: size,
                    traceback: Traceback::new(vec![Frame::new(f, l)], None),
                })
                .collect(),
            1,
        )
    }

    #[test]
    fn display_top_like_the_python_docs() {
        // Sizes as in the Python documentation's display_top example.
        let s = snap(&[
            ("app/tmdemo.py", 3, 691_942),
            ("app/tmdemo.py", 4, 539_350),
            ("lib/python3.11/tracemalloc.py", 560, 320),
            ("lib/python3.11/tracemalloc.py", 423, 320),
            ("app/tmdemo.py", 7, 32),
            ("<unknown>", 0, 999),
        ]);
        let text = display_top(&s, "lineno", 3).unwrap();
        assert_eq!(
            text,
            "Top 3 lines\n\
             #1: app/tmdemo.py:3: 675.7 KiB\n\
             #2: app/tmdemo.py:4: 526.7 KiB\n\
             #3: lib/python3.11/tracemalloc.py:560: 0.3 KiB\n\
             2 other: 0.3 KiB\n\
             Total allocated size: 1203.1 KiB\n"
        );
        assert!(display_top(&s, "nope", 3).is_err());
    }

    #[test]
    fn differences() {
        let old = snap(&[("a.rs", 1, 100)]);
        let new = snap(&[("b.rs", 2, 50)]);
        assert_eq!(
            display_top_differences(&new, &old, "lineno", 10).unwrap(),
            "[ Top 10 differences ]\n\
             a.rs:1: size=0 B (-100 B), count=0 (-1)\n\
             b.rs:2: size=50 B (+50 B), count=1 (+1), average=50 B\n"
        );
    }
}
