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
    /// Any other link type, by its pcap number; frames of it are counted and not decoded.
    Other(u32),
}

impl LinkType {
    /// The link type for a pcap/pcapng `LINKTYPE_*` number.
    pub fn from_linktype(value: u32) -> Self {
        match value {
            0 => Self::Null,
            1 => Self::Ethernet,
            9 => Self::Ppp,
            12 | 14 | 101 => Self::Raw,
            50 => Self::PppHdlc,
            51 => Self::PppEther,
            108 => Self::Loop,
            113 => Self::LinuxSll,
            228 => Self::Ipv4,
            229 => Self::Ipv6,
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
            Self::Raw => 101,
            Self::PppHdlc => 50,
            Self::PppEther => 51,
            Self::Loop => 108,
            Self::LinuxSll => 113,
            Self::Ipv4 => 228,
            Self::Ipv6 => 229,
            Self::LinuxSll2 => 276,
            Self::Other(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linktype_numbers_round_trip() {
        for n in [0, 1, 9, 50, 51, 101, 108, 113, 228, 229, 276, 105] {
            assert_eq!(LinkType::from_linktype(n).linktype(), n);
        }
        assert_eq!(LinkType::from_linktype(12), LinkType::Raw);
    }
}
