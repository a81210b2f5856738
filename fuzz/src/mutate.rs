//! Input mutations: bit and byte flips, interesting values, range insert/delete/duplicate,
//! splices from another input, truncation and appends. Every mutation keeps the input at most
//! `max_len` bytes long.

use crate::rng::Rng;

/// Interesting single bytes.
const BYTES: [u8; 9] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x20, 0x3a];
/// Interesting 16-bit values (lengths, boundaries).
const WORDS: [u16; 12] = [0, 1, 2, 8, 20, 40, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff];
/// Interesting 32-bit values.
const DWORDS: [u32; 8] = [
    0,
    1,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_fffe,
    65_535,
    65_536,
];

/// Applies between 1 and 8 random mutations to `data` in place, keeping it at most `max_len`
/// bytes long. `other` is another input to splice from (may be empty).
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8], max_len: usize) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        mutate_once(rng, data, other, max_len);
    }
    data.truncate(max_len);
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8], max_len: usize) {
    if data.is_empty() {
        let n = 1 + rng.below(16);
        data.extend((0..n).map(|_| rng.byte()));
        return;
    }
    let len = data.len();
    match rng.below(14) {
        0 => {
            let i = rng.below(len);
            if let Some(b) = data.get_mut(i) {
                *b ^= 1 << rng.below(8);
            }
        }
        1 => {
            let i = rng.below(len);
            if let Some(b) = data.get_mut(i) {
                *b = rng.byte();
            }
        }
        2 => {
            let i = rng.below(len);
            if let Some(b) = data.get_mut(i) {
                *b = BYTES[rng.below(BYTES.len())];
            }
        }
        3 => {
            let v = WORDS[rng.below(WORDS.len())];
            let bytes = if rng.one_in(2) {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            overwrite(rng, data, &bytes);
        }
        4 => {
            let v = DWORDS[rng.below(DWORDS.len())];
            let bytes = if rng.one_in(2) {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            overwrite(rng, data, &bytes);
        }
        5 => {
            // Small arithmetic on one byte (length fields off by a few).
            let i = rng.below(len);
            if let Some(b) = data.get_mut(i) {
                let delta = 1 + rng.below(16) as u8;
                *b = if rng.one_in(2) {
                    b.wrapping_add(delta)
                } else {
                    b.wrapping_sub(delta)
                };
            }
        }
        6 => {
            // Insert random bytes.
            let at = rng.below(len + 1);
            let n = 1 + rng.below(32);
            let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            splice_in(data, at, &bytes, max_len);
        }
        7 => {
            // Delete a range.
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(256));
            data.drain(at..at + n);
        }
        8 => {
            // Duplicate a range.
            let (at, n) = range(rng, len);
            let copy = data.get(at..at + n).map(<[u8]>::to_vec).unwrap_or_default();
            let to = rng.below(len + 1);
            splice_in(data, to, &copy, max_len);
        }
        9 => {
            // Copy a range over another place.
            let (at, n) = range(rng, len);
            let copy = data.get(at..at + n).map(<[u8]>::to_vec).unwrap_or_default();
            overwrite(rng, data, &copy);
        }
        10 => {
            // Splice: keep a prefix of this input, then a suffix of the other.
            if !other.is_empty() {
                let keep = rng.below(len + 1);
                let from = rng.below(other.len());
                data.truncate(keep);
                let room = max_len.saturating_sub(data.len());
                let tail = other.get(from..).unwrap_or(&[]);
                data.extend_from_slice(tail.get(..tail.len().min(room)).unwrap_or(&[]));
            }
        }
        11 => {
            // Insert a range of the other input.
            if !other.is_empty() {
                let (at, n) = range(rng, other.len());
                let piece = other.get(at..at + n).unwrap_or(&[]);
                let to = rng.below(len + 1);
                splice_in(data, to, piece, max_len);
            }
        }
        12 => {
            // Truncate.
            data.truncate(rng.below(len + 1));
        }
        _ => {
            // Append from the other input, or repeat a byte.
            if !other.is_empty() && rng.one_in(2) {
                let (at, n) = range(rng, other.len());
                let piece = other.get(at..at + n).unwrap_or(&[]);
                splice_in(data, len, piece, max_len);
            } else {
                let b = data.get(rng.below(len)).copied().unwrap_or(0);
                let n = 1 + rng.below(64);
                splice_in(data, len, &vec![b; n], max_len);
            }
        }
    }
}

/// A random non-empty range `(start, len)` of an input of `len` bytes (`len` > 0), at most
/// 512 bytes long.
fn range(rng: &mut Rng, len: usize) -> (usize, usize) {
    let at = rng.below(len);
    let n = 1 + rng.below((len - at).min(512));
    (at, n)
}

/// Overwrites bytes at a random offset with `bytes` (cut at the end of the input).
fn overwrite(rng: &mut Rng, data: &mut [u8], bytes: &[u8]) {
    let at = rng.below(data.len());
    for (d, s) in data.iter_mut().skip(at).zip(bytes) {
        *d = *s;
    }
}

/// Inserts `bytes` at `at`, as much of them as `max_len` leaves room for.
fn splice_in(data: &mut Vec<u8>, at: usize, bytes: &[u8], max_len: usize) {
    let room = max_len.saturating_sub(data.len());
    let bytes = bytes.get(..bytes.len().min(room)).unwrap_or(&[]);
    let at = at.min(data.len());
    data.splice(at..at, bytes.iter().copied());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_respect_max_len_and_are_deterministic() {
        let other = vec![0xaa; 300];
        let mut a = Rng::new(1);
        let mut b = Rng::new(1);
        let mut x = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        let mut y = x.clone();
        let mut changed = false;
        for _ in 0..2_000 {
            let before = x.clone();
            mutate(&mut a, &mut x, &other, 64);
            mutate(&mut b, &mut y, &other, 64);
            assert!(x.len() <= 64);
            assert_eq!(x, y);
            changed |= x != before;
        }
        assert!(changed);
    }
}
