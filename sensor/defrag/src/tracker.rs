//! One datagram being reassembled: its fragments, which bytes each currently supplies, and
//! the assembly of the finished packet.

use tapwatch_common::Timestamp;

use crate::config::OverlapPolicy;
use crate::fragment::{Fragment, IPV6_HEADER};
use crate::header::{fix_ipv4, fix_ipv6};

/// Bytes counted against the memcap for each stored fragment besides its payload.
pub(crate) const FRAGMENT_OVERHEAD: usize = 32;
/// Bytes counted against the memcap for each datagram besides its fragments.
pub(crate) const TRACKER_OVERHEAD: usize = 256;

/// A stored fragment: its extent in the datagram and where its payload lies in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stored {
    start: u32,
    end: u32,
    at: usize,
}

/// A run of datagram bytes currently supplied by one stored fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    start: u32,
    end: u32,
    /// Index into the tracker's fragments.
    frag: u16,
}

/// What inserting one fragment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Inserted {
    /// The fragment overlapped held bytes with different data.
    pub(crate) overlap: bool,
    /// Bytes newly counted against the memcap.
    pub(crate) added: usize,
}

/// The reassembly state of one datagram.
#[derive(Debug)]
pub(crate) struct Tracker {
    pub(crate) v6: bool,
    frags: Vec<Stored>,
    /// Payloads of the stored fragments, back to back.
    arena: Vec<u8>,
    /// Sorted, non-overlapping runs of bytes and the fragment supplying each.
    segments: Vec<Segment>,
    /// Header of the first offset-0 fragment (empty until one arrives).
    header: Vec<u8>,
    /// IPv6: the next header of the first offset-0 fragment.
    next_header: u8,
    has_first: bool,
    /// Payload length of the datagram, from the first fragment without MF.
    end: Option<u32>,
    pub(crate) last_seen: Timestamp,
    /// Position in the defragmenter's least-recently-used order.
    pub(crate) lru: u64,
    /// Bytes counted against the memcap.
    pub(crate) bytes: usize,
}

impl Tracker {
    /// An empty tracker for a datagram first seen at `ts`.
    pub(crate) fn new(v6: bool, ts: Timestamp, lru: u64) -> Self {
        Self {
            v6,
            frags: Vec::new(),
            arena: Vec::new(),
            segments: Vec::new(),
            header: Vec::new(),
            next_header: 0,
            has_first: false,
            end: None,
            last_seen: ts,
            lru,
            bytes: TRACKER_OVERHEAD,
        }
    }

    /// Fragments stored.
    pub(crate) fn fragment_count(&self) -> usize {
        self.frags.len()
    }

    /// Header length of the reassembled packet if known, else `fallback`.
    pub(crate) fn header_len_or(&self, fallback: usize) -> usize {
        if self.has_first {
            self.header.len()
        } else {
            fallback
        }
    }

    /// The most bytes inserting `frag` can add to the memcap count.
    pub(crate) fn cost_of(&self, frag: &Fragment<'_>) -> usize {
        let header = if frag.offset == 0 && !self.has_first {
            frag.header.len()
        } else {
            0
        };
        frag.payload.len() + FRAGMENT_OVERHEAD + header
    }

