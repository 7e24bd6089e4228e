//! `#[profile]` with no `crate =` argument expands to
//! `::pygc::memory_profiler::...`, the path users of `pygc` have. This test
//! crate plays `pygc`: it names itself `pygc` and re-exports the runtime.

extern crate self as pygc;

/// What `pygc` re-exports.
pub mod memory_profiler {
    pub use ::memory_profiler::*;
}

use pygc_derive::profile;

#[profile(stream = std::io::sink())]
fn plain(n: usize) -> usize {
    let v = vec![0u8; n];
    v.len()
}

#[test]
fn default_path_resolves_through_pygc() {
    assert_eq!(plain(10), 10);
}
