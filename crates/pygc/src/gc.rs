//! Python's `gc` module, over this thread's heap.
//!
//! Same names and numbers as CPython 3.11: `collect()` returns collected +
//! uncollectable, thresholds default to (700, 10, 10), a collection inside a
//! collection returns 0, and the `DEBUG_*` flags print CPython's lines.
//!
//! ```
//! use pygc::{gc, Gc, GcCell, Trace};
//!
//! #[derive(Trace)]
//! struct Node { r#ref: GcCell<Option<Gc<Node>>> }
//!
//! assert_eq!(gc::collect(), 0);                  // gc.collect() → 0
//! let a = Gc::new(Node { r#ref: GcCell::new(None) });
//! *a.r#ref.borrow_mut() = Some(a.clone());       // a.ref = a
//! drop(a);                                       // del a
//! assert_eq!(gc::collect(), 1);                  // gc.collect() → 1
//! ```

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use crate::collect::{
    self, list,
    visitors::{CoreVisitor, Mode},
};
use crate::heap::any::{GcAny, Handle};
use crate::heap::state::{self, NUM_GENERATIONS};

/// Errors of the `gc` functions, with CPython's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcError {
    /// `collect(generation)` outside 0..=2.
    InvalidGeneration,
    /// `get_objects(generation)` with generation ≥ 3.
    GenerationTooLarge,
    /// A threshold that does not fit CPython's C `int`.
    ThresholdOverflow(usize),
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::InvalidGeneration => f.write_str("invalid generation"),
            GcError::GenerationTooLarge => {
                f.write_str("generation parameter must be less than the number of available generations (3)")
            }
            GcError::ThresholdOverflow(v) => {
                write!(f, "threshold {v} is greater than the maximum of a C int (2147483647)")
            }
        }
    }
}

impl std::error::Error for GcError {}

/// Debug flags for [`set_debug`], CPython's `gc.DEBUG_*`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct DebugFlags(u32);

impl DebugFlags {
    /// Print statistics of each collection (`DEBUG_STATS`, 1).
    pub const STATS: DebugFlags = DebugFlags(1);
    /// Print collectable objects found (`DEBUG_COLLECTABLE`, 2).
    pub const COLLECTABLE: DebugFlags = DebugFlags(2);
    /// Print uncollectable objects found (`DEBUG_UNCOLLECTABLE`, 4).
    pub const UNCOLLECTABLE: DebugFlags = DebugFlags(4);
    /// Save all unreachable objects in [`garbage`] instead of freeing them
    /// (`DEBUG_SAVEALL`, 32).
    pub const SAVEALL: DebugFlags = DebugFlags(32);
    /// `COLLECTABLE | UNCOLLECTABLE | SAVEALL` (`DEBUG_LEAK`, 38).
    pub const LEAK: DebugFlags = DebugFlags(38);

    /// No flags.
    pub const fn empty() -> DebugFlags {
        DebugFlags(0)
    }
    /// The integer value, as Python's `gc.get_debug()`.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Flags from CPython's integer (unknown bits are kept, as CPython does).
    pub const fn from_bits(bits: u32) -> DebugFlags {
        DebugFlags(bits)
    }
    /// Whether all of `other` is set.
    pub const fn contains(self, other: DebugFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for DebugFlags {
    type Output = DebugFlags;
    fn bitor(self, rhs: DebugFlags) -> DebugFlags {
        DebugFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for DebugFlags {
    fn bitor_assign(&mut self, rhs: DebugFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for DebugFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DebugFlags({})", self.0)
    }
}

/// `gc.DEBUG_STATS`.
pub const DEBUG_STATS: DebugFlags = DebugFlags::STATS;
/// `gc.DEBUG_COLLECTABLE`.
pub const DEBUG_COLLECTABLE: DebugFlags = DebugFlags::COLLECTABLE;
/// `gc.DEBUG_UNCOLLECTABLE`.
pub const DEBUG_UNCOLLECTABLE: DebugFlags = DebugFlags::UNCOLLECTABLE;
/// `gc.DEBUG_SAVEALL`.
pub const DEBUG_SAVEALL: DebugFlags = DebugFlags::SAVEALL;
/// `gc.DEBUG_LEAK`.
pub const DEBUG_LEAK: DebugFlags = DebugFlags::LEAK;

/// One generation's entry of [`get_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Collections of this generation.
    pub collections: usize,
    /// Objects collected by them.
    pub collected: usize,
    /// Uncollectable objects they found.
    pub uncollectable: usize,
}

impl GenerationStats {
    pub(crate) const ZERO: GenerationStats =
        GenerationStats { collections: 0, collected: 0, uncollectable: 0 };
}

/// The phase a gc callback is called for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before a collection (`"start"`).
    Start,
    /// After a collection (`"stop"`).
    Stop,
}

impl Phase {
    /// `"start"` or `"stop"`, as CPython passes.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Stop => "stop",
        }
    }
}

