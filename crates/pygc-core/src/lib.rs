//! # pygc-core
//!
//! The heap and the collector of [pygc](https://docs.rs/pygc): [`Gc<T>`]
//! handles with exact reference counts and deterministic destruction,
//! CPython 3.11's generational cycle collector with the whole [`gc`] module
//! surface, objects allocated from obmalloc's pools, and the [`inspect`]
//! seam the monitoring tools are built on. Most users depend on `pygc`,
//! which re-exports this crate with the tools.
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
//! The modules read bottom-up, each layer using only those below it (with
//! one exception, written where it is: an allocation may start a
//! collection):
//!
//! 1. `object`: the block layout, headers, links and lists, the per-type
//!    table, the [`Trace`] contract;
//! 2. `state` and `life`: a heap's lists, schedule, phase guard and side
//!    tables; birth and death of objects;
//! 3. `collect`: CPython's passes;
//! 4. `handle`: [`Gc`], [`Weak`], [`GcCell`], [`GcAny`];
//! 5. [`inspect`]: pinned snapshots, labelled edges, hooks, for the tools;
//! 6. [`gc`], [`sys`], [`Heap`]: the Python-named surface, thin, and heaps
//!    as values.
//!
//! Handles are `!Send`: each thread has its own heap, as each CPython
//! interpreter has its own. See `docs/design/heap.md` for the invariants.
#![warn(missing_docs)]

mod addr_hash;
mod collect;
mod handle;
mod life;
mod object;
mod state;

pub mod gc;
mod heap;
pub mod inspect;
pub mod sys;
pub mod weakref;

pub use heap::{HandoverError, Heap, HeapUsage, MemoryError, Refusal, SendHeap};

#[doc(hidden)]
pub use handle::any::RawObj;
pub use handle::any::{GcAny, Handle};
pub use handle::cell::GcCell;
pub use handle::ephemeron::EphemeronMap;
pub use handle::gc::{ClearedError, Gc};
pub use handle::pointee::GcPointee;
pub use handle::weak::Weak;
pub use object::header::{TRACKED_HEADER_SIZE, UNTRACKED_HEADER_SIZE};
pub use object::trace::{Finalize, Trace, Visitor};
pub use object::type_info::short_type_name;

/// Derives [`Trace`]: every field is traced and its name labels the edge.
/// Outside the `pygc` umbrella crate, add `#[pygc(crate = pygc_core)]`.
pub use pygc_derive::Trace;

// Lets `#[derive(Trace)]` refer to `::pygc` from inside this crate.
extern crate self as pygc;
