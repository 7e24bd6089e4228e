//! `Snapshot::dump` / `Snapshot::load`: a versioned, self-describing file.
//!
//! Layout (version 1): the magic line `PYGC-TRACEMALLOC-SNAPSHOT` and `\n`, then one JSON
//! object:
//!
//! ```text
//! {"version": 1,
//!  "traceback_limit": 10,
//!  "frames": [["src/main.rs", 12], ...],            // interned (filename, lineno)
//!  "tracebacks": [{"frames": [0, 3], "total_nframe": null}, ...], // oldest first
//!  "traces": [[domain, size, weight, traceback_index], ...]}
//! ```
//!
//! A file without the magic line, with another version, cut short, or whose indices point
//! nowhere, is refused with [`Error::BadSnapshot`] naming the problem.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::frame::{Frame, Traceback};
use crate::snapshot::{Snapshot, Trace};

/// First line of a snapshot file.
pub const FORMAT_MAGIC: &str = "PYGC-TRACEMALLOC-SNAPSHOT";
/// Version written by this build (and the only one it reads).
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTraceback {
    frames: Vec<usize>,
    total_nframe: Option<u32>,
}

#[derive(Serialize, Deserialize)]
struct FileSnapshot {
    version: u32,
    traceback_limit: u32,
    frames: Vec<(String, u32)>,
    tracebacks: Vec<FileTraceback>,
    traces: Vec<(u32, u64, u64, usize)>,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

impl Snapshot {
    /// Writes the snapshot to `path` (Python's `Snapshot.dump`), in the format described in
    /// the module docs.
    pub fn dump(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        file.write_all(self.to_bytes()?.as_slice())?;
        file.flush()?;
        Ok(())
    }

    /// The bytes `dump` writes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut frame_ids: HashMap<&Frame, usize> = HashMap::new();
        let mut frames = Vec::new();
        let mut tb_ids: HashMap<(usize, Option<u32>), usize> = HashMap::new();
        let mut tracebacks = Vec::new();
        let mut traces = Vec::with_capacity(self.traces.len());
        for trace in &self.traces {
            let tb = &trace.traceback;
            let key = (tb.frames().as_ptr() as usize, tb.total_nframe());
            let id = *tb_ids.entry(key).or_insert_with(|| {
                let ids = tb
                    .frames()
                    .iter()
                    .map(|f| {
                        *frame_ids.entry(f).or_insert_with(|| {
                            frames.push((f.filename.to_string(), f.lineno));
                            frames.len() - 1
                        })
                    })
                    .collect();
                tracebacks.push(FileTraceback { frames: ids, total_nframe: tb.total_nframe() });
                tracebacks.len() - 1
            });
            traces.push((trace.domain, trace.size, trace.weight, id));
        }
        let file = FileSnapshot {
            version: FORMAT_VERSION,
            traceback_limit: self.traceback_limit,
            frames,
            tracebacks,
            traces,
        };
        let mut out = format!("{FORMAT_MAGIC}\n").into_bytes();
        serde_json::to_writer(&mut out, &file)
            .map_err(|e| Error::BadSnapshot(format!("cannot encode: {e}")))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Reads a snapshot written by [`Snapshot::dump`] (Python's `Snapshot.load`).
    pub fn load(path: impl AsRef<Path>) -> Result<Snapshot, Error> {
        Snapshot::from_bytes(&std::fs::read(path)?)
    }

    /// Decodes the bytes of a snapshot file; never panics on bad input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, Error> {
        let bad = |why: String| Error::BadSnapshot(why);
        let magic = format!("{FORMAT_MAGIC}\n");
        let Some(body) = bytes.strip_prefix(magic.as_bytes()) else {
            return Err(if magic.as_bytes().starts_with(bytes) {
                bad("the file is truncated (it ends inside the header)".into())
            } else {
                bad(format!("the file does not start with {FORMAT_MAGIC:?}"))
            });
        };
        if let Ok(v) = serde_json::from_slice::<VersionOnly>(body) {
            if v.version != FORMAT_VERSION {
                return Err(bad(format!(
                    "format version {} is not supported (this build reads version {FORMAT_VERSION})",
                    v.version
                )));
            }
        }
        let file: FileSnapshot = serde_json::from_slice(body).map_err(|e| {
            if e.is_eof() {
                bad(format!("the file is truncated ({e})"))
            } else {
                bad(format!("corrupt data ({e})"))
            }
        })?;
        if file.version != FORMAT_VERSION {
            return Err(bad(format!("format version {} is not supported", file.version)));
        }
        let frames: Vec<Frame> =
            file.frames.into_iter().map(|(name, line)| Frame::new(Arc::<str>::from(name), line)).collect();
        let mut tracebacks = Vec::with_capacity(file.tracebacks.len());
        for (i, tb) in file.tracebacks.into_iter().enumerate() {
            if tb.frames.is_empty() {
                return Err(bad(format!("traceback {i} has no frame")));
            }
            let fs = tb
                .frames
                .iter()
                .map(|&f| {
                    frames
                        .get(f)
                        .cloned()
                        .ok_or_else(|| bad(format!("traceback {i} refers to missing frame {f}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            tracebacks.push(Traceback::new(fs, tb.total_nframe));
        }
        let traces = file
            .traces
            .into_iter()
            .enumerate()
            .map(|(i, (domain, size, weight, tb))| {
                let traceback = tracebacks
                    .get(tb)
                    .cloned()
                    .ok_or_else(|| bad(format!("trace {i} refers to missing traceback {tb}")))?;
                Ok(Trace { domain, size, weight, traceback })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Snapshot::new(traces, file.traceback_limit))
    }
}
