//! Profile files in the current directory: the default name, `list`,
//! `clean`, `rm`, and choosing which files a command works on.

use std::path::{Path, PathBuf};

use crate::{local_time, Error};

/// `mprofile_YYYYMMDDhhmmss.dat` for a Unix time, in local time as Python's
/// mprof names it.
pub fn default_name(ts: f64) -> String {
    let (y, mo, d, h, mi, s) = local_time(ts);
    format!("mprofile_{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}.dat")
}

/// True for names mprof made: `mprofile_` + 14 characters + `.dat`.
pub fn is_profile_name(name: &str) -> bool {
    name.strip_prefix("mprofile_")
        .and_then(|r| r.strip_suffix(".dat"))
        .is_some_and(|mid| mid.chars().count() == 14)
}

/// Every profile in `dir`, oldest first (sorted by name, which sorts by time).
pub fn profiles_in(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::new(format!("cannot read directory {}: {e}", dir.display())))?;
    let mut names: Vec<String> = rd
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_profile_name(n))
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .map(|n| {
            if dir == Path::new(".") {
                PathBuf::from(n)
            } else {
                dir.join(n)
            }
        })
        .collect())
}

/// One `mprof list` line: `0 mprofile_20261125062520.dat 06:25:20 25/11/2026`.
pub fn list_line(index: usize, path: &Path) -> String {
    let name = path.to_string_lossy();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ts: Vec<char> = stem.rsplit('_').next().unwrap_or("").chars().collect();
    let part = |a: usize, b: usize| {
        ts.get(a..b.min(ts.len()))
            .map(|c| c.iter().collect::<String>())
            .unwrap_or_default()
    };
    format!(
        "{index} {name} {}:{}:{} {}/{}/{}",
        part(8, 10),
        part(10, 12),
        part(12, 14),
        part(6, 8),
        part(4, 6),
        part(0, 4)
    )
}

/// Resolves `rm`/`plot`/`peak` arguments: an integer is an index into the
/// directory's profiles (negative from the end), anything else a path that
/// must be an existing file. Duplicates are dropped.
pub fn resolve(dir: &Path, args: &[String]) -> Result<Vec<PathBuf>, Error> {
    let profiles = profiles_in(dir)?;
    let mut out: Vec<PathBuf> = Vec::new();
    for a in args {
        let p = if let Ok(i) = a.parse::<i64>() {
            let idx = if i < 0 { profiles.len() as i64 + i } else { i };
            usize::try_from(idx)
                .ok()
                .and_then(|i| profiles.get(i))
                .cloned()
                .ok_or_else(|| {
                    Error::new(format!(
                        "invalid index (no such profile): {a}; `mprof list` shows {} profile(s)",
                        profiles.len()
                    ))
                })?
        } else {
            let p = PathBuf::from(a);
            if p.is_dir() {
                return Err(Error::new(format!("{a} is a directory, not a .dat file")));
            }
            if !p.is_file() {
                return Err(Error::new(format!("file not found: {a}")));
            }
            p
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// The files a reading command works on: the given ones, or the newest
/// profile in `dir` when none is given.
pub fn inputs(dir: &Path, args: &[String]) -> Result<Vec<PathBuf>, Error> {
    if !args.is_empty() {
        return resolve(dir, args);
    }
    match profiles_in(dir)?.pop() {
        Some(p) => Ok(vec![p]),
        None => Err(Error::new(
            "no input file found: this command looks for mprofile_*.dat files in the current directory, made by `mprof run`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_list_lines() {
        assert!(is_profile_name("mprofile_20261125062520.dat"));
        assert!(!is_profile_name("mprofile_2026.dat"));
        assert!(!is_profile_name("other_20261125062520.dat"));
        assert_eq!(
            list_line(0, Path::new("mprofile_20261125062520.dat")),
            "0 mprofile_20261125062520.dat 06:25:20 25/11/2026"
        );
        let n = default_name(1_795_587_920.2);
        assert!(is_profile_name(&n), "{n}");
    }

    #[test]
    fn resolve_indices_and_errors() {
        let d = tempfile::tempdir().unwrap();
        for n in ["mprofile_20260101000000.dat", "mprofile_20260102000000.dat"] {
            std::fs::write(d.path().join(n), "MEM 1 2\n").unwrap();
        }
        let r = resolve(d.path(), &["-1".into(), "0".into(), "-1".into()]).unwrap();
        assert_eq!(r.len(), 2);
        assert!(r[0].ends_with("mprofile_20260102000000.dat"));
        assert!(resolve(d.path(), &["5".into()])
            .unwrap_err()
            .message
            .contains("invalid index"));
        assert!(resolve(d.path(), &["nope.dat".into()])
            .unwrap_err()
            .message
            .contains("file not found: nope.dat"));
        assert_eq!(inputs(d.path(), &[]).unwrap().len(), 1);
        let empty = tempfile::tempdir().unwrap();
        assert!(inputs(empty.path(), &[])
            .unwrap_err()
            .message
            .contains("no input file found"));
    }
}
