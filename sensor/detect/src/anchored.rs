//! Fast patterns whose place in the buffer is fixed, checked at that place instead of being
//! searched for.
//!
//! Many rules of binary protocols pin a short content to the start of the payload
//! (`content:"|02 00 00 00|"; depth:4;`, `content:"|FF|SMB"; offset:4; depth:4;`). As
//! Hyperscan literals these are costly out of all proportion: a few common bytes match at
//! nearly every position of binary traffic and each hit must be confirmed, although the
//! rule can only match at one place. Such a literal is kept here instead: the buffer's byte
//! at each possible start is looked up in a table of the literals that may start there.
//!
//! The candidates are the same: verification accepts the content only inside its absolute
//! window (`offset` .. `offset + depth`, which `distance`/`within` can only narrow), so a
//! literal found elsewhere by a search could never have led to a match.

/// The widest start range (last start - first start) kept here; wider ones stay in the
/// search, where one scan covers every position.
pub(crate) const MAX_START_SPREAD: usize = 3;
/// Literals that may start at or after this position stay in the search (the table is
/// consulted once per position in use, so positions are kept few and near the start).
pub(crate) const MAX_START: usize = 64;

/// Whether a literal that may start anywhere in `starts` (inclusive) belongs here.
pub(crate) fn fits(starts: (usize, usize)) -> bool {
    let (first, last) = starts;
    first <= last && last < MAX_START && last - first <= MAX_START_SPREAD
}

#[derive(Debug)]
struct Entry {
    /// The literal; lower-cased when caseless.
    bytes: Vec<u8>,
    caseless: bool,
    /// Its first 8 bytes (fewer when shorter), little-endian, and the mask of those bytes.
    head: u64,
    mask: u64,
    first: usize,
    last: usize,
    /// Rules with this fast pattern, in the order added.
    sigs: Vec<u32>,
}

impl Entry {
    fn new(bytes: Vec<u8>, caseless: bool, first: usize, last: usize, sig: u32) -> Self {
        let n = bytes.len().min(8);
        let head = word_at(&bytes, 0);
        let mask = if n == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * n)) - 1
        };
        Self {
            bytes,
            caseless,
            head: head & mask,
            mask,
            first,
            last,
            sigs: vec![sig],
        }
    }

    /// Whether the literal is at `pos` of `data`; `word` and `lower` are the 8 bytes there
    /// as [`word_at`] reads them, as they are and ASCII-lower-cased.
    fn is_at(&self, data: &[u8], pos: usize, word: u64, lower: u64) -> bool {
        if data.len().saturating_sub(pos) < self.bytes.len() {
            return false;
        }
        let w = if self.caseless { lower } else { word };
        if w & self.mask != self.head {
            return false;
        }
        let (Some(rest), Some(want)) = (
            data.get(pos + 8..pos + self.bytes.len()),
            self.bytes.get(8..),
        ) else {
            // At most 8 bytes: the head was all of it.
            return true;
        };
        if self.caseless {
            rest.eq_ignore_ascii_case(want)
        } else {
            rest == want
        }
    }
}

/// The 8 bytes of `data` from `pos` as a little-endian word, zeros past the end.
fn word_at(data: &[u8], pos: usize) -> u64 {
    let mut raw = [0u8; 8];
    let avail = data.get(pos..).unwrap_or_default();
    let n = avail.len().min(8);
    if let (Some(dst), Some(src)) = (raw.get_mut(..n), avail.get(..n)) {
        dst.copy_from_slice(src);
    }
    u64::from_le_bytes(raw)
}

/// `x` with each ASCII capital letter byte turned into its small letter (as
/// `u8::to_ascii_lowercase` does per byte).
fn ascii_lower(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Per byte, without carries between bytes: the high bit of `ge_a` is set when the low
    // seven bits are at least 'A', that of `gt_z` when they are above 'Z'; bytes with their
    // own high bit set are not ASCII.
    let low7 = x & (0x7f * ONES);
    let ge_a = low7 + (0x80 - u64::from(b'A')) * ONES;
    let gt_z = low7 + (0x80 - u64::from(b'Z') - 1) * ONES;
    let upper = ge_a & !gt_z & !x & (0x80 * ONES);
    x | (upper >> 2)
}

/// What a lookup reads of an entry that may start at a position.
#[derive(Debug, Clone, Copy)]
struct Key {
    /// The entry's first byte, ASCII-folded (keys are sorted by it).
    first: u8,
    id: u32,
}

