//! The leak-check helper, from tests running in parallel (the default harness).

use std::alloc::System;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracemalloc::{check_leaks, Tracing, OBJECT_DOMAIN};

#[global_allocator]
static GLOBAL: Tracing<System> = Tracing::new(System);

/// Where the tests' deliberate leaks stay reachable, so that LeakSanitizer (the suite runs
/// under ASan too) does not report them. Storing needs no allocation, which the checks
/// would count.
static KEPT: [AtomicUsize; 128] = [const { AtomicUsize::new(0) }; 128];
static NEXT_KEPT: AtomicUsize = AtomicUsize::new(0);

fn keep<T: ?Sized>(leaked: &'static mut T) -> &'static mut T {
    let slot = NEXT_KEPT.fetch_add(1, Ordering::Relaxed);
    KEPT[slot].store(leaked as *mut T as *mut u8 as usize, Ordering::Relaxed);
    leaked
}

#[test]
fn a_leak_is_reported_with_its_traceback() {
    let mut line = 0;
    let report = check_leaks(|| {
        line = line!() + 1;
        let leaked: &'static mut [u8] = keep(Box::leak(vec![5u8; 333].into_boxed_slice()));
        assert_eq!(leaked.len(), 333);
    })
    .expect_err("the closure leaked");
    assert_eq!(report.snapshot.traces().len(), 1);
    assert_eq!(report.snapshot.traces()[0].size, 333);
    let text = report.to_string();
    assert!(text.starts_with("1 leaked block(s), 333 bytes:\n"), "{text}");
    let heading = format!("{}:{line}: size=333 B, count=1, average=333 B", file!());
    assert!(text.contains(&heading), "{text}");
    assert!(text.contains("keep(Box::leak(vec![5u8; 333].into_boxed_slice()));"), "{text}");
}

#[test]
fn no_leak_passes_while_others_leak_in_parallel() {
    // Run clean checks on several threads while another thread leaks: attribution is per
    // thread, so none of the clean checks may see the leaking thread's blocks.
    let leaker = std::thread::spawn(|| {
        for _ in 0..50 {
            let r = check_leaks(|| {
                keep(Box::leak(Box::new([1u8; 64])));
            });
            assert!(r.is_err());
        }
    });
    let clean: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..50 {
                    tracemalloc::assert_no_leaks(|| {
                        let v: Vec<String> = (0..20).map(|i| i.to_string()).collect();
                        drop(v);
                    });
                }
            })
        })
        .collect();
    leaker.join().unwrap();
    for t in clean {
        t.join().unwrap();
    }
}

#[test]
#[should_panic(expected = "memory leaked:")]
fn assert_no_leaks_panics() {
    tracemalloc::assert_no_leaks(|| {
        keep(Vec::leak(vec![0u64; 10]));
    });
}

#[test]
fn leaked_objects_count_too() {
    let site = Location::caller();
    let report = check_leaks(|| {
        // What pygc's Gc::new does for an object that is never freed.
        tracemalloc::track_object(0x5000_0000, 48, site);
    })
    .expect_err("an object left tracked is a leak");
    let t = &report.snapshot.traces()[0];
    assert_eq!((t.domain, t.size), (OBJECT_DOMAIN, 48));
    tracemalloc::untrack(OBJECT_DOMAIN, 0x5000_0000);
}
