//! CPython's `PyGC_Head` and the circular doubly linked lists it forms
//! (`gc_list_*` in `Python/gc.c`).
//!
//! A list is a sentinel [`GcList`] whose `next`/`prev` name the first/last
//! element, or itself when empty. Elements are the [`GcLink`]s in front of
//! tracked objects.
//!
//! The words are tagged pointers, handled through the strict-provenance
//! APIs (`map_addr`, `with_addr`, `without_provenance`), never through
//! integer casts:
//!
//! - `next`: the next link, or null when the object is in no list. While
//!   `move_unreachable` runs, bit 0 (`NEXT_UNREACHABLE`) marks objects moved
//!   to the tentatively unreachable list.
//! - `prev`: bits 0–1 are flags (`PREV_COLLECTING` during a collection;
//!   bit 0 is free: FINALIZED lives in the header's flags); the rest is the
//!   previous link, except in the tracing phase of a collection, when it is
//!   `gc_refs` (a plain number, no provenance) and only `next` may be
//!   followed.
//!
//! The list equation, checked by [`GcList::verify`]: for every element `x`
//! of a list, `x.next.prev == x` and `x.prev.next == x` (outside the tracing
//! phase), and the walk from the head along `next` returns to the head.

use std::cell::Cell;
use std::ptr::{self, NonNull};

use super::header::ObjPtr;

/// `prev` bit: the object belongs to the set being collected.
pub(crate) const PREV_COLLECTING: usize = 2;
/// Low bits of `prev` that are flags.
pub(crate) const PREV_FLAGS: usize = 3;
/// How far `gc_refs` is shifted inside `prev`.
const PREV_SHIFT: u32 = 2;
/// The largest `gc_refs` a link can hold.
pub(crate) const MAX_GC_REFS: usize = usize::MAX >> PREV_SHIFT;
/// `next` bit during `move_unreachable`.
pub(crate) const NEXT_UNREACHABLE: usize = 1;

/// CPython's `PyGC_Head`. Aligned to 16 so that list heads leave the low
/// bits of pointers to them free, as blocks do.
#[repr(C, align(16))]
pub(crate) struct GcLink {
    next: Cell<*mut GcLink>,
    prev: Cell<*mut GcLink>,
}

impl GcLink {
    /// A link in no list.
    pub(crate) const fn new() -> GcLink {
        GcLink { next: Cell::new(ptr::null_mut()), prev: Cell::new(ptr::null_mut()) }
    }

    #[inline]
    pub(crate) fn as_mut_ptr(&self) -> *mut GcLink {
        ptr::from_ref(self).cast_mut()
    }

    /// Whether the link is in a list (`next` is not null).
    #[inline]
    pub(crate) fn is_linked(&self) -> bool {
        !self.next.get().is_null()
    }

    /// The `next` word with its tag bit removed.
    #[inline]
    pub(crate) fn next(&self) -> *mut GcLink {
        let w = self.next.get();
        w.wrapping_byte_sub(w.addr() & NEXT_UNREACHABLE)
    }

    /// Whether `move_unreachable` marked this link.
    #[inline]
    pub(crate) fn is_marked_unreachable(&self) -> bool {
        self.next.get().addr() & NEXT_UNREACHABLE != 0
    }

    /// The raw `next` word, tag included.
    #[inline]
    pub(crate) fn next_word(&self) -> *mut GcLink {
        self.next.get()
    }

    /// Sets the raw `next` word, tag included.
    #[inline]
    pub(crate) fn set_next_word(&self, w: *mut GcLink) {
        self.next.set(w)
    }

    /// Sets `next` to `p`, with or without the unreachable mark.
    #[inline]
    pub(crate) fn set_next(&self, p: *mut GcLink, unreachable: bool) {
        self.next.set(if unreachable { p.map_addr(|a| a | NEXT_UNREACHABLE) } else { p });
    }

