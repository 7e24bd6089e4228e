//! Lazy symbolization: native return addresses become `file:line` frames only when a
//! snapshot or a traceback is asked for, once per address (cached).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::frame::{Frame, Traceback};
use crate::tracer::{raw_traceback, Busy, RawFrame};

/// One source frame of a return address (inlined calls give several, innermost first).
#[derive(Clone, Debug)]
struct Resolved {
    /// Demangled function name without hash, when known.
    name: Option<Arc<str>>,
    /// The raw path from the debug info, when known.
    path: Option<Arc<str>>,
    /// The file's name as shown (rustc's name for it, see `paths`).
    shown: Arc<str>,
    line: u32,
}

static CACHE: Mutex<Option<HashMap<usize, Arc<[Resolved]>>>> = Mutex::new(None);
static CACHE_BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) fn cache_memory() -> u64 {
    CACHE_BYTES.load(std::sync::atomic::Ordering::Relaxed)
}

fn resolve_ip(ip: usize) -> Arc<[Resolved]> {
    let _busy = Busy::force();
    if let Some(hit) =
        CACHE.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).get(&ip)
    {
        return hit.clone();
    }
    let mut out = Vec::new();
    backtrace::resolve(ip as *mut std::ffi::c_void, |sym| {
        let name = sym.name().map(|n| Arc::<str>::from(format!("{n:#}")));
        let path = sym.filename().and_then(Path::to_str).map(Arc::<str>::from);
        let shown = path.as_deref().map(crate::paths::native_name).unwrap_or_else(|| "<unknown>".into());
        out.push(Resolved { name, path, shown, line: sym.lineno().unwrap_or(0) });
    });
    let bytes: usize = 64
        + out
            .iter()
            .map(|r| {
                std::mem::size_of::<Resolved>()
                    + r.name.as_ref().map_or(0, |n| n.len())
                    + r.path.as_ref().map_or(0, |n| n.len())
                    + r.shown.len()
            })
            .sum::<usize>();
    CACHE_BYTES.fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
    let out: Arc<[Resolved]> = out.into();
    CACHE.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).insert(ip, out.clone());
    out
}

/// Frames that belong to the machinery rather than to the program: the tracer, the
/// unwinder, the global-allocator shims and the standard library (dropped everywhere in a
/// traceback, as Python's tracebacks show no C frames).
fn is_plumbing(r: &Resolved) -> bool {
    const NAMES: [&str; 12] = [
        "tracemalloc::tracer::",
        "tracemalloc::unwind::",
        "<tracemalloc::unwind::",
        "tracemalloc::alloc::",
        "<tracemalloc::alloc::",
        "backtrace::",
        "__rust_",
        "__rustc::",
        "__rg_",
        "__rdl_",
        "_Unwind_",
        "std::sys::backtrace",
    ];
    let Some(path) = r.path.as_deref() else {
        return true; // no debug info: not program code we can show
    };
    // Names alone do not do: with `debug = "line-tables-only"` (a common release setting)
    // the debug info names functions without their module path, so files decide too.
    if is_plumbing_file(path) {
        return true;
    }
    // Relative paths come from system libraries built in their own trees (glibc's
    // `./nptl/pthread_create.c`); cargo records absolute ones.
    !path.starts_with('/')
        || path.starts_with("/rustc/")
        || path.starts_with("/rust/deps/") // the standard library's vendored crates
        || path.contains("/library/alloc/src/")
        || path.contains("/library/core/src/")
        || path.contains("/library/std/src/")
        || r.name
            .as_deref()
            .is_some_and(|n| NAMES.iter().any(|p| n.starts_with(p)))
}

/// Whether `path` (a debug-info path) is one of this crate's tracer, unwinder or
/// allocator-shim files, or a file of the `backtrace` crate.
fn is_plumbing_file(path: &str) -> bool {
    // `file!()` is this file's path as rustc was given it (relative to the workspace, or
    // absolute for a registry build); the debug-info path of a sibling ends with its dir.
    let dir = file!().strip_suffix("symbols.rs").unwrap_or("");
    let own = ["tracer.rs", "unwind.rs", "alloc.rs"]
        .iter()
        .any(|f| path.strip_suffix(f).is_some_and(|d| !dir.is_empty() && d.ends_with(dir)));
    // A registry crate lives in `.../backtrace-0.3.77/src/...`.
    own || path
        .split('/')
        .any(|c| c.strip_prefix("backtrace-").is_some_and(|v| v.starts_with(|ch: char| ch.is_ascii_digit())))
}

/// Symbolizes an interned raw traceback into a public [`Traceback`] of at most `limit`
/// frames: the plumbing frames are dropped; with a `#[track_caller]` site, the
/// native frames up to the site's own function are dropped too (the site replaces them).
pub(crate) fn traceback_of(id: u32, limit: u32) -> Traceback {
    let raw = raw_traceback(id).unwrap_or_else(|| Arc::from(Vec::new()));
    symbolize(&raw, limit)
}

pub(crate) fn symbolize(raw: &[RawFrame], limit: u32) -> Traceback {
    let _busy = Busy::force();
    if let Some(tb) = crate::host::symbolize(raw, limit) {
        return tb;
    }
    let mut frames: Vec<Frame> = Vec::new();
    let site = match raw.first() {
        Some(RawFrame::Site(loc)) => Some(*loc),
        _ => None,
    };
    let site = site.map(|loc| (crate::paths::site_name(loc.file()), loc.line()));
    if let Some((file, line)) = &site {
        frames.push(Frame::new(file.clone(), *line));
    }
    let natives: Vec<Resolved> = raw
        .iter()
        .filter_map(|f| match f {
            RawFrame::Ip(ip) => Some(*ip),
            RawFrame::Site(_) | RawFrame::Host(_) => None,
        })
        .flat_map(|ip| resolve_ip(ip).iter().cloned().collect::<Vec<_>>())
        .collect();
    // Like Python's tracebacks, which show no C frames: only the program's own frames
    // (and third-party crates'), none of the standard library's or the tracer's.
    let natives: Vec<Resolved> = natives.into_iter().filter(|r| !is_plumbing(r)).collect();
    let mut rest: &[Resolved] = &natives;
    if let Some((file, line)) = &site {
        // The site's own native frame: same file and line (else the first frame of the
        // site's file). Both name the file the same way (see `paths`).
        let in_file = |r: &Resolved| r.shown == *file;
        let own =
            rest.iter().position(|r| in_file(r) && r.line == *line).or_else(|| rest.iter().position(in_file));
        if let Some(p) = own {
            rest = &rest[p + 1..];
        }
    }
    frames.extend(rest.iter().map(|r| Frame::new(r.shown.clone(), r.line)));
    frames.truncate(limit.max(1) as usize);
    if frames.is_empty() {
        frames.push(Frame::unknown());
    }
    Traceback::from_most_recent_first(frames, None)
}
