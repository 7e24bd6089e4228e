//! Circular doubly linked lists of `GcLink`s, CPython's `gc_list_*`.
//!
//! A list is a sentinel head whose `next`/`prev` point at the first/last
//! element (or at itself). Element links are the `GcLink` in front of each
//! tracked object. `prev` keeps its two flag bits through every operation.

use crate::heap::header::{GcLink, ObjPtr, PREV_FLAGS};

#[inline]
fn addr(l: &GcLink) -> usize {
    l as *const GcLink as usize
}

/// # Safety (module-wide contract, checked by the callers' invariants)
/// Every address stored in a `next`/`prev` pointer part is either a list head
/// that outlives its elements or the `GcLink` of an allocated tracked object.
#[inline]
pub(crate) fn link_at(a: usize) -> &'static GcLink {
    debug_assert!(a != 0 && a & 15 == 0);
    // SAFETY: see the module contract: list pointers always name live links.
    unsafe { &*(a as *const GcLink) }
}

#[inline]
pub(crate) fn next(l: &GcLink) -> &'static GcLink {
    link_at(l.next.get())
}

#[inline]
pub(crate) fn prev(l: &GcLink) -> &'static GcLink {
    link_at(l.prev.get() & !PREV_FLAGS)
}

#[inline]
pub(crate) fn set_prev(l: &GcLink, p: &GcLink) {
    l.prev.set((l.prev.get() & PREV_FLAGS) | addr(p));
}

pub(crate) fn init(head: &GcLink) {
    head.next.set(addr(head));
    head.prev.set(addr(head));
}

pub(crate) fn is_empty(head: &GcLink) -> bool {
    head.next.get() == addr(head)
}

/// Appends `node` at the tail of `head`.
#[inline]
pub(crate) fn append(node: &GcLink, head: &GcLink) {
    let last = prev(head);
    last.next.set(addr(node));
    set_prev(node, last);
    node.next.set(addr(head));
    head.prev.set(addr(node));
}

/// Unlinks `node` from whatever list holds it and marks it untracked.
#[inline]
pub(crate) fn remove(node: &GcLink) {
    let p = prev(node);
    let n = next(node);
    p.next.set(addr(n));
    set_prev(n, p);
    node.next.set(0);
}

/// Moves `node` from its list to the tail of `head`.
pub(crate) fn move_to(node: &GcLink, head: &GcLink) {
    let p = prev(node);
    let n = next(node);
    p.next.set(addr(n));
    set_prev(n, p);
    append(node, head);
}

/// Moves every element of `from` to the tail of `to`; `from` becomes empty.
pub(crate) fn merge(from: &GcLink, to: &GcLink) {
    if is_empty(from) {
        return;
    }
    let to_tail = prev(to);
    let from_head = next(from);
    let from_tail = prev(from);
    to_tail.next.set(addr(from_head));
    set_prev(from_head, to_tail);
    from_tail.next.set(addr(to));
    set_prev(to, from_tail);
    init(from);
}

/// Number of elements (O(n), as CPython's `gc_list_size`).
pub(crate) fn len(head: &GcLink) -> usize {
    iter(head).count()
}

/// Iterates the objects of a list, in order. The list must not change while
/// the iterator is alive (no user code may run).
pub(crate) fn iter(head: &GcLink) -> impl Iterator<Item = ObjPtr> + '_ {
    let mut l = next(head);
    std::iter::from_fn(move || {
        if std::ptr::eq(l, head) {
            return None;
        }
        let p = ObjPtr::from_link(addr(l));
        l = next(l);
        Some(p)
    })
}

/// The objects of a list, in order.
pub(crate) fn objects(head: &GcLink) -> Vec<ObjPtr> {
    iter(head).collect()
}

/// Thread exit: unhooks every element (`next = 0`, flags kept) so later
/// deallocations never touch the vanishing heads.
pub(crate) fn detach_all(head: &GcLink) {
    if head.next.get() == 0 {
        return;
    }
    let mut l = head.next.get();
    while l != addr(head) {
        let link = link_at(l);
        l = link.next.get();
        link.next.set(0);
        link.prev.set(link.prev.get() & PREV_FLAGS);
    }
    init(head);
}

