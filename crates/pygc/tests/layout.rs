//! Block layout edge cases: over-aligned, zero-sized and large values.

use pygc::{gc, sys, Gc, GcCell, Trace};

#[derive(Trace)]
#[repr(align(64))]
struct Aligned {
    x: u8,
    next: GcCell<Option<Gc<Aligned>>>,
}

#[derive(Trace)]
#[repr(align(128))]
struct AlignedLeaf(u8);

#[derive(Trace)]
struct Empty;

#[test]
fn over_aligned_values_are_aligned_and_collectable() {
    let v: Vec<_> = (0..100).map(|i| Gc::new(Aligned { x: i, next: GcCell::new(None) })).collect();
    for (i, a) in v.iter().enumerate() {
        assert_eq!(Gc::id(a) % 64, 0);
        assert_eq!(a.x as usize, i);
        *a.next.borrow_mut() = Some(a.clone());
    }
    let leaves: Vec<_> = (0..10).map(|i| Gc::new(AlignedLeaf(i))).collect();
    assert!(leaves.iter().all(|l| Gc::id(l) % 128 == 0));
    drop(v);
    assert_eq!(gc::collect(), 100);
}

#[test]
fn zero_sized_values() {
    let e = Gc::new(Empty);
    let f = Gc::new(Empty);
    assert!(!Gc::ptr_eq(&e, &f), "distinct objects, as in Python");
    assert_eq!(sys::getsizeof(&e), 16);
    assert!(!gc::is_tracked(&e));
}

#[test]
fn large_values_go_through() {
    let big = Gc::new([7u64; 1024]);
    assert_eq!(big.iter().sum::<u64>(), 7 * 1024);
    assert_eq!(sys::getsizeof(&big), 16 + 8 * 1024);
}

#[test]
fn objects_created_inside_trace_stay_untracked() {
    struct Allocating(GcCell<Option<Gc<Allocating>>>);
    // SAFETY: breaks the contract on purpose (allocates while traced) to
    // exercise the collector's defence; never do this.
    unsafe impl Trace for Allocating {
        fn trace<V: pygc::Visitor>(&self, v: &mut V) {
            // Misuse: allocating while being traced. It must not corrupt the lists.
            let tmp = Gc::new(Allocating(GcCell::new(None)));
            drop(tmp);
            self.0.trace(v);
        }
    }
    let a = Gc::new(Allocating(GcCell::new(None)));
    *a.0.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
    assert!(gc::get_objects(None).unwrap().is_empty());
}
