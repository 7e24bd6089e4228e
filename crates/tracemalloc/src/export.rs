//! Snapshot exports not in Python: folded stacks / flame-graph SVG (inferno) and the
//! JSON that DHAT's viewer (`dh_view.html`) opens.

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;

use crate::error::Error;
use crate::snapshot::Snapshot;

#[derive(Serialize)]
#[allow(non_snake_case)]
struct DhatJson {
    dhatFileVersion: u32,
    mode: &'static str,
    verb: &'static str,
    bklt: bool,
    bkacc: bool,
    tu: &'static str,
    Mtu: &'static str,
    tuth: u32,
    cmd: String,
    pid: u32,
    tg: u64,
    te: u64,
    pps: Vec<DhatPp>,
    ftbl: Vec<String>,
}

#[derive(Serialize)]
struct DhatPp {
    tb: u64,
    tbk: u64,
    tl: u64,
    mb: u64,
    mbk: u64,
    gb: u64,
    gbk: u64,
    eb: u64,
    ebk: u64,
    fs: Vec<usize>,
}

impl Snapshot {
    /// The traces as folded stacks, one line per distinct traceback:
    /// `oldest;...;most_recent bytes` (frames as `file:line`), sorted, ready for any
    /// flame-graph tool.
    pub fn folded_stacks(&self) -> Vec<String> {
        let mut stacks: HashMap<String, u64> = HashMap::new();
        for trace in &self.traces {
            let key = trace
                .traceback
                .frames()
                .iter()
                .map(|f| format!("{}:{}", f.filename, f.lineno).replace(';', ":"))
                .collect::<Vec<_>>()
                .join(";");
            *stacks.entry(key).or_insert(0) += trace.weight;
        }
        let mut lines: Vec<String> = stacks.into_iter().map(|(k, v)| format!("{k} {v}")).collect();
        lines.sort();
        lines
    }

    /// Writes a flame graph (SVG) of the live bytes by traceback, with inferno.
    pub fn write_flamegraph(&self, title: &str, out: impl Write) -> Result<(), Error> {
        let lines = self.folded_stacks();
        let mut options = inferno::flamegraph::Options::default();
        options.title = title.to_string();
        options.count_name = "bytes".to_string();
        inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), out).map_err(|e| {
            match e.downcast::<std::io::Error>() {
                Ok(io) => Error::Io(io),
                Err(other) => Error::Io(std::io::Error::other(other.to_string())),
            }
        })
    }

    /// The snapshot as a DHAT heap profile (`dhatFileVersion` 2, mode `rust-heap`, the
    /// format dhat-rs writes), for `dh_view.html`. One program point per distinct
    /// traceback; a snapshot only knows live blocks, so "total", "at t-gmax" and "at
    /// t-end" all show the snapshot's bytes and lifetimes are 0.
    pub fn to_dhat_json(&self) -> String {
        let mut ftbl: Vec<String> = vec!["[root]".to_string()];
        let mut fids: HashMap<String, usize> = HashMap::new();
        let mut pps: Vec<DhatPp> = Vec::new();
        let mut pp_of: HashMap<Vec<usize>, usize> = HashMap::new();
        for trace in &self.traces {
            // DHAT lists frames innermost first.
            let fs: Vec<usize> = trace
                .traceback
                .frames()
                .iter()
                .rev()
                .map(|f| {
                    let s = format!("{}:{}", f.filename, f.lineno);
                    *fids.entry(s.clone()).or_insert_with(|| {
                        ftbl.push(s);
                        ftbl.len() - 1
                    })
                })
                .collect();
            let i = *pp_of.entry(fs.clone()).or_insert_with(|| {
                pps.push(DhatPp { tb: 0, tbk: 0, tl: 0, mb: 0, mbk: 0, gb: 0, gbk: 0, eb: 0, ebk: 0, fs });
                pps.len() - 1
            });
            let pp = &mut pps[i];
            pp.tb += trace.weight;
            pp.tbk += 1;
        }
        for pp in &mut pps {
            (pp.mb, pp.mbk, pp.gb, pp.gbk, pp.eb, pp.ebk) = (pp.tb, pp.tbk, pp.tb, pp.tbk, pp.tb, pp.tbk);
        }
        let json = DhatJson {
            dhatFileVersion: 2,
            mode: "rust-heap",
            verb: "Allocated",
            bklt: true,
            bkacc: false,
            tu: "µs",
            Mtu: "s",
            tuth: 10,
            cmd: std::env::args().collect::<Vec<_>>().join(" "),
            pid: std::process::id(),
            tg: 0,
            te: 0,
            pps,
            ftbl,
        };
        serde_json::to_string(&json).expect("plain data always serializes")
    }
}
