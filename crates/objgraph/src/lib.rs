//! objgraph for the pygc heap: census, growth, reference chains, and
//! reference graphs drawn as DOT, SVG or PNG with no Graphviz needed.
//!
//! The names, arguments and text layouts are objgraph 3.7's; options are
//! structs with `Default` (objgraph's keyword defaults). Beyond objgraph:
//! bytes beside counts, [`why_alive`], [`retained_size`] from dominators,
//! exact edge labels (field names, `[i]` indexes, map `key`/`value`), weak
//! edges drawn dashed, and [`growth`] that collects only if asked.
//!
//! ```
//! use pygc::{objgraph, Gc, GcCell, Trace};
//!
//! #[derive(Trace)]
//! struct Node { next: GcCell<Option<Gc<Node>>> }
//!
//! let opts = objgraph::GrowthOptions::default();
//! objgraph::growth(None, &opts);                       // prime the peaks
//! let leak = Gc::new(Node { next: GcCell::new(None) });
//! *leak.next.borrow_mut() = Some(leak.clone());        // a self-cycle
//! let rows = objgraph::growth(None, &opts);
//! assert_eq!((rows[0].name.as_str(), rows[0].delta), ("Node", 1));
//!
//! let mut dot = Vec::new();
//! let g = objgraph::GraphOptions { output: Some(&mut dot), ..Default::default() };
//! objgraph::show_backrefs(&[Gc::to_any(&leak)], g).unwrap();
//! assert!(String::from_utf8(dot).unwrap().contains("[label=\"next\",weight=10]"));
//! ```
//!
//! Every function works on the calling thread's heap (pygc heaps are per
//! thread). See `docs/design/objgraph.md` for the choices made.
#![forbid(unsafe_code)]

mod census;
mod chain;
mod dominators;
mod graph;
mod heap_graph;
mod layout;
mod png;
mod present;
mod svg;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use census::{
    at, at_addrs, by_type, count, get_leaking_objects, get_new_ids, get_new_ids_to, growth, growth_with,
    most_common_types, reset_new_ids, reset_peak_stats, show_growth, show_growth_to, show_most_common_types,
    show_most_common_types_to, typestats, CensusOptions, GrowthOptions, GrowthRow, NewIds, NewIdsOptions,
    PeakStats, SortBy, TypeStat,
};
pub use chain::{find_backref_chain, find_ref_chain, why_alive, ChainOptions};
pub use dominators::{largest_retainers, retained_size, Retained};
pub use graph::{
    backrefs_graph, chain_graph, refs_graph, show_backrefs, show_chain, show_refs, GraphOptions, NodeAttrs,
    ObjectGraph,
};
pub use present::{GraphReport, ImageFormat, Renderer};

use pygc_core::GcAny;

/// A predicate over objects (objgraph's `filter`, `highlight`, `predicate`).
pub type Predicate<'a> = &'a dyn Fn(&GcAny) -> bool;

/// What went wrong producing a graph.
#[derive(Debug)]
pub enum ObjgraphError {
    /// Both `output` and `filename` were given (objgraph raises
    /// `ValueError('Cannot specify both output and filename.')`).
    OutputAndFilename,
    /// A file could not be created or written.
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Writing to the `output` writer or the status writer failed.
    Write(io::Error),
    /// The file name's extension names no format this renderer makes.
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// [`Renderer::Graphviz`] was asked for and `dot` is not on `PATH`.
    GraphvizNotFound,
    /// `dot` ran and failed.
    GraphvizFailed {
        /// The command line.
        command: String,
        /// Its exit code, if it exited.
        code: Option<i32>,
    },
}

impl fmt::Display for ObjgraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjgraphError::OutputAndFilename => {
                f.write_str("Cannot specify both output and filename.")
            }
            ObjgraphError::File { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            ObjgraphError::Write(e) => write!(f, "cannot write the graph: {e}"),
            ObjgraphError::UnknownFormat { path } => write!(
                f,
                "cannot tell the image format of {} (use .dot, .svg or .png, or Renderer::Graphviz for other formats)",
                path.display()
            ),
            ObjgraphError::GraphvizNotFound => {
                f.write_str("Image renderer (dot) not found")
            }
            ObjgraphError::GraphvizFailed { command, code } => match code {
                Some(c) => write!(f, "dot failed (exit code {c}) while executing \"{command}\""),
                None => write!(f, "dot was killed while executing \"{command}\""),
            },
        }
    }
}

impl std::error::Error for ObjgraphError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ObjgraphError::File { source, .. } => Some(source),
            ObjgraphError::Write(e) => Some(e),
            _ => None,
        }
    }
}

/// objgraph's type name of an object: the name it reports at run time
/// (an interpreter's class), else `Node` (short) or the full Rust path.
pub(crate) fn type_name(obj: &GcAny, shortnames: bool) -> String {
    match obj.dynamic_type_name() {
        Some(name) => name,
        None if shortnames => obj.short_type_name(),
        None => obj.type_name().to_string(),
    }
}

/// The name of a census row, as [`type_name`] names its objects.
pub(crate) fn row_name(row: &pygc_core::inspect::TypeCount, shortnames: bool) -> String {
    if shortnames && !row.dynamic {
        pygc_core::short_type_name(&row.type_name)
    } else {
        row.type_name.to_string()
    }
}

/// Whether `typename` names a type called `full`: a run-time name is
/// compared as it is; for a Rust type, a name with a path (`::`) is
/// compared with the full name, a bare one with the short name (objgraph's
/// rule for dotted names).
pub(crate) fn name_matches(typename: &str, full: &str, dynamic: bool) -> bool {
    if dynamic || typename.contains("::") {
        typename == full
    } else {
        typename == pygc_core::short_type_name(full)
    }
}
