//! Retained sizes from the dominator tree of the heap.
//!
//! The graph is the heap's strong edges plus a virtual root with an edge to
//! every object the program holds directly (more strong handles than heap
//! edges). `d` dominates `v` when every path from the root to `v` passes
//! through `d`: if `d` went away, `v` would go too. An object's retained
//! size is the size of everything it dominates, itself included. Immediate
//! dominators come from Cooper, Harvey and Kennedy's iterative algorithm
//! ("A Simple, Fast Dominance Algorithm", 2001) over reverse postorder.

use crate::heap_graph::HeapGraph;
use pygc_core::GcAny;

/// What an object keeps alive on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retained {
    /// The object.
    pub object: GcAny,
    /// Bytes that would be freed with it, its own included.
    pub bytes: usize,
    /// Objects that would be freed with it, itself included.
    pub objects: usize,
}

const UNDEF: u32 = u32::MAX;

/// Immediate dominators: `idom[v]` for every node reachable from the
/// virtual root (node `n`), `UNDEF` for the others; plus the reverse
/// postorder of the reachable nodes.
pub(crate) struct DomTree {
    pub(crate) idom: Vec<u32>,
    pub(crate) rpo: Vec<u32>,
}

/// Computes the dominator tree of a graph given by `succ`, with `roots` the
/// successors of the virtual root `n`. `pred` lists predecessors among the
/// real nodes (the virtual root's edges are added from `roots`).
pub(crate) fn dominators<'g>(
    n: usize,
    roots: &'g [u32],
    succ: &dyn Fn(usize) -> &'g [u32],
    pred: &dyn Fn(usize) -> &'g [u32],
) -> DomTree {
    let root = n as u32;
    // Iterative DFS for postorder numbers.
    let mut po = vec![UNDEF; n + 1];
    let mut order: Vec<u32> = Vec::with_capacity(n + 1);
    let mut visited = vec![false; n + 1];
    let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
    visited[n] = true;
    while let Some(&mut (v, ref mut k)) = stack.last_mut() {
        let s: &[u32] = if v == root { roots } else { succ(v as usize) };
        if *k < s.len() {
            let w = s[*k];
            *k += 1;
            if !visited[w as usize] {
                visited[w as usize] = true;
                stack.push((w, 0));
            }
        } else {
            po[v as usize] = order.len() as u32;
            order.push(v);
            stack.pop();
        }
    }
    let mut is_root_child = vec![false; n];
    for &r in roots {
        is_root_child[r as usize] = true;
    }
    let rpo: Vec<u32> = order.iter().rev().copied().collect();
    let mut idom = vec![UNDEF; n + 1];
    idom[n] = root;
    let intersect = |idom: &[u32], mut a: u32, mut b: u32| -> u32 {
        while a != b {
            while po[a as usize] < po[b as usize] {
                a = idom[a as usize];
            }
            while po[b as usize] < po[a as usize] {
                b = idom[b as usize];
            }
        }
        a
    };
    let mut changed = true;
    while changed {
        changed = false;
        for &v in rpo.iter().skip(1) {
            let vi = v as usize;
            let mut new = if is_root_child[vi] { root } else { UNDEF };
            for &p in pred(vi) {
                if idom[p as usize] == UNDEF {
                    continue;
                }
                new = if new == UNDEF { p } else { intersect(&idom, p, new) };
            }
            if new != idom[vi] {
                idom[vi] = new;
                changed = true;
            }
        }
    }
    DomTree { idom, rpo }
}

/// Retained bytes and object counts of every node (index `n` is the root).
fn retained_all(g: &HeapGraph) -> (DomTree, Vec<usize>, Vec<usize>) {
    let n = g.len();
    let roots: Vec<u32> = (0..n).filter(|&i| g.external_refs(i, 0) > 0).map(|i| i as u32).collect();
    let tree = dominators(n, &roots, &|i| g.referents(i), &|i| g.referrers(i));
    let mut bytes = vec![0usize; n + 1];
    let mut objects = vec![0usize; n + 1];
    for &v in tree.rpo.iter().rev() {
        let v = v as usize;
        if v == n {
            continue;
        }
        bytes[v] += g.size_of(v);
        objects[v] += 1;
        let d = tree.idom[v] as usize;
        bytes[d] += bytes[v];
        objects[d] += objects[v];
    }
    (tree, bytes, objects)
}

