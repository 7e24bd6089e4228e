//! Fast read-only walks over this thread's heap for [`crate::objgraph`].
//!
//! objgraph's answers are all heap scans. Doing them through
//! [`crate::gc::get_objects`] and [`GcAny::referents`] would allocate a
//! handle and a `Vec` per object; these helpers walk the generation lists
//! directly and allocate per *type* or per *answer* instead.
//!
//! Two rules keep them sound without any `unsafe` here:
//! - a walk that runs no user code (the census, `find_by_id`) reads headers
//!   straight from the lists: nothing can be freed while it runs;
//! - a walk that calls `Trace` impls (user code) first *pins* every object
//!   with a strong handle ([`crate::gc::get_objects`]), so no object it
//!   looks at can be freed under it, and it keeps no raw pointer after it
//!   returns.

use std::collections::HashMap;

use super::any::{GcAny, Handle};
use super::header::{ObjPtr, TypeInfo, TRACKED_HEADER_SIZE};
use super::state::{self, AddrHash, NUM_GENERATIONS};
use crate::collect::list;
use crate::collect::visitors::{CoreVisitor, Mode};

/// The object behind a handle.
fn ptr(g: &GcAny) -> ObjPtr {
    g.raw().0
}

/// One row of the census: a Rust type, how many tracked objects it has and
/// their bytes (headers included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TypeCount {
    pub(crate) type_name: &'static str,
    pub(crate) count: usize,
    pub(crate) bytes: usize,
    /// `id()`s of the objects, when asked for.
    pub(crate) ids: Vec<usize>,
}

/// Calls `f` on every object of generations 0–2, oldest list last, in the
/// order of [`crate::gc::get_objects`]. `f` must not run user code or free
/// anything (it only gets a pointer to read headers).
fn for_each_tracked(mut f: impl FnMut(ObjPtr)) {
    state::with(|h| {
        for g in 0..NUM_GENERATIONS {
            let head = h.head(g);
            let mut l = list::next(head);
            while !std::ptr::eq(l, head) {
                f(ObjPtr::from_link(l as *const _ as usize));
                l = list::next(l);
            }
        }
    })
}

/// Counts and sizes the tracked objects by type, in the order each type is
/// first met in the generation lists (the order Python's dict-based
/// `typestats` would keep). With `with_ids`, also lists every `id()`.
pub(crate) fn census(with_ids: bool) -> Vec<TypeCount> {
    // The same Rust type may have several `TypeInfo` copies (one per
    // codegen unit); group by table address first, then merge by name.
    let mut rows: Vec<TypeCount> = Vec::new();
    let mut by_info: HashMap<usize, usize, AddrHash> = HashMap::default();
    let mut last: (usize, usize) = (0, usize::MAX);
    for_each_tracked(|p| {
        let info: &'static TypeInfo = p.info();
        let key = info as *const TypeInfo as usize;
        let row = if key == last.0 {
            last.1
        } else {
            let r = *by_info.entry(key).or_insert_with(|| {
                rows.push(TypeCount { type_name: (info.type_name)(), count: 0, bytes: 0, ids: Vec::new() });
                rows.len() - 1
            });
            last = (key, r);
            r
        };
        let r = &mut rows[row];
        r.count += 1;
        r.bytes += info.value_size + TRACKED_HEADER_SIZE;
        if with_ids {
            r.ids.push(p.value_ptr() as usize);
        }
    });
    merge_same_names(rows)
}

fn merge_same_names(rows: Vec<TypeCount>) -> Vec<TypeCount> {
    let mut out: Vec<TypeCount> = Vec::with_capacity(rows.len());
    let mut seen: HashMap<&'static str, usize> = HashMap::new();
    for r in rows {
        match seen.get(r.type_name) {
            Some(&i) => {
                let o = &mut out[i];
                o.count += r.count;
                o.bytes += r.bytes;
                o.ids.extend(r.ids);
            }
            None => {
                seen.insert(r.type_name, out.len());
                out.push(r);
            }
        }
    }
    out
}

/// The tracked object whose `id()` is `id`, if any (objgraph's `at`).
pub(crate) fn find_by_id(id: usize) -> Option<GcAny> {
    let mut found = None;
    for_each_tracked(|p| {
        if found.is_none() && p.value_ptr() as usize == id {
            found = Some(p);
        }
    });
    // The walk ran no user code, so the object found is still allocated.
    found.map(GcAny::from_ptr_incref)
}