    /// The previous link (outside the tracing phase).
    #[inline]
    pub(crate) fn prev(&self) -> *mut GcLink {
        let w = self.prev.get();
        // Subtracting the flag bits clears them and keeps the provenance
        // (cheaper than `map_addr`, which LLVM does not fold).
        w.wrapping_byte_sub(w.addr() & PREV_FLAGS)
    }

    /// Sets the previous link, keeping the flag bits.
    #[inline]
    pub(crate) fn set_prev(&self, p: *mut GcLink) {
        let flags = self.prev.get().addr() & PREV_FLAGS;
        debug_assert!(p.addr() & PREV_FLAGS == 0);
        // `p` is 16-aligned: adding the flags sets them.
        self.prev.set(p.wrapping_byte_add(flags));
    }

    /// The flag bits of `prev`.
    #[inline]
    pub(crate) fn prev_flags(&self) -> usize {
        self.prev.get().addr() & PREV_FLAGS
    }

    /// Sets or clears `prev` flag bits.
    #[inline]
    pub(crate) fn set_prev_flags(&self, set: usize, clear: usize) {
        debug_assert!((set | clear) & !PREV_FLAGS == 0);
        self.prev.set(self.prev.get().map_addr(|a| (a & !clear) | set));
    }

    /// Whether the object is in the set being collected.
    #[inline]
    pub(crate) fn is_collecting(&self) -> bool {
        self.prev_flags() & PREV_COLLECTING != 0
    }

    /// `gc_refs`, meaningful only in the tracing phase.
    #[inline]
    pub(crate) fn gc_refs(&self) -> usize {
        self.prev.get().addr() >> PREV_SHIFT
    }

    /// Starts the tracing phase for this link: COLLECTING set and `gc_refs`
    /// stored in place of the previous pointer, in one write.
    #[inline]
    pub(crate) fn begin_collecting(&self, gc_refs: usize) {
        debug_assert!(gc_refs <= MAX_GC_REFS);
        let flags = self.prev_flags() | PREV_COLLECTING;
        self.prev.set(ptr::without_provenance_mut((gc_refs << PREV_SHIFT) | flags));
    }

    /// One less `gc_refs` (the caller checked it is positive).
    #[inline]
    pub(crate) fn decrement_gc_refs(&self) {
        debug_assert!(self.gc_refs() > 0);
        self.prev.set(self.prev.get().wrapping_byte_sub(1 << PREV_SHIFT));
    }

    /// Ends the tracing phase for a reachable link: COLLECTING cleared and a
    /// real previous pointer again, in one write.
    #[inline]
    pub(crate) fn end_collecting(&self, prev: *mut GcLink) {
        debug_assert!(prev.addr() & PREV_FLAGS == 0);
        let flags = self.prev_flags() & !PREV_COLLECTING;
        self.prev.set(prev.wrapping_byte_add(flags));
    }

    /// Stores `gc_refs` in place of the previous pointer, keeping the flags
    /// (the tracing phase; `prev` is rebuilt before it ends).
    #[inline]
    pub(crate) fn set_gc_refs(&self, n: usize) {
        debug_assert!(n <= MAX_GC_REFS);
        let flags = self.prev_flags();
        self.prev.set(ptr::without_provenance_mut((n << PREV_SHIFT) | flags));
    }

    /// Leaves every list: `next` null, `prev` reduced to its flags.
    #[inline]
    pub(crate) fn detach(&self) {
        self.next.set(ptr::null_mut());
        let flags = self.prev_flags();
        self.prev.set(ptr::without_provenance_mut(flags));
    }
}

/// Follows a list pointer.
///
/// # Safety
/// `p` is not null and names a live link: a list head that outlives the
/// returned reference, or the link of an allocated tracked object. The
/// lists of a heap only ever hold such pointers (invariant 4 in
/// `state/mod.rs`), so a pointer read from a well-formed list qualifies.
#[inline]
pub(crate) unsafe fn deref<'a>(p: *mut GcLink) -> &'a GcLink {
    debug_assert!(!p.is_null() && p.addr() & 15 == 0);
    // SAFETY: guaranteed by the caller.
    unsafe { &*p }
}

