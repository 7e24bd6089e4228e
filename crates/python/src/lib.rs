//! # pygc-python
//!
//! A Python interpreter whose every heap object is a pygc object: the
//! reference counts, the cycle collector and the tools are pygc's.
//!
//! The pipeline, one module per stage: source → AST (`ruff_python_parser`)
//! → [`compile`] (scope analysis, then bytecode) → [`bytecode`] → the
//! evaluation loop in [`vm`]. Built-in functions and types are in
//! [`builtins`], built-in modules in [`modules`], one file each.
// The only `unsafe` is in the few hand-written `Trace` impls (instances,
// dicts, the track-at-birth marker), each allowed where it is written.
#![deny(unsafe_code)]

pub mod builtins;
pub mod bytecode;
pub mod compile;
pub mod modules;
pub mod object;
pub mod run;
pub mod vm;

pub use run::{run_file, run_source, Outcome};