/// The `info` dict passed to gc callbacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallbackInfo {
    /// The generation being collected.
    pub generation: usize,
    /// Objects collected (0 at start).
    pub collected: usize,
    /// Uncollectable objects found (0 at start).
    pub uncollectable: usize,
}

/// Identifies a registered callback, for [`remove_callback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

/// Enables automatic collection (`gc.enable()`).
///
/// ```
/// pygc::gc::disable();
/// pygc::gc::enable();
/// assert!(pygc::gc::isenabled());
/// ```
pub fn enable() {
    state::with(|h| h.enabled.set(true))
}

/// Disables automatic collection; [`collect`] still works (`gc.disable()`).
///
/// ```
/// pygc::gc::disable();
/// assert!(!pygc::gc::isenabled());
/// assert_eq!(pygc::gc::collect(), 0);
/// ```
pub fn disable() {
    state::with(|h| h.enabled.set(false))
}

/// Whether automatic collection is enabled (`gc.isenabled()`).
///
/// ```
/// assert!(pygc::gc::isenabled());
/// ```
pub fn isenabled() -> bool {
    state::with(|h| h.enabled.get())
}

/// A full collection (`gc.collect()`): the number of unreachable objects
/// found, collected plus uncollectable; 0 if called during a collection.
pub fn collect() -> usize {
    state::with(|h| collect::run(h, NUM_GENERATIONS - 1))
}

/// Collects `generation` and all younger ones (`gc.collect(generation)`).
///
/// ```
/// use pygc::gc;
/// assert_eq!(gc::collect_generation(0), Ok(0));
/// assert_eq!(gc::collect_generation(3).unwrap_err().to_string(), "invalid generation");
/// ```
pub fn collect_generation(generation: usize) -> Result<usize, GcError> {
    if generation >= NUM_GENERATIONS {
        return Err(GcError::InvalidGeneration);
    }
    Ok(state::with(|h| collect::run(h, generation)))
}

/// `(count0, count1, count2)` (`gc.get_count()`): tracked allocations minus
/// deallocations since the last collection, then collections of the younger
/// generation since the last collection of each older one.
///
/// ```
/// use pygc::{gc, Gc};
/// let v = Gc::new(Vec::<Gc<Vec<u8>>>::new()); // a container: counted
/// let s = Gc::new(String::new());             // holds no handles: not counted
/// assert_eq!(gc::get_count(), (1, 0, 0));
/// gc::collect_generation(0).unwrap();
/// assert_eq!(gc::get_count(), (0, 1, 0));
/// # drop((v, s));
/// ```
pub fn get_count() -> (usize, usize, usize) {
    state::with(|h| (h.count[0].get(), h.count[1].get(), h.count[2].get()))
}

/// The collection thresholds (`gc.get_threshold()`), (700, 10, 10) by default.
///
/// ```
/// assert_eq!(pygc::gc::get_threshold(), (700, 10, 10));
/// ```
pub fn get_threshold() -> (usize, usize, usize) {
    state::with(|h| (h.threshold[0].get(), h.threshold[1].get(), h.threshold[2].get()))
}

/// Sets the thresholds (`gc.set_threshold(t0, t1, t2)`). `t0 = 0` turns
/// automatic collection off. Values must fit CPython's C `int`.
///
/// ```
/// use pygc::gc;
/// gc::set_threshold(1000, 15, 15).unwrap();
/// assert_eq!(gc::get_threshold(), (1000, 15, 15));
/// assert!(gc::set_threshold(usize::MAX, 10, 10).is_err());
/// ```
pub fn set_threshold(t0: usize, t1: usize, t2: usize) -> Result<(), GcError> {
    for t in [t0, t1, t2] {
        if t > i32::MAX as usize {
            return Err(GcError::ThresholdOverflow(t));
        }
    }
    state::with(|h| {
        h.threshold[0].set(t0);
        h.threshold[1].set(t1);
        h.threshold[2].set(t2);
    });
    Ok(())
}