/// The anchored fast patterns of one prefilter database.
///
/// Laid out for lookups that mostly find nothing: per position in use, a 256-bit set of the
/// (folded) first bytes of the literals that may start there, all sets side by side; only
/// a byte in the set leads to that position's keys.
#[derive(Debug, Default)]
pub(crate) struct AnchoredLiterals {
    entries: Vec<Entry>,
    /// Positions in use, ascending; built by [`finish`](Self::finish), like the two below.
    positions: Vec<usize>,
    /// Per position: the first bytes of its entries.
    first_bytes: Vec<[u64; 4]>,
    /// Per position: its entries, by first byte.
    keys: Vec<Vec<Key>>,
}

impl AnchoredLiterals {
    /// Adds rule `sig` whose fast pattern `bytes` starts somewhere in `starts` (inclusive;
    /// see [`fits`]). Call [`finish`](Self::finish) once every rule is added.
    pub(crate) fn add(&mut self, bytes: &[u8], caseless: bool, starts: (usize, usize), sig: u32) {
        let bytes = if caseless {
            bytes.to_ascii_lowercase()
        } else {
            bytes.to_vec()
        };
        let (first, last) = starts;
        let found = self.entries.iter_mut().find(|e| {
            e.bytes == bytes && e.caseless == caseless && e.first == first && e.last == last
        });
        match found {
            Some(e) => e.sigs.push(sig),
            None => self
                .entries
                .push(Entry::new(bytes, caseless, first, last, sig)),
        }
    }

