//! The bounded out-of-order buffer of one direction: non-overlapping pieces of copied data,
//! each remembering the original segment it came from so overlap policies can be applied.

use crate::config::{OverlapPolicy, Span};

/// A run of buffered bytes at stream offsets `[start, start + data.len())`.
#[derive(Debug)]
pub(crate) struct Piece {
    /// Stream offset of the first byte.
    pub(crate) start: u64,
    /// Range of the original segment these bytes came from.
    pub(crate) origin: Span,
    /// The bytes.
    pub(crate) data: Vec<u8>,
}

impl Piece {
    /// Stream offset just past the last byte.
    pub(crate) fn end(&self) -> u64 {
        self.start.saturating_add(self.data.len() as u64)
    }
}

/// Where the bytes of a planned part come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The arriving segment.
    New,
    /// The buffered piece with this index.
    Old(usize),
}

/// One run of the result of merging an arriving segment with the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) origin: Span,
    pub(crate) source: Source,
}

/// The outcome of [`OooBuffer::plan`]: pieces `first..last` are replaced by the parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    pub(crate) first: usize,
    pub(crate) last: usize,
    /// Bytes of the new segment not covered by any piece.
    pub(crate) added: usize,
    /// Bytes of the new segment that overlap buffered bytes.
    pub(crate) overlap: usize,
    /// Whether any overlapping byte differs.
    pub(crate) differs: bool,
}

/// `data[start - base .. end - base]`, or empty when out of range (never panics).
pub(crate) fn sub(data: &[u8], base: u64, start: u64, end: u64) -> &[u8] {
    let from = usize::try_from(start.saturating_sub(base)).unwrap_or(usize::MAX);
    let to = usize::try_from(end.saturating_sub(base)).unwrap_or(usize::MAX);
    data.get(from..to).unwrap_or_default()
}

/// Sorted, non-overlapping buffered pieces of one direction.
#[derive(Debug, Default)]
pub(crate) struct OooBuffer {
    pieces: Vec<Piece>,
    bytes: usize,
}

impl OooBuffer {
    /// Buffered bytes.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Buffered pieces.
    pub(crate) fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Stream offset of the first buffered byte.
    pub(crate) fn first_start(&self) -> Option<u64> {
        self.pieces.first().map(|p| p.start)
    }

    /// Whether any buffered byte lies in `[start, end)`.
    pub(crate) fn overlaps(&self, start: u64, end: u64) -> bool {
        let i = self.pieces.partition_point(|p| p.end() <= start);
        self.pieces.get(i).is_some_and(|p| p.start < end)
    }

    /// The bytes of `part` (from `new`, which starts at offset `new_start`, or from a piece).
    pub(crate) fn part_bytes<'a>(&'a self, part: &Part, new_start: u64, new: &'a [u8]) -> &'a [u8] {
        match part.source {
            Source::New => sub(new, new_start, part.start, part.end),
            Source::Old(i) => self
                .pieces
                .get(i)
                .map(|p| sub(&p.data, p.start, part.start, part.end))
                .unwrap_or_default(),
        }
    }

    /// Plans merging `new` (bytes at offsets from `new_start`, from the original segment
    /// `origin`) into the buffer under `policy`, writing the merged runs to `parts`.
    pub(crate) fn plan(
        &self,
        new_start: u64,
        new: &[u8],
        origin: Span,
        policy: OverlapPolicy,
        parts: &mut Vec<Part>,
    ) -> Plan {
        parts.clear();
        let new_end = new_start.saturating_add(new.len() as u64);
        let first = self.pieces.partition_point(|p| p.end() <= new_start);
        let mut last = first;
        while self.pieces.get(last).is_some_and(|p| p.start < new_end) {
            last += 1;
        }
        let mut plan = Plan {
            first,
            last,
            ..Plan::default()
        };
        let mut cur = new_start;
        let new_part = |start, end| Part {
            start,
            end,
            origin,
            source: Source::New,
        };
        for (i, p) in self.pieces.iter().enumerate().take(last).skip(first) {
            let old_part = |start, end| Part {
                start,
                end,
                origin: p.origin,
                source: Source::Old(i),
            };
            if p.start < cur {
                push(parts, old_part(p.start, cur));
            }
            if p.start > cur {
                push(parts, new_part(cur, p.start));
                plan.added += usize::try_from(p.start - cur).unwrap_or(0);
                cur = p.start;
            }
            let ov_end = p.end().min(new_end);
            if ov_end > cur {
                plan.overlap += usize::try_from(ov_end - cur).unwrap_or(0);
                if sub(new, new_start, cur, ov_end) != sub(&p.data, p.start, cur, ov_end) {
                    plan.differs = true;
                }
                if policy.new_wins(origin, p.origin) {
                    push(parts, new_part(cur, ov_end));
                } else {
                    push(parts, old_part(cur, ov_end));
                }
                cur = ov_end;
            }
            if p.end() > new_end {
                push(parts, old_part(new_end, p.end()));
            }
        }
        if cur < new_end {
            push(parts, new_part(cur, new_end));
            plan.added += usize::try_from(new_end - cur).unwrap_or(0);
        }
        plan
    }

