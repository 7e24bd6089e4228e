//! The object domain: objects of the pygc heap, seen through pygc-core's
//! allocation and free hooks (installed while tracing, so the heap pays one
//! load and a branch per allocation when it is not). The allocation site is
//! the caller of `Gc::new` (`#[track_caller]`); deeper frames are native.

use pygc_core::inspect::{self, AllocEvent, ObjectHooks};

use crate::{get_traceback, is_tracing, track_object, untrack, Traceback, OBJECT_DOMAIN};

static HOOKS: ObjectHooks = ObjectHooks { on_alloc, on_free };

fn on_alloc(e: AllocEvent) {
    if is_tracing() {
        track_object(e.id, e.size, e.caller);
    }
}

fn on_free(id: usize) {
    untrack(OBJECT_DOMAIN, id);
}

pub(crate) fn install() {
    inspect::set_object_hooks(Some(&HOOKS));
}

pub(crate) fn uninstall() {
    inspect::set_object_hooks(None);
}

/// Where the object was allocated (`tracemalloc.get_object_traceback`):
/// `None` if it was allocated while tracing was off.
///
/// ```
/// use pygc_core::Gc;
/// tracemalloc::start(1).unwrap();
/// let x = Gc::new([0u8; 100]);
/// let tb = tracemalloc::get_object_traceback(&x).expect("traced");
/// assert!(tb.to_string().ends_with(&format!(":{}", line!() - 2)));
/// tracemalloc::stop();
/// ```
pub fn get_object_traceback(obj: &impl pygc_core::Handle) -> Option<Traceback> {
    get_traceback(OBJECT_DOMAIN, inspect::id(obj))
}
