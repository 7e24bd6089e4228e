//! Moving a heap and everything it owns to another thread, as a whole
//! (a VM handed between the worker threads of a server).
//!
//! Handles are `!Send`, one by one, and stay so: two threads must never
//! touch one object's count. A heap can still move when *every* handle to
//! its objects moves with it. Two things prove that:
//!
//! - the type system, for everything that travels: [`SendHeap`] is the
//!   only `Send` thing that owns handles, so a handle cannot go along in
//!   the same closure or channel message (`Gc: !Send`), and
//!   [`SendHeap::enter`] takes a `Send` closure returning a `Send` value,
//!   so a handle can neither come in through a capture nor go out through
//!   the result;
//! - a check at the hand-over, for what stays behind: a handle parked in a
//!   thread-local, or leaked, or held by another heap's object. pygc's
//!   handles carry no lifetime (they are `'static`, as `Rc` is), so no
//!   brand can keep them out of a thread-local; instead [`check`] counts,
//!   for every object of the heap, the references from inside the heap
//!   (the collector's `subtract_refs` pass) and refuses when an object has
//!   more, or when some block of the heap is not reachable from its lists.
//!   The check costs about one pass of a full collection over the heap.
//!
//! gc-arena gets the first half for free from its `'gc` brand and needs no
//! check; the brand is why its handles cannot be stored outside a
//! `mutate` closure at all, which the Python-shaped free API (`Gc::new`
//! anywhere, `gc::collect()`) cannot live with. See `docs/design/heap.md`.

use std::collections::HashMap;
use std::fmt;
use std::mem::ManuallyDrop;
use std::thread::ThreadId;

use super::Heap;
use crate::addr_hash::AddrHash;
use crate::collect::visitors::{Census, CoreVisitor, Mode};
use crate::handle::gc::Gc;
use crate::handle::pointee::GcPointee;
use crate::object::header::ObjPtr;
use crate::state::phase::Phase;
use crate::state::{thread, GcState, NUM_GENERATIONS};

/// A heap that may move to another thread, with the one handle to it that
/// travels along: its root (an interpreter's VM object).
///
/// Made by [`Heap::into_send`], which checks that no other handle to the
/// heap's objects exists outside the heap; given back by
/// [`SendHeap::into_heap`]; used in place by [`SendHeap::enter`], which
/// checks again when its closure returns.
///
/// ```
/// use pygc::{Gc, GcCell, Heap, Trace};
///
/// #[derive(Trace)]
/// struct Vm { stack: GcCell<Vec<Gc<String>>> }
///
/// let heap = Heap::new();
/// let vm = heap.enter(|| Gc::new(Vm { stack: GcCell::new(vec![]) }));
/// let mut vm = heap.into_send(vm).expect("nothing else holds the heap's objects");
/// let vm = std::thread::spawn(move || {
///     vm.enter(|vm| vm.stack.borrow_mut().push(Gc::new("from a worker".to_string())));
///     vm
/// })
/// .join()
/// .unwrap();
/// let (heap, vm) = vm.into_heap();
/// assert_eq!(*vm.stack.borrow()[0], "from a worker");
/// # drop(vm); drop(heap);
/// ```
///
/// A handle that would stay behind makes the hand-over fail, giving the
/// heap and the root back:
///
/// ```
/// use pygc::{Gc, Heap};
///
/// let heap = Heap::new();
/// let root = heap.enter(|| Gc::new(1u32));
/// let kept = root.clone();
/// let err = heap.into_send(root).unwrap_err();
/// assert!(err.to_string().contains("held from outside"), "{err}");
/// let (_heap, _root) = err.into_parts();
/// # drop(kept);
/// ```
pub struct SendHeap<R: ?Sized + GcPointee + 'static> {
    heap: ManuallyDrop<Heap>,
    root: ManuallyDrop<Gc<R>>,
    /// Set when the check after [`SendHeap::enter`] found a handle left
    /// outside the heap: the heap must not leave that thread. Used from any
    /// other thread, it panics; dropped on one, it is leaked.
    pinned: Option<ThreadId>,
}

