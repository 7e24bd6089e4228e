//! `Snapshot`, `Trace`, `Statistic`, `StatisticDiff`: Python's grouping, sorting and diffing.

use std::collections::HashMap;
use std::fmt;

use crate::error::Error;
use crate::filter::TraceFilter;
use crate::frame::{Frame, Traceback};
use crate::size::format_bytes;

/// One traced memory block (Python's `tracemalloc.Trace`).
///
/// `Display`: `file:line: 1033 B` (the traceback's oldest frame); `Debug`:
/// `<Trace domain=0 size=1033 B, traceback=<Traceback (...)>>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Trace {
    /// Address space: [`crate::OBJECT_DOMAIN`], [`crate::RUST_DOMAIN`] or a `track` domain.
    pub domain: u32,
    /// The block's size in bytes.
    pub size: u64,
    /// Bytes this trace stands for in statistics: `size` when tracing every block; in
    /// sampling mode the unbiased estimate `size / P(sampled)`, so sums estimate totals.
    pub weight: u64,
    /// Where the block was allocated, oldest frame first.
    pub traceback: Traceback,
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.traceback, format_bytes(self.size as i128, false))
    }
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Trace domain={} size={}, traceback={:?}>",
            self.domain,
            format_bytes(self.size as i128, false),
            self.traceback
        )
    }
}

/// How `statistics` groups traces (Python's `key_type` strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `'lineno'`: by the most recent frame.
    Lineno,
    /// `'filename'`: by the most recent frame's file (line shown as 0).
    Filename,
    /// `'traceback'`: by the whole traceback.
    Traceback,
}

impl std::str::FromStr for KeyType {
    type Err = Error;
    fn from_str(s: &str) -> Result<KeyType, Error> {
        match s {
            "lineno" => Ok(KeyType::Lineno),
            "filename" => Ok(KeyType::Filename),
            "traceback" => Ok(KeyType::Traceback),
            other => Err(Error::UnknownKeyType(other.to_string())),
        }
    }
}

/// Accepts a [`KeyType`] or Python's key string (`"lineno"`, ...), so that an unknown
/// string gives CPython's `unknown key_type: 'foo'` error.
pub trait IntoKeyType {
    /// Converts, or fails with [`Error::UnknownKeyType`].
    fn into_key_type(self) -> Result<KeyType, Error>;
}
impl IntoKeyType for KeyType {
    fn into_key_type(self) -> Result<KeyType, Error> {
        Ok(self)
    }
}
impl IntoKeyType for &str {
    fn into_key_type(self) -> Result<KeyType, Error> {
        self.parse()
    }
}

/// Size and count of the traces sharing a key (Python's `tracemalloc.Statistic`).
///
/// `Display`: `file:3: size=676 KiB, count=10002, average=69 B`.
#[derive(Clone, PartialEq, Eq)]
pub struct Statistic {
    /// The key: one frame for lineno/filename, the whole traceback for traceback.
    pub traceback: Traceback,
    /// Total bytes (sum of trace weights).
    pub size: u64,
    /// Number of traces.
    pub count: u64,
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: size={}, count={}",
            self.traceback,
            format_bytes(self.size as i128, false),
            self.count
        )?;
        if self.count > 0 {
            let average = self.size as f64 / self.count as f64;
            write!(f, ", average={}", crate::size::format_size(average, false))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Statistic traceback={:?} size={} count={}>", self.traceback, self.size, self.count)
    }
}

/// A key's size and count in a new snapshot and their change since an old one (Python's
/// `tracemalloc.StatisticDiff`). `Display`:
/// `file:3: size=676 KiB (+676 KiB), count=10002 (+10001), average=69 B`.
#[derive(Clone, PartialEq, Eq)]
pub struct StatisticDiff {
    /// The key.
    pub traceback: Traceback,
    /// Bytes in the new snapshot (0 if the key vanished).
    pub size: u64,
    /// New minus old bytes.
    pub size_diff: i64,
    /// Traces in the new snapshot.
    pub count: u64,
    /// New minus old count.
    pub count_diff: i64,
}

impl fmt::Display for StatisticDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: size={} ({}), count={} ({:+})",
            self.traceback,
            format_bytes(self.size as i128, false),
            format_bytes(self.size_diff as i128, true),
            self.count,
            self.count_diff
        )?;
        if self.count > 0 {
            let average = self.size as f64 / self.count as f64;
            write!(f, ", average={}", crate::size::format_size(average, false))?;
        }
        Ok(())
    }
}

impl fmt::Debug for StatisticDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<StatisticDiff traceback={:?} size={} ({:+}) count={} ({:+})>",
            self.traceback, self.size, self.size_diff, self.count, self.count_diff
        )
    }
}

/// The traces alive at one moment (Python's `tracemalloc.Snapshot`).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub(crate) traces: Vec<Trace>,
    pub(crate) traceback_limit: u32,
}

