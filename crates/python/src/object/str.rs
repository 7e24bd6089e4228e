//! `str`: immutable text with a cached hash and character count.

use super::{python_type_name, HashCache};
use pygc::Trace;

/// A Python `str`. Untracked by the collector (it holds no handles), as in
/// CPython.
#[derive(Trace)]
#[pygc(dynamic_type_name = PyStr::python_type_name)]
pub struct PyStr {
    /// The text.
    pub s: Box<str>,
    /// Number of characters (code points).
    pub chars: usize,
    /// Cached hash.
    pub hash: HashCache,
}

python_type_name!(PyStr, "str");

impl PyStr {
    /// Wraps a string.
    pub fn new(s: String) -> PyStr {
        let chars = if s.is_ascii() { s.len() } else { s.chars().count() };
        PyStr { s: s.into_boxed_str(), chars, hash: HashCache::default() }
    }

    /// Whether every character is ASCII (byte index = char index).
    pub fn is_ascii(&self) -> bool {
        self.chars == self.s.len()
    }

    /// The string's hash (deterministic SipHash-1-3 with zero keys, mapped
    /// to Python's hash range: never -1).
    pub fn hash(&self) -> i64 {
        if let Some(h) = self.hash.0.get() {
            return h;
        }
        let h = str_hash(&self.s);
        self.hash.0.set(Some(h));
        h
    }

    /// The `i`-th character (no bounds check beyond returning `None`).
    pub fn char_at(&self, i: usize) -> Option<char> {
        if self.is_ascii() {
            self.s.as_bytes().get(i).map(|&b| b as char)
        } else {
            self.s.chars().nth(i)
        }
    }

    /// Byte offset of the `i`-th character (`i <= chars`).
    pub fn byte_offset(&self, i: usize) -> usize {
        if self.is_ascii() {
            i
        } else {
            self.s.char_indices().nth(i).map_or(self.s.len(), |(o, _)| o)
        }
    }

    /// Characters `start..end` (char indices, clamped).
    pub fn substring(&self, start: usize, end: usize) -> &str {
        let a = self.byte_offset(start.min(self.chars));
        let b = self.byte_offset(end.min(self.chars).max(start.min(self.chars)));
        &self.s[a..b]
    }
}

/// Hash of a string, as a Python hash value.
pub fn str_hash(s: &str) -> i64 {
    // FNV-1a then a final avalanche (splitmix64): deterministic, as
    // CPython's string hash is with a fixed PYTHONHASHSEED.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d049bb133111eb);
    h ^= h >> 31;
    let v = h as i64;
    if v == -1 {
        -2
    } else {
        v
    }
}
