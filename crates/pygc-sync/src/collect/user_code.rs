//! Calls into user code from the heap's own paths (finalizers, weak
//! callbacks, values dropped by the collector, gc callbacks): a panic is
//! caught and reported as CPython reports an exception raised in `__del__`
//! ("Exception ignored in ..."), and the heap carries on.

use parking_lot::Mutex;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// What a caught panic was and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unraisable {
    /// "finalizer", "weakref callback", "drop", "gc callback".
    pub kind: &'static str,
    /// The type whose code panicked (empty if none).
    pub type_name: &'static str,
    /// The panic's message.
    pub message: String,
    /// The thread it ran on.
    pub thread: String,
}

type Hook = Box<dyn Fn(&Unraisable) + Send + Sync>;
static HOOK: Mutex<Option<Hook>> = Mutex::new(None);
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// Replaces the report of caught panics (`sys.unraisablehook`); `None`
/// restores the default, a line on stderr.
pub fn set_unraisable_hook(hook: Option<Hook>) {
    let old = std::mem::replace(&mut *HOOK.lock(), hook);
    drop(old);
}

/// How many panics of user code the heap caught so far.
pub fn unraisable_count() -> usize {
    COUNT.load(Relaxed)
}

/// Runs `f`, catching and reporting its panic.
pub(crate) fn guarded(kind: &'static str, type_name: &'static str, f: impl FnOnce()) -> bool {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => true,
        Err(e) => {
            let message = e
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic>".into());
            let u = Unraisable {
                kind,
                type_name,
                message,
                thread: std::thread::current().name().unwrap_or("<unnamed>").to_owned(),
            };
            COUNT.fetch_add(1, Relaxed);
            // The hook is user code too; a panic in it is dropped.
            let _ = catch_unwind(AssertUnwindSafe(|| match &*HOOK.lock() {
                Some(h) => h(&u),
                None => eprintln!(
                    "Exception ignored in {} of {}: panic on thread {}: {}",
                    u.kind,
                    crate::gc::short_name(u.type_name),
                    u.thread,
                    u.message
                ),
            }));
            drop(e);
            false
        }
    }
}
