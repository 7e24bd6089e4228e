//! Layer 4, the seam the tools stand on: pinned snapshots of the heap,
//! labelled edges, a census by type, and the allocation/free hooks.
//! objgraph and tracemalloc's object domain use only this module and the
//! public handle types.
//!
//! Two rules keep every function here sound whatever user code does:
//! - a walk that runs no user code (the census, [`find_by_ids`]) reads
//!   headers straight from the lists and takes counts on what it returns
//!   before anything else runs;
//! - anything that calls `Trace` impls (user code) first holds a count on
//!   every object it will look at ([`Snapshot`]), and takes a count on each
//!   edge target at the moment the impl reports it, so no impl can free
//!   what the answer names.
//!
//! Called from a `Trace` impl while the collector traces, the functions
//! that read the lists panic (the lists hold counts then).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::collect::visitors::{CoreVisitor, LabelVisitor, Mode};
use crate::handle::any::{obj_of, GcAny};
use crate::object::header::{Obj, ObjPtr};
use crate::object::type_info::TypeInfo;
use crate::state::{thread, GcState, NUM_GENERATIONS};
use crate::Handle;

pub use crate::addr_hash::{AddrHash, AddrHasher};
pub use crate::life::hooks::{set_object_hooks, AllocEvent, ObjectHooks};

/// The object's identity, as Python's `id()`: the address of its value.
pub fn id(obj: &impl Handle) -> usize {
    obj_of(obj).id()
}

/// One edge of an object, as [`GcAny::edges`] reports it.
#[derive(Clone, Debug)]
pub struct Edge {
    /// The field path of the handle: `next`, `items[3]`, `map[0].value`.
    pub label: String,
    /// The target, held by this edge; `None` for a weak edge whose referent
    /// is dead.
    pub target: Option<GcAny>,
    /// Whether the edge is a weak handle (it keeps nothing alive).
    pub weak: bool,
}

pub(crate) fn edges_of(o: Obj<'_>) -> Vec<Edge> {
    let mut v = LabelVisitor::new();
    let traced = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| v.trace(o)));
    let edges = v
        .edges
        .into_iter()
        .map(|e| Edge {
            label: e.label,
            // SAFETY: the labelling visitor took a count on each target.
            target: e.target.map(|p| unsafe { GcAny::from_ptr(p) }),
            weak: e.weak,
        })
        .collect();
    if let Err(p) = traced {
        drop(edges);
        std::panic::resume_unwind(p);
    }
    edges
}

/// Appends the strong referents of `obj` to `out`, in trace order, one per
/// handle (`gc.get_referents`), each held from the moment it is reported.
pub fn referents_into<H: Handle + ?Sized>(obj: &H, out: &mut Vec<GcAny>) {
    let mut pinned = Pinned(Vec::new());
    CoreVisitor::new(Mode::Pin(&mut pinned.0)).trace(obj_of(obj));
    // SAFETY: the Pin visitor took one count per entry; each moves into a
    // handle exactly once (the vector is emptied by `drain`).
    out.extend(pinned.0.drain(..).map(|p| unsafe { GcAny::from_ptr(p) }));
}

/// Counts taken by a Pin visitor that are released if a `Trace` panics
/// before they become handles.
struct Pinned(Vec<ObjPtr>);

impl Drop for Pinned {
    fn drop(&mut self) {
        for p in self.0.drain(..) {
            // SAFETY: each entry owns one count (taken by the Pin visitor).
            drop(unsafe { GcAny::from_ptr(p) });
        }
    }
}

/// Strong handles to every object of some generations, in heap order
/// (youngest generation first): a heap that cannot lose an object while the
/// snapshot lives. What `gc.get_objects()` returns.
pub struct Snapshot {
    objects: Vec<GcAny>,
}

impl Snapshot {
    /// Generations 0–2 (the permanent generation is left out, as Python's
    /// `get_objects` does).
    #[track_caller]
    #[must_use]
    pub fn take() -> Snapshot {
        Snapshot::of_generations(0..NUM_GENERATIONS, "pygc::inspect::Snapshot::take")
    }

    #[track_caller]
    pub(crate) fn of_generations(gens: std::ops::Range<usize>, caller: &str) -> Snapshot {
        thread::with(|s| {
            s.forbid_while_tracing(caller);
            let mut objects = Vec::new();
            for g in gens {
                // SAFETY: outside the tracing phase the list is well formed,
                // and no user code runs until every element is held.
                objects
                    .extend(unsafe { s.generation(g).iter() }.map(|p| GcAny::from_obj(unsafe { p.live() })));
            }
            Snapshot { objects }
        })
    }

    /// The objects.
    pub fn objects(&self) -> &[GcAny] {
        &self.objects
    }

    /// The objects, owned.
    pub fn into_objects(self) -> Vec<GcAny> {
        self.objects
    }
}

/// One row of [`census`]: a type, how many tracked objects it has, their
/// bytes (headers included) and, when asked, their `id()`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeCount {
    /// The type name: the one the value reports at run time
    /// (`Trace::dynamic_type_name`), or else the Rust type name.
    pub type_name: Cow<'static, str>,
    /// Whether `type_name` came from `Trace::dynamic_type_name` (it has no
    /// Rust module path to shorten).
    pub dynamic: bool,
    /// Objects of the type in generations 0–2.
    pub count: usize,
    /// Their bytes, as `sys.getsizeof` counts them.
    pub bytes: usize,
    /// Their `id()`s, in heap order, if asked for.
    pub ids: Vec<usize>,
}

