//! objgraph's census over the shared heap: `typestats`, `count`,
//! `most_common_types`, `show_most_common_types`, with objgraph 3.7's
//! semantics and text layout, over [`crate::gc::get_objects`] (so, as
//! objgraph, only tracked objects are seen, and each call stops the world
//! once). The reference-graph half of objgraph (chains, drawings) is not
//! ported to this heap.
//!
//! ```
//! use pygc_sync::{objgraph, sync_trace, Gc, GcMutex};
//!
//! sync_trace! { struct Leaf { next: GcMutex<Option<Gc<Leaf>>> } }
//!
//! let kept: Vec<_> = (0..3).map(|_| Gc::new(Leaf { next: GcMutex::new(None) })).collect();
//! assert!(objgraph::count("Leaf") >= 3);
//! # drop(kept);
//! ```
#![forbid(unsafe_code)]

use crate::gc::{get_objects, short_name};
use std::io::{self, Write};

/// Objects per type name (`objgraph.typestats`), in the order types are
/// first met on the heap. Short names (`Node`) with `shortnames`, else full
/// Rust paths.
pub fn typestats(shortnames: bool) -> Vec<(String, usize)> {
    let mut rows: Vec<(String, usize)> = Vec::new();
    for o in get_objects() {
        let full = o.type_name();
        let name = if shortnames { short_name(full) } else { full };
        match rows.iter_mut().find(|r| r.0 == name) {
            Some(r) => r.1 += 1,
            None => rows.push((name.to_owned(), 1)),
        }
    }
    rows
}

/// The number of objects of type `typename` (`objgraph.count`): a bare name
/// (`"Node"`) matches short names, a path (`"app::Node"`) full names.
pub fn count(typename: &str) -> usize {
    let short = !typename.contains("::");
    typestats(short).into_iter().filter(|r| r.0 == typename).map(|r| r.1).sum()
}

/// The `limit` most common types by count, ties in heap order
/// (`objgraph.most_common_types`, short names); `None` for all.
pub fn most_common_types(limit: Option<usize>) -> Vec<(String, usize)> {
    let mut rows = typestats(true);
    rows.sort_by_key(|r| std::cmp::Reverse(r.1)); // stable: ties keep heap order
    if let Some(l) = limit {
        rows.truncate(l);
    }
    rows
}

/// Prints [`most_common_types`] as objgraph does (`'%-*s %i'`: names padded
/// to the longest, then the count).
pub fn show_most_common_types_to(out: &mut dyn Write, limit: Option<usize>) -> io::Result<()> {
    let rows = most_common_types(limit);
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    for (name, n) in &rows {
        writeln!(out, "{name:<width$} {n}")?;
    }
    Ok(())
}

/// [`show_most_common_types_to`] on stdout.
pub fn show_most_common_types(limit: Option<usize>) -> io::Result<()> {
    show_most_common_types_to(&mut io::stdout().lock(), limit)
}
