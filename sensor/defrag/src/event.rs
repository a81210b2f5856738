//! Decoder events raised by defragmentation, named as in Suricata's rules.

use std::fmt;

use tapwatch_common::DecodeEvent;

/// One defragmentation event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefragEvent {
    /// An IPv4 datagram would exceed 65,535 bytes (`ipv4.frag_pkt_too_large`).
    Ipv4FragPktTooLarge,
    /// IPv4 fragments overlap with different data (`ipv4.frag_overlap`).
    Ipv4FragOverlap,
    /// An IPv4 fragment was not used: a per-datagram or memory limit (`ipv4.frag_ignored`).
    Ipv4FragIgnored,
    /// An IPv6 datagram would exceed 65,535 payload bytes (`ipv6.frag_pkt_too_large`).
    Ipv6FragPktTooLarge,
    /// IPv6 fragments overlap with different data (`ipv6.frag_overlap`).
    Ipv6FragOverlap,
    /// An IPv6 fragment was not used: a per-datagram or memory limit (`ipv6.frag_ignored`).
    Ipv6FragIgnored,
    /// A non-final IPv6 fragment whose length is not a multiple of 8
    /// (`ipv6.frag_invalid_length`).
    Ipv6FragInvalidLength,
}

impl DefragEvent {
    /// Every event, in bit order.
    pub const ALL: [DefragEvent; 7] = [
        Self::Ipv4FragPktTooLarge,
        Self::Ipv4FragOverlap,
        Self::Ipv4FragIgnored,
        Self::Ipv6FragPktTooLarge,
        Self::Ipv6FragOverlap,
        Self::Ipv6FragIgnored,
        Self::Ipv6FragInvalidLength,
    ];

    /// The decoder event this is, as counters, EVE and `decode-event` rules know it.
    pub const fn decode_event(self) -> DecodeEvent {
        match self {
            Self::Ipv4FragPktTooLarge => DecodeEvent::Ipv4FragPktTooLarge,
            Self::Ipv4FragOverlap => DecodeEvent::Ipv4FragOverlap,
            Self::Ipv4FragIgnored => DecodeEvent::Ipv4FragIgnored,
            Self::Ipv6FragPktTooLarge => DecodeEvent::Ipv6FragPktTooLarge,
            Self::Ipv6FragOverlap => DecodeEvent::Ipv6FragOverlap,
            Self::Ipv6FragIgnored => DecodeEvent::Ipv6FragIgnored,
            Self::Ipv6FragInvalidLength => DecodeEvent::Ipv6FragInvalidLength,
        }
    }

    /// Suricata's name for the event (its `decode-event` keyword and stats counter).
    pub const fn name(self) -> &'static str {
        self.decode_event().name()
    }

    /// The too-large event of an IP version (4 or 6).
    pub(crate) fn too_large(v6: bool) -> Self {
        if v6 {
            Self::Ipv6FragPktTooLarge
        } else {
            Self::Ipv4FragPktTooLarge
        }
    }

    /// The overlap event of an IP version.
    pub(crate) fn overlap(v6: bool) -> Self {
        if v6 {
            Self::Ipv6FragOverlap
        } else {
            Self::Ipv4FragOverlap
        }
    }

    /// The ignored-fragment event of an IP version.
    pub(crate) fn ignored(v6: bool) -> Self {
        if v6 {
            Self::Ipv6FragIgnored
        } else {
            Self::Ipv4FragIgnored
        }
    }

    fn bit(self) -> u8 {
        match self {
            Self::Ipv4FragPktTooLarge => 1,
            Self::Ipv4FragOverlap => 1 << 1,
            Self::Ipv4FragIgnored => 1 << 2,
            Self::Ipv6FragPktTooLarge => 1 << 3,
            Self::Ipv6FragOverlap => 1 << 4,
            Self::Ipv6FragIgnored => 1 << 5,
            Self::Ipv6FragInvalidLength => 1 << 6,
        }
    }
}

impl fmt::Display for DefragEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`DefragEvent`]s raised by one fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DefragEvents(u8);

impl DefragEvents {
    /// No events.
    pub const NONE: DefragEvents = DefragEvents(0);

    /// Adds an event.
    pub fn insert(&mut self, e: DefragEvent) {
        self.0 |= e.bit();
    }

    /// Whether the set holds `e`.
    pub fn contains(self, e: DefragEvent) -> bool {
        self.0 & e.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The events in the set, in [`DefragEvent::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = DefragEvent> {
        DefragEvent::ALL
            .into_iter()
            .filter(move |e| self.contains(*e))
    }
}

impl From<DefragEvent> for DefragEvents {
    fn from(e: DefragEvent) -> Self {
        DefragEvents(e.bit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_suricata_rules() {
        let names: Vec<_> = DefragEvent::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(
            names,
            [
                "ipv4.frag_pkt_too_large",
                "ipv4.frag_overlap",
                "ipv4.frag_ignored",
                "ipv6.frag_pkt_too_large",
                "ipv6.frag_overlap",
                "ipv6.frag_ignored",
                "ipv6.frag_invalid_length"
            ]
        );
    }

    #[test]
    fn set_operations() {
        let mut s = DefragEvents::NONE;
        assert!(s.is_empty());
        s.insert(DefragEvent::Ipv6FragOverlap);
        s.insert(DefragEvent::Ipv4FragPktTooLarge);
        s.insert(DefragEvent::Ipv6FragOverlap);
        assert!(s.contains(DefragEvent::Ipv6FragOverlap));
        assert!(!s.contains(DefragEvent::Ipv4FragOverlap));
        let v: Vec<_> = s.iter().collect();
        assert_eq!(
            v,
            [
                DefragEvent::Ipv4FragPktTooLarge,
                DefragEvent::Ipv6FragOverlap
            ]
        );
        assert_eq!(
            DefragEvents::from(DefragEvent::Ipv4FragIgnored)
                .iter()
                .count(),
            1
        );
        assert_eq!(
            DefragEvent::Ipv6FragInvalidLength.to_string(),
            "ipv6.frag_invalid_length"
        );
    }
}