/// Tracked objects of generation `g`, or of all generations with `None`
/// (`gc.get_objects(generation=None)`); the permanent generation is left out.
///
/// ```
/// use pygc::{gc, Gc, GcCell};
/// let list = Gc::new(GcCell::new(Vec::<Gc<u8>>::new()));
/// let objects = gc::get_objects(None).unwrap();
/// assert_eq!(objects, vec![Gc::to_any(&list)]);
/// assert!(gc::get_objects(Some(3)).is_err());
/// ```
pub fn get_objects(generation: Option<usize>) -> Result<Vec<GcAny>, GcError> {
    let gens = match generation {
        None => 0..NUM_GENERATIONS,
        Some(g) if g < NUM_GENERATIONS => g..g + 1,
        Some(_) => return Err(GcError::GenerationTooLarge),
    };
    Ok(state::with(|h| gens.flat_map(|g| list::objects(h.head(g))).map(GcAny::from_ptr_incref).collect()))
}

/// Objects of generations 0–2 that hold a strong handle to any of `objs`
/// (`gc.get_referrers(*objs)`).
///
/// ```
/// use pygc::{gc, Gc};
/// let leaf = Gc::new(1u32);
/// let holder = Gc::new(vec![leaf.clone()]);
/// assert_eq!(gc::get_referrers(&[&leaf]), vec![Gc::to_any(&holder)]);
/// ```
pub fn get_referrers(objs: &[&dyn Handle]) -> Vec<GcAny> {
    let targets: std::collections::HashSet<usize> = objs.iter().map(|o| o.raw().0.addr()).collect();
    state::with(|h| {
        let mut out = Vec::new();
        let mut edges = Vec::new();
        for g in 0..NUM_GENERATIONS {
            for p in list::objects(h.head(g)) {
                edges.clear();
                CoreVisitor::new(Mode::Edges(&mut edges)).trace(p);
                if edges.iter().any(|e| targets.contains(&e.addr())) {
                    out.push(GcAny::from_ptr_incref(p));
                }
            }
        }
        out
    })
}

/// Objects directly held by any of `objs`, in trace order
/// (`gc.get_referents(*objs)`).
///
/// ```
/// use pygc::{gc, Gc};
/// let leaf = Gc::new(1u32);
/// let holder = Gc::new(vec![leaf.clone()]);
/// assert_eq!(gc::get_referents(&[&holder]), vec![Gc::to_any(&leaf)]);
/// ```
pub fn get_referents(objs: &[&dyn Handle]) -> Vec<GcAny> {
    let mut edges = Vec::new();
    for o in objs {
        CoreVisitor::new(Mode::Edges(&mut edges)).trace(o.raw().0);
    }
    edges.into_iter().map(GcAny::from_ptr_incref).collect()
}

/// Whether the collector tracks the object (`gc.is_tracked`): its type can
/// hold handles and it is in a generation.
///
/// ```
/// use pygc::{gc, Gc, GcCell};
/// assert!(!gc::is_tracked(&Gc::new(42)));
/// assert!(gc::is_tracked(&Gc::new(GcCell::new(Vec::<Gc<u8>>::new()))));
/// ```
pub fn is_tracked(obj: &impl Handle) -> bool {
    let p = obj.raw().0;
    p.info().tracked && p.is_tracked()
}

/// Whether the object's finalizer already ran (`gc.is_finalized`).
///
/// ```
/// use pygc::{gc, Gc};
/// assert!(!gc::is_finalized(&Gc::new(1u8)));
/// ```
pub fn is_finalized(obj: &impl Handle) -> bool {
    obj.raw().0.is_finalized()
}

/// Moves every tracked object to the permanent generation, which the
/// collector ignores, and zeroes the counts (`gc.freeze()`).
///
/// ```
/// use pygc::{gc, Gc, GcCell};
/// let x = Gc::new(GcCell::new(Vec::<Gc<u8>>::new()));
/// gc::freeze();
/// assert_eq!(gc::get_freeze_count(), 1);
/// gc::unfreeze();
/// assert_eq!(gc::get_freeze_count(), 0);
/// # drop(x);
/// ```
pub fn freeze() {
    state::with(|h| {
        for g in 0..NUM_GENERATIONS {
            list::merge(h.head(g), h.permanent());
            h.count[g].set(0);
        }
    })
}

