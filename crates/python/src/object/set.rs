//! `set` and `frozenset`: CPython's open-addressing table (linear probes
//! then perturbation), so iteration order matches CPython's for ints.

use pygc::{GcCell, Trace};

use super::dict::Version;
use super::Value;

const LINEAR_PROBES: usize = 9;

/// One slot.
#[derive(Trace, Clone)]
pub enum Slot {
    /// Never used.
    Empty,
    /// Deleted.
    Dummy,
    /// A key and its hash.
    Full(i64, Value),
}

/// The table.
#[derive(Trace)]
pub struct SetTable {
    /// The slots (length a power of two).
    pub slots: Vec<Slot>,
    fill: usize,
    used: usize,
}

impl Default for SetTable {
    fn default() -> Self {
        SetTable { slots: vec![Slot::Empty; 8], fill: 0, used: 0 }
    }
}

/// A Python `set` or `frozenset`.
#[derive(Trace, Default)]
#[pygc(dynamic_type_name = Set::python_type_name)]
pub struct Set {
    /// The table.
    pub table: GcCell<SetTable>,
    /// Mutation counter.
    pub version: Version,
    /// A `frozenset`.
    pub frozen: bool,
}

impl Set {
    /// `type(self).__name__`, for pygc's census and debug output.
    pub fn python_type_name(&self) -> Option<&str> {
        Some(if self.frozen { "frozenset" } else { "set" })
    }
}

impl SetTable {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    fn probe_order(&self, hash: i64) -> ProbeIter {
        let mask = self.slots.len() - 1;
        ProbeIter { mask, i: (hash as u64 as usize) & mask, j: 0, perturb: hash as u64, started: false }
    }

    /// Slot indices of keys whose hash equals `hash`, in probe order.
    pub fn candidates(&self, hash: i64, out: &mut Vec<usize>) {
        out.clear();
        for i in self.probe_order(hash) {
            match &self.slots[i] {
                Slot::Empty => return,
                Slot::Full(h, _) if *h == hash => out.push(i),
                _ => {}
            }
        }
    }

    /// Finds a key with a native equality.
    pub fn find_with(&self, hash: i64, mut eq: impl FnMut(&Value) -> bool) -> Option<usize> {
        for i in self.probe_order(hash) {
            match &self.slots[i] {
                Slot::Empty => return None,
                Slot::Full(h, k) if *h == hash && eq(k) => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, hash: i64, key: Value) {
        let mut target = None;
        for i in self.probe_order(hash) {
            match &self.slots[i] {
                Slot::Empty => {
                    target = Some(target.unwrap_or((i, false)));
                    break;
                }
                Slot::Dummy if target.is_none() => target = Some((i, true)),
                _ => {}
            }
        }
        let (i, was_dummy) = target.expect("a set table always has an empty slot");
        self.slots[i] = Slot::Full(hash, key);
        self.used += 1;
        if !was_dummy {
            self.fill += 1;
            let mask = self.slots.len() - 1;
            if self.fill * 5 >= mask * 3 {
                let n = if self.used > 50000 { self.used * 2 } else { self.used * 4 };
                self.resize(n);
            }
        }
    }

    fn resize(&mut self, minused: usize) {
        let mut size = 8;
        while size <= minused {
            size <<= 1;
        }
        let old = std::mem::replace(&mut self.slots, vec![Slot::Empty; size]);
        self.fill = 0;
        self.used = 0;
        for s in old {
            if let Slot::Full(h, k) = s {
                // Fresh table: no dummies, the first empty slot in probe order.
                let i = self.probe_order(h).find(|&i| matches!(self.slots[i], Slot::Empty)).expect("room");
                self.slots[i] = Slot::Full(h, k);
                self.fill += 1;
                self.used += 1;
            }
        }
    }

    /// Removes the key in slot `i`.
    pub fn remove_at(&mut self, i: usize) -> Option<Value> {
        match std::mem::replace(&mut self.slots[i], Slot::Dummy) {
            Slot::Full(_, k) => {
                self.used -= 1;
                Some(k)
            }
            other => {
                self.slots[i] = other;
                None
            }
        }
    }

    /// Removes everything; the old slots are returned to drop outside borrows.
    pub fn clear(&mut self) -> Vec<Slot> {
        self.fill = 0;
        self.used = 0;
        std::mem::replace(&mut self.slots, vec![Slot::Empty; 8])
    }

    /// Keys in table order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &Value)> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Full(h, k) => Some((*h, k)),
            _ => None,
        })
    }

    /// The next key at or after slot `pos`; returns the position after it.
    pub fn next_from(&self, pos: usize) -> Option<(usize, &Value)> {
        let mut p = pos;
        while p < self.slots.len() {
            if let Slot::Full(_, k) = &self.slots[p] {
                return Some((p + 1, k));
            }
            p += 1;
        }
        None
    }

    /// Removes and returns an arbitrary key (the first in table order).
    pub fn pop_first(&mut self) -> Option<Value> {
        let i = self.slots.iter().position(|s| matches!(s, Slot::Full(..)))?;
        self.remove_at(i)
    }
}

struct ProbeIter {
    mask: usize,
    i: usize,
    j: usize,
    perturb: u64,
    started: bool,
}

impl Iterator for ProbeIter {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        // CPython's set_lookkey: slot i, then up to LINEAR_PROBES neighbours
        // when they do not wrap, then perturb.
        if !self.started {
            self.started = true;
            self.j = 0;
            return Some(self.i);
        }
        if self.i + LINEAR_PROBES <= self.mask && self.j < LINEAR_PROBES {
            self.j += 1;
            return Some(self.i + self.j);
        }
        self.perturb >>= 5;
        self.i = (self.i.wrapping_mul(5).wrapping_add(1).wrapping_add(self.perturb as usize)) & self.mask;
        self.j = 0;
        Some(self.i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_remove_and_resize() {
        let mut t = SetTable::default();
        for i in 0..1000i64 {
            t.insert_new(i, Value::Int(i));
        }
        assert_eq!(t.len(), 1000);
        assert!(t.slots.len().is_power_of_two() && t.slots.len() > 1000);
        let at = t.find_with(500, |k| matches!(k, Value::Int(500))).expect("found");
        assert!(matches!(t.remove_at(at), Some(Value::Int(500))));
        assert!(t.find_with(500, |k| matches!(k, Value::Int(500))).is_none());
        assert_eq!(t.len(), 999);
        // Small ints iterate in hash order, as CPython's sets do.
        let mut small = SetTable::default();
        for i in [3i64, 1, 2] {
            small.insert_new(i, Value::Int(i));
        }
        let order: Vec<i64> = small.iter().map(|(h, _)| h).collect();
        assert_eq!(order, [1, 2, 3]);
    }
}
