//! Random alloc/realloc/free sequences against a naive model (a list of live
//! blocks with their expected contents): contents survive, alignment holds,
//! no two live blocks overlap, the invariants hold after every step, and the
//! live-byte counter comes back to where it started. Bursts and free-all steps
//! make the generator reach new arenas, arena release and pool reuse.

use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Api {
    /// `object_alloc` / `object_dealloc` (API 'o').
    Obj,
    /// `GlobalAlloc` on `ObMalloc` (API 'm', sized).
    Global,
    /// `malloc` / `realloc` / `free` (API 'm', unsized).
    Mem,
}

#[derive(Clone, Debug)]
enum Op {
    Alloc { size: usize, align: usize, api: Api },
    Free(usize),
    Realloc(usize, usize),
    Burst { size: usize, n: usize },
    FreeAll,
    FreeEveryOther,
}

struct Live {
    ptr: *mut u8,
    size: usize,
    align: usize,
    api: Api,
    fill: u8,
}

#[derive(Default)]
struct Model {
    live: Vec<Live>,
    ranges: BTreeMap<usize, usize>,
    next_fill: u8,
}

fn size_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![6 => 1usize..=512, 1 => 513usize..=2048, 1 => Just(16usize), 1 => Just(512usize)]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (size_strategy(), prop_oneof![Just(1usize), Just(8), Just(16), Just(32), Just(64)], 0..3u8)
            .prop_map(|(size, align, k)| Op::Alloc { size, align, api: match k {
                0 if align <= 16 => Api::Mem,
                1 => Api::Global,
                _ => Api::Obj,
            } }),
        5 => any::<usize>().prop_map(Op::Free),
        3 => (any::<usize>(), 0usize..=1024).prop_map(|(i, s)| Op::Realloc(i, s)),
        1 => (prop_oneof![Just(16usize), Just(64), Just(256), Just(512)], 500usize..3000)
            .prop_map(|(size, n)| Op::Burst { size, n }),
        1 => Just(Op::FreeAll),
        1 => Just(Op::FreeEveryOther),
    ]
}

impl Model {
    fn insert(&mut self, ptr: *mut u8, size: usize, align: usize, api: Api) {
        assert!(!ptr.is_null(), "out of memory");
        assert_eq!(
            ptr as usize % align.max(if api == Api::Mem { 16 } else { 1 }),
            0,
            "misaligned"
        );
        let (start, end) = (ptr as usize, ptr as usize + size.max(1));
        if let Some((&s, &e)) = self.ranges.range(..end).next_back() {
            assert!(
                e <= start || s >= end,
                "overlap: [{s:#x},{e:#x}) and [{start:#x},{end:#x})"
            );
        }
        self.ranges.insert(start, end);
        self.next_fill = self.next_fill.wrapping_add(1);
        let fill = self.next_fill;
        // SAFETY: a fresh block of `size` bytes.
        unsafe { std::ptr::write_bytes(ptr, fill, size) };
        self.live.push(Live {
            ptr,
            size,
            align,
            api,
            fill,
        });
    }

    fn check(l: &Live) {
        // SAFETY: a live block of `size` bytes we filled.
        let s = unsafe { std::slice::from_raw_parts(l.ptr, l.size) };
        assert!(
            s.iter().all(|&b| b == l.fill),
            "contents of {:p} changed",
            l.ptr
        );
    }

    fn free(&mut self, i: usize) {
        let l = self.live.swap_remove(i);
        Self::check(&l);
        self.ranges.remove(&(l.ptr as usize));
        // SAFETY: a live block freed with its own API and layout.
        unsafe {
            match l.api {
                Api::Obj => obmalloc::object_dealloc(
                    l.ptr,
                    Layout::from_size_align(l.size, l.align).unwrap(),
                ),
                Api::Global => GlobalAlloc::dealloc(
                    &obmalloc::ObMalloc,
                    l.ptr,
                    Layout::from_size_align(l.size, l.align).unwrap(),
                ),
                Api::Mem => obmalloc::free(l.ptr),
            }
        }
    }