// SAFETY: a `SendHeap` is made only by `Heap::into_send` and kept so by
// `SendHeap::enter`, both of which run `check`, which proves (while the
// heap is not pinned) that
// - every allocated block of the heap was found from its lists and its
//   root (the byte equation), and every strong or weak handle to any of
//   them is held inside the heap, except the root handle this value owns
//   (the count equations): no handle outside the `SendHeap` can touch an
//   object's count or value after the move;
// - no edge leaves the heap (each target's slot is the heap's): its
//   objects never touch another heap's objects, which stay on their thread;
// - every live value is of a `Trace::SEND` type, `Send` but for its
//   handles (the trait's contract);
// - the state holds no thread-bound user code: no gc callbacks, no weakref
//   callbacks, no debug writer, and no collection or deallocation is in
//   progress.
// The state itself is then owned by this value alone: the registry maps the
// slot to it, but only objects of the heap are ever looked up there, and
// they all travel with it. obmalloc frees blocks from any thread (a remote
// free goes to the owning pool's list). A pinned `SendHeap` (the check
// failed) is never touched from another thread: every method checks the
// pin first, and `Drop` leaks it there.
unsafe impl<R: ?Sized + GcPointee + 'static> Send for SendHeap<R> {}

impl Heap {
    /// Makes this heap movable to another thread, with `root` (an object of
    /// the heap) as the one handle that travels along. Fails, giving both
    /// back, when anything would stay behind or cannot travel: a handle to
    /// one of its objects held outside the heap (a local, a thread-local,
    /// another heap's object), an edge from its objects to another heap, a
    /// value of a type that is not [`Trace::SEND`](crate::Trace::SEND), gc
    /// or weakref callbacks, a debug output writer. Costs about one pass of
    /// a full collection over the heap.
    pub fn into_send<R: ?Sized + GcPointee + 'static>(
        self,
        root: Gc<R>,
    ) -> Result<SendHeap<R>, HandoverError<R>> {
        let s = self.state();
        if root.obj().heap_slot() != s.slot.get() {
            return Err(HandoverError { heap: self, root, refusal: Refusal::RootElsewhere });
        }
        match check(s, root.obj().ptr()) {
            Ok(()) => {
                Ok(SendHeap { heap: ManuallyDrop::new(self), root: ManuallyDrop::new(root), pinned: None })
            }
            Err(refusal) => Err(HandoverError { heap: self, root, refusal }),
        }
    }
}

impl<R: ?Sized + GcPointee + 'static> SendHeap<R> {
    /// Panics if the heap is pinned to another thread.
    fn unpinned_here(&self) {
        if let Some(t) = self.pinned {
            if t != std::thread::current().id() {
                panic!(
                    "pygc: this SendHeap is pinned to the thread where SendHeap::enter left a handle \
                     outside the heap; it cannot be used on another thread"
                );
            }
        }
    }

    /// Runs `f` with the heap current (as [`Heap::enter`]) and its root,
    /// then checks that no handle to the heap's objects was left outside it
    /// (in a thread-local, say; captures and the result cannot hold one:
    /// they are `Send`).
    ///
    /// # Panics
    ///
    /// If the check fails: the heap then stays on this thread (using it
    /// from another panics, dropping it there leaks it) until a later
    /// `enter` on this thread passes the check again, or
    /// [`SendHeap::into_heap`] takes it back. Also if the heap is pinned to
    /// another thread.
    pub fn enter<T: Send>(&mut self, f: impl FnOnce(&Gc<R>) -> T + Send) -> T {
        self.unpinned_here();
        let root: &Gc<R> = &self.root;
        let out = self.heap.enter(|| f(root));
        match check(self.heap.state(), self.root.obj().ptr()) {
            Ok(()) => {
                self.pinned = None;
                out
            }
            Err(refusal) => {
                self.pinned = Some(std::thread::current().id());
                panic!("pygc: SendHeap::enter left the heap unable to move: {refusal}")
            }
        }
    }

    /// The heap and its root, back on this thread.
    ///
    /// # Panics
    ///
    /// If the heap is pinned to another thread.
    pub fn into_heap(self) -> (Heap, Gc<R>) {
        self.unpinned_here();
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so each field is
        // taken out exactly once.
        unsafe { (ManuallyDrop::take(&mut this.heap), ManuallyDrop::take(&mut this.root)) }
    }

    /// The heap's live bytes and limit (as [`Heap::usage`]).
    pub fn usage(&self) -> super::HeapUsage {
        self.unpinned_here();
        self.heap.usage()
    }

    /// A full collection of the heap (as [`Heap::collect`]). Collections
    /// keep the hand-over's equations: they free objects, never add
    /// handles outside.
    pub fn collect(&mut self) -> usize {
        self.unpinned_here();
        self.heap.collect()
    }

    /// Sets the heap's byte limit (as [`Heap::set_limit`]).
    pub fn set_limit(&mut self, bytes: Option<usize>) {
        self.unpinned_here();
        self.heap.set_limit(bytes)
    }
}

