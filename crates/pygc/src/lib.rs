//! # pygc
//!
//! CPython's memory management in Rust: [`Gc<T>`] handles with exact
//! reference counts and deterministic destruction, a generational cycle
//! collector with CPython's algorithm and the whole [`gc`] module surface,
//! objects allocated from obmalloc's pools, and the tools Python users
//! watch memory with: [`tracemalloc`], [`objgraph`] and
//! [`memory_profiler`] (cargo features, on by default).
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
//! This crate is an umbrella: the heap and the collector are `pygc-core`,
//! each tool is its own crate over `pygc_core::inspect`. With
//! `default-features = false` only the heap and the collector are built.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use pygc_core::*;

/// Python's `tracemalloc`: where memory was allocated, for pygc objects and
/// (through [`tracemalloc::Tracing`]) any Rust allocation.
#[cfg(feature = "tracemalloc")]
pub use tracemalloc;

/// objgraph: census, growth, reference chains and graphs of the heap.
#[cfg(feature = "objgraph")]
pub use objgraph;

/// Line-by-line memory of a function (`#[pygc::profile]`), and
/// `memory_usage` of a process, a pid or a closure: Python's memory_profiler.
#[cfg(feature = "memory-profiler")]
pub use memory_profiler;

/// Profiles a function line by line and prints memory_profiler's table when
/// it returns (`@profile`). See [`memory_profiler`].
#[cfg(feature = "memory-profiler")]
pub use pygc_derive::profile;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "tracemalloc", feature = "objgraph"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