    fn alloc(&mut self, size: usize, align: usize, api: Api) {
        // SAFETY: non-zero sizes; freed by `free`.
        let p = unsafe {
            match api {
                Api::Obj => obmalloc::object_alloc(Layout::from_size_align(size, align).unwrap()),
                Api::Global => GlobalAlloc::alloc(
                    &obmalloc::ObMalloc,
                    Layout::from_size_align(size, align).unwrap(),
                ),
                Api::Mem => obmalloc::malloc(size),
            }
        };
        self.insert(p, size, align, api);
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Alloc { size, align, api } => self.alloc(size, align, api),
            Op::Free(i) if !self.live.is_empty() => self.free(i % self.live.len()),
            Op::Realloc(i, new) if !self.live.is_empty() => {
                let i = i % self.live.len();
                let l = self.live.swap_remove(i);
                Self::check(&l);
                self.ranges.remove(&(l.ptr as usize));
                let new = if l.api == Api::Mem { new } else { new.max(1) };
                let old_layout = Layout::from_size_align(l.size, l.align).unwrap();
                // SAFETY: a live block reallocated through its own API.
                let q = unsafe {
                    match l.api {
                        Api::Obj => {
                            // PyObject has no sized realloc: allocate, copy, free.
                            let q = obmalloc::object_alloc(
                                Layout::from_size_align(new, l.align).unwrap(),
                            );
                            std::ptr::copy_nonoverlapping(l.ptr, q, l.size.min(new));
                            obmalloc::object_dealloc(l.ptr, old_layout);
                            q
                        }
                        Api::Global => {
                            GlobalAlloc::realloc(&obmalloc::ObMalloc, l.ptr, old_layout, new)
                        }
                        Api::Mem => obmalloc::realloc(l.ptr, new),
                    }
                };
                assert!(!q.is_null());
                // SAFETY: q holds min(old, new) bytes of the old contents.
                let kept = unsafe { std::slice::from_raw_parts(q, l.size.min(new)) };
                assert!(kept.iter().all(|&b| b == l.fill), "realloc lost contents");
                self.insert(q, new, l.align, l.api);
            }
            Op::Burst { size, n } => {
                for _ in 0..n {
                    self.alloc(size, 16, Api::Obj);
                }
            }
            Op::FreeAll => {
                while !self.live.is_empty() {
                    self.free(self.live.len() - 1);
                }
            }
            Op::FreeEveryOther => {
                let mut i = 0;
                while i < self.live.len() {
                    self.free(i);
                    i += 1;
                }
            }
            _ => {}
        }
    }
}

fn cases() -> u32 {
    if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() {
        8
    } else {
        64
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    #[test]
    fn random_sequences_match_the_model(ops in proptest::collection::vec(op_strategy(), 1..120)) {
        let base = obmalloc::live_bytes();
        let mut m = Model::default();
        for op in &ops {
            m.apply(op);
            obmalloc::verify().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let s = obmalloc::stats();
            prop_assert_eq!(s.accounted_bytes(), s.arenas_current * obmalloc::ARENA_SIZE);
        }
        m.apply(&Op::FreeAll);
        // Every case ends by filling three arenas and freeing everything:
        // arenas must go back to the OS. (`collect` first gives back the empty
        // pools this thread keeps at the head of its class lists, which would
        // otherwise pin arenas that the burst then fills.)
        if obmalloc::allocator().uses_pools() {
            obmalloc::collect();
            let before = obmalloc::stats();
            prop_assert!(before.arenas_current <= 1, "only the spare arena is left: {:?}", before);
            // Under the debug hooks each block carries 24 more bytes.
            let size = if obmalloc::allocator() == obmalloc::Allocator::Debug { 512 - 24 } else { 512 };
            let n = 3 * obmalloc::MAX_POOLS_IN_ARENA * obmalloc::blocks_per_pool(obmalloc::size_class(512));
            m.apply(&Op::Burst { size, n });
            prop_assert!(obmalloc::stats().arenas_current >= 3);
            m.apply(&Op::FreeAll);
            obmalloc::collect();
            let after = obmalloc::stats();
            prop_assert!(after.arenas_reclaimed >= before.arenas_reclaimed + 2, "{:?}", after);
            prop_assert_eq!(after.arenas_current, 1);
        }
        obmalloc::verify().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(obmalloc::live_bytes(), base);
    }
}
