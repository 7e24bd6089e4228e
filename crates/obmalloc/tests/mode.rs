//! Choosing the allocator by API: possible before the first allocation, a
//! clear error afterwards (own process: the choice is process-wide).

use obmalloc::{Allocator, Error};

#[test]
fn allocator_is_chosen_before_first_use() {
    if std::env::var_os("PYGC_MALLOC").is_some() {
        eprintln!("skipping: PYGC_MALLOC is set and would decide the allocator");
        return;
    }
    assert_eq!(obmalloc::allocator(), Allocator::PyMalloc);
    obmalloc::set_allocator(Allocator::Debug).unwrap();
    obmalloc::set_allocator(Allocator::Malloc).unwrap();
    assert_eq!(obmalloc::allocator(), Allocator::Malloc);
    // SAFETY: freed right after.
    unsafe {
        let p = obmalloc::malloc(100);
        assert!(!p.is_null());
        obmalloc::free(p);
    }
    assert_eq!(obmalloc::set_allocator(Allocator::Malloc), Ok(()));
    let err = obmalloc::set_allocator(Allocator::PyMalloc).unwrap_err();
    assert_eq!(
        err,
        Error::AlreadyInUse {
            current: Allocator::Malloc,
            requested: Allocator::PyMalloc
        }
    );
    assert!(
        err.to_string()
            .contains("cannot switch the allocator to pymalloc"),
        "{err}"
    );
    // No pools under `malloc`: the report is empty, the identity trivially holds.
    let s = obmalloc::stats();
    assert_eq!(s.arenas_current, 0);
    let mut out = Vec::new();
    obmalloc::debug_malloc_stats_to(&mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn names_parse_like_pythonmalloc() {
    for (name, a) in [
        ("pymalloc", Allocator::PyMalloc),
        ("default", Allocator::PyMalloc),
        ("malloc", Allocator::Malloc),
        ("debug", Allocator::Debug),
        ("pymalloc_debug", Allocator::Debug),
        ("malloc_debug", Allocator::MallocDebug),
    ] {
        assert_eq!(name.parse::<Allocator>(), Ok(a));
    }
    let e = "mimalloc".parse::<Allocator>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown allocator \"mimalloc\"; valid values are pymalloc (default), malloc, debug, pymalloc_debug, malloc_debug"
    );
    assert_eq!(Allocator::Debug.to_string(), "pymalloc_debug");
}