/// Unlinks `node` from whatever list holds it, leaving it in none
/// (`gc_list_remove`).
///
/// # Safety
/// `node` is in a well-formed list (outside the tracing phase).
#[inline]
pub(crate) unsafe fn remove(node: &GcLink) {
    // SAFETY: in a well-formed list, both neighbours are live links.
    let (p, n) = unsafe { (deref(node.prev()), deref(node.next())) };
    p.set_next(n.as_mut_ptr(), false);
    n.set_prev(p.as_mut_ptr());
    node.next.set(ptr::null_mut());
}

/// A list head (a sentinel link). It must not move once [`GcList::init`]
/// made it point at itself: heads live inside a heap's state, which never
/// moves.
#[repr(transparent)]
pub(crate) struct GcList {
    head: GcLink,
}

impl GcList {
    /// A head that is not a list yet: call [`GcList::init`] in place.
    pub(crate) const fn new() -> GcList {
        GcList { head: GcLink::new() }
    }

    /// Makes the list empty and circular, at its current address.
    pub(crate) fn init(&self) {
        let me = self.head.as_mut_ptr();
        self.head.next.set(me);
        self.head.prev.set(me);
    }

    /// The head as a link pointer (the end of iteration).
    #[inline]
    pub(crate) fn head_ptr(&self) -> *mut GcLink {
        self.head.as_mut_ptr()
    }

    /// The head itself, for algorithms that treat it as a link
    /// (`move_unreachable`).
    #[inline]
    pub(crate) fn head(&self) -> &GcLink {
        &self.head
    }

