//! `weakref.finalize`: a function that runs once, when an object dies (by
//! reference count or by the collector), when it is called early, or when
//! the object's heap is torn down, unless it was detached.
//!
//! Each live finalizer is owned by the thread's registry (CPython's
//! `finalize._registry`), so dropping the [`Finalizer`] handle changes
//! nothing. The registry holds the state; the weak handle's callback holds
//! only an `rc::Weak` to it, so no cycle of `Rc`s is formed.
//!
//! Teardown (CPython's `atexit` hook, `finalize._exitfunc`):
//!
//! * [`Heap`](crate::Heap) drop calls [`heap_teardown`] first, with the
//!   heap entered and every object intact, and again after its final
//!   collections: the heap's live finalizers whose `atexit` is true run,
//!   newest first (a finalizer made meanwhile is picked up), and those
//!   whose `atexit` is false are discarded without being called (CPython's
//!   `finalize._shutdown`).
//! * The thread's default heap ends with the thread: the registry's own
//!   thread-local destructor does the same for every finalizer still
//!   registered. That is sound whatever order thread-locals are destroyed
//!   in: a heap already gone only makes the weak handles' releases no-ops
//!   (their blocks leak, see `life/dealloc.rs`). A finalizer created while
//!   that pass runs is born dead: the registry is gone.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak as RcWeak};

use crate::collect::user_code::message;
use crate::handle::gc::Gc;
use crate::handle::pointee::GcPointee;
use crate::handle::weak::Weak;
use crate::object::trace::{Trace, Visitor};

/// The function of a finalizer, as [`Finalizer::detach`] gives it back.
pub type FinalizerFn = Box<dyn FnOnce()>;

/// A handle to a finalizer (`weakref.finalize` object), returned by
/// [`finalize`]. Clones are the same finalizer. Dropping every handle does
/// not cancel it: use [`detach`](Finalizer::detach).
pub struct Finalizer<T: ?Sized + GcPointee> {
    state: Rc<State<T>>,
}

/// A finalizer's state, owned by the registry while it is alive.
///
/// Invariant: `alive` is true exactly while `func` and `weak` are `Some`
/// and it has not run, been detached or discarded; the registry holds it
/// while alive (the teardown pass takes it out just before running it).
struct State<T: ?Sized + GcPointee> {
    /// Creation order: the registry's key.
    index: u64,
    /// The heap slot of the object.
    slot: u16,
    alive: Cell<bool>,
    atexit: Cell<bool>,
    /// Carries the callback that runs `func` when the object dies.
    weak: RefCell<Option<Weak<T>>>,
    func: RefCell<Option<FinalizerFn>>,
    /// For `Debug`.
    type_name: &'static str,
    id: usize,
}

/// What the registry sees of a finalizer of any type.
trait Registered {
    fn fire(&self) -> bool;
    fn discard(&self);
    fn slot(&self) -> u16;
    fn atexit(&self) -> bool;
    fn describe(&self) -> String;
}

struct Registry {
    live: RefCell<BTreeMap<u64, Rc<dyn Registered>>>,
    next: Cell<u64>,
}

thread_local! {
    static REGISTRY: Registry = const { Registry { live: RefCell::new(BTreeMap::new()), next: Cell::new(0) } };
}

