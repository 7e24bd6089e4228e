//! Procedural macros for pygc.
//!
//! * `#[derive(Trace)]` — see `trace.rs`.
//! * `#[profile]` — see `profile.rs`.
#![forbid(unsafe_code)]

mod profile;
mod trace;

use proc_macro::TokenStream;

/// Derives `pygc::Trace` for a struct or enum: every field is traced, and
/// its name becomes the edge label objgraph draws.
///
/// Attributes: `#[pygc(skip)]` on a field leaves it out (it must hold no
/// `Gc`, or the objects it holds will look externally referenced and leak)
/// and makes the type stay on its thread unless written
/// `#[pygc(skip, send)]`, which requires the field to be `Send` (see
/// `Trace::SEND` and `Heap::into_send`);
/// `#[pygc(finalize)]` on the type calls its `pygc::Finalize` impl once before
/// the collector clears it; `#[pygc(finalize, legacy)]` makes the type a legacy
/// (`tp_del`) finalizer, which the collector never frees from a cycle.
#[proc_macro_derive(Trace, attributes(pygc))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    trace::derive(input.into()).into()
}

/// Profiles a function line by line, as memory_profiler's `@profile` does:
/// when the function returns it prints, for each line, the memory after the
/// line ran, the increment summed over its occurrences, and how often it ran.
///
/// Arguments: `precision = N`, `measure = Rss | Heap | Auto`,
/// `stream = <impl io::Write>`, `crate = <path to the runtime>`.
#[proc_macro_attribute]
pub fn profile(attr: TokenStream, item: TokenStream) -> TokenStream {
    profile::expand(attr.into(), item.into()).into()
}
