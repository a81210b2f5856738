//! Defragmentation settings and overlap policies.

use std::time::Duration;

/// How bytes are chosen where fragments of one datagram overlap.
///
/// Operating systems disagree on this, and an attacker can exploit the disagreement to show
/// the sensor different bytes than the target host sees (Novak, "Target-Based Fragmentation
/// Reassembly", 2005; the names are those of Snort's frag3 and Suricata's defrag).
///
/// Each rule below decides, for the bytes where a newly arrived fragment `N` overlaps bytes
/// currently held from an earlier fragment `O`, whether `N` replaces them. `start`/`end` are
/// the fragments' whole extents (offset, offset + length), not just the overlapping part.
/// Bytes no earlier fragment holds are always taken from `N`. Applied fragment by fragment
/// in arrival order, this defines every byte of the result exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OverlapPolicy {
    /// The earlier fragment always wins (HP-UX 11, MacOS in Snort's frag3 table).
    First,
    /// The later fragment always wins (Cisco IOS).
    Last,
    /// The earlier fragment wins unless `N.start < O.start` (FreeBSD, AIX, HP-UX 10, IRIX).
    /// Suricata's and Snort's default.
    #[default]
    Bsd,
    /// The mirror image of [`OverlapPolicy::Bsd`]: the earlier fragment wins unless
    /// `N.end > O.end` (HP JetDirect). This is tapwatch's own reading of "BSD-right"; the
    /// other rules follow the published target-based behaviour.
    BsdRight,
    /// The earlier fragment wins unless `N.start <= O.start` (Linux 2.x).
    Linux,
    /// The earlier fragment wins unless `N` strictly encloses it:
    /// `N.start < O.start && N.end > O.end` (Windows).
    Windows,
    /// The earlier fragment wins unless `N.start < O.start && N.end >= O.end` (Solaris).
    Solaris,
}

impl OverlapPolicy {
    /// Whether a new fragment spanning `new` (start, end) replaces the overlapping bytes of
    /// an earlier one spanning `old`.
    pub fn new_wins(self, new: (u32, u32), old: (u32, u32)) -> bool {
        let ((ns, ne), (os, oe)) = (new, old);
        match self {
            Self::First => false,
            Self::Last => true,
            Self::Bsd => ns < os,
            Self::BsdRight => ne > oe,
            Self::Linux => ns <= os,
            Self::Windows => ns < os && ne > oe,
            Self::Solaris => ns < os && ne >= oe,
        }
    }

    /// The policy's configuration name, e.g. "bsd-right".
    pub fn name(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Last => "last",
            Self::Bsd => "bsd",
            Self::BsdRight => "bsd-right",
            Self::Linux => "linux",
            Self::Windows => "windows",
            Self::Solaris => "solaris",
        }
    }

    /// Every policy, for configuration parsing and tests.
    pub const ALL: [OverlapPolicy; 7] = [
        Self::First,
        Self::Last,
        Self::Bsd,
        Self::BsdRight,
        Self::Linux,
        Self::Windows,
        Self::Solaris,
    ];
}

/// Limits and behaviour of a [`crate::Defragmenter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Most bytes buffered across all datagrams being reassembled (payload, headers and a
    /// fixed per-fragment and per-datagram overhead). Default 16 MiB.
    pub memcap_bytes: usize,
    /// Most datagrams reassembled at once (at least 1). Default 65,535.
    pub max_trackers: usize,
    /// A datagram with no new fragment for this long is dropped. Default 60 s (Suricata's).
    pub timeout: Duration,
    /// Most fragments kept for one datagram (at least 1). Default 256.
    pub max_fragments_per_datagram: usize,
    /// How overlapping fragments are resolved. Default [`OverlapPolicy::Bsd`].
    pub policy: OverlapPolicy,
}

impl Default for DefragConfig {
    fn default() -> Self {
        Self {
            memcap_bytes: 16 << 20,
            max_trackers: 65_535,
            timeout: Duration::from_secs(60),
            max_fragments_per_datagram: 256,
            policy: OverlapPolicy::Bsd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_on_the_relationship_kinds() {
        // old spans 8..24; each case is a new fragment's extent.
        let old = (8, 24);
        let cases = [
            ("starts inside, ends after", (16, 32)),
            ("starts before, ends inside", (0, 16)),
            ("inside", (12, 20)),
            ("encloses", (0, 32)),
            ("same start, longer", (8, 32)),
            ("same extent", (8, 24)),
            ("starts before, same end", (0, 24)),
        ];
        let expect: [(OverlapPolicy, [bool; 7]); 7] = [
            (OverlapPolicy::First, [false; 7]),
            (OverlapPolicy::Last, [true; 7]),
            (
                OverlapPolicy::Bsd,
                [false, true, false, true, false, false, true],
            ),
            (
                OverlapPolicy::BsdRight,
                [true, false, false, true, true, false, false],
            ),
            (
                OverlapPolicy::Linux,
                [false, true, false, true, true, true, true],
            ),
            (
                OverlapPolicy::Windows,
                [false, false, false, true, false, false, false],
            ),
            (
                OverlapPolicy::Solaris,
                [false, false, false, true, false, false, true],
            ),
        ];
        for (policy, wins) in expect {
            for ((what, new), want) in cases.iter().zip(wins) {
                assert_eq!(
                    policy.new_wins(*new, old),
                    want,
                    "{} / {what}",
                    policy.name()
                );
            }
        }
    }

    #[test]
    fn defaults_are_suricatas() {
        let c = DefragConfig::default();
        assert_eq!(c.policy, OverlapPolicy::Bsd);
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert_eq!((c.memcap_bytes, c.max_trackers), (16 << 20, 65_535));
        assert_eq!(OverlapPolicy::ALL.len(), 7);
    }
}