/// Counts and sizes the objects of generations 0–2 by type, in the order
/// each type is first met (youngest generation first), without taking a
/// count on any object. With `with_ids`, also lists every `id()`.
#[track_caller]
#[must_use]
pub fn census(with_ids: bool) -> Vec<TypeCount> {
    // The same Rust type may have several `TypeInfo` copies (one per
    // codegen unit); group by table address first, then merge by name.
    // Values that name their type at run time are grouped by that name.
    let mut rows: Vec<TypeCount> = Vec::new();
    let mut by_info: HashMap<usize, usize, AddrHash> = HashMap::default();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut last: (usize, usize) = (0, usize::MAX);
    for_each_object("pygc::inspect::census", |o| {
        let info: &'static TypeInfo = o.info();
        // SAFETY: the closure only looks the name up and copies it once.
        let dynamic_row = unsafe {
            o.with_dynamic_type_name(|name| {
                let name = name?;
                Some(match by_name.get(name) {
                    Some(&r) => r,
                    None => {
                        rows.push(TypeCount {
                            type_name: Cow::Owned(name.to_string()),
                            dynamic: true,
                            count: 0,
                            bytes: 0,
                            ids: Vec::new(),
                        });
                        by_name.insert(name.to_string(), rows.len() - 1);
                        rows.len() - 1
                    }
                })
            })
        };
        let key = std::ptr::from_ref(info).addr();
        let row = match dynamic_row {
            Some(r) => r,
            None if key == last.0 => last.1,
            None => {
                let r = *by_info.entry(key).or_insert_with(|| {
                    rows.push(TypeCount {
                        type_name: Cow::Borrowed((info.type_name)()),
                        dynamic: false,
                        count: 0,
                        bytes: 0,
                        ids: Vec::new(),
                    });
                    rows.len() - 1
                });
                last = (key, r);
                r
            }
        };
        let r = &mut rows[row];
        r.count += 1;
        r.bytes += o.object_size();
        if with_ids {
            r.ids.push(o.id());
        }
    });
    merge_same_names(rows)
}

fn merge_same_names(rows: Vec<TypeCount>) -> Vec<TypeCount> {
    let mut out: Vec<TypeCount> = Vec::with_capacity(rows.len());
    let mut seen: HashMap<(Cow<'static, str>, bool), usize> = HashMap::new();
    for r in rows {
        match seen.get(&(r.type_name.clone(), r.dynamic)) {
            Some(&i) => {
                let o = &mut out[i];
                o.count += r.count;
                o.bytes += r.bytes;
                o.ids.extend(r.ids);
            }
            None => {
                seen.insert((r.type_name.clone(), r.dynamic), out.len());
                out.push(r);
            }
        }
    }
    out
}

/// The objects of generations 0–2 whose `id()` is in `ids`, in heap order.
#[track_caller]
pub fn find_by_ids(ids: &HashSet<usize>) -> Vec<GcAny> {
    let mut found = Vec::new();
    for_each_object("pygc::inspect::find_by_ids", |o| {
        if ids.contains(&o.id()) {
            found.push(GcAny::from_obj(o));
        }
    });
    found
}

/// Calls `f` on every object of generations 0–2. `f` is this module's own
/// code: it takes counts or reads headers, never runs user code.
#[track_caller]
fn for_each_object(caller: &str, mut f: impl FnMut(Obj<'_>)) {
    thread::with(|s: &GcState| {
        s.forbid_while_tracing(caller);
        for g in 0..NUM_GENERATIONS {
            // SAFETY: outside the tracing phase the list is well formed, and
            // `f` runs no user code: nothing is unlinked during the walk.
            for p in unsafe { s.generation(g).iter() } {
                // SAFETY: list elements are allocated (invariant 4).
                f(unsafe { p.live() });
            }
        }
    })
}

/// What the current heap (the thread's default heap, or the entered
/// [`Heap`](crate::Heap)) holds: live blocks and bytes, and its limit.
pub fn usage() -> crate::HeapUsage {
    thread::with(crate::heap::usage_of)
}

/// How many objects each list of this thread's heap holds, as
/// [`verify`] found them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapCounts {
    /// Objects in generations 0, 1 and 2.
    pub generations: [usize; NUM_GENERATIONS],
    /// Objects in the permanent generation (`gc.freeze()`).
    pub permanent: usize,
}

/// Checks the invariants of this thread's heap (CPython's `validate_list`,
/// for every list, plus the side tables): the list equation, no stale
/// collection marks, no zero counts in a list, nothing left in the
/// collector's working sets. Debug builds run it around full collections;
/// tests and fuzzers call it after every step. An `Err` is a bug in pygc
/// (or in an `unsafe impl Trace`).
#[track_caller]
pub fn verify() -> Result<HeapCounts, String> {
    thread::with(|s| {
        s.forbid_while_tracing("pygc::inspect::verify");
        let n = s.verify()?;
        Ok(HeapCounts { generations: [n[0], n[1], n[2]], permanent: n[3] })
    })
}
