//! A tiny deterministic generator for jitter (SplitMix64), so that jitter needs no
//! dependency and tests can fix the seed.

use std::hash::{BuildHasher, RandomState};

#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A seed that differs between processes and between calls.
    pub(crate) fn from_entropy() -> Self {
        Self(RandomState::new().hash_one(0x7a1e_u64))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        // 53 random bits: the precision of an f64 mantissa.
        #[allow(clippy::cast_precision_loss)] // exact: the value is below 2^53
        let bits = (self.next_u64() >> 11) as f64;
        bits / (1u64 << 53) as f64
    }
}