    /// Pieces the buffer would hold after committing `plan` with `parts`.
    pub(crate) fn len_after(&self, plan: &Plan, parts: &[Part]) -> usize {
        self.pieces
            .len()
            .saturating_sub(plan.last.saturating_sub(plan.first))
            + parts.len()
    }

    /// Applies a plan made by [`OooBuffer::plan`] with the same `new_start` and `new`.
    pub(crate) fn commit(&mut self, plan: &Plan, new_start: u64, new: &[u8], parts: &[Part]) {
        let replacement: Vec<Piece> = parts
            .iter()
            .map(|part| Piece {
                start: part.start,
                origin: part.origin,
                data: self.part_bytes(part, new_start, new).to_vec(),
            })
            .collect();
        let added: usize = replacement.iter().map(|p| p.data.len()).sum();
        self.remove(plan.first, plan.last);
        let at = plan.first.min(self.pieces.len());
        self.pieces.splice(at..at, replacement);
        self.bytes += added;
    }

    /// Removes pieces `first..last`, returning the bytes freed.
    pub(crate) fn remove(&mut self, first: usize, last: usize) -> usize {
        let last = last.min(self.pieces.len());
        let first = first.min(last);
        let freed: usize = self.pieces.drain(first..last).map(|p| p.data.len()).sum();
        self.bytes = self.bytes.saturating_sub(freed);
        freed
    }

    /// Removes and returns the first piece if it starts at or before `at`.
    pub(crate) fn pop_front_at(&mut self, at: u64) -> Option<Piece> {
        if self.pieces.first()?.start > at {
            return None;
        }
        let piece = self.pieces.remove(0);
        self.bytes = self.bytes.saturating_sub(piece.data.len());
        Some(piece)
    }

    /// Drops every byte at or beyond `off`, returning the bytes dropped.
    pub(crate) fn truncate_from(&mut self, off: u64) -> usize {
        let i = self.pieces.partition_point(|p| p.end() <= off);
        let mut dropped = 0;
        if let Some(p) = self.pieces.get_mut(i) {
            if p.start < off {
                let keep = usize::try_from(off - p.start).unwrap_or(p.data.len());
                dropped += p.data.len().saturating_sub(keep);
                p.data.truncate(keep);
                p.data.shrink_to_fit();
            }
        }
        let from = if self.pieces.get(i).is_some_and(|p| p.start < off) {
            i + 1
        } else {
            i
        };
        dropped += self
            .pieces
            .drain(from..)
            .map(|p| p.data.len())
            .sum::<usize>();
        self.bytes = self.bytes.saturating_sub(dropped);
        dropped
    }

    /// Drops everything, returning the bytes freed.
    pub(crate) fn clear(&mut self) -> usize {
        let freed = self.bytes;
        self.pieces = Vec::new();
        self.bytes = 0;
        freed
    }
}

