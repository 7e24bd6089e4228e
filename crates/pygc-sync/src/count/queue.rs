//! The owner's merge queue: objects whose shared count a non-owner would
//! have taken below zero. Each entry holds one reference.
//!
//! The queue is closed when its thread exits, under the same lock as every
//! push, so a pusher either hands the object to a thread that will merge it
//! or learns that the owner is gone, and then merges it itself (the owner's
//! last write to `local` happened before the close).

use crate::sync::{lock, Mutex};

/// One thread's queue; `None` once the thread has exited.
#[derive(Debug)]
pub struct MergeQueue<P> {
    inner: Mutex<Option<Vec<P>>>,
}

impl<P> MergeQueue<P> {
    /// An open, empty queue.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        MergeQueue { inner: Mutex::new(Some(Vec::new())) }
    }

    /// Gives `p` (and the reference it carries) to the owner; `Err(p)` if
    /// the owner has exited: the caller merges it.
    pub fn push(&self, p: P) -> Result<(), P> {
        match lock(&self.inner).as_mut() {
            Some(v) => {
                v.push(p);
                Ok(())
            }
            None => Err(p),
        }
    }

    /// Takes the entries to merge (the owner at a safe point, or the
    /// collector while the owner is stopped).
    pub fn take(&self) -> Vec<P> {
        lock(&self.inner).as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Closes the queue (the owner exits) and returns what was left.
    pub fn close(&self) -> Vec<P> {
        lock(&self.inner).take().unwrap_or_default()
    }
}