    /// Adds `frag` (whose end fits in `u32`, checked by the caller) under `policy`.
    /// `scratch` is reused space for the new segment list.
    pub(crate) fn insert(
        &mut self,
        policy: OverlapPolicy,
        frag: &Fragment<'_>,
        scratch: &mut Vec<Segment>,
    ) -> Inserted {
        let mut result = Inserted::default();
        self.last_seen = self.last_seen.max(frag.ts);
        let start = frag.offset;
        let end = u32::try_from(frag.end()).unwrap_or(u32::MAX);
        if start == 0 && !self.has_first {
            self.has_first = true;
            self.header.extend_from_slice(frag.header);
            self.next_header = frag.protocol;
            result.added += frag.header.len();
        }
        if !frag.more && self.end.is_none() {
            self.end = Some(end);
        }
        let Ok(index) = u16::try_from(self.frags.len()) else {
            return result;
        };
        if start >= end {
            return result;
        }
        let new_bytes = |from: u32, to: u32| {
            let (a, b) = (from.saturating_sub(start), to.saturating_sub(start));
            let (a, b) = (a as usize, b as usize);
            frag.payload.get(a..b).unwrap_or(&[])
        };
        scratch.clear();
        let mut won = false;
        let mut pos = start;
        for seg in self.segments.iter().copied() {
            if seg.end <= start {
                scratch.push(seg);
                continue;
            }
            if seg.start >= end {
                if pos < end {
                    scratch.push(Segment {
                        start: pos,
                        end,
                        frag: index,
                    });
                    won = true;
                    pos = end;
                }
                scratch.push(seg);
                continue;
            }
            if seg.start > pos {
                scratch.push(Segment {
                    start: pos,
                    end: seg.start,
                    frag: index,
                });
                won = true;
            }
            if seg.start < start {
                scratch.push(Segment { end: start, ..seg });
            }
            let (a, b) = (seg.start.max(start), seg.end.min(end));
            let Some(old) = self.frags.get(usize::from(seg.frag)).copied() else {
                continue;
            };
            let old_bytes = self.old_bytes(old, a, b);
            let same = old_bytes == new_bytes(a, b);
            result.overlap |= !same;
            let same_extent = (old.start, old.end) == (start, end);
            if policy.new_wins((start, end), (old.start, old.end)) && !(same && same_extent) {
                scratch.push(Segment {
                    start: a,
                    end: b,
                    frag: index,
                });
                won = true;
            } else {
                scratch.push(Segment {
                    start: a,
                    end: b,
                    ..seg
                });
            }
            if seg.end > end {
                scratch.push(Segment { start: end, ..seg });
            }
            pos = pos.max(b);
        }
        if pos < end {
            scratch.push(Segment {
                start: pos,
                end,
                frag: index,
            });
            won = true;
        }
        if won {
            self.frags.push(Stored {
                start,
                end,
                at: self.arena.len(),
            });
            self.arena.extend_from_slice(frag.payload);
            std::mem::swap(&mut self.segments, scratch);
            result.added += frag.payload.len() + FRAGMENT_OVERHEAD;
        }
        self.bytes += result.added;
        result
    }

    /// The stored bytes `from..to` of fragment `old` (which covers them).
    fn old_bytes(&self, old: Stored, from: u32, to: u32) -> &[u8] {
        let a = old.at + from.saturating_sub(old.start) as usize;
        let b = old.at + to.saturating_sub(old.start) as usize;
        self.arena.get(a..b).unwrap_or(&[])
    }

    /// The datagram's payload length, once all of it (and the first fragment) is held.
    pub(crate) fn complete_len(&self) -> Option<u32> {
        let end = self.end?;
        if !self.has_first {
            return None;
        }
        let mut covered = 0;
        for seg in &self.segments {
            if covered >= end {
                break;
            }
            if seg.start > covered {
                return None;
            }
            covered = covered.max(seg.end);
        }
        (covered >= end).then_some(end)
    }

    /// Writes the reassembled packet (header fixed, payload `..end`) into `out`.
    pub(crate) fn assemble(&self, end: u32, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self.header);
        for seg in &self.segments {
            if seg.start >= end {
                break;
            }
            let Some(old) = self.frags.get(usize::from(seg.frag)).copied() else {
                continue;
            };
            out.extend_from_slice(self.old_bytes(old, seg.start, seg.end.min(end)));
        }
        let header_len = self.header.len();
        let Some(header) = out.get_mut(..header_len) else {
            return;
        };
        let payload = end as usize;
        if self.v6 {
            let len = header_len - IPV6_HEADER.min(header_len) + payload;
            fix_ipv6(
                header,
                self.next_header,
                u16::try_from(len).unwrap_or(u16::MAX),
            );
        } else {
            let len = header_len + payload;
            fix_ipv4(header, u16::try_from(len).unwrap_or(u16::MAX));
        }
    }
}