    /// Whether the list has no element.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.next() == self.head_ptr()
    }

    /// Appends `node` at the tail (`gc_list_append`).
    ///
    /// # Safety
    /// The list is initialised and well formed; `node` is the link of an
    /// allocated tracked object and is in no list.
    #[inline]
    pub(crate) unsafe fn append(&self, node: &GcLink) {
        // SAFETY: a well-formed list's prev pointer names a live link (a
        // head's carries no flags).
        let last = unsafe { deref(self.head.prev.get()) };
        last.set_next(node.as_mut_ptr(), false);
        node.prev.set(last.as_mut_ptr().wrapping_byte_add(node.prev_flags()));
        node.next.set(self.head_ptr());
        // A head carries no flags.
        self.head.prev.set(node.as_mut_ptr());
    }

    /// Moves `node` from its list to the tail of this one
    /// (`gc_list_move`).
    ///
    /// # Safety
    /// Both lists are initialised and well formed, and `node` is in one.
    #[inline]
    pub(crate) unsafe fn move_in(&self, node: &GcLink) {
        // SAFETY: `node` is in a well-formed list; after `remove` it is in
        // none, as `append` requires.
        unsafe {
            remove(node);
            self.append(node);
        }
    }

    /// Moves every element of this list to the tail of `to`, leaving this
    /// one empty (`gc_list_merge`).
    ///
    /// # Safety
    /// Both lists are initialised and well formed.
    pub(crate) unsafe fn merge_into(&self, to: &GcList) {
        if self.is_empty() {
            return;
        }
        // SAFETY: the pointers come from well-formed lists: live links.
        let (to_tail, first, last) =
            unsafe { (deref(to.head.prev()), deref(self.head.next()), deref(self.head.prev())) };
        to_tail.set_next(first.as_mut_ptr(), false);
        first.set_prev(to_tail.as_mut_ptr());
        last.set_next(to.head_ptr(), false);
        to.head.set_prev(last.as_mut_ptr());
        self.init();
    }

    /// Iterates the objects, first to last, following `next` only (so it
    /// also works in the tracing phase).
    ///
    /// # Safety
    /// The list is initialised and its `next` chain well formed, and no
    /// element is unlinked or freed while the iterator is used (no user code
    /// runs that could drop a count, or every element is held).
    #[inline]
    pub(crate) unsafe fn iter(&self) -> ListIter<'_> {
        ListIter { at: self.head.next(), end: self.head_ptr(), _list: std::marker::PhantomData }
    }

    /// Number of elements (`gc_list_size`, O(n)).
    ///
    /// # Safety
    /// As for [`GcList::iter`].
    pub(crate) unsafe fn len(&self) -> usize {
        // SAFETY: forwarded to the caller.
        unsafe { self.iter() }.count()
    }

    /// Rebuilds every `prev` pointer from the `next` chain, removing the
    /// UNREACHABLE marks and the COLLECTING bits: what
    /// an abandoned collection phase leaves behind, made a list again.
    ///
    /// # Safety
    /// The list is initialised and its `next` chain, marks removed, is
    /// circular through live links (every pass keeps it so).
    pub(crate) unsafe fn repair(&self) {
        let mut prev = self.head_ptr();
        let mut at = self.head.next();
        self.head.next.set(at);
        while at != self.head_ptr() {
            // SAFETY: the caller guarantees the chain names live links.
            let link = unsafe { deref(at) };
            let next = link.next();
            link.next.set(next);
            link.prev.set(prev);
            prev = at;
            at = next;
        }
        self.head.prev.set(prev);
    }

    /// Checks the list equation and that no element carries a collection
    /// mark; returns the number of elements, or what is wrong. CPython's
    /// `validate_list`.
    ///
    /// # Safety
    /// Every `next` pointer of the list names a live link (what this checks
    /// beyond that is the rest of the equation).
    pub(crate) unsafe fn verify(&self, name: &str, collecting_allowed: bool) -> Result<usize, String> {
        let mut n = 0usize;
        let mut prev: *mut GcLink = self.head_ptr();
        let mut at = self.head.next.get();
        loop {
            if at.is_null() {
                return Err(format!("{name}: element {n} has a null next"));
            }
            if at.addr() & NEXT_UNREACHABLE != 0 {
                return Err(format!("{name}: element {n} still marked unreachable"));
            }
            // SAFETY: the caller guarantees every next pointer names a live link.
            let link = unsafe { deref(at) };
            if link.prev() != prev {
                return Err(format!("{name}: element {n}'s prev does not name its predecessor"));
            }
            if at == self.head_ptr() {
                return Ok(n);
            }
            if !collecting_allowed && link.is_collecting() {
                return Err(format!("{name}: element {n} still marked COLLECTING"));
            }
            n += 1;
            prev = at;
            at = link.next.get();
        }
    }
}

/// An iterator over a list's objects; see [`GcList::iter`].
pub(crate) struct ListIter<'a> {
    at: *mut GcLink,
    end: *mut GcLink,
    _list: std::marker::PhantomData<&'a GcList>,
}

