//! # pygc-sync
//!
//! pygc's free-threaded heap: [`Gc<T>`] and [`Weak<T>`] that are `Send +
//! Sync`, [`GcMutex`] and [`GcRwLock`] the collector traces through, and
//! Python's [`gc`] module over one heap shared by every thread, built as
//! free-threaded CPython (PEP 703) builds its own:
//!
//! * **biased reference counting**: the thread that made an object counts
//!   it without atomics, other threads use an atomic shared count, and the
//!   owner merges the two when the shared count would go below zero or when
//!   it exits;
//! * **a stop-the-world collector**: threads park at safe points (every
//!   allocation, and [`safepoint()`]); a thread in [`detached`] counts as
//!   stopped; CPython's cycle detection runs with every thread stopped, and
//!   finalizers and weak callbacks run after the world restarts;
//! * **triggered by allocation counts**, never by RSS.
//!
//! ```
//! use pygc_sync::{gc, sync_trace, Gc, GcMutex};
//!
//! sync_trace! {
//!     struct Node { next: GcMutex<Option<Gc<Node>>> }
//! }
//!
//! let a = Gc::new(Node { next: GcMutex::new(None) });
//! let b = Gc::new(Node { next: GcMutex::new(Some(a.clone())) });
//! *a.next.lock() = Some(b.clone()); // a <-> b
//! let t = std::thread::spawn(move || drop(b)); // dropped on another thread
//! t.join().unwrap();
//! drop(a);
//! assert!(gc::collect() >= 2);
//! ```
//!
//! The single-threaded `pygc` heap is untouched: this is a separate crate,
//! opt-in. Layers, bottom-up: `count` (the biased protocol) and `world`
//! (the stop-the-world handshake), both model-checked with loom; `object`
//! (header, lists, the [`SyncTrace`] contract); `life` (birth, death);
//! `collect` (the passes); `handle` (the public types); [`gc`]. See
//! `docs/design/sync.md` for the invariants and the memory-ordering
//! argument.
#![warn(missing_docs)]

mod count;
mod sync;
mod world;

#[cfg(not(loom))]
mod collect;
#[cfg(not(loom))]
pub mod gc;
#[cfg(not(loom))]
mod handle;
#[cfg(not(loom))]
mod life;
#[cfg(not(loom))]
mod object;
#[cfg(not(loom))]
pub mod objgraph;
#[cfg(not(loom))]
mod runtime;
#[cfg(not(loom))]
mod tools;

#[cfg(not(loom))]
pub use collect::stats::{CollectionInfo, GcStats};
#[cfg(not(loom))]
pub use collect::visitors::{Edges, Mark, Subtract};
#[cfg(not(loom))]
pub use handle::any::GcAny;
#[cfg(not(loom))]
pub use handle::gc::{ClearedError, Gc};
#[cfg(not(loom))]
pub use handle::lock::{GcMutex, GcMutexGuard, GcReadGuard, GcRwLock, GcWriteGuard};
#[cfg(not(loom))]
pub use handle::weak::{Weak, WeakRef};
#[cfg(not(loom))]
pub use object::trace::{CollectorLock, Finalize, SyncTrace, Visitor};
pub use world::{StopPolicy, StopTimeout, ThreadState};

/// A safe point for loops that run long without allocating: parks the
/// thread if a collection is stopping the world (one relaxed load
/// otherwise).
#[cfg(not(loom))]
#[inline]
pub fn safepoint() {
    world::thread::safepoint()
}

#[cfg(not(loom))]
pub use world::thread::detached;

#[cfg(all(feature = "tracemalloc", not(loom)))]
pub use tools::get_object_traceback;
/// Python's `tracemalloc` (the `pygc-tracemalloc` crate): objects of the
/// shared heap are traced in its object domain while it traces.
#[cfg(all(feature = "tracemalloc", not(loom)))]
pub use tracemalloc;

/// The README's example, run as a doctest.
#[cfg(all(doctest, not(loom)))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The protocols, exposed to the loom models (`tests/loom.rs`) only.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::count::queue::MergeQueue;
    pub use crate::count::{Dec, RefCount, NOBODY, NO_OWNER};
    pub use crate::world::{World, STOP_BIT};
}
