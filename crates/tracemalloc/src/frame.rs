//! `Frame` and `Traceback`, with Python's `str()` as `Display` and its `repr()` as `Debug`.

use std::fmt;
use std::sync::Arc;

/// One frame of a traceback: a source file and a line (Python's `tracemalloc.Frame`).
///
/// `Display` is Python's `str()` (`file:line`); `Debug` is its `repr()`
/// (`<Frame filename='file' lineno=7>`). Ordered by (filename, lineno), as in Python.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// Source file, named as rustc names it (`file!()`, panic messages): relative to the
    /// workspace root for the workspace's own crates, absolute for the others.
    pub filename: Arc<str>,
    /// Line number; 0 when unknown or when grouping by file.
    pub lineno: u32,
}

impl Frame {
    /// A frame for `filename:lineno`.
    pub fn new(filename: impl Into<Arc<str>>, lineno: u32) -> Frame {
        Frame { filename: filename.into(), lineno }
    }

    /// The frame CPython stores when no frame is known: `<unknown>:0`.
    pub fn unknown() -> Frame {
        Frame::new("<unknown>", 0)
    }

    /// The source line this frame points at, stripped (Python's
    /// `linecache.getline(filename, lineno).strip()`), or `None` if the file cannot be read.
    pub fn source_line(&self) -> Option<String> {
        getline(&self.filename, self.lineno)
    }
}

/// Reads line `lineno` (1-based) of `filename`, stripped of surrounding white space.
/// Returns `None` when the file or the line does not exist, or the line is blank.
///
/// A relative name is looked up where rustc found it (below the workspace root the
/// program was compiled in), then below the working directory, so source lines are shown
/// whatever the working directory.
pub fn getline(filename: &str, lineno: u32) -> Option<String> {
    if lineno == 0 {
        return None;
    }
    let text = crate::paths::read_source(filename)?;
    let line = text.lines().nth(lineno as usize - 1)?.trim();
    (!line.is_empty()).then(|| line.to_string())
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.filename, self.lineno)
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Frame filename={} lineno={}>", py_repr_str(&self.filename), self.lineno)
    }
}