/// Rebuilds the `prev` pointers of a list whose `next` chain is intact
/// (after a collection phase was abandoned), clearing COLLECTING and any
/// UNREACHABLE bits on the way.
pub(crate) fn repair(head: &GcLink) {
    use crate::heap::header::{NEXT_UNREACHABLE, PREV_FINALIZED};
    head.next.set(head.next.get() & !NEXT_UNREACHABLE);
    let mut p = head;
    let mut a = head.next.get();
    while a != addr(head) {
        let link = link_at(a);
        link.next.set(link.next.get() & !NEXT_UNREACHABLE);
        let finalized = link.prev.get() & PREV_FINALIZED;
        link.prev.set(finalized | addr(p));
        p = link;
        a = link.next.get();
    }
    head.prev.set(addr(p));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::header::{NEXT_UNREACHABLE, PREV_COLLECTING, PREV_FINALIZED};

    fn order(head: &GcLink, nodes: &[GcLink]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut l = next(head);
        while !std::ptr::eq(l, head) {
            out.push(nodes.iter().position(|n| std::ptr::eq(n, l)).unwrap());
            l = next(l);
        }
        out
    }

    /// `prev` of every element names its predecessor: the list equation.
    fn verify(head: &GcLink) {
        let mut p = head;
        let mut l = next(head);
        while !std::ptr::eq(l, head) {
            assert!(std::ptr::eq(prev(l), p));
            p = l;
            l = next(l);
        }
        assert!(std::ptr::eq(prev(head), p));
    }

    #[test]
    fn append_remove_merge_keep_the_equations() {
        let (a, b) = (GcLink::new(), GcLink::new());
        init(&a);
        init(&b);
        let nodes: Vec<GcLink> = (0..5).map(|_| GcLink::new()).collect();
        for n in &nodes[..3] {
            append(n, &a);
        }
        for n in &nodes[3..] {
            append(n, &b);
        }
        nodes[1].prev.set(nodes[1].prev.get() | PREV_FINALIZED);
        verify(&a);
        assert_eq!(order(&a, &nodes), [0, 1, 2]);
        remove(&nodes[1]);
        assert_eq!(nodes[1].next.get(), 0, "removed means untracked");
        assert_eq!(order(&a, &nodes), [0, 2]);
        append(&nodes[1], &a);
        assert_eq!(nodes[1].prev.get() & PREV_FINALIZED, PREV_FINALIZED, "flags survive list moves");
        merge(&b, &a);
        assert!(is_empty(&b));
        assert_eq!(order(&a, &nodes), [0, 2, 1, 3, 4]);
        assert_eq!(len(&a), 5);
        move_to(&nodes[0], &b);
        verify(&a);
        verify(&b);
        assert_eq!((len(&a), len(&b)), (4, 1));
    }

    #[test]
    fn repair_rebuilds_prev_from_next() {
        let head = GcLink::new();
        init(&head);
        let nodes: Vec<GcLink> = (0..4).map(|_| GcLink::new()).collect();
        for n in &nodes {
            append(n, &head);
        }
        nodes[2].prev.set(nodes[2].prev.get() | PREV_FINALIZED);
        // Simulate an abandoned phase: prev holds counts, COLLECTING set,
        // an UNREACHABLE mark on a next link.
        for (i, n) in nodes.iter().enumerate() {
            n.prev.set((n.prev.get() & PREV_FINALIZED) | PREV_COLLECTING | (i << 2));
        }
        nodes[0].next.set(nodes[0].next.get() | NEXT_UNREACHABLE);
        repair(&head);
        verify(&head);
        assert_eq!(order(&head, &nodes), [0, 1, 2, 3]);
        assert!(nodes.iter().all(|n| n.prev.get() & PREV_COLLECTING == 0));
        assert_eq!(nodes[2].prev.get() & PREV_FINALIZED, PREV_FINALIZED);
    }

    #[test]
    fn detach_all_untracks_everything() {
        let head = GcLink::new();
        init(&head);
        let nodes: Vec<GcLink> = (0..3).map(|_| GcLink::new()).collect();
        for n in &nodes {
            append(n, &head);
        }
        detach_all(&head);
        assert!(is_empty(&head));
        assert!(nodes.iter().all(|n| n.next.get() == 0));
    }
}