impl<R: ?Sized + GcPointee + 'static> Drop for SendHeap<R> {
    fn drop(&mut self) {
        if self.pinned.is_some_and(|t| t != std::thread::current().id()) {
            // Handles on the pinned thread still use the state and objects:
            // leave them all be.
            return;
        }
        // SAFETY: dropped once each, here, and never used again; the root
        // first, so that the heap's finalization can free it.
        unsafe {
            ManuallyDrop::drop(&mut self.root);
            ManuallyDrop::drop(&mut self.heap);
        }
    }
}

impl<R: ?Sized + GcPointee + 'static> fmt::Debug for SendHeap<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendHeap").field("pinned", &self.pinned).finish_non_exhaustive()
    }
}

/// Why a heap cannot move to another thread.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The root handle is of another heap's object.
    RootElsewhere,
    /// Objects of the heap are held from outside it (by `count` more
    /// strong or weak handles than the heap itself holds).
    HeldOutside {
        /// The Rust type of one such object.
        type_name: &'static str,
        /// How many handles to it are outside.
        count: usize,
        /// Whether those are weak handles.
        weak: bool,
    },
    /// Blocks of the heap that nothing inside it reaches (their handles
    /// are all outside: an untracked value made in the heap and kept in a
    /// local, say).
    Unreached {
        /// Their bytes.
        bytes: usize,
    },
    /// An object of the heap holds a handle to another heap's object.
    ForeignEdge {
        /// The type of the object the edge leads to.
        type_name: &'static str,
    },
    /// A value of a type that cannot move with its heap
    /// ([`Trace::SEND`](crate::Trace::SEND) is `false`).
    NotSend {
        /// Its Rust type.
        type_name: &'static str,
    },
    /// A `GcCell` of the heap was borrowed mutably, so its handles could not
    /// be counted.
    Untraceable,
    /// The heap has gc callbacks (`gc.callbacks`), which are thread-bound
    /// closures.
    GcCallbacks,
    /// Objects of the heap have weakref callbacks, which are thread-bound
    /// closures.
    WeakCallbacks,
    /// The heap writes its `DEBUG_*` output to a writer of its own.
    DebugOutput,
    /// A collection or deallocation of the heap is in progress.
    Busy,
    /// Some `Trace` impl reported more handles than its value holds.
    Inconsistent {
        /// The type of an object reported more often than it is held.
        type_name: &'static str,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::RootElsewhere => write!(f, "the root is an object of another heap"),
            Refusal::HeldOutside { type_name, count, weak } => write!(
                f,
                "an object of type `{type_name}` is held from outside the heap ({count} {} handle{} \
                 outside it: drop them, or keep them inside the heap)",
                if *weak { "weak" } else { "strong" },
                if *count == 1 { "" } else { "s" }
            ),
            Refusal::Unreached { bytes } => write!(
                f,
                "{bytes} bytes of the heap's objects are held from outside the heap only (handles \
                 outside it: drop them, or keep them inside the heap)"
            ),
            Refusal::ForeignEdge { type_name } => {
                write!(
                    f,
                    "an object of the heap holds a handle to an object of type `{type_name}` of another heap"
                )
            }
            Refusal::NotSend { type_name } => write!(
                f,
                "a value of type `{type_name}` cannot move to another thread (its `Trace::SEND` is false; \
                 derive `Trace` on it, and mark Send fields it skips `#[pygc(skip, send)]`)"
            ),
            Refusal::Untraceable => write!(f, "a GcCell of the heap is mutably borrowed"),
            Refusal::GcCallbacks => write!(f, "the heap has gc callbacks (closures bound to this thread)"),
            Refusal::WeakCallbacks => {
                write!(f, "objects of the heap have weakref callbacks (closures bound to this thread)")
            }
            Refusal::DebugOutput => {
                write!(f, "the heap writes its debug output to a writer bound to this thread")
            }
            Refusal::Busy => write!(f, "a collection or deallocation of the heap is in progress"),
            Refusal::Inconsistent { type_name } => {
                write!(f, "a Trace impl reports more handles to an object of type `{type_name}` than exist")
            }
        }
    }
}

/// A failed [`Heap::into_send`]: why, and the heap and root, unchanged.
pub struct HandoverError<R: ?Sized + GcPointee + 'static> {
    heap: Heap,
    root: Gc<R>,
    refusal: Refusal,
}

impl<R: ?Sized + GcPointee + 'static> HandoverError<R> {
    /// Why the heap cannot move.
    pub fn refusal(&self) -> &Refusal {
        &self.refusal
    }

    /// The heap and the root, given back.
    pub fn into_parts(self) -> (Heap, Gc<R>) {
        (self.heap, self.root)
    }
}

impl<R: ?Sized + GcPointee + 'static> fmt::Debug for HandoverError<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandoverError").field("refusal", &self.refusal).finish_non_exhaustive()
    }
}

