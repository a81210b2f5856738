//! Reassembly configuration and overlap policies.

/// How conflicting bytes of two overlapping out-of-order segments are resolved.
///
/// When a new segment covers bytes that an earlier, still-buffered segment already supplied,
/// the policy decides, from the sequence ranges of the two *original* segments, whose bytes
/// are kept. The decision is made per earlier segment the new one overlaps. Data already
/// delivered to the sink is never replaced, whatever the policy (a retransmission that
/// differs from it raises [`crate::StreamEvent::ReassemblyOverlapDifferentData`] instead).
///
/// Below, `new` and `old` are the half-open sequence ranges `[start, end)` of the arriving
/// and of the buffered segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OverlapPolicy {
    /// The bytes received first are kept: `old` always wins.
    First,
    /// The bytes received last are kept: `new` always wins.
    Last,
    /// BSD stacks (FreeBSD, NetBSD, OpenBSD, macOS): `old` wins unless `new` starts before it
    /// (`new.start < old.start`). Suricata's default policy, and tapwatch's.
    #[default]
    Bsd,
    /// Linux: `new` wins when it starts before `old` (`new.start < old.start`), or starts at
    /// the same place and ends after it (`new.start == old.start && new.end > old.end`);
    /// otherwise `old` wins.
    Linux,
    /// Windows: keeps the bytes it queued first; behaves exactly as [`OverlapPolicy::First`].
    Windows,
    /// Solaris: `new` wins only when it starts before `old` and reaches at least to its end
    /// (`new.start < old.start && new.end >= old.end`); otherwise `old` wins.
    Solaris,
}

/// A half-open range of stream offsets `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

impl OverlapPolicy {
    /// Every policy, in declaration order.
    pub const ALL: [OverlapPolicy; 6] = [
        Self::First,
        Self::Last,
        Self::Bsd,
        Self::Linux,
        Self::Windows,
        Self::Solaris,
    ];

    /// The policy's configuration name: `first`, `last`, `bsd`, `linux`, `windows`, `solaris`.
    pub fn name(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Last => "last",
            Self::Bsd => "bsd",
            Self::Linux => "linux",
            Self::Windows => "windows",
            Self::Solaris => "solaris",
        }
    }

    /// The policy with configuration name `name` (as given by [`OverlapPolicy::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether the bytes of segment `new` replace those of the buffered segment `old` where
    /// the two overlap.
    pub(crate) fn new_wins(self, new: Span, old: Span) -> bool {
        match self {
            Self::First | Self::Windows => false,
            Self::Last => true,
            Self::Bsd => new.start < old.start,
            Self::Linux => new.start < old.start || (new.start == old.start && new.end > old.end),
            Self::Solaris => new.start < old.start && new.end >= old.end,
        }
    }
}

/// Limits and behaviour of one worker's reassembler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// Bytes of each direction reassembled and delivered, counted as the stream offset
    /// reached (delivered data plus declared gaps), as Suricata's `stream.reassembly.depth`
    /// does; 0 means unlimited. Default 1 MiB.
    pub depth: u64,
    /// Bytes buffered out of order across all streams of this worker. A segment whose
    /// buffering would exceed it is dropped and counted. Default 64 MiB.
    pub memcap: usize,
    /// Bytes buffered out of order in one direction; when exceeded, the first hole is
    /// declared a gap to make room. Default 256 KiB.
    pub max_buffered_per_direction: usize,
    /// Buffered out-of-order pieces in one direction; when exceeded, the first hole is
    /// declared a gap to make room. Default 1024.
    pub max_segments_per_direction: usize,
    /// How overlapping buffered segments are resolved. Default [`OverlapPolicy::Bsd`].
    pub overlap_policy: OverlapPolicy,
    /// Bytes of recently delivered data kept per direction to compare retransmissions
    /// with; 0 disables the comparison. Default 64 KiB. This memory is not part of `memcap`:
    /// it grows with the data delivered up to this bound and is freed when the direction
    /// ends (FIN, RST, depth, `finish`).
    pub compare_window: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            depth: 1024 * 1024,
            memcap: 64 * 1024 * 1024,
            max_buffered_per_direction: 256 * 1024,
            max_segments_per_direction: 1024,
            overlap_policy: OverlapPolicy::Bsd,
            compare_window: 64 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(start: u64, end: u64) -> Span {
        Span { start, end }
    }

    #[test]
    fn names_round_trip() {
        for p in OverlapPolicy::ALL {
            assert_eq!(OverlapPolicy::from_name(p.name()), Some(p));
        }
        assert_eq!(OverlapPolicy::from_name("hpux"), None);
        assert_eq!(OverlapPolicy::default(), OverlapPolicy::Bsd);
    }

    #[test]
    fn policy_decisions() {
        let old = s(10, 20);
        // (new, first, last, bsd, linux, windows, solaris)
        let cases = [
            (s(10, 20), [false, true, false, false, false, false]),
            (s(10, 25), [false, true, false, true, false, false]),
            (s(5, 15), [false, true, true, true, false, false]),
            (s(5, 20), [false, true, true, true, false, true]),
            (s(5, 30), [false, true, true, true, false, true]),
            (s(12, 18), [false, true, false, false, false, false]),
            (s(15, 30), [false, true, false, false, false, false]),
        ];
        for (new, expect) in cases {
            for (policy, want) in OverlapPolicy::ALL.into_iter().zip(expect) {
                assert_eq!(policy.new_wins(new, old), want, "{policy:?} {new:?}");
            }
        }
    }

    #[test]
    fn defaults_match_documentation() {
        let c = StreamConfig::default();
        assert_eq!(c.depth, 1_048_576);
        assert_eq!(c.memcap, 67_108_864);
        assert_eq!(c.max_buffered_per_direction, 262_144);
        assert_eq!(c.max_segments_per_direction, 1024);
        assert_eq!(c.compare_window, 65_536);
    }
}