/// The tracked objects whose `id()` is in `ids`, in heap order.
pub(crate) fn find_by_ids(ids: &std::collections::HashSet<usize>) -> Vec<GcAny> {
    let mut found = Vec::new();
    for_each_tracked(|p| {
        if ids.contains(&(p.value_ptr() as usize)) {
            found.push(p);
        }
    });
    found.into_iter().map(GcAny::from_ptr_incref).collect()
}

/// The answer of one referrer scan.
pub(crate) struct Referrers {
    /// For each target (by position in the slice given), the objects that
    /// hold a strong handle to it, each once, in heap order
    /// (`gc.get_referrers`).
    pub(crate) referrers: Vec<Vec<GcAny>>,
}

/// Strong handles to every object of generations 0–2, in heap order: held
/// while a scan runs `Trace` impls (user code), so nothing it looks at can
/// be freed under it.
pub(crate) fn pin_all() -> Vec<GcAny> {
    crate::gc::get_objects(None).unwrap_or_default()
}

/// One pass over `pinned` (from [`pin_all`]) finding the referrers of every
/// target at once, so a breadth-first search costs one scan per level
/// instead of one per node as `gc.get_referrers` would.
pub(crate) fn scan_referrers(targets: &[&GcAny], pinned: &[GcAny]) -> Referrers {
    let index = TargetIndex::new(targets);
    let mut referrers: Vec<Vec<GcAny>> = (0..targets.len()).map(|_| Vec::new()).collect();
    let mut edges: Vec<ObjPtr> = Vec::new();
    let mut hit: Vec<usize> = Vec::new();
    for src in pinned {
        edges.clear();
        CoreVisitor::new(Mode::Edges(&mut edges)).trace(ptr(src));
        hit.clear();
        for e in &edges {
            if let Some(i) = index.find(e.addr()) {
                if !hit.contains(&i) {
                    hit.push(i);
                }
            }
        }
        for &i in &hit {
            referrers[i].push(src.clone());
        }
    }
    index.share_duplicates(targets, &mut referrers);
    Referrers { referrers }
}

/// The targets of a referrer search, by address: the first slot of each
/// address, behind a 1024-bit prefilter that rejects most edges before the
/// hash lookup (the frontier is small, the heap large).
struct TargetIndex {
    slot: HashMap<usize, usize, AddrHash>,
    mask: [u64; 16],
}

impl TargetIndex {
    fn bit(a: usize) -> usize {
        (a >> 4) & 1023
    }

    fn new(targets: &[&GcAny]) -> TargetIndex {
        let mut index = TargetIndex { slot: HashMap::default(), mask: [0; 16] };
        for (i, t) in targets.iter().enumerate() {
            let a = ptr(t).addr();
            index.slot.entry(a).or_insert(i);
            index.mask[Self::bit(a) >> 6] |= 1 << (Self::bit(a) & 63);
        }
        index
    }

    /// The first slot of the target at address `a`, if it is one.
    #[inline]
    fn find(&self, a: usize) -> Option<usize> {
        if self.mask[Self::bit(a) >> 6] & (1 << (Self::bit(a) & 63)) == 0 {
            return None;
        }
        self.slot.get(&a).copied()
    }

    /// Duplicated targets share the first slot's answer.
    fn share_duplicates(&self, targets: &[&GcAny], referrers: &mut [Vec<GcAny>]) {
        for (i, t) in targets.iter().enumerate() {
            let first = self.slot[&ptr(t).addr()];
            if first != i {
                referrers[i] = referrers[first].clone();
            }
        }
    }
}

/// Every strong edge of the heap, recorded by one trace of every object,
/// so that each further level of a backward search is a pass over two flat
/// arrays instead of a trace of the whole heap. The heap stays pinned while
/// it exists.
pub(crate) struct EdgeList {
    pinned: Vec<GcAny>,
    src: Vec<u32>,
    dst: Vec<usize>,
}

impl EdgeList {
    /// Pins and traces the heap once.
    pub(crate) fn build() -> EdgeList {
        let pinned = pin_all();
        let mut src = Vec::with_capacity(pinned.len() * 2);
        let mut dst = Vec::with_capacity(pinned.len() * 2);
        let mut edges: Vec<ObjPtr> = Vec::new();
        for (i, o) in pinned.iter().enumerate() {
            edges.clear();
            CoreVisitor::new(Mode::Edges(&mut edges)).trace(ptr(o));
            for e in &edges {
                src.push(i as u32);
                dst.push(e.addr());
            }
        }
        EdgeList { pinned, src, dst }
    }

