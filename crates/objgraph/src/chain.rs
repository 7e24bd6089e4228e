//! Reference chains: breadth-first searches along or against strong edges,
//! and `why_alive`.

use std::collections::{HashMap, HashSet, VecDeque};

use super::Predicate;
use crate::heap_graph::{EdgeList, HeapGraph};
use pygc_core::GcAny;

/// Options of [`find_ref_chain`] and [`find_backref_chain`].
#[derive(Clone, Copy, Debug)]
pub struct ChainOptions<'a> {
    /// Give up beyond this many edges (objgraph's default 20).
    pub max_depth: usize,
    /// `id()`s of objects never to walk through.
    pub extra_ignore: &'a [usize],
    /// Run [`pygc_core::gc::collect`] first, as objgraph does.
    pub collect: bool,
}

impl Default for ChainOptions<'_> {
    fn default() -> Self {
        ChainOptions { max_depth: 20, extra_ignore: &[], collect: true }
    }
}

fn chain_from(found: &GcAny, parent: &HashMap<usize, GcAny>) -> Vec<GcAny> {
    let mut chain = vec![found.clone()];
    let mut cur = found.clone();
    while let Some(p) = parent.get(&cur.id()) {
        chain.push(p.clone());
        cur = p.clone();
    }
    chain
}

/// The shortest chain of strong references from `obj` to an object for
/// which `predicate` is true, `[obj, …, match]` (`objgraph.find_ref_chain`).
/// Returns `[obj]` when nothing matches within `max_depth`.
pub fn find_ref_chain(obj: &GcAny, predicate: Predicate<'_>, opts: &ChainOptions<'_>) -> Vec<GcAny> {
    if opts.collect {
        pygc_core::gc::collect();
    }
    let ignore: HashSet<usize> = opts.extra_ignore.iter().copied().collect();
    let mut depth: HashMap<usize, usize> = HashMap::from([(obj.id(), 0)]);
    let mut parent: HashMap<usize, GcAny> = HashMap::new();
    let mut queue = VecDeque::from([obj.clone()]);
    while let Some(target) = queue.pop_front() {
        if predicate(&target) {
            let mut chain = chain_from(&target, &parent);
            chain.reverse();
            return chain;
        }
        let d = depth[&target.id()];
        if d < opts.max_depth {
            for r in pygc_core::gc::get_referents(&[&target]) {
                if ignore.contains(&r.id()) || depth.contains_key(&r.id()) {
                    continue;
                }
                depth.insert(r.id(), d + 1);
                parent.insert(r.id(), target.clone());
                queue.push_back(r);
            }
        }
    }
    vec![obj.clone()]
}

/// The shortest chain of strong references from an object for which
/// `predicate` is true down to `obj`, `[match, …, obj]`
/// (`objgraph.find_backref_chain`). Returns `[obj]` when nothing matches.
///
/// Each level of the search is one scan of the heap for the referrers of
/// the whole level, not one `gc.get_referrers` per object.
pub fn find_backref_chain(obj: &GcAny, predicate: Predicate<'_>, opts: &ChainOptions<'_>) -> Vec<GcAny> {
    if opts.collect {
        pygc_core::gc::collect();
    }
    let ignore: HashSet<usize> = opts.extra_ignore.iter().copied().collect();
    let mut seen: HashSet<usize> = HashSet::from([obj.id()]);
    let mut parent: HashMap<usize, GcAny> = HashMap::new();
    let mut level = vec![obj.clone()];
    let mut edges: Option<EdgeList> = None;
    for d in 0.. {
        if let Some(found) = level.iter().find(|t| predicate(t)) {
            return chain_from(found, &parent);
        }
        if d >= opts.max_depth || level.is_empty() {
            break;
        }
        // One trace of the heap (which stays pinned: the predicate may drop
        // handles), then one pass over its edges per level.
        let edges = edges.get_or_insert_with(EdgeList::build);
        let refs = edges.referrers(&level.iter().collect::<Vec<_>>());
        let mut next = Vec::new();
        for (t, rs) in level.iter().zip(refs.referrers) {
            for r in rs {
                if ignore.contains(&r.id()) || !seen.insert(r.id()) {
                    continue;
                }
                parent.insert(r.id(), t.clone());
                next.push(r);
            }
        }
        level = next;
    }
    vec![obj.clone()]
}

/// Why is `obj` alive? The shortest chain of strong references from an
/// object the program holds directly — one with more strong handles than
/// heap objects account for — down to `obj`: `[held, …, obj]`.
///
/// `[obj]` means the program holds `obj` itself. The handle passed in is
/// not counted, but every other handle is (including those in a `Vec`
/// returned by [`super::by_type`]). `None` means only the handle passed in
/// keeps it alive: without it, it would be freed (or, in a cycle, found by
/// the next [`pygc_core::gc::collect`]).
pub fn why_alive(obj: &GcAny) -> Option<Vec<GcAny>> {
    let g = HeapGraph::build();
    let Some(start) = g.node_of(obj) else {
        // Untracked and held by no tracked object: only handles hold it.
        return (obj.ref_count() > 1).then(|| vec![obj.clone()]);
    };
    let extra = |i: usize| usize::from(i == start);
    let mut parent: Vec<u32> = vec![u32::MAX; g.len()];
    parent[start] = start as u32;
    let mut queue = VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        if g.external_refs(i, extra(i)) > 0 {
            let mut chain = vec![g.objs[i].clone()];
            let mut cur = i;
            while cur != start {
                cur = parent[cur] as usize;
                chain.push(g.objs[cur].clone());
            }
            return Some(chain);
        }
        for &r in g.referrers(i) {
            let r = r as usize;
            if parent[r] == u32::MAX {
                parent[r] = i as u32;
                queue.push_back(r);
            }
        }
    }
    None
}
