//! When to collect which generation: CPython 3.11's counts, thresholds and
//! the 25 % rule, the only code that changes them.

use std::cell::Cell;

use super::NUM_GENERATIONS;

/// CPython 3.11's default thresholds.
pub(crate) const DEFAULT_THRESHOLDS: [usize; NUM_GENERATIONS] = [700, 10, 10];

/// The collection schedule of a heap.
///
/// # Invariants
/// - `count[0]` = tracked allocations − tracked deallocations since the
///   last collection of generation 0, floored at 0 (CPython's `count0`
///   follows allocations, not tracking);
/// - `count[i]` for `i ≥ 1` = collections of generation `i − 1` since the
///   last collection of generation `i`;
/// - `long_lived_total` = survivors of the last full collection;
///   `long_lived_pending` = objects promoted into generation 2 since then.
///   A full collection runs automatically only when `long_lived_pending >
///   long_lived_total / 4` (the 25 % rule, which makes full collections
///   cost amortised linear time).
pub(crate) struct Schedule {
    count: [Cell<usize>; NUM_GENERATIONS],
    threshold: [Cell<usize>; NUM_GENERATIONS],
    enabled: Cell<bool>,
    /// `threshold[0]` when automatic collection is on (enabled, threshold
    /// not 0), `usize::MAX` otherwise: the one number the allocation fast
    /// path compares with.
    trigger_at: Cell<usize>,
    long_lived_total: Cell<usize>,
    long_lived_pending: Cell<usize>,
}

impl Schedule {
    pub(crate) const fn new() -> Schedule {
        Schedule {
            count: [Cell::new(0), Cell::new(0), Cell::new(0)],
            threshold: [
                Cell::new(DEFAULT_THRESHOLDS[0]),
                Cell::new(DEFAULT_THRESHOLDS[1]),
                Cell::new(DEFAULT_THRESHOLDS[2]),
            ],
            enabled: Cell::new(true),
            trigger_at: Cell::new(DEFAULT_THRESHOLDS[0]),
            long_lived_total: Cell::new(0),
            long_lived_pending: Cell::new(0),
        }
    }

    /// A tracked object was allocated: `count0 += 1`. Returns whether an
    /// automatic collection is due (generation 0 over a non-zero threshold
    /// and automatic collection enabled; CPython's `_PyObject_GC_Link`).
    #[inline]
    pub(crate) fn note_allocation(&self) -> bool {
        let c = self.count[0].get() + 1;
        self.count[0].set(c);
        c > self.trigger_at.get()
    }

    fn update_trigger(&self) {
        let t0 = self.threshold[0].get();
        self.trigger_at.set(if self.enabled.get() && t0 != 0 { t0 } else { usize::MAX });
    }

    /// A tracked object was deallocated (`PyObject_GC_Del`).
    #[inline]
    pub(crate) fn note_deallocation(&self) {
        self.count[0].set(self.count[0].get().saturating_sub(1));
    }

    /// The generation an automatic collection should collect: the oldest
    /// whose count exceeds its threshold, skipping generation 2 while the
    /// 25 % rule says it is not worth it (`gc_collect_generations`).
    pub(crate) fn generation_to_collect(&self) -> Option<usize> {
        (0..NUM_GENERATIONS).rev().find(|&i| {
            self.count[i].get() > self.threshold[i].get()
                && (i != NUM_GENERATIONS - 1
                    || self.long_lived_pending.get() >= self.long_lived_total.get() / 4)
        })
    }

    /// A collection of `generation` starts: it counts as one collection of
    /// the next older generation, and resets its own and younger counts.
    pub(crate) fn start(&self, generation: usize) {
        if generation + 1 < NUM_GENERATIONS {
            self.count[generation + 1].set(self.count[generation + 1].get() + 1);
        }
        for c in &self.count[..=generation] {
            c.set(0);
        }
    }

    /// `survivors` objects survived a collection of `generation`.
    pub(crate) fn survived(&self, generation: usize, survivors: usize) {
        if generation == NUM_GENERATIONS - 2 {
            self.long_lived_pending.set(self.long_lived_pending.get() + survivors);
        } else if generation == NUM_GENERATIONS - 1 {
            self.long_lived_pending.set(0);
            self.long_lived_total.set(survivors);
        }
    }