impl Snapshot {
    /// A snapshot of the given traces, taken with the given traceback limit.
    pub fn new(traces: Vec<Trace>, traceback_limit: u32) -> Snapshot {
        Snapshot { traces, traceback_limit }
    }

    /// The traces, in no particular order.
    pub fn traces(&self) -> &[Trace] {
        &self.traces
    }

    /// The traceback limit in force when the snapshot was taken.
    pub fn traceback_limit(&self) -> u32 {
        self.traceback_limit
    }

    /// Sum of the trace weights (bytes; estimated in sampling mode).
    pub fn total_size(&self) -> u64 {
        self.traces.iter().map(|t| t.weight).sum()
    }

    fn group_by(&self, key: KeyType, cumulative: bool) -> Result<HashMap<Traceback, (u64, u64)>, Error> {
        if cumulative && key == KeyType::Traceback {
            return Err(Error::CumulativeTraceback);
        }
        let mut stats: HashMap<Traceback, (u64, u64)> = HashMap::new();
        let key_of = |frame: &Frame| match key {
            KeyType::Filename => Traceback::new(vec![Frame::new(frame.filename.clone(), 0)], None),
            _ => Traceback::new(vec![frame.clone()], None),
        };
        let mut add = |tb: Traceback, size: u64| {
            let e = stats.entry(tb).or_insert((0, 0));
            e.0 += size;
            e.1 += 1;
        };
        for trace in &self.traces {
            if cumulative {
                // Once per frame occurrence: a recursive traceback counts several times.
                for frame in trace.traceback.frames() {
                    add(key_of(frame), trace.weight);
                }
            } else {
                let tb = match key {
                    KeyType::Traceback => Traceback::new(trace.traceback.frames().to_vec(), None),
                    _ => key_of(trace.traceback.most_recent()),
                };
                add(tb, trace.weight);
            }
        }
        Ok(stats)
    }

    /// Python's `Snapshot.statistics(key_type, cumulative=False)`: traces grouped by key,
    /// biggest first (by size, then count, then traceback, all descending).
    ///
    /// Errors: an unknown key string, or `cumulative` with the traceback key.
    pub fn statistics(&self, key_type: impl IntoKeyType, cumulative: bool) -> Result<Vec<Statistic>, Error> {
        let key = key_type.into_key_type()?;
        let mut out: Vec<Statistic> = self
            .group_by(key, cumulative)?
            .into_iter()
            .map(|(traceback, (size, count))| Statistic { traceback, size, count })
            .collect();
        out.sort_by(|a, b| (b.size, b.count, &b.traceback).cmp(&(a.size, a.count, &a.traceback)));
        Ok(out)
    }

    /// Python's `Snapshot.compare_to(old, key_type, cumulative=False)`. A key only in
    /// `old` appears with size 0, count 0 and negative diffs. Sorted descending by
    /// (|size_diff|, size, |count_diff|, count, traceback).
    pub fn compare_to(
        &self,
        old: &Snapshot,
        key_type: impl IntoKeyType,
        cumulative: bool,
    ) -> Result<Vec<StatisticDiff>, Error> {
        let key = key_type.into_key_type()?;
        let new_group = self.group_by(key, cumulative)?;
        let mut old_group = old.group_by(key, cumulative)?;
        let mut out = Vec::with_capacity(new_group.len() + old_group.len());
        for (traceback, (size, count)) in new_group {
            let (old_size, old_count) = old_group.remove(&traceback).unwrap_or((0, 0));
            out.push(StatisticDiff {
                traceback,
                size,
                size_diff: size as i64 - old_size as i64,
                count,
                count_diff: count as i64 - old_count as i64,
            });
        }
        for (traceback, (size, count)) in old_group {
            out.push(StatisticDiff {
                traceback,
                size: 0,
                size_diff: -(size as i64),
                count: 0,
                count_diff: -(count as i64),
            });
        }
        let key =
            |s: &StatisticDiff| (s.size_diff.unsigned_abs(), s.size, s.count_diff.unsigned_abs(), s.count);
        out.sort_by(|a, b| (key(b), &b.traceback).cmp(&(key(a), &a.traceback)));
        Ok(out)
    }

    /// Python's `Snapshot.filter_traces(filters)`: a new snapshot of the traces matching at
    /// least one inclusive filter (when there are any) and every exclusive filter.
    /// An empty list copies the snapshot.
    pub fn filter_traces<'a, F>(&self, filters: impl IntoIterator<Item = &'a F>) -> Snapshot
    where
        F: TraceFilter + 'a + ?Sized,
    {
        let filters: Vec<&F> = filters.into_iter().collect();
        let (include, exclude): (Vec<&F>, Vec<&F>) = filters.iter().partition(|f| f.inclusive());
        let traces = self
            .traces
            .iter()
            .filter(|t| {
                (include.is_empty() || include.iter().any(|f| f.matches(t)))
                    && exclude.iter().all(|f| f.matches(t))
            })
            .cloned()
            .collect();
        Snapshot::new(traces, self.traceback_limit)
    }
}
