//! How a source file is named: the way rustc names it, from either source of frames.
//!
//! A `#[track_caller]` site (`Location::file()`, the same text as `file!()` and panic
//! messages) carries the path rustc was given: relative to the workspace root for the
//! workspace's own crates (cargo runs rustc there with relative paths), absolute for the
//! others (registry and git dependencies, the standard library's `/rustc/…`). Debug
//! information keeps that path but the symbolizer joins it to its compile unit's directory
//! (`DW_AT_comp_dir`), so a native frame comes back absolute. A native path loses that
//! directory again when its compile unit was named relatively, so that both sources say
//! `crates/app/src/main.rs` for the same file, whatever the working directory and however
//! the program was started (Python's `co_filename` does not depend on them either).
//!
//! The compilation directories come from the running executable's DWARF (ELF). When it
//! cannot be read (another object format, no debug information, compressed sections), the
//! working directory stands in for them: native paths below it are shown relative to it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::tracer::Busy;

/// The compilation directories of the executable's compile units that rustc was given a
/// relative path for (the workspace's crates), longest first; the working directory when
/// none can be read.
fn roots() -> &'static [Box<str>] {
    static ROOTS: OnceLock<Vec<Box<str>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let _busy = Busy::force();
        let mut roots = read_roots().unwrap_or_default();
        if roots.is_empty() {
            if let Some(cwd) = std::env::current_dir().ok().and_then(|d| d.to_str().map(Box::from)) {
                roots.push(cwd);
            }
        }
        roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
        roots
    })
}

/// Reads `DW_AT_comp_dir` of every compile unit whose `DW_AT_name` is relative.
#[cfg(unix)]
fn read_roots() -> Option<Vec<Box<str>>> {
    use object::{Object, ObjectSection};
    let exe = if cfg!(target_os = "linux") {
        std::path::PathBuf::from("/proc/self/exe") // the running file, even if replaced since
    } else {
        std::env::current_exe().ok()?
    };
    let map = crate::os::MappedFile::open(&exe)?;
    let file = object::File::parse(map.bytes()).ok()?;
    let endian =
        if file.is_little_endian() { gimli::RunTimeEndian::Little } else { gimli::RunTimeEndian::Big };
    let dwarf = gimli::Dwarf::load(|id| -> Result<_, ()> {
        let data = file.section_by_name(id.name()).and_then(|s| s.data().ok()).unwrap_or(&[]);
        Ok(gimli::EndianSlice::new(data, endian))
    })
    .ok()?;
    let mut roots: Vec<Box<str>> = Vec::new();
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let Ok(unit) = dwarf.unit(header) else { continue };
        let (Some(name), Some(dir)) = (unit.name, unit.comp_dir) else { continue };
        let (Ok(name), Ok(dir)) = (name.to_string(), dir.to_string()) else { continue };
        let dir = dir.trim_end_matches('/');
        if !Path::new(name).is_absolute() && !dir.is_empty() && !roots.iter().any(|r| **r == *dir) {
            roots.push(dir.into());
        }
    }
    Some(roots)
}

#[cfg(not(unix))]
fn read_roots() -> Option<Vec<Box<str>>> {
    None
}

/// The name of the file a native frame's debug information calls `path` (absolute).
pub(crate) fn native_name(path: &str) -> Arc<str> {
    strip_root(path, roots()).into()
}

fn strip_root<'a>(path: &'a str, roots: &[Box<str>]) -> &'a str {
    roots
        .iter()
        .find_map(|root| path.strip_prefix(&**root)?.strip_prefix('/').filter(|rest| !rest.is_empty()))
        .unwrap_or(path)
}

/// The name of the file of a `#[track_caller]` site: rustc's own.
pub(crate) fn site_name(file: &'static str) -> Arc<str> {
    file.into()
}

/// Reads the source file named `name`: an absolute name as it is; a relative one below
/// each compilation directory first (where rustc found it), then below the working
/// directory.
pub(crate) fn read_source(name: &str) -> Option<String> {
    let path = Path::new(name);
    if path.is_absolute() {
        return std::fs::read_to_string(path).ok();
    }
    roots()
        .iter()
        .find_map(|root| std::fs::read_to_string(Path::new(&**root).join(path)).ok())
        .or_else(|| std::fs::read_to_string(path).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_is_stripped_whole() {
        let roots: Vec<Box<str>> = vec!["/work/ws/crates/inner".into(), "/work/ws".into()];
        assert_eq!(strip_root("/work/ws/crates/app/src/main.rs", &roots), "crates/app/src/main.rs");
        assert_eq!(strip_root("/work/ws/crates/inner/src/lib.rs", &roots), "src/lib.rs", "longest first");
        assert_eq!(strip_root("/work/wsx/src/lib.rs", &roots), "/work/wsx/src/lib.rs", "not a prefix dir");
        assert_eq!(
            strip_root("/rustc/abc/library/std/src/lib.rs", &roots),
            "/rustc/abc/library/std/src/lib.rs"
        );
        assert_eq!(strip_root("/work/ws", &roots), "/work/ws");
    }

    #[test]
    fn this_build_has_its_workspace_root() {
        // This crate is a member of the workspace being tested: its unit was given a
        // relative path, so the root is the directory `file!()` is relative to.
        let here = concat!(env!("CARGO_MANIFEST_DIR"), "/src/paths.rs");
        assert!(Path::new(file!()).is_relative(), "built as a workspace member");
        assert_eq!(&*native_name(here), file!(), "roots: {:?}", roots());
        assert!(
            read_source(file!()).is_some_and(|text| text.contains("fn this_build_has_its_workspace_root"))
        );
    }
}
