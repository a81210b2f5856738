//! A fast, per-table seeded hasher for flow keys.
//!
//! Flow keys are short and hashed once per packet, so SipHash's cost is not wanted; but the
//! keys are chosen by whoever sends traffic, so a fixed hash function would let an attacker
//! aim many flows at one bucket. This hasher folds machine words multiplicatively (the FxHash
//! scheme), starts from a per-table random seed, mixes that seed into every word, and ends
//! with a full 64-bit avalanche so every output bit depends on every input bit.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Builds [`FoldHasher`]s that share one seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeededState {
    seed: u64,
    word_key: u64,
}

impl SeededState {
    /// A state with a random seed (taken from the standard library's per-process keys).
    pub(crate) fn random() -> Self {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x7461_7077_6174_6368);
        Self::with_seed(h.finish())
    }

    /// A state with a given seed (deterministic hashing, for tests).
    pub(crate) fn with_seed(seed: u64) -> Self {
        Self {
            seed,
            word_key: fmix64(seed ^ 0x9e37_79b9_7f4a_7c15),
        }
    }
}

impl BuildHasher for SeededState {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher {
            state: self.seed,
            word_key: self.word_key,
        }
    }
}

/// The hasher built by [`SeededState`].
#[derive(Debug, Clone)]
pub(crate) struct FoldHasher {
    state: u64,
    word_key: u64,
}

const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

impl FoldHasher {
    #[inline]
    fn add_word(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word ^ self.word_key).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add_word(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            for (dst, src) in word.iter_mut().zip(rest) {
                *dst = *src;
            }
            // The length tag keeps "ab" and "ab\0" apart.
            self.add_word(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add_word(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add_word(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add_word(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add_word(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add_word(i as u64);
    }

    fn finish(&self) -> u64 {
        fmix64(self.state)
    }
}

/// MurmurHash3's 64-bit finaliser: a bijective avalanche mix.
#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_bytes(s: &SeededState, b: &[u8]) -> u64 {
        let mut h = s.build_hasher();
        h.write(b);
        h.finish()
    }

    #[test]
    fn deterministic_per_seed_and_seed_sensitive() {
        let a = SeededState::with_seed(1);
        let b = SeededState::with_seed(2);
        assert_eq!(hash_bytes(&a, b"flow"), hash_bytes(&a, b"flow"));
        assert_ne!(hash_bytes(&a, b"flow"), hash_bytes(&b, b"flow"));
    }

    #[test]
    fn trailing_zero_and_length_matter() {
        let s = SeededState::with_seed(7);
        assert_ne!(hash_bytes(&s, b"ab"), hash_bytes(&s, b"ab\0"));
        assert_ne!(hash_bytes(&s, b""), hash_bytes(&s, b"\0"));
        assert_ne!(hash_bytes(&s, &[0u8; 8]), hash_bytes(&s, &[0u8; 16]));
    }

    #[test]
    fn random_states_differ() {
        // Two tables get different seeds (RandomState keys differ per instance).
        let a = SeededState::random();
        let b = SeededState::random();
        assert_ne!(a.seed, b.seed);
    }

    #[test]
    fn low_bits_spread() {
        // Sequential keys must not pile into a few buckets of a 1024-bucket table.
        let s = SeededState::with_seed(3);
        let mut buckets = vec![0u32; 1024];
        for i in 0u64..16_384 {
            let mut h = s.build_hasher();
            h.write_u64(i);
            let idx = (h.finish() & 1023) as usize;
            if let Some(b) = buckets.get_mut(idx) {
                *b += 1;
            }
        }
        let max = buckets.iter().copied().max().unwrap_or(0);
        assert!(max < 40, "max bucket load {max}");
    }
}
