//! Random heap operations (allocate, link, unlink, drop, `collect(gen)`,
//! freeze, weak references with callbacks, finalizers that resurrect)
//! checked against the BFS model of `crates/pygc/tests/common/heap_model.rs`
//! and `inspect::verify` after every step. Run it under AddressSanitizer
//! (cargo fuzz's default) with the pools on and bypassed
//! (`PYGC_MALLOC=malloc`); see `scripts/fuzz.sh`.
#![no_main]

#[path = "../../crates/pygc/tests/common/heap_model.rs"]
mod heap_model;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&t, rest)) = data.split_first() else { return };
    // The first byte picks the thresholds: 0 means manual collections only,
    // small values reach every generation and the 25 % rule.
    let thresholds =
        if t == 0 { (0, 10, 10) } else { (1 + (t % 8) as usize, (t / 8 % 4) as usize, (t / 32) as usize) };
    let ops = heap_model::Op::decode(rest);
    if let Err(e) = heap_model::run(&ops, thresholds) {
        panic!("heap model violated: {e}");
    }
});
