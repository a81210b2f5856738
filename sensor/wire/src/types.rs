//! The decoded view of one packet and its parts: plain `Copy` values and borrowed slices.

use core::net::IpAddr;

use tapwatch_common::DecodeEvents;

/// Most VLAN tags kept per packet; a further tag raises `vlan.too_many_layers`.
pub const MAX_VLAN_TAGS: usize = 3;

/// The 802.1Q / 802.1ad VLAN ids of a packet, outermost first (at most [`MAX_VLAN_TAGS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VlanStack {
    ids: [u16; MAX_VLAN_TAGS],
    len: u8,
}

impl VlanStack {
    /// An empty stack.
    pub const fn new() -> Self {
        VlanStack {
            ids: [0; MAX_VLAN_TAGS],
            len: 0,
        }
    }

    /// The ids, outermost first.
    pub fn ids(&self) -> &[u16] {
        self.ids.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// How many tags are held.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there is no tag.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends an id (its low 12 bits); returns `false` and keeps the stack when it is full.
    pub fn push(&mut self, id: u16) -> bool {
        match self.ids.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = id & 0x0fff;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

/// The kind of the innermost tunnel a packet was carried in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// Not tunnelled.
    #[default]
    None,
    /// GRE version 0 (over IP, or over UDP port 4754 as RFC 8086 GRE-in-UDP), with its key
    /// when the K flag is set.
    Gre {
        /// The GRE key (for NVGRE: VSID and flow id).
        key: Option<u32>,
    },
    /// Enhanced GRE version 1 (PPTP) carrying PPP.
    Pptp {
        /// The call id of the sender's peer (differs per direction).
        call_id: u16,
    },
    /// VXLAN (UDP port 4789), or VXLAN-GPE (UDP port 4790).
    Vxlan {
        /// The 24-bit VXLAN network identifier.
        vni: u32,
    },
    /// Geneve (UDP port 6081).
    Geneve {
        /// The 24-bit virtual network identifier.
        vni: u32,
    },
    /// ERSPAN type I, II or III mirrored traffic (inside GRE).
    Erspan {
        /// The ERSPAN session id (0 for type I, which has no header).
        session: u16,
    },
    /// IPv4 or IPv6 directly inside IPv4 or IPv6 (protocols 4 and 41).
    IpInIp,
    /// Teredo (IPv6 inside UDP port 3544).
    Teredo,
    /// An MPLS label stack (over a link layer, or over UDP port 6635 as RFC 7510
    /// MPLS-in-UDP).
    Mpls {
        /// The bottom-of-stack label.
        label: u32,
    },
}

impl TunnelKind {
    fn tag(self) -> u64 {
        match self {
            TunnelKind::None => 0,
            TunnelKind::Gre { .. } => 1,
            TunnelKind::Pptp { .. } => 2,
            TunnelKind::Vxlan { .. } => 3,
            TunnelKind::Geneve { .. } => 4,
            TunnelKind::Erspan { .. } => 5,
            TunnelKind::IpInIp => 6,
            TunnelKind::Teredo => 7,
            TunnelKind::Mpls { .. } => 8,
        }
    }
}

/// The innermost tunnel a packet came out of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TunnelContext {
    /// Which tunnel, with its identifier.
    pub kind: TunnelKind,
    /// How many tunnels were entered (0 when not tunnelled).
    pub depth: u8,
    /// The innermost tunnel's outer IP endpoints (source, destination) as seen in this
    /// packet; `None` when not tunnelled or when the tunnel had no IP layer (MPLS over
    /// Ethernet).
    pub outer: Option<(IpAddr, IpAddr)>,
}

impl TunnelContext {
    /// A value for flow keys: the kind's tag in the top byte, and the identifier that is the
    /// same in both directions (VXLAN/Geneve VNI, ERSPAN session) in the low bits.
    /// PPTP call ids and MPLS labels differ per direction, so they are left out. The GRE key
    /// is left out too: mirroring setups put the direction in it (Zeek's `erspan.pcap`
    /// carries one TCP session with key 0 one way and `0x02000000` the other), so keying
    /// flows on it splits every session in two; Suricata does not key flows on it either.
    /// No hashing: the same tunnel always gives the same value.
    pub fn id(&self) -> u64 {
        let ident: u64 = match self.kind {
            TunnelKind::Vxlan { vni } | TunnelKind::Geneve { vni } => u64::from(vni),
            TunnelKind::Erspan { session } => u64::from(session),
            _ => 0,
        };
        (self.kind.tag() << 56) | ident
    }
}

/// IP fragmentation fields of a fragmented packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentInfo {
    /// Offset of this fragment's data in the original datagram, in bytes.
    pub offset: u32,
    /// The "more fragments" flag.
    pub more: bool,
    /// The identification (IPv4's 16 bits, or IPv6's 32 bits).
    pub id: u32,
}

