//! Link-layer types of captured frames.

/// The link-layer header type a frame starts with, as named by the pcap `LINKTYPE_*` registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// `LINKTYPE_ETHERNET` (1): IEEE 802.3 Ethernet.
    Ethernet,
    /// `LINKTYPE_NULL` (0): BSD loopback, a 4-byte address family in the capturing host's byte order.
    Null,
    /// `LINKTYPE_LOOP` (108): OpenBSD loopback, a 4-byte address family in network byte order.
    Loop,
    /// `LINKTYPE_RAW` (101, and DLT 12/14 on some systems): a raw IPv4 or IPv6 packet.
    Raw,
    /// `LINKTYPE_IPV4` (228): a raw IPv4 packet.
    Ipv4,
    /// `LINKTYPE_IPV6` (229): a raw IPv6 packet.
    Ipv6,
    /// `LINKTYPE_LINUX_SLL` (113): Linux "cooked" capture v1.
    LinuxSll,
    /// `LINKTYPE_LINUX_SLL2` (276): Linux "cooked" capture v2.
    LinuxSll2,
    /// `LINKTYPE_PPP` (9): PPP with a protocol field (optionally HDLC-framed).
    Ppp,
    /// `LINKTYPE_PPP_HDLC` (50): PPP in HDLC-like framing.
    PppHdlc,
    /// `LINKTYPE_PPP_ETHER` (51): PPPoE session frames without the Ethernet header.
    PppEther,
    /// `LINKTYPE_C_HDLC` (104): Cisco HDLC, an address byte (`0f` unicast, `8f` broadcast),
    /// a control byte (`00`), then an ethertype.
    Chdlc,
    /// `LINKTYPE_NFLOG` (239): Linux netfilter log messages; the packet is in the
    /// `NFULA_PAYLOAD` TLV and its address family in the header.
    Nflog,
    /// `LINKTYPE_FDDI` (10): FDDI frames, an LLC header after the MAC header.
    Fddi,
    /// `LINKTYPE_FRELAY` (107): Frame Relay, a Q.922 address then an RFC 2427 (NLPID) or
    /// Cisco (ethertype) encapsulation.
    FrameRelay,
    /// `LINKTYPE_PPI` (192): a Per-Packet Information header naming the link type of the
    /// frame that follows it.
    Ppi,
    /// `LINKTYPE_IEEE802_11` (105): IEEE 802.11 wireless frames without a radio header.
    Ieee80211,
    /// `LINKTYPE_IEEE802_11_RADIOTAP` (127): a radiotap header, then an 802.11 frame.
    Radiotap,
    /// Any other link type, by its pcap number; frames of it are counted and not decoded.
    Other(u32),
}

impl LinkType {
    /// Every named link type, in declaration order (everything but [`LinkType::Other`]).
    pub const NAMED: [LinkType; 18] = [
        Self::Ethernet,
        Self::Null,
        Self::Loop,
        Self::Raw,
        Self::Ipv4,
        Self::Ipv6,
        Self::LinuxSll,
        Self::LinuxSll2,
        Self::Ppp,
        Self::PppHdlc,
        Self::PppEther,
        Self::Chdlc,
        Self::Nflog,
        Self::Fddi,
        Self::FrameRelay,
        Self::Ppi,
        Self::Ieee80211,
        Self::Radiotap,
    ];

    /// The link type for a pcap/pcapng `LINKTYPE_*` number.
    pub fn from_linktype(value: u32) -> Self {
        match value {
            0 => Self::Null,
            1 => Self::Ethernet,
            9 => Self::Ppp,
            10 => Self::Fddi,
            12 | 14 | 101 => Self::Raw,
            50 => Self::PppHdlc,
            51 => Self::PppEther,
            104 => Self::Chdlc,
            105 => Self::Ieee80211,
            107 => Self::FrameRelay,
            108 => Self::Loop,
            113 => Self::LinuxSll,
            127 => Self::Radiotap,
            192 => Self::Ppi,
            228 => Self::Ipv4,
            229 => Self::Ipv6,
            239 => Self::Nflog,
            276 => Self::LinuxSll2,
            other => Self::Other(other),
        }
    }

    /// The pcap `LINKTYPE_*` number of this link type.
    pub fn linktype(self) -> u32 {
        match self {
            Self::Null => 0,
            Self::Ethernet => 1,
            Self::Ppp => 9,
            Self::Fddi => 10,
            Self::Raw => 101,
            Self::PppHdlc => 50,
            Self::PppEther => 51,
            Self::Chdlc => 104,
            Self::Ieee80211 => 105,
            Self::FrameRelay => 107,
            Self::Loop => 108,
            Self::LinuxSll => 113,
            Self::Radiotap => 127,
            Self::Ppi => 192,
            Self::Ipv4 => 228,
            Self::Ipv6 => 229,
            Self::Nflog => 239,
            Self::LinuxSll2 => 276,
            Self::Other(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_link_types_are_distinct_and_round_trip() {
        for (i, link) in LinkType::NAMED.iter().enumerate() {
            assert!(!matches!(link, LinkType::Other(_)));
            assert_eq!(LinkType::from_linktype(link.linktype()), *link);
            assert!(
                !LinkType::NAMED[..i].contains(link),
                "{link:?} listed twice"
            );
        }
    }

    #[test]
    fn linktype_numbers_round_trip() {
        let known = [
            0, 1, 9, 10, 50, 51, 101, 104, 105, 107, 108, 113, 127, 192, 228, 229, 239, 276,
        ];
        for n in known {
            let link = LinkType::from_linktype(n);
            assert_ne!(link, LinkType::Other(n), "{n} is named");
            assert_eq!(link.linktype(), n);
        }
        for n in [147, 195, 230, 0xffff_ffff] {
            assert_eq!(LinkType::from_linktype(n), LinkType::Other(n));
            assert_eq!(LinkType::from_linktype(n).linktype(), n);
        }
        assert_eq!(LinkType::from_linktype(12), LinkType::Raw);
        assert_eq!(LinkType::from_linktype(104), LinkType::Chdlc);
        assert_eq!(LinkType::from_linktype(239), LinkType::Nflog);
    }
}