/// Registers `func` to run once when `obj` dies (by reference count or by
/// the collector), as `weakref.finalize(obj, func)`; or when the heap of
/// `obj` is torn down, if it is still alive then (see
/// [`Finalizer::set_atexit`]).
///
/// ```
/// use pygc::{gc, weakref, Gc, GcCell, Trace};
/// use std::{cell::Cell, rc::Rc};
///
/// #[derive(Trace)]
/// struct Node { next: GcCell<Option<Gc<Node>>> }
///
/// let ran = Rc::new(Cell::new(0));
/// let r = ran.clone();
/// let a = Gc::new(Node { next: GcCell::new(None) });
/// *a.next.borrow_mut() = Some(a.clone());            // a cycle
/// let f = weakref::finalize(&a, move || r.set(r.get() + 1));
/// assert!(f.alive());
/// drop(a);
/// gc::collect();                                     // the collector frees it: func runs
/// assert_eq!(ran.get(), 1);
/// assert!(!f.alive());
/// assert!(!f.call(), "once only");
/// ```
///
/// As in CPython, `func` must not own a strong handle to `obj`: it would
/// keep the object alive, and the finalizer would only run at teardown.
/// The finalizer lives in this thread's registry: dropping the returned
/// handle does not cancel it.
///
/// # Teardown (CPython's `atexit` pass)
///
/// When a [`Heap`](crate::Heap) is dropped, before its final collection,
/// the live finalizers of its objects run, newest first, if their
/// [`atexit`](Finalizer::atexit) is true; the others are discarded without
/// running (CPython's `finalize._shutdown`). Finalizers made meanwhile are
/// included, and the pass runs again once the heap's last collection is
/// over. The thread's default heap ends with its thread: the same pass runs
/// from the registry's thread-local destructor, over every finalizer still
/// registered. On the main thread that is when `main` returns, on platforms
/// that run the main thread's thread-local destructors (Linux with glibc
/// does; Rust does not promise it): a program that needs its finalizers at
/// exit should use an explicit `Heap` and drop it. A finalizer made while
/// the thread-exit pass runs is born dead. Panics in a teardown pass are
/// reported on stderr (`Exception ignored in: <finalize object …>`) and the
/// pass goes on; panics of a finalizer run at its object's death propagate
/// as those of any weakref callback.
///
/// If the collector has already condemned `obj` (it cleared its weak
/// references: only a PEP 442 finalizer of the same garbage can still see
/// it), the finalizer runs when the object dies by reference count (if the
/// finalizer resurrected it) or, at the latest, at its heap's teardown.
pub fn finalize<T: ?Sized + GcPointee>(obj: &Gc<T>, func: impl FnOnce() + 'static) -> Finalizer<T> {
    let o = obj.obj();
    let index = REGISTRY
        .try_with(|r| {
            let i = r.next.get();
            r.next.set(i + 1);
            i
        })
        .ok();
    let state = Rc::new_cyclic(|me: &RcWeak<State<T>>| {
        let me = me.clone();
        let weak = Gc::downgrade_with_callback(obj, move || {
            if let Some(state) = me.upgrade() {
                state.fire();
            }
        });
        State {
            index: index.unwrap_or(u64::MAX),
            slot: o.heap_slot(),
            // Thread teardown (no registry): born dead, never called.
            alive: Cell::new(index.is_some()),
            atexit: Cell::new(true),
            weak: RefCell::new(Some(weak)),
            func: RefCell::new(Some(Box::new(func))),
            type_name: o.type_name(),
            id: Gc::id(obj),
        }
    });
    if let Some(i) = index {
        let entry: Rc<dyn Registered> = state.clone();
        REGISTRY.with(|r| r.live.borrow_mut().insert(i, entry));
    }
    Finalizer { state }
}

impl<T: ?Sized + GcPointee> State<T> {
    /// Leaves the registry (if it is still there) and gives up the weak
    /// handle and the function, to be used or dropped by the caller outside
    /// every borrow.
    fn kill(&self) -> Option<FinalizerFn> {
        self.alive.set(false);
        let entry = REGISTRY.try_with(|r| r.live.borrow_mut().remove(&self.index)).ok().flatten();
        let weak = self.weak.borrow_mut().take();
        let func = self.func.borrow_mut().take();
        // The caller holds the state too, so this is not its last `Rc`.
        drop(entry);
        drop(weak);
        func
    }
}

impl<T: ?Sized + GcPointee> Registered for State<T> {
    fn fire(&self) -> bool {
        if !self.alive.get() {
            return false;
        }
        if let Some(func) = self.kill() {
            func();
        }
        true
    }

    fn discard(&self) {
        if self.alive.get() {
            drop(self.kill());
        }
    }

    fn slot(&self) -> u16 {
        self.slot
    }

    fn atexit(&self) -> bool {
        self.atexit.get()
    }

    fn describe(&self) -> String {
        describe(self)
    }
}

fn describe<T: ?Sized + GcPointee>(s: &State<T>) -> String {
    let at = std::ptr::from_ref(s).addr();
    if s.alive.get() {
        format!("<finalize object at {at:#x}; for '{}' at {:#x}>", s.type_name, s.id)
    } else {
        format!("<finalize object at {at:#x}; dead>")
    }
}

impl<T: ?Sized + GcPointee> Finalizer<T> {
    /// Whether the finalizer will still run (`f.alive`): it has not run,
    /// been called, detached or discarded.
    pub fn alive(&self) -> bool {
        self.state.alive.get()
    }

    /// Runs the function now if the finalizer is alive (`f()`), and marks it
    /// dead; returns whether it ran. It never runs again.
    ///
    /// ```
    /// use pygc::{weakref, Gc};
    /// use std::{cell::Cell, rc::Rc};
    /// let ran = Rc::new(Cell::new(0));
    /// let r = ran.clone();
    /// let obj = Gc::new(5u32);
    /// let f = weakref::finalize(&obj, move || r.set(r.get() + 1));
    /// assert!(f.call());
    /// assert!(!f.call());
    /// drop(obj);
    /// assert_eq!(ran.get(), 1);
    /// ```
    pub fn call(&self) -> bool {
        self.state.fire()
    }

