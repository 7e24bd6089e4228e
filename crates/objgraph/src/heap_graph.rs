//! Whole-heap scans, built on `pygc_core::inspect`: referrer searches and
//! the heap's reference graph in compressed rows. Every object these look at
//! is held by a [`Snapshot`] first, and every edge target is held from the
//! moment its holder's `Trace` reports it, so nothing a scan names can be
//! freed under it.

use std::collections::HashMap;

use pygc_core::inspect::{referents_into, AddrHash, Snapshot};
use pygc_core::GcAny;

/// Strong handles to every object of generations 0–2, in heap order.
pub(crate) fn pin_all() -> Vec<GcAny> {
    Snapshot::take().into_objects()
}

/// The answer of one referrer scan: for each target (by position in the
/// slice given), the objects that hold a strong handle to it, each once, in
/// heap order (`gc.get_referrers`).
pub(crate) struct Referrers {
    pub(crate) referrers: Vec<Vec<GcAny>>,
}

/// One pass over `pinned` (from [`pin_all`]) finding the referrers of every
/// target at once, so a breadth-first search costs one scan per level
/// instead of one per node as `gc.get_referrers` would.
pub(crate) fn scan_referrers(targets: &[&GcAny], pinned: &[GcAny]) -> Referrers {
    let index = TargetIndex::new(targets);
    let mut referrers: Vec<Vec<GcAny>> = (0..targets.len()).map(|_| Vec::new()).collect();
    let mut edges: Vec<GcAny> = Vec::new();
    let mut hit: Vec<usize> = Vec::new();
    for src in pinned {
        edges.clear();
        referents_into(src, &mut edges);
        hit.clear();
        for e in &edges {
            if let Some(i) = index.find(e.id()) {
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

/// The targets of a referrer search, by `id()`: the first slot of each,
/// behind a 1024-bit prefilter that rejects most edges before the hash
/// lookup (the frontier is small, the heap large).
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
            let a = t.id();
            index.slot.entry(a).or_insert(i);
            index.mask[Self::bit(a) >> 6] |= 1 << (Self::bit(a) & 63);
        }
        index
    }

    /// The first slot of the target with id `a`, if it is one.
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
            let first = self.slot[&t.id()];
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
        let mut edges: Vec<GcAny> = Vec::new();
        for (i, o) in pinned.iter().enumerate() {
            edges.clear();
            referents_into(o, &mut edges);
            for e in &edges {
                src.push(i as u32);
                dst.push(e.id());
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
/// some tracked object points at. Every node is held by `objs` while the
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
            index.insert(o.id(), i as u32);
        }
        let mut fwd_start: Vec<u32> = Vec::with_capacity(tracked + 1);
        let mut fwd: Vec<u32> = Vec::with_capacity(tracked * 2);
        let mut edges: Vec<GcAny> = Vec::new();
        for i in 0..tracked {
            fwd_start.push(fwd.len() as u32);
            referents_into(&objs[i], &mut edges);
            for e in edges.drain(..) {
                let next = objs.len() as u32;
                let j = *index.entry(e.id()).or_insert(next);
                if j == next {
                    // An untracked leaf (or a frozen object): the edge's own
                    // handle keeps it pinned as a node.
                    objs.push(e);
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
        self.index.get(&obj.id()).map(|&i| i as usize)
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
        pygc_core::sys::getsizeof(&self.objs[i])
    }
}