/// What `obj` retains: itself and every object reachable only through it
/// (its dominator subtree), in bytes and objects.
///
/// An object the heap cannot reach from what the program holds (garbage
/// waiting for the collector) retains what it alone reaches.
pub fn retained_size(obj: &GcAny) -> Retained {
    let g = HeapGraph::build();
    let Some(start) = g.node_of(obj) else {
        return Retained { object: obj.clone(), bytes: pygc_core::sys::getsizeof(obj), objects: 1 };
    };
    let (tree, bytes, objects) = retained_all(&g);
    if tree.idom[start] != UNDEF {
        return Retained { object: obj.clone(), bytes: bytes[start], objects: objects[start] };
    }
    // Unreachable from the roots: everything it reaches that the roots do
    // not reach dies with it.
    let mut seen = vec![false; g.len()];
    let mut stack = vec![start];
    seen[start] = true;
    let (mut b, mut c) = (0, 0);
    while let Some(v) = stack.pop() {
        if tree.idom[v] != UNDEF {
            continue;
        }
        b += g.size_of(v);
        c += 1;
        for &w in g.referents(v) {
            if !seen[w as usize] {
                seen[w as usize] = true;
                stack.push(w as usize);
            }
        }
    }
    Retained { object: obj.clone(), bytes: b, objects: c }
}

/// The `limit` objects that retain the most bytes, largest first.
pub fn largest_retainers(limit: usize) -> Vec<Retained> {
    let g = HeapGraph::build();
    let n = g.len();
    let (tree, bytes, objects) = retained_all(&g);
    let mut idx: Vec<usize> = (0..n).filter(|&i| tree.idom[i] != UNDEF).collect();
    idx.sort_by(|&a, &b| bytes[b].cmp(&bytes[a]).then(a.cmp(&b)));
    idx.truncate(limit);
    idx.into_iter()
        .map(|i| Retained { object: g.objs[i].clone(), bytes: bytes[i], objects: objects[i] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Naive oracle: `d` dominates `v` iff `v` is unreachable from the
    /// root once `d` is removed (and reachable with it).
    fn reach(n: usize, roots: &[u32], succ: &[Vec<u32>], removed: Option<usize>) -> Vec<bool> {
        let mut seen = vec![false; n];
        let mut stack: Vec<usize> =
            roots.iter().map(|&r| r as usize).filter(|&r| Some(r) != removed).collect();
        for &r in &stack {
            seen[r] = true;
        }
        while let Some(v) = stack.pop() {
            for &w in &succ[v] {
                let w = w as usize;
                if Some(w) != removed && !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
        seen
    }

    proptest! {
        #[test]
        fn idom_matches_removal_oracle(
            n in 1usize..12,
            edges in proptest::collection::vec((0usize..12, 0usize..12), 0..30),
            roots in proptest::collection::vec(0usize..12, 1..3),
        ) {
            let mut succ = vec![Vec::new(); n];
            let mut pred = vec![Vec::new(); n];
            for (a, b) in edges {
                if a < n && b < n {
                    succ[a].push(b as u32);
                    pred[b].push(a as u32);
                }
            }
            let roots: Vec<u32> = roots.into_iter().filter(|&r| r < n).map(|r| r as u32).collect();
            let tree = dominators(n, &roots, &|i| &succ[i][..], &|i| &pred[i][..]);
            let all = reach(n, &roots, &succ, None);
            for (v, &reachable) in all.iter().enumerate() {
                prop_assert_eq!(reachable, tree.idom[v] != UNDEF);
                if !reachable { continue; }
                // Dominators of v from the tree: walk up the idom chain.
                let mut doms = vec![v];
                let mut c = v;
                while tree.idom[c] as usize != n {
                    c = tree.idom[c] as usize;
                    doms.push(c);
                }
                for d in 0..n {
                    let dominates = d == v || !reach(n, &roots, &succ, Some(d))[v];
                    prop_assert_eq!(dominates, doms.contains(&d), "d={} v={}", d, v);
                }
            }
        }
    }
}