/// The innermost IP layer of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpInfo<'a> {
    /// 4 or 6.
    pub version: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The upper-layer protocol: IPv4's protocol field; for IPv6 the next header after the
    /// extension headers, or for a fragmented IPv6 packet the Fragment header's next header.
    pub protocol: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 type of service or IPv6 traffic class.
    pub tos: u8,
    /// IPv4 identification, or the IPv6 Fragment header's identification (0 without one).
    pub id: u32,
    /// IPv4 "don't fragment" flag (always false for IPv6).
    pub dont_fragment: bool,
    /// Set when the packet is a fragment (not for IPv6 atomic fragments).
    pub fragment: Option<FragmentInfo>,
    /// IPv4: the header including options. IPv6: the fixed header and the extension
    /// headers up to, not including, the Fragment header (all of them when there is none).
    pub header: &'a [u8],
    /// The datagram length from the header (IPv4 total length, IPv6 40 + payload length).
    pub total_len: usize,
    /// What follows the header chain, bounded by the datagram length and the capture:
    /// the transport segment, or for fragments the data after the Fragment header / IPv4
    /// header.
    pub payload: &'a [u8],
}

/// TCP flags (the 9 low bits of header bytes 12-13).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
    /// ECE.
    pub const ECE: u16 = 0x040;
    /// CWR.
    pub const CWR: u16 = 0x080;
    /// NS (ECN nonce, historic).
    pub const NS: u16 = 0x100;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u16) -> bool {
        self.0 & mask == mask
    }
    /// SYN set.
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// ACK set.
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    /// FIN set.
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// RST set.
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    /// PSH set.
    pub fn psh(self) -> bool {
        self.has(Self::PSH)
    }
    /// URG set.
    pub fn urg(self) -> bool {
        self.has(Self::URG)
    }
}

/// The TCP options tapwatch uses, read from the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2).
    pub mss: Option<u16>,
    /// Window scale shift (kind 3).
    pub wscale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// Timestamps value and echo reply (kind 8).
    pub timestamp: Option<(u32, u32)>,
    /// Number of SACK blocks (kind 5).
    pub sack_blocks: u8,
}

/// A TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window (unscaled).
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// The header including options.
    pub header: &'a [u8],
    /// Parsed options.
    pub options: TcpOptions,
}

/// A UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpInfo {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The length field (header and data).
    pub length: u16,
}

/// An ICMPv4 or ICMPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpInfo<'a> {
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
    /// Identifier, for echo-like types (echo, timestamp, information, address mask).
    pub id: Option<u16>,
    /// Sequence number, for the same types.
    pub seq: Option<u16>,
    /// The 8-byte header.
    pub header: &'a [u8],
}

/// The SCTP common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SctpInfo {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Verification tag.
    pub vtag: u32,
}