    /// Builds the lookup tables.
    pub(crate) fn finish(&mut self) {
        let mut positions: Vec<usize> =
            self.entries.iter().flat_map(|e| e.first..=e.last).collect();
        positions.sort_unstable();
        positions.dedup();
        self.keys = positions
            .iter()
            .map(|&pos| {
                let mut keys: Vec<Key> = self
                    .entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| (e.first..=e.last).contains(&pos))
                    .filter_map(|(id, e)| {
                        Some(Key {
                            first: e.bytes.first()?.to_ascii_lowercase(),
                            id: u32::try_from(id).ok()?,
                        })
                    })
                    .collect();
                keys.sort_by_key(|k| (k.first, k.id));
                keys
            })
            .collect();
        self.first_bytes = self
            .keys
            .iter()
            .map(|keys| {
                let mut set = [0u64; 4];
                for k in keys {
                    if let Some(word) = set.get_mut(usize::from(k.first / 64)) {
                        *word |= 1 << (k.first % 64);
                    }
                }
                set
            })
            .collect();
        self.positions = positions;
    }

    /// Whether no literal is kept here.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many distinct literals (with their start ranges) are kept here.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every rule with a fast pattern here (with repeats when a rule was added twice).
    pub(crate) fn sigs(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().flat_map(|e| e.sigs.iter().copied())
    }

    /// Calls `on_match` with the rules of every literal found at one of its starts in
    /// `data`, considering only starts at or after `min_start`. A literal found at two
    /// starts is reported twice.
    pub(crate) fn find(&self, data: &[u8], min_start: usize, mut on_match: impl FnMut(&[u32])) {
        for (i, (&pos, set)) in self.positions.iter().zip(&self.first_bytes).enumerate() {
            if pos < min_start {
                continue;
            }
            let Some(&byte) = data.get(pos) else {
                // Positions are ascending: no later one is inside `data` either.
                break;
            };
            let b = byte.to_ascii_lowercase();
            let in_set = set
                .get(usize::from(b / 64))
                .is_some_and(|word| word & (1 << (b % 64)) != 0);
            if !in_set {
                continue;
            }
            let Some(keys) = self.keys.get(i) else {
                continue;
            };
            let from = keys.partition_point(|k| k.first < b);
            let word = word_at(data, pos);
            let lower = ascii_lower(word);
            for key in keys.get(from..).unwrap_or_default() {
                if key.first != b {
                    break;
                }
                if let Some(e) = self.entries.get(key.id as usize) {
                    if e.is_at(data, pos, word, lower) {
                        on_match(&e.sigs);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(a: &AnchoredLiterals, data: &[u8], min_start: usize) -> Vec<u32> {
        let mut out = Vec::new();
        a.find(data, min_start, |s| out.extend_from_slice(s));
        out.sort_unstable();
        out
    }

    #[test]
    fn ascii_lower_folds_capitals_only() {
        for b in 0..=255u8 {
            let x = u64::from_le_bytes([b, b'Q', 0xc1, b, b'@', b'[', b'z', b]);
            let want: Vec<u8> = x.to_le_bytes().iter().map(u8::to_ascii_lowercase).collect();
            assert_eq!(ascii_lower(x).to_le_bytes().to_vec(), want, "byte {b:#x}");
        }
    }

    #[test]
    fn long_literals_and_short_buffers() {
        let mut a = AnchoredLiterals::default();
        a.add(b"0123456789ABCDEF", false, (1, 1), 1);
        a.add(b"abcdefghijKL", true, (0, 0), 2);
        a.add(b"\0\0", false, (0, 0), 3);
        a.finish();
        assert_eq!(found(&a, b"x0123456789ABCDEFx", 0), vec![1]);
        assert_eq!(
            found(&a, b"x0123456789ABCDEx", 0),
            Vec::<u32>::new(),
            "last byte"
        );
        assert_eq!(
            found(&a, b"x0123456789ABCDE", 0),
            Vec::<u32>::new(),
            "too short"
        );
        assert_eq!(found(&a, b"ABCDEFGHIJkl", 0), vec![2]);
        assert_eq!(found(&a, b"ABCDEFGHIJkm", 0), Vec::<u32>::new());
        assert_eq!(found(&a, b"\0\0", 0), vec![3]);
        assert_eq!(
            found(&a, b"\0", 0),
            Vec::<u32>::new(),
            "zero padding is not data"
        );
    }

    #[test]
    fn fits_bounds_spread_and_start() {
        assert!(fits((0, 0)));
        assert!(fits((4, 7)));
        assert!(!fits((4, 8)), "spread of 4");
        assert!(fits((60, 63)));
        assert!(!fits((61, 64)), "may start at 64");
        assert!(!fits((5, 4)), "empty range");
    }

    #[test]
    fn a_literal_is_found_only_at_its_starts() {
        let mut a = AnchoredLiterals::default();
        a.add(b"\xffSMB", false, (4, 4), 1);
        a.add(b"\x02\x00\x00\x00", false, (0, 0), 2);
        a.finish();
        assert_eq!(found(&a, b"\0\0\0\x10\xffSMBr", 0), vec![1]);
        assert_eq!(
            found(&a, b"\0\0\0\x10\0\xffSMBr", 0),
            Vec::<u32>::new(),
            "one late"
        );
        assert_eq!(found(&a, b"\x02\x00\x00\x00\xffSMB", 0), vec![1, 2]);
        assert_eq!(found(&a, b"\x01\x02\x00\x00\x00", 0), Vec::<u32>::new());
        // Too short to hold the literal at its place.
        assert_eq!(found(&a, b"\0\0\0\0\xffSM", 0), Vec::<u32>::new());
        assert_eq!(found(&a, b"", 0), Vec::<u32>::new());
    }

    #[test]
    fn every_start_of_the_range_is_tried_and_min_start_skips_earlier_ones() {
        let mut a = AnchoredLiterals::default();
        a.add(b"GET", false, (0, 2), 7);
        a.finish();
        for data in [&b"GET /"[..], b"xGET", b"xxGET"] {
            assert_eq!(found(&a, data, 0), vec![7], "{data:?}");
        }
        assert_eq!(found(&a, b"xxxGET", 0), Vec::<u32>::new());
        assert_eq!(found(&a, b"GET /", 1), Vec::<u32>::new());
        assert_eq!(found(&a, b"xGET", 1), vec![7]);
    }

    #[test]
    fn caseless_literals_fold_ascii_and_exact_ones_do_not() {
        let mut a = AnchoredLiterals::default();
        a.add(b"User", true, (0, 0), 1);
        a.add(b"USER", false, (0, 0), 2);
        a.finish();
        assert_eq!(found(&a, b"uSeR x", 0), vec![1]);
        assert_eq!(found(&a, b"USER x", 0), vec![1, 2]);
        assert_eq!(found(&a, b"\xd5ser", 0), Vec::<u32>::new());
    }

    #[test]
    fn rules_sharing_a_literal_and_range_share_an_entry() {
        let mut a = AnchoredLiterals::default();
        a.add(b"\x05", false, (0, 0), 3);
        a.add(b"\x05", false, (0, 0), 9);
        a.add(b"\x05", false, (1, 1), 4);
        a.finish();
        assert_eq!(a.len(), 2);
        assert_eq!(found(&a, b"\x05\x05", 0), vec![3, 4, 9]);
        assert_eq!(found(&a, b"\x05\x00", 0), vec![3, 9]);
        let mut sigs: Vec<u32> = a.sigs().collect();
        sigs.sort_unstable();
        assert_eq!(sigs, vec![3, 4, 9]);
    }
}
