//! A cheap hasher for maps keyed by block addresses (16-aligned, already
//! well spread): the weak table and the inspection indexes.

/// Hashes an address with one multiply.
#[derive(Default)]
pub struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = ((n as u64) >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// `BuildHasher` of [`AddrHasher`].
pub type AddrHash = std::hash::BuildHasherDefault<AddrHasher>;