    /// The referrers of every target, as [`scan_referrers`] finds them.
    pub(crate) fn referrers(&self, targets: &[&GcAny]) -> Referrers {
        let index = TargetIndex::new(targets);
        let mut found: Vec<Vec<u32>> = vec![Vec::new(); targets.len()];
        for (&s, &d) in self.src.iter().zip(&self.dst) {
            if let Some(i) = index.find(d) {
                // Edges of one source are consecutive: one entry per source.
                if found[i].last() != Some(&s) {
                    found[i].push(s);
                }
            }
        }
        let mut referrers: Vec<Vec<GcAny>> =
            found.iter().map(|v| v.iter().map(|&s| self.pinned[s as usize].clone()).collect()).collect();
        index.share_duplicates(targets, &mut referrers);
        Referrers { referrers }
    }
}

/// The strong reference graph of the whole heap, in compressed rows.
///
/// Nodes `0..tracked` are the objects of generations 0–2 in heap order;
/// nodes after them are untracked objects (leaves: strings, numbers) that
/// some tracked object points at. Every node is pinned by `objs` while the
/// graph exists, so counts read from it are one higher than the program's.
pub(crate) struct HeapGraph {
    pub(crate) objs: Vec<GcAny>,
    pub(crate) tracked: usize,
    index: HashMap<usize, u32, AddrHash>,
    fwd_start: Vec<u32>,
    fwd: Vec<u32>,
    rev_start: Vec<u32>,
    rev: Vec<u32>,
}

impl HeapGraph {
    /// Scans the heap once.
    pub(crate) fn build() -> HeapGraph {
        let mut objs = pin_all();
        let tracked = objs.len();
        let mut index: HashMap<usize, u32, AddrHash> =
            HashMap::with_capacity_and_hasher(tracked + tracked / 4, AddrHash::default());
        for (i, o) in objs.iter().enumerate() {
            index.insert(ptr(o).addr(), i as u32);
        }
        let mut fwd_start: Vec<u32> = Vec::with_capacity(tracked + 1);
        let mut fwd: Vec<u32> = Vec::with_capacity(tracked * 2);
        let mut edges: Vec<ObjPtr> = Vec::new();
        for i in 0..tracked {
            fwd_start.push(fwd.len() as u32);
            edges.clear();
            CoreVisitor::new(Mode::Edges(&mut edges)).trace(ptr(&objs[i]));
            for e in &edges {
                let next = objs.len() as u32;
                let j = *index.entry(e.addr()).or_insert(next);
                if j == next {
                    // An untracked leaf (or a frozen object): pin it too.
                    // It is allocated: a pinned object holds a handle to it.
                    objs.push(GcAny::from_ptr_incref(*e));
                }
                fwd.push(j);
            }
        }
        let n = objs.len();
        fwd_start.resize(n + 1, fwd.len() as u32);
        // Reverse rows by counting sort.
        let mut rev_start = vec![0u32; n + 1];
        for &t in &fwd {
            rev_start[t as usize + 1] += 1;
        }
        for i in 0..n {
            rev_start[i + 1] += rev_start[i];
        }
        let mut fill = rev_start.clone();
        let mut rev = vec![0u32; fwd.len()];
        for s in 0..n {
            for k in fwd_start[s]..fwd_start[s + 1] {
                let t = fwd[k as usize] as usize;
                rev[fill[t] as usize] = s as u32;
                fill[t] += 1;
            }
        }
        HeapGraph { objs, tracked, index, fwd_start, fwd, rev_start, rev }
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.objs.len()
    }

    /// The node of `obj`, if the scan met it.
    pub(crate) fn node_of(&self, obj: &GcAny) -> Option<usize> {
        self.index.get(&ptr(obj).addr()).map(|&i| i as usize)
    }

    /// Strong edges out of node `i` (one per handle).
    pub(crate) fn referents(&self, i: usize) -> &[u32] {
        &self.fwd[self.fwd_start[i] as usize..self.fwd_start[i + 1] as usize]
    }

    /// Sources of the strong edges into node `i` (one per handle).
    pub(crate) fn referrers(&self, i: usize) -> &[u32] {
        &self.rev[self.rev_start[i] as usize..self.rev_start[i + 1] as usize]
    }

    /// Strong handles to node `i` that no heap object accounts for: held by
    /// the program's variables (or by frozen objects), beyond the graph's
    /// own pin and `extra_held` handles the caller knows about.
    pub(crate) fn external_refs(&self, i: usize, extra_held: usize) -> usize {
        let rc = self.objs[i].ref_count();
        rc.saturating_sub(1 + extra_held + self.referrers(i).len())
    }

    /// Bytes of node `i` (`sys.getsizeof`).
    pub(crate) fn size_of(&self, i: usize) -> usize {
        self.objs[i].size_of()
    }
}
