//! Types shared by the integration tests.
#![allow(dead_code, missing_docs)]

use pygc::{Finalize, Gc, GcCell, Trace};
use std::cell::Cell;

/// A Python instance with one attribute, `ref`.
#[derive(Trace)]
pub struct Node {
    pub name: &'static str,
    pub r#ref: GcCell<Option<Gc<Node>>>,
}

impl Node {
    pub fn new(name: &'static str) -> Gc<Node> {
        Gc::new(Node { name, r#ref: GcCell::new(None) })
    }
    pub fn link(&self, to: &Gc<Node>) {
        *self.r#ref.borrow_mut() = Some(to.clone());
    }
}

thread_local! {
    pub static FINALIZED: Cell<usize> = const { Cell::new(0) };
    pub static DROPPED: Cell<usize> = const { Cell::new(0) };
}

pub fn finalized() -> usize {
    FINALIZED.with(Cell::get)
}
pub fn dropped() -> usize {
    DROPPED.with(Cell::get)
}

/// An instance with `__del__` (PEP 442 finalizer) that counts.
#[derive(Trace)]
#[pygc(finalize)]
pub struct WithDel {
    pub r#ref: GcCell<Option<Gc<WithDel>>>,
}

impl Finalize for WithDel {
    fn finalize(_: &Gc<Self>) {
        FINALIZED.with(|c| c.set(c.get() + 1));
    }
}

impl Drop for WithDel {
    fn drop(&mut self) {
        DROPPED.with(|c| c.set(c.get() + 1));
    }
}

pub fn with_del() -> Gc<WithDel> {
    Gc::new(WithDel { r#ref: GcCell::new(None) })
}

/// Whether the tests run under valgrind (heavy sizes scale down).
pub fn under_valgrind() -> bool {
    std::env::var_os("PYGC_UNDER_VALGRIND").is_some()
}

pub mod heap_model;