impl Iterator for ListIter<'_> {
    type Item = ObjPtr;

    #[inline]
    fn next(&mut self) -> Option<ObjPtr> {
        if self.at == self.end {
            return None;
        }
        // SAFETY: `GcList::iter`'s caller guarantees the chain is well formed
        // and nothing is unlinked meanwhile: `at` names a live element link.
        let link = unsafe { deref(self.at) };
        // Lists that are iterated carry no UNREACHABLE marks (those exist
        // only inside `move_unreachable`, and `repair` removes them).
        debug_assert!(!link.is_marked_unreachable());
        self.at = link.next_word();
        // SAFETY: an element link (not the head) is the link of an object.
        Some(unsafe { ObjPtr::from_link(NonNull::from(link)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Elements of `list`, as positions in `nodes`.
    fn order(list: &GcList, nodes: &[GcLink]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = list.head.next();
        while at != list.head_ptr() {
            out.push(nodes.iter().position(|n| ptr::eq(n, at)).unwrap());
            // SAFETY: the test's nodes outlive the walk.
            at = unsafe { deref(at) }.next();
        }
        out
    }

    fn verify(list: &GcList) -> usize {
        // SAFETY: every node of these tests lives on the test's stack.
        unsafe { list.verify("test", false) }.unwrap()
    }

    #[test]
    fn append_remove_merge_keep_the_equation() {
        let (a, b) = (GcList::new(), GcList::new());
        a.init();
        b.init();
        let nodes: Vec<GcLink> = (0..5).map(|_| GcLink::new()).collect();
        // SAFETY: the nodes outlive the lists' use of them and
        // each is in at most one list at a time.
        unsafe {
            for n in &nodes[..3] {
                a.append(n);
            }
            for n in &nodes[3..] {
                b.append(n);
            }
            nodes[1].set_prev_flags(PREV_COLLECTING, 0);
            assert_eq!(a.verify("test", true), Ok(3));
            nodes[1].set_prev_flags(0, PREV_COLLECTING);
            nodes[1].set_prev_flags(1, 0);
            assert_eq!(verify(&a), 3);
            assert_eq!(order(&a, &nodes), [0, 1, 2]);
            remove(&nodes[1]);
            assert!(!nodes[1].is_linked(), "removed means in no list");
            assert_eq!(order(&a, &nodes), [0, 2]);
            a.append(&nodes[1]);
            assert_eq!(nodes[1].prev_flags(), 1, "flags survive list moves");
            b.merge_into(&a);
            assert!(b.is_empty());
            assert_eq!(order(&a, &nodes), [0, 2, 1, 3, 4]);
            assert_eq!(a.len(), 5);
            b.move_in(&nodes[0]);
            assert_eq!((verify(&a), verify(&b)), (4, 1));
        }
    }

    #[test]
    fn verify_finds_a_broken_prev_and_a_stale_mark() {
        let a = GcList::new();
        a.init();
        let nodes: Vec<GcLink> = (0..3).map(|_| GcLink::new()).collect();
        // SAFETY: the nodes outlive the list and are in no other list.
        unsafe {
            for n in &nodes {
                a.append(n);
            }
            nodes[2].set_prev(nodes[0].as_mut_ptr());
            assert!(a.verify("gen", false).unwrap_err().contains("prev does not name"));
            nodes[2].set_prev(nodes[1].as_mut_ptr());
            nodes[1].set_prev_flags(PREV_COLLECTING, 0);
            assert!(a.verify("gen", false).unwrap_err().contains("COLLECTING"));
            assert_eq!(a.verify("gen", true), Ok(3));
        }
    }

    #[test]
    fn repair_rebuilds_prev_from_next() {
        let a = GcList::new();
        a.init();
        let nodes: Vec<GcLink> = (0..4).map(|_| GcLink::new()).collect();
        // SAFETY: as above.
        unsafe {
            for n in &nodes {
                a.append(n);
            }
            // What an abandoned phase leaves: counts in prev, COLLECTING set,
            // an UNREACHABLE mark on a next word.
            for (i, n) in nodes.iter().enumerate() {
                n.set_prev_flags(PREV_COLLECTING, 0);
                n.set_gc_refs(i + 7);
            }
            nodes[0].set_next(nodes[1].as_mut_ptr(), true);
            a.repair();
            assert_eq!(a.verify("repaired", false), Ok(4));
            assert_eq!(order(&a, &nodes), [0, 1, 2, 3]);
            assert!(nodes.iter().all(|n| n.prev_flags() == 0));
        }
    }

    #[test]
    fn gc_refs_and_flags_share_prev() {
        let l = GcLink::new();
        l.set_prev_flags(1 | PREV_COLLECTING, 0);
        l.set_gc_refs(12345);
        assert_eq!(l.gc_refs(), 12345);
        assert!(l.prev_flags() == 1 | PREV_COLLECTING && l.is_collecting());
        l.set_prev_flags(0, PREV_COLLECTING);
        assert_eq!(l.gc_refs(), 12345);
        assert!(!l.is_collecting());
        l.detach();
        assert!(!l.is_linked() && l.prev_flags() == 1, "flags survive leaving a list");
    }
}
