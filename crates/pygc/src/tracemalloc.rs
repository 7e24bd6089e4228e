//! Python's `tracemalloc`: where memory was allocated.
//!
//! Everything of the `pygc-tracemalloc` crate, plus
//! [`get_object_traceback`] for objects of the pygc heap. Two domains:
//! [`OBJECT_DOMAIN`] holds pygc objects (their allocation site comes from
//! `#[track_caller]` on `Gc::new`, nearly free), [`RUST_DOMAIN`] holds any
//! Rust allocation when [`Tracing`] wraps the global allocator.
//!
//! ```
//! use pygc::{tracemalloc, Gc};
//! tracemalloc::start(1).unwrap();
//! let x = Gc::new([0u8; 100]);
//! let tb = tracemalloc::get_object_traceback(&x).expect("traced");
//! assert!(tb.to_string().ends_with(&format!(":{}", line!() - 2)));
//! let snapshot = tracemalloc::take_snapshot().unwrap();
//! assert!(!snapshot.statistics("lineno", false).unwrap().is_empty());
//! tracemalloc::stop();
//! ```

pub use ::tracemalloc::*;

use crate::heap::header::TRACED;
use crate::Handle;

/// Where the object was allocated (`tracemalloc.get_object_traceback`):
/// `None` if it was allocated while tracing was off.
pub fn get_object_traceback(obj: &impl Handle) -> Option<Traceback> {
    let p = obj.raw().0;
    if p.flags() & TRACED == 0 {
        return None;
    }
    get_traceback(OBJECT_DOMAIN, p.value_ptr() as usize)
}
