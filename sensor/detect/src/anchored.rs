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
    first: usize,
    last: usize,
    /// Rules with this fast pattern, in the order added.
    sigs: Vec<u32>,
}

impl Entry {
    fn is_at(&self, data: &[u8], pos: usize) -> bool {
        let Some(end) = pos.checked_add(self.bytes.len()) else {
            return false;
        };
        let Some(window) = data.get(pos..end) else {
            return false;
        };
        if self.caseless {
            window.eq_ignore_ascii_case(&self.bytes)
        } else {
            window == self.bytes.as_slice()
        }
    }
}

/// One start position in use: the entries that may start there, by their first byte
/// (ASCII-folded).
#[derive(Debug)]
struct Slot {
    pos: usize,
    /// Entries whose folded first byte is `b` are `ids[index[b]..index[b + 1]]`.
    index: Box<[u32; 257]>,
    ids: Vec<u32>,
}

/// The anchored fast patterns of one prefilter database.
#[derive(Debug, Default)]
pub(crate) struct AnchoredLiterals {
    entries: Vec<Entry>,
    /// Ascending by position; built by [`finish`](Self::finish).
    slots: Vec<Slot>,
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
            None => self.entries.push(Entry {
                bytes,
                caseless,
                first,
                last,
                sigs: vec![sig],
            }),
        }
    }

    /// Builds the lookup tables.
    pub(crate) fn finish(&mut self) {
        let mut positions: Vec<usize> =
            self.entries.iter().flat_map(|e| e.first..=e.last).collect();
        positions.sort_unstable();
        positions.dedup();
        self.slots = positions
            .into_iter()
            .map(|pos| {
                // (folded first byte, entry id), sorted by byte.
                let mut keyed: Vec<(u8, u32)> = self
                    .entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| (e.first..=e.last).contains(&pos))
                    .filter_map(|(id, e)| {
                        let first = e.bytes.first()?.to_ascii_lowercase();
                        Some((first, u32::try_from(id).ok()?))
                    })
                    .collect();
                keyed.sort_unstable();
                let mut index = Box::new([0u32; 257]);
                let mut at = 0usize;
                for (b, slot) in index.iter_mut().enumerate() {
                    while keyed.get(at).is_some_and(|&(k, _)| usize::from(k) < b) {
                        at += 1;
                    }
                    *slot = u32::try_from(at).unwrap_or(u32::MAX);
                }
                Slot {
                    pos,
                    index,
                    ids: keyed.into_iter().map(|(_, id)| id).collect(),
                }
            })
            .collect();
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
        for slot in &self.slots {
            if slot.pos < min_start {
                continue;
            }
            let Some(&byte) = data.get(slot.pos) else {
                // Slots are ascending: no later one is inside `data` either.
                break;
            };
            let b = usize::from(byte.to_ascii_lowercase());
            let (Some(&from), Some(&to)) = (slot.index.get(b), slot.index.get(b + 1)) else {
                continue;
            };
            let ids = slot.ids.get(from as usize..to as usize).unwrap_or(&[]);
            for &id in ids {
                if let Some(e) = self.entries.get(id as usize) {
                    if e.is_at(data, slot.pos) {
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
