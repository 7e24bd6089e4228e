//! `Filter` and `DomainFilter`: Python's trace filters, with fnmatch-style file patterns.

use crate::frame::Frame;
use crate::snapshot::Trace;

/// Something `Snapshot::filter_traces` can apply: Python's `BaseFilter`.
pub trait TraceFilter {
    /// Inclusive filters keep matching traces; exclusive ones drop them.
    fn inclusive(&self) -> bool;
    /// Python's `_match`: true when the trace passes this filter (for an exclusive
    /// filter, true when the trace does *not* match its pattern).
    fn matches(&self, trace: &Trace) -> bool;
}

/// Filters traces by file pattern and line (Python's `tracemalloc.Filter`).
///
/// The pattern is `fnmatch`-style: `*` (any text, `/` included), `?`, `[seq]`, `[!seq]`.
#[derive(Clone, Debug)]
pub struct Filter {
    /// Keep (true) or drop (false) the traces that match.
    pub inclusive: bool,
    filename_pattern: String,
    pattern: Option<glob::Pattern>,
    /// Only this line matches, when set.
    pub lineno: Option<u32>,
    /// Check every frame of the traceback, not just the most recent one.
    pub all_frames: bool,
    /// Only traces of this domain match, when set.
    pub domain: Option<u32>,
}

impl Filter {
    /// `Filter(inclusive, filename_pattern)`; set `lineno`, `all_frames` and `domain` with
    /// the builder methods. A pattern `glob` cannot parse (e.g. an unclosed `[`) matches
    /// only the same literal text, as Python's fnmatch treats a lone `[` literally.
    pub fn new(inclusive: bool, filename_pattern: impl Into<String>) -> Filter {
        let filename_pattern = filename_pattern.into();
        Filter {
            inclusive,
            pattern: glob::Pattern::new(&filename_pattern).ok(),
            filename_pattern,
            lineno: None,
            all_frames: false,
            domain: None,
        }
    }

    /// Only frames at this line match.
    pub fn lineno(mut self, lineno: u32) -> Filter {
        self.lineno = Some(lineno);
        self
    }

    /// Match if any frame of the traceback matches (not only the most recent).
    pub fn all_frames(mut self, all_frames: bool) -> Filter {
        self.all_frames = all_frames;
        self
    }

    /// Restrict to one domain.
    pub fn domain(mut self, domain: u32) -> Filter {
        self.domain = Some(domain);
        self
    }

    /// The file pattern.
    pub fn filename_pattern(&self) -> &str {
        &self.filename_pattern
    }

    fn match_frame(&self, frame: &Frame) -> bool {
        let name_ok = match &self.pattern {
            Some(p) => p.matches(&frame.filename),
            None => *frame.filename == *self.filename_pattern,
        };
        name_ok && self.lineno.is_none_or(|l| l == frame.lineno)
    }
}

impl TraceFilter for Filter {
    fn inclusive(&self) -> bool {
        self.inclusive
    }

    fn matches(&self, trace: &Trace) -> bool {
        let res = if self.all_frames {
            let any = trace.traceback.frames().iter().any(|f| self.match_frame(f));
            any == self.inclusive
        } else {
            self.match_frame(trace.traceback.most_recent()) == self.inclusive
        };
        match self.domain {
            None => res,
            Some(d) if self.inclusive => res && trace.domain == d,
            Some(d) => res || trace.domain != d,
        }
    }
}

/// Filters traces by domain (Python's `tracemalloc.DomainFilter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainFilter {
    /// Keep (true) or drop (false) the traces of `domain`.
    pub inclusive: bool,
    /// The address space.
    pub domain: u32,
}

impl DomainFilter {
    /// `DomainFilter(inclusive, domain)`.
    pub fn new(inclusive: bool, domain: u32) -> DomainFilter {
        DomainFilter { inclusive, domain }
    }
}

impl TraceFilter for DomainFilter {
    fn inclusive(&self) -> bool {
        self.inclusive
    }
    fn matches(&self, trace: &Trace) -> bool {
        (trace.domain == self.domain) == self.inclusive
    }
}