/// The transport layer of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport<'a> {
    /// No transport header was decoded (non-IP, fragment, or a bad header).
    #[default]
    None,
    /// TCP.
    Tcp(TcpInfo<'a>),
    /// UDP.
    Udp(UdpInfo),
    /// ICMPv4.
    Icmpv4(IcmpInfo<'a>),
    /// ICMPv6.
    Icmpv6(IcmpInfo<'a>),
    /// SCTP.
    Sctp(SctpInfo),
    /// Another IP protocol, not decoded (or a tunnel protocol whose inner packet could not
    /// be decoded), by number.
    Other(u8),
}

impl Transport<'_> {
    /// Source and destination ports for TCP, UDP and SCTP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self {
            Transport::Tcp(t) => Some((t.src_port, t.dst_port)),
            Transport::Udp(u) => Some((u.src_port, u.dst_port)),
            Transport::Sctp(s) => Some((s.src_port, s.dst_port)),
            _ => None,
        }
    }
}

/// A decoded packet: every part borrowed from the frame.
///
/// When a tunnel's inner packet cannot be decoded (bad inner header), the packet is
/// described as its outer packet (outer IP, the tunnel protocol as transport) with the
/// events that explain why; `tunnel` then describes only tunnels whose inner packet was
/// reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decoded<'a> {
    /// VLAN ids, outermost first (inner Ethernet frames of tunnels add to the stack).
    pub vlan: VlanStack,
    /// The innermost tunnel.
    pub tunnel: TunnelContext,
    /// The innermost IP layer.
    pub ip: Option<IpInfo<'a>>,
    /// The innermost transport layer.
    pub transport: Transport<'a>,
    /// The transport payload; the IP payload when there is no transport; the bytes after
    /// the link-layer headers for non-IP frames.
    pub payload: &'a [u8],
    /// Anomalies found, at every layer.
    pub events: DecodeEvents,
    /// The innermost ethertype when the frame is not IP (ARP, LLDP, PPPoE discovery...).
    pub ethertype: Option<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    #[test]
    fn vlan_stack_bounded() {
        let mut s = VlanStack::new();
        assert!(s.is_empty());
        assert!(s.push(0x1005));
        assert!(s.push(20));
        assert!(s.push(30));
        assert!(!s.push(40));
        assert_eq!(s.ids(), &[5, 20, 30]);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn tunnel_ids_differ_by_kind_and_vni() {
        let a = TunnelContext {
            kind: TunnelKind::Vxlan { vni: 7 },
            depth: 1,
            outer: Some((Ipv4Addr::LOCALHOST.into(), Ipv4Addr::BROADCAST.into())),
        };
        let b = TunnelContext {
            kind: TunnelKind::Geneve { vni: 7 },
            ..a
        };
        let c = TunnelContext {
            kind: TunnelKind::Pptp { call_id: 9 },
            ..a
        };
        let d = TunnelContext {
            kind: TunnelKind::Pptp { call_id: 10 },
            ..a
        };
        assert_eq!(a.id(), (3 << 56) | 7);
        assert_ne!(a.id(), b.id());
        assert_eq!(c.id(), d.id());
        assert_eq!(TunnelContext::default().id(), 0);
        assert_eq!(
            TunnelContext {
                kind: TunnelKind::Gre { key: Some(0) },
                ..a
            }
            .id(),
            1 << 56
        );
    }

    /// Regression (tshark differential test, Zeek's `erspan.pcap`): a GRE mirror that puts
    /// the direction in the key must not split one session into two flows.
    #[test]
    fn gre_key_is_not_part_of_the_flow_identity() {
        let gre = |key| TunnelContext {
            kind: TunnelKind::Gre { key },
            depth: 1,
            outer: Some((Ipv4Addr::LOCALHOST.into(), Ipv4Addr::BROADCAST.into())),
        };
        assert_eq!(gre(Some(0)).id(), gre(Some(0x0200_0000)).id());
        assert_eq!(gre(Some(7)).id(), gre(None).id());
        assert_ne!(gre(None).id(), TunnelContext::default().id());
    }

    #[test]
    fn tcp_flags() {
        let f = TcpFlags(TcpFlags::SYN | TcpFlags::ACK);
        assert!(f.syn() && f.ack() && !f.fin() && !f.rst() && !f.psh() && !f.urg());
    }
}