/// Python's `repr()` of a `str`: single quotes unless the text holds `'` and no `"`.
pub(crate) fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A sequence of frames, **oldest first** (Python's `tracemalloc.Traceback`, 3.7+).
///
/// `Display` is the oldest frame, as Python's `str(traceback)`; `Debug` is its `repr()`,
/// with ` total_nframe=N` when the original depth is known. Equality, hashing and order
/// look at the frames only, as Python's do.
#[derive(Clone)]
pub struct Traceback {
    frames: Arc<[Frame]>,
    total_nframe: Option<u32>,
}

impl Traceback {
    /// A traceback from frames given **oldest first**.
    pub fn new(frames: impl Into<Arc<[Frame]>>, total_nframe: Option<u32>) -> Traceback {
        let frames = frames.into();
        Traceback { frames, total_nframe }
    }

    /// A traceback from frames given **most recent first** (the order tracers collect them).
    pub fn from_most_recent_first(mut frames: Vec<Frame>, total_nframe: Option<u32>) -> Self {
        frames.reverse();
        Traceback::new(frames, total_nframe)
    }

    /// The frames, oldest first.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The most recent frame (where the allocation happened).
    pub fn most_recent(&self) -> &Frame {
        self.frames.last().expect("a traceback has at least one frame")
    }

    /// The number of frames of the original stack, when known (it can exceed `len()` when
    /// the traceback limit truncated it).
    pub fn total_nframe(&self) -> Option<u32> {
        self.total_nframe
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Always false: a traceback has at least one frame (`<unknown>:0` when none was known).
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Python's `Traceback.format(limit=None, most_recent_first=False)`: for each frame
    /// `  File "f", line N` and, when the source can be read, the stripped line indented by
    /// four spaces. A positive `limit` keeps the `limit` most recent frames; a negative one
    /// drops the `|limit|` most recent frames, as Python's `self[:limit]` does.
    pub fn format(&self, limit: Option<isize>, most_recent_first: bool) -> Vec<String> {
        let n = self.frames.len() as isize;
        let slice: &[Frame] = match limit {
            None => &self.frames,
            Some(l) if l > 0 => &self.frames[(n - l).max(0) as usize..],
            Some(l) => &self.frames[..(n + l).max(0) as usize],
        };
        let mut lines = Vec::new();
        let mut push = |frame: &Frame| {
            lines.push(format!("  File \"{}\", line {}", frame.filename, frame.lineno));
            if let Some(src) = frame.source_line() {
                lines.push(format!("    {src}"));
            }
        };
        if most_recent_first {
            slice.iter().rev().for_each(&mut push);
        } else {
            slice.iter().for_each(&mut push);
        }
        lines
    }
}

impl PartialEq for Traceback {
    fn eq(&self, other: &Self) -> bool {
        self.frames == other.frames
    }
}
impl Eq for Traceback {}
impl std::hash::Hash for Traceback {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.frames.hash(state)
    }
}
impl PartialOrd for Traceback {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Traceback {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.frames.cmp(&other.frames)
    }
}

impl fmt::Display for Traceback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.frames.first() {
            Some(frame) => fmt::Display::fmt(frame, f),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Traceback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python prints the tuple of frames: `(a,)` for one, `(a, b)` for more.
        f.write_str("<Traceback (")?;
        for (i, frame) in self.frames.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{frame:?}")?;
        }
        if self.frames.len() == 1 {
            f.write_str(",")?;
        }
        f.write_str(")")?;
        match self.total_nframe {
            Some(n) => write!(f, " total_nframe={n}>"),
            None => f.write_str(">"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_str_and_repr() {
        let f = Frame::new("app/tmdemo.py", 3);
        assert_eq!(f.to_string(), "app/tmdemo.py:3");
        assert_eq!(format!("{f:?}"), "<Frame filename='app/tmdemo.py' lineno=3>");
        assert_eq!(py_repr_str("it's"), "\"it's\"");
        assert_eq!(py_repr_str("a'\"b"), "'a\\'\"b'");
    }

    #[test]
    fn traceback_is_oldest_first() {
        let tb = Traceback::from_most_recent_first(
            vec![Frame::new("inner.rs", 2), Frame::new("outer.rs", 9)],
            Some(5),
        );
        assert_eq!(tb.to_string(), "outer.rs:9");
        assert_eq!(tb.most_recent().to_string(), "inner.rs:2");
        assert_eq!(
            format!("{tb:?}"),
            "<Traceback (<Frame filename='outer.rs' lineno=9>, \
             <Frame filename='inner.rs' lineno=2>) total_nframe=5>"
        );
        let one = Traceback::new(vec![Frame::new("a", 1)], None);
        assert_eq!(format!("{one:?}"), "<Traceback (<Frame filename='a' lineno=1>,)>");
    }

    #[test]
    fn format_limits_like_python() {
        let tb = Traceback::new(vec![Frame::new("a", 1), Frame::new("b", 2), Frame::new("c", 3)], None);
        let all = tb.format(None, false);
        assert_eq!(all, ["  File \"a\", line 1", "  File \"b\", line 2", "  File \"c\", line 3"]);
        assert_eq!(tb.format(Some(1), false), ["  File \"c\", line 3"]);
        assert_eq!(tb.format(Some(-1), false).len(), 2);
        assert_eq!(tb.format(Some(-5), false).len(), 0);
        assert_eq!(tb.format(None, true)[0], "  File \"c\", line 3");
    }

    #[test]
    fn format_reads_source_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("src.rs");
        std::fs::write(&path, "fn a() {}\n    let x = vec![1];  \n").unwrap();
        let name = path.to_str().unwrap();
        let tb = Traceback::new(vec![Frame::new(name, 2)], None);
        assert_eq!(
            tb.format(None, false),
            [format!("  File \"{name}\", line 2"), "    let x = vec![1];".into()]
        );
    }
}
