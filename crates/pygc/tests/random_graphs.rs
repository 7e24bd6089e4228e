//! Property tests: random object graphs, drop orders, collections,
//! freezes, weakref callbacks and resurrecting finalizers, checked against
//! an independent reachability oracle (`common/heap_model.rs`, shared with
//! the fuzzer) and `inspect::verify` after every step.

mod common;

use common::heap_model::{run, Op, SLOTS};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<bool>().prop_map(|other_heap| Op::New { other_heap }),
        5 => (any::<usize>(), 0..=SLOTS, any::<usize>()).prop_map(|(from, slot, to)| Op::Link { from, slot, to }),
        1 => (any::<usize>(), 0..=SLOTS).prop_map(|(from, slot)| Op::Unlink { from, slot }),
        3 => any::<usize>().prop_map(Op::DropRoot),
        1 => (0usize..3).prop_map(Op::Collect),
        1 => (0usize..3).prop_map(Op::CollectOther),
        1 => Just(Op::Freeze),
        1 => Just(Op::Unfreeze),
        1 => any::<usize>().prop_map(Op::WeakCallback),
        1 => any::<usize>().prop_map(Op::Resurrect),
        1 => Just(Op::DropResurrected),
    ]
}

fn cases() -> u32 {
    if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() {
        8
    } else {
        128
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_graphs_manual_collections(ops in prop::collection::vec(op(), 1..150)) {
        run(&ops, (0, 10, 10)).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn random_graphs_automatic_collections(ops in prop::collection::vec(op(), 1..150), t0 in 1usize..8, t1 in 0usize..4, t2 in 0usize..4) {
        // Tiny thresholds reach every generation and the 25 % rule.
        run(&ops, (t0, t1, t2)).map_err(TestCaseError::fail)?;
    }
}