/// Moves the permanent generation back into the oldest (`gc.unfreeze()`).
/// See [`freeze`] for an example.
pub fn unfreeze() {
    state::with(|h| list::merge(h.permanent(), h.head(NUM_GENERATIONS - 1)))
}

/// Objects in the permanent generation (`gc.get_freeze_count()`).
/// See [`freeze`] for an example.
pub fn get_freeze_count() -> usize {
    state::with(|h| list::len(h.permanent()))
}

/// Per-generation statistics (`gc.get_stats()`).
///
/// ```
/// use pygc::gc;
/// gc::collect();
/// assert_eq!(gc::get_stats()[2].collections, 1);
/// ```
pub fn get_stats() -> [GenerationStats; 3] {
    state::with(|h| *h.stats.borrow())
}

/// Uncollectable objects, and every unreachable object under
/// [`DEBUG_SAVEALL`] (`gc.garbage`).
///
/// ```
/// use pygc::{gc, Gc, GcCell, Trace};
/// #[derive(Trace)]
/// struct List(GcCell<Vec<Gc<List>>>);
/// gc::set_debug(gc::DEBUG_SAVEALL);
/// let x = Gc::new(List(GcCell::new(Vec::new())));
/// x.0.borrow_mut().push(x.clone());
/// drop(x);
/// assert_eq!(gc::collect(), 1);
/// assert_eq!(gc::garbage().len(), 1);
/// gc::set_debug(gc::DebugFlags::empty());
/// let saved = gc::take_garbage();
/// assert!(saved[0].is::<List>());
/// ```
pub fn garbage() -> Vec<GcAny> {
    state::with(|h| h.garbage.borrow().clone())
}

/// Empties [`garbage`], returning what it held (`del gc.garbage[:]`).
/// See [`garbage`] for an example.
pub fn take_garbage() -> Vec<GcAny> {
    state::with(|h| std::mem::take(&mut *h.garbage.borrow_mut()))
}

/// Sets the debug flags (`gc.set_debug`).
///
/// ```
/// use pygc::gc;
/// gc::set_debug(gc::DEBUG_STATS | gc::DEBUG_COLLECTABLE);
/// assert_eq!(gc::get_debug().bits(), 3);
/// ```
pub fn set_debug(flags: DebugFlags) {
    state::with(|h| h.debug.set(flags))
}

/// The debug flags (`gc.get_debug`). See [`set_debug`].
pub fn get_debug() -> DebugFlags {
    state::with(|h| h.debug.get())
}

/// Sends the `DEBUG_*` output to `out` instead of stderr (`None` restores
/// stderr) — Python's output goes to `sys.stderr`, which can be replaced too.
pub fn set_debug_output(out: Option<Box<dyn std::io::Write>>) {
    state::with(|h| *h.debug_out.borrow_mut() = out)
}

/// Appends to `gc.callbacks`: `cb(phase, info)` runs before and after every
/// collection. A panic in a callback is resumed after the collection ends.
///
/// ```
/// use pygc::gc;
/// use std::{cell::Cell, rc::Rc};
/// let runs = Rc::new(Cell::new(0));
/// let r = runs.clone();
/// let id = gc::add_callback(move |_phase, _info| r.set(r.get() + 1));
/// gc::collect();
/// assert_eq!(runs.get(), 2); // "start" and "stop"
/// assert!(gc::remove_callback(id));
/// ```
pub fn add_callback(cb: impl FnMut(Phase, &CallbackInfo) + 'static) -> CallbackId {
    state::with(|h| {
        let id = h.next_callback_id.get();
        h.next_callback_id.set(id + 1);
        h.callbacks.borrow_mut().push((id, std::rc::Rc::new(std::cell::RefCell::new(cb))));
        CallbackId(id)
    })
}

/// Removes a callback; false if it was not registered. See [`add_callback`].
pub fn remove_callback(id: CallbackId) -> bool {
    let removed = state::with(|h| {
        let mut cbs = h.callbacks.borrow_mut();
        cbs.iter().position(|(i, _)| *i == id.0).map(|i| cbs.remove(i))
    });
    removed.is_some()
}

/// Removes every callback (`gc.callbacks.clear()`).
pub fn clear_callbacks() {
    let old = state::with(|h| std::mem::take(&mut *h.callbacks.borrow_mut()));
    drop(old);
}