    /// Cancels the finalizer if it is alive and its object too
    /// (`f.detach()`): returns the object and the function, which will not
    /// run unless you call it.
    ///
    /// ```
    /// use pygc::{weakref, Gc};
    /// let obj = Gc::new(String::from("x"));
    /// let f = weakref::finalize(&obj, || unreachable!("detached"));
    /// let (back, func) = f.detach().expect("alive");
    /// assert!(Gc::ptr_eq(&back, &obj));
    /// assert!(!f.alive() && f.detach().is_none());
    /// drop((obj, back, func));
    /// ```
    pub fn detach(&self) -> Option<(Gc<T>, FinalizerFn)> {
        let s = &self.state;
        if !s.alive.get() {
            return None;
        }
        let obj = s.weak.borrow().as_ref().and_then(Weak::upgrade)?;
        let func = s.kill()?;
        Some((obj, func))
    }

    /// The object, if the finalizer and the object are alive (`f.peek()`).
    #[must_use]
    pub fn peek(&self) -> Option<Gc<T>> {
        let s = &self.state;
        if !s.alive.get() {
            return None;
        }
        s.weak.borrow().as_ref().and_then(Weak::upgrade)
    }

    /// Whether the finalizer runs at its heap's teardown if its object is
    /// still alive then (`f.atexit`; true by default). False once dead.
    pub fn atexit(&self) -> bool {
        self.alive() && self.state.atexit.get()
    }

    /// Sets [`atexit`](Self::atexit) (no effect once dead). A finalizer
    /// whose `atexit` is false and whose object outlives the teardown of
    /// its heap (or its thread, for the default heap) never runs.
    pub fn set_atexit(&self, atexit: bool) {
        if self.alive() {
            self.state.atexit.set(atexit);
        }
    }
}

impl<T: ?Sized + GcPointee> Clone for Finalizer<T> {
    fn clone(&self) -> Self {
        Finalizer { state: self.state.clone() }
    }
}

impl<T: ?Sized + GcPointee> fmt::Debug for Finalizer<T> {
    /// `<finalize object at 0x…; for 'T' at 0x…>`, or `; dead>`, as CPython.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(&self.state))
    }
}

// SAFETY: holds no strong handle (TRACKED = false) and reports nothing. The
// weak handle inside is deliberately not reported: the registry owns it, not
// the object holding this handle, so a finalizer held by garbage must still
// run when its object is collected (a reported weak handle inside the
// garbage would have its callback dropped, as CPython drops the callbacks of
// weakrefs that are garbage themselves).
unsafe impl<T: ?Sized + GcPointee> Trace for Finalizer<T> {
    const TRACKED: bool = false;
    const FROZEN: bool = true;
    fn trace<V: Visitor>(&self, _: &mut V) {}
}

impl Registry {
    /// The teardown pass for the finalizers `selected` picks (by heap slot):
    /// those whose `atexit` is true run, newest first, each taken out of the
    /// registry before it runs (re-selecting after each, since a finalizer
    /// may create or kill others); then the rest are discarded. Panics are
    /// reported, as CPython reports exceptions raised by atexit finalizers,
    /// and the pass goes on.
    fn teardown(&self, selected: impl Fn(u16) -> bool) {
        loop {
            let next = {
                let mut live = self.live.borrow_mut();
                let key = live.iter().rev().find(|(_, f)| f.atexit() && selected(f.slot())).map(|(&k, _)| k);
                key.and_then(|k| live.remove(&k))
            };
            let Some(f) = next else { break };
            ignore_panic(&*f, || {
                f.fire();
            });
        }
        let rest: Vec<Rc<dyn Registered>> = {
            let mut live = self.live.borrow_mut();
            let keys: Vec<u64> = live.iter().filter(|(_, f)| selected(f.slot())).map(|(&k, _)| k).collect();
            keys.iter().filter_map(|k| live.remove(k)).collect()
        };
        for f in rest {
            ignore_panic(&*f, || f.discard());
        }
    }
}

fn ignore_panic(f: &dyn Registered, run: impl FnOnce()) {
    let what = f.describe();
    if let Err(p) = catch_unwind(AssertUnwindSafe(run)) {
        eprintln!("Exception ignored in: {what}: panic: {}", message(p.as_ref()));
    }
}

impl Drop for Registry {
    /// Thread exit: the end of the thread's default heap.
    fn drop(&mut self) {
        self.teardown(|_| true);
    }
}

/// The heap of `slot` is being dropped: its atexit finalizers run, the
/// others are discarded (see the module docs). Called by `Heap`'s `Drop`.
pub(crate) fn heap_teardown(slot: u16) {
    let _ = REGISTRY.try_with(|r| r.teardown(|s| s == slot));
}
