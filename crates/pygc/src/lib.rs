//! # pygc
//!
//! CPython's memory management in Rust: [`Gc<T>`] handles with exact
//! reference counts and deterministic destruction, a generational cycle
//! collector with CPython's algorithm and the whole [`gc`] module surface,
//! objects allocated from obmalloc's pools, and the tools Python users watch
//! memory with.
//!
//! ```
//! use pygc::{gc, sys, Gc, GcCell, Trace};
//!
//! let x = Gc::new(Vec::<i32>::new());          // x = []
//! assert_eq!(sys::getrefcount(&x), 2);         // sys.getrefcount(x)
//!
//! #[derive(Trace)]
//! struct Node { r#ref: GcCell<Option<Gc<Node>>> }
//! let a = Gc::new(Node { r#ref: GcCell::new(None) });
//! *a.r#ref.borrow_mut() = Some(a.clone());     // a.ref = a
//! drop(a);                                     // del a: still alive, a cycle
//! assert_eq!(gc::collect(), 1);                // the collector frees it
//! ```
//!
//! Handles are `!Send`: each thread has its own heap, as each CPython
//! interpreter has its own.
#![warn(missing_docs)]

pub mod gc;
pub mod objgraph;
pub mod sys;
pub mod tracemalloc;

mod collect;
mod heap;

#[doc(hidden)]
pub use heap::RawObj;
pub use heap::{ClearedError, Finalize, Gc, GcAny, GcCell, Handle, Trace, Visitor, Weak};
pub use heap::{TRACKED_HEADER_SIZE, UNTRACKED_HEADER_SIZE};

/// Line-by-line memory of a function (`#[pygc::profile]`), and
/// `memory_usage` of a process, a pid or a closure: Python's memory_profiler.
pub use memory_profiler;

/// Profiles a function line by line and prints memory_profiler's table when
/// it returns (`@profile`). See [`memory_profiler`].
pub use pygc_derive::profile;

/// Derives [`Trace`]: every field is traced and its name labels the edge.
/// See the attribute options in the `pygc-derive` crate.
pub use pygc_derive::Trace;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

// Lets `#[derive(Trace)]` refer to `::pygc` from inside this crate's tests.
extern crate self as pygc;
