//! Running user code inside a collection: every call is caught, the first
//! panic is resumed once the heap is consistent again, later ones are
//! reported as CPython reports exceptions it cannot raise ("Exception
//! ignored in ...").

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Panics caught while user code ran inside a collection.
#[derive(Default)]
pub(crate) struct Panics {
    first: Option<Box<dyn Any + Send>>,
}

impl Panics {
    /// Keeps `payload` if it is the first, reports it otherwise.
    pub(crate) fn record(&mut self, where_: &str, payload: Box<dyn Any + Send>) {
        if self.first.is_none() {
            self.first = Some(payload);
        } else {
            eprintln!("Exception ignored in {where_}: panic: {}", message(payload.as_ref()));
        }
    }

    /// Runs `f`, catching its panic.
    pub(crate) fn guard(&mut self, where_: &str, f: impl FnOnce()) {
        if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
            self.record(where_, p);
        }
    }

    /// Resumes the first panic, if any.
    pub(crate) fn resume(self) {
        if let Some(p) = self.first {
            resume_unwind(p);
        }
    }
}

/// The text of a panic payload.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic>".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_panic_is_kept_and_resumed() {
        let mut p = Panics::default();
        p.guard("a", || panic!("first"));
        p.guard("b", || panic!("second"));
        p.guard("c", || {});
        let r = catch_unwind(AssertUnwindSafe(|| p.resume()));
        assert_eq!(message(r.unwrap_err().as_ref()), "first");
    }

    #[test]
    fn no_panic_resumes_nothing() {
        let mut p = Panics::default();
        p.guard("a", || {});
        p.resume();
    }
}