impl<R: ?Sized + GcPointee + 'static> fmt::Display for HandoverError<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the heap cannot move to another thread: {}", self.refusal)
    }
}

impl<R: ?Sized + GcPointee + 'static> std::error::Error for HandoverError<R> {}

/// What the check knows of one object.
#[derive(Default)]
struct Seen {
    /// Strong handles to it held inside the heap (plus the root's own, and
    /// one per `gc.garbage` entry).
    strong: usize,
    /// Weak handles to it held inside the heap.
    weak: usize,
}

/// The objects found so far, and those still to trace.
#[derive(Default)]
struct Walk {
    seen: HashMap<usize, (ObjPtr, Seen), AddrHash>,
    todo: Vec<ObjPtr>,
}

impl Walk {
    /// The entry of `p`, new ones queued for tracing.
    fn note(&mut self, p: ObjPtr) -> &mut Seen {
        let todo = &mut self.todo;
        &mut self
            .seen
            .entry(p.addr())
            .or_insert_with(|| {
                todo.push(p);
                (p, Seen::default())
            })
            .1
    }
}

/// Checks that the heap `s` can move as a whole with `root`, the one handle
/// from outside that travels along (see the module docs and the `Send`
/// impl's safety argument).
pub(crate) fn check(s: &GcState, root: ObjPtr) -> Result<(), Refusal> {
    if s.phase() != Phase::Idle
        || thread::is_marking()
        || s.dealloc_depth.get() != 0
        || !s.trash.borrow().is_empty()
        || !s.deferred.borrow().is_empty()
        || !s.pending_track.borrow().is_empty()
    {
        return Err(Refusal::Busy);
    }
    if !s.callbacks.borrow().is_empty() {
        return Err(Refusal::GcCallbacks);
    }
    if s.weak.any_callbacks() {
        return Err(Refusal::WeakCallbacks);
    }
    if s.debug.has_own_output() {
        return Err(Refusal::DebugOutput);
    }

    let mut walk = Walk::default();
    let lists = s.lists();
    for g in lists.generations[..NUM_GENERATIONS].iter().chain([&lists.permanent]) {
        // SAFETY: idle (checked above), so the list is well formed and its
        // elements allocated (GcState invariant 4); nothing runs that could
        // change it while it is iterated (no user code).
        for p in unsafe { g.iter() } {
            walk.note(p);
        }
    }
    walk.note(root).strong += 1;
    for &p in s.garbage.borrow().iter() {
        walk.note(p).strong += 1;
    }

    let mut census = Census::default();
    let mut bytes = 0usize;
    while let Some(p) = walk.todo.pop() {
        // SAFETY: every pointer noted is of an allocated block: list
        // elements (above), the root and garbage entries (which own counts),
        // and the targets of handles held by objects already noted (a strong
        // handle keeps its block, a weak one too: weak_table.rs). Nothing is
        // freed during the check: only `Trace` impls run, which may not
        // touch the heap (the trait's contract).
        let o = unsafe { p.live() };
        if o.heap_slot() != s.slot.get() {
            return Err(Refusal::ForeignEdge { type_name: o.type_name() });
        }
        bytes += o.block_layout().size();
        if o.is_cleared() {
            continue;
        }
        if !o.info().send {
            return Err(Refusal::NotSend { type_name: o.type_name() });
        }
        CoreVisitor::new(Mode::Census(&mut census)).trace(o);
        if census.untraceable {
            return Err(Refusal::Untraceable);
        }
        for t in census.strong.drain(..) {
            walk.note(t).strong += 1;
        }
        for t in census.weak.drain(..) {
            walk.note(t).weak += 1;
        }
    }

    for (p, inside) in walk.seen.values() {
        // SAFETY: as above: every noted block is allocated.
        let o = unsafe { p.live() };
        let outside = |held: usize, inside: usize, weak: bool| match held.cmp(&inside) {
            std::cmp::Ordering::Equal => Ok(()),
            std::cmp::Ordering::Greater => {
                Err(Refusal::HeldOutside { type_name: o.type_name(), count: held - inside, weak })
            }
            std::cmp::Ordering::Less => Err(Refusal::Inconsistent { type_name: o.type_name() }),
        };
        outside(o.refcnt(), inside.strong, false)?;
        outside(s.weak.weak_count(*p), inside.weak, true)?;
    }
    let held = s.budget.bytes();
    if bytes != held {
        // Fewer: blocks nothing inside reaches. More cannot be (every
        // block found is of the heap and counted once).
        return Err(Refusal::Unreached { bytes: held.saturating_sub(bytes) });
    }
    Ok(())
}