    /// `gc.freeze()`: every count goes to zero.
    pub(crate) fn freeze(&self) {
        for c in &self.count {
            c.set(0);
        }
    }

    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        (self.count[0].get(), self.count[1].get(), self.count[2].get())
    }

    pub(crate) fn thresholds(&self) -> (usize, usize, usize) {
        (self.threshold[0].get(), self.threshold[1].get(), self.threshold[2].get())
    }

    pub(crate) fn set_thresholds(&self, t: [usize; NUM_GENERATIONS]) {
        for (cell, v) in self.threshold.iter().zip(t) {
            cell.set(v);
        }
        self.update_trigger();
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.get()
    }

    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.set(on);
        self.update_trigger();
    }
}

/// One generation's entry of `gc.get_stats()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Collections of this generation.
    pub collections: usize,
    /// Objects collected by them.
    pub collected: usize,
    /// Uncollectable objects they found.
    pub uncollectable: usize,
}

impl GenerationStats {
    pub(crate) const ZERO: GenerationStats =
        GenerationStats { collections: 0, collected: 0, uncollectable: 0 };
}

/// The phase a gc callback is called for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackPhase {
    /// Before a collection (`"start"`).
    Start,
    /// After a collection (`"stop"`).
    Stop,
}

impl CallbackPhase {
    /// `"start"` or `"stop"`, as CPython passes.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackPhase::Start => "start",
            CallbackPhase::Stop => "stop",
        }
    }
}

/// The `info` dict passed to gc callbacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallbackInfo {
    /// The generation being collected.
    pub generation: usize,
    /// Objects collected (0 at start).
    pub collected: usize,
    /// Uncollectable objects found (0 at start).
    pub uncollectable: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_zero_triggers_above_its_threshold() {
        let s = Schedule::new();
        s.set_thresholds([3, 10, 10]);
        assert!(!s.note_allocation() && !s.note_allocation() && !s.note_allocation());
        assert!(s.note_allocation(), "the fourth allocation is over 3");
        s.set_enabled(false);
        assert!(!s.note_allocation(), "disabled: no automatic collection");
        s.set_enabled(true);
        s.set_thresholds([0, 10, 10]);
        assert!(!s.note_allocation(), "threshold 0 turns automatic collection off");
    }

    #[test]
    fn deallocations_lower_count0_floored_at_zero() {
        let s = Schedule::new();
        s.note_allocation();
        s.note_deallocation();
        s.note_deallocation();
        assert_eq!(s.counts(), (0, 0, 0));
    }

    #[test]
    fn each_collection_counts_in_the_next_generation() {
        let s = Schedule::new();
        s.note_allocation();
        s.start(0);
        s.start(0);
        assert_eq!(s.counts(), (0, 2, 0));
        s.start(1);
        assert_eq!(s.counts(), (0, 0, 1));
        s.start(2);
        assert_eq!(s.counts(), (0, 0, 0));
    }

    #[test]
    fn the_oldest_generation_over_its_threshold_is_chosen() {
        let s = Schedule::new();
        s.set_thresholds([1, 1, 100]);
        for _ in 0..2 {
            s.note_allocation();
        }
        assert_eq!(s.generation_to_collect(), Some(0));
        s.start(0);
        s.start(0);
        s.note_allocation();
        s.note_allocation();
        assert_eq!(s.generation_to_collect(), Some(1), "count1 = 2 > 1 wins over count0");
    }

    #[test]
    fn the_25_percent_rule_holds_back_full_collections() {
        let s = Schedule::new();
        s.set_thresholds([1000, 1000, 0]);
        // A full collection left 1000 long-lived objects.
        s.survived(2, 1000);
        s.start(1); // count2 = 1 > threshold 0
        s.survived(1, 249);
        assert_eq!(s.generation_to_collect(), None, "249 pending < 1000 / 4: not worth a full collection");
        s.survived(1, 1);
        assert_eq!(s.generation_to_collect(), Some(2), "250 pending: collect generation 2");
        s.survived(2, 10);
        s.start(2);
        assert_eq!(s.generation_to_collect(), None);
    }
}