/// Appends `part`, merging it into the previous part when they continue each other.
fn push(parts: &mut Vec<Part>, part: Part) {
    if part.start >= part.end {
        return;
    }
    if let Some(prev) = parts.last_mut() {
        if prev.end == part.start && prev.origin == part.origin && prev.source == part.source {
            prev.end = part.end;
            return;
        }
    }
    parts.push(part);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u64, end: u64) -> Span {
        Span { start, end }
    }

    fn insert(buf: &mut OooBuffer, start: u64, data: &[u8], policy: OverlapPolicy) -> Plan {
        let mut parts = Vec::new();
        let origin = span(start, start + data.len() as u64);
        let plan = buf.plan(start, data, origin, policy, &mut parts);
        buf.commit(&plan, start, data, &parts);
        plan
    }

    /// The buffer as (start, bytes) runs.
    fn runs(buf: &OooBuffer) -> Vec<(u64, Vec<u8>)> {
        buf.pieces
            .iter()
            .map(|p| (p.start, p.data.clone()))
            .collect()
    }

    fn flat(buf: &OooBuffer) -> Vec<u8> {
        buf.pieces
            .iter()
            .flat_map(|p| p.data.iter().copied())
            .collect()
    }

    #[test]
    fn disjoint_pieces_stay_sorted() {
        let mut b = OooBuffer::default();
        insert(&mut b, 20, b"cc", OverlapPolicy::Bsd);
        insert(&mut b, 10, b"aa", OverlapPolicy::Bsd);
        insert(&mut b, 15, b"b", OverlapPolicy::Bsd);
        assert_eq!(
            runs(&b),
            vec![
                (10, b"aa".to_vec()),
                (15, b"b".to_vec()),
                (20, b"cc".to_vec())
            ]
        );
        assert_eq!(b.bytes(), 5);
        assert_eq!(b.first_start(), Some(10));
        assert!(b.overlaps(11, 12));
        assert!(!b.overlaps(12, 15));
    }

    #[test]
    fn overlap_resolution_per_policy() {
        // Old "AAAAAAAAAA" at 10..20; new "BBBBBBBBBB" at 5..15 starts before it.
        for (policy, want) in [
            (OverlapPolicy::First, b"BBBBBAAAAAAAAAA"),
            (OverlapPolicy::Last, b"BBBBBBBBBBAAAAA"),
            (OverlapPolicy::Bsd, b"BBBBBBBBBBAAAAA"),
            (OverlapPolicy::Linux, b"BBBBBBBBBBAAAAA"),
            (OverlapPolicy::Windows, b"BBBBBAAAAAAAAAA"),
            (OverlapPolicy::Solaris, b"BBBBBAAAAAAAAAA"),
        ] {
            let mut b = OooBuffer::default();
            insert(&mut b, 10, b"AAAAAAAAAA", policy);
            let plan = insert(&mut b, 5, b"BBBBBBBBBB", policy);
            assert_eq!(flat(&b), want.to_vec(), "{policy:?}");
            assert_eq!(b.first_start(), Some(5));
            assert_eq!(b.bytes(), 15);
            assert_eq!((plan.added, plan.overlap, plan.differs), (5, 5, true));
        }
    }

    #[test]
    fn new_inside_old_splits_and_identical_data_does_not_differ() {
        let mut b = OooBuffer::default();
        insert(&mut b, 10, b"0123456789", OverlapPolicy::Last);
        let plan = insert(&mut b, 12, b"xy", OverlapPolicy::Last);
        assert_eq!(flat(&b), b"01xy456789".to_vec());
        assert_eq!(b.len(), 3);
        assert_eq!((plan.added, plan.overlap, plan.differs), (0, 2, true));
        let plan = insert(&mut b, 16, b"67", OverlapPolicy::Last);
        assert!(!plan.differs);
        // First keeps the old bytes and the piece stays whole.
        let mut f = OooBuffer::default();
        insert(&mut f, 10, b"0123456789", OverlapPolicy::First);
        insert(&mut f, 12, b"xy", OverlapPolicy::First);
        assert_eq!(runs(&f), vec![(10, b"0123456789".to_vec())]);
    }

    #[test]
    fn new_spanning_several_pieces_fills_holes() {
        let mut b = OooBuffer::default();
        insert(&mut b, 10, b"aa", OverlapPolicy::First);
        insert(&mut b, 14, b"bb", OverlapPolicy::First);
        let plan = insert(&mut b, 9, b"XXXXXXXXX", OverlapPolicy::First);
        assert_eq!(flat(&b), b"XaaXXbbXX".to_vec());
        assert_eq!((plan.added, plan.overlap), (5, 4));
        assert_eq!(b.bytes(), 9);
    }

    #[test]
    fn pop_truncate_clear() {
        let mut b = OooBuffer::default();
        insert(&mut b, 10, b"abcd", OverlapPolicy::Bsd);
        insert(&mut b, 20, b"efgh", OverlapPolicy::Bsd);
        assert!(b.pop_front_at(9).is_none());
        assert_eq!(b.truncate_from(22), 2);
        assert_eq!(runs(&b), vec![(10, b"abcd".to_vec()), (20, b"ef".to_vec())]);
        assert_eq!(b.truncate_from(12), 4);
        assert_eq!(runs(&b), vec![(10, b"ab".to_vec())]);
        let p = b.pop_front_at(10).map(|p| p.data);
        assert_eq!(p, Some(b"ab".to_vec()));
        assert_eq!(b.bytes(), 0);
        insert(&mut b, 30, b"zz", OverlapPolicy::Bsd);
        assert_eq!(b.clear(), 2);
        assert_eq!(b.len(), 0);
    }

    #[test]
    fn sub_never_panics() {
        assert_eq!(sub(b"abc", 10, 11, 13), b"bc");
        assert_eq!(sub(b"abc", 10, 12, 20), b"");
        assert_eq!(sub(b"abc", 10, 5, 8), b"");
        assert_eq!(sub(b"abc", 10, 13, 11), b"");
    }
}
