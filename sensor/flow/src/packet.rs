//! The per-packet facts the pipeline hands to the flow table.
//!
//! The flow table does not decode packets itself: the pipeline fills a [`PacketMeta`] from
//! the decoder's output, so this crate stays independent of the decoder.

use std::net::IpAddr;

use tapwatch_common::{IpProto, Timestamp};

/// IP protocol number of ICMP ([`IpProto::ICMP`]).
pub const IPPROTO_ICMP: u8 = IpProto::ICMP.number();
/// IP protocol number of TCP ([`IpProto::TCP`]).
pub const IPPROTO_TCP: u8 = IpProto::TCP.number();
/// IP protocol number of UDP ([`IpProto::UDP`]).
pub const IPPROTO_UDP: u8 = IpProto::UDP.number();
/// IP protocol number of ICMPv6 ([`IpProto::ICMPV6`]).
pub const IPPROTO_ICMPV6: u8 = IpProto::ICMPV6.number();
/// IP protocol number of SCTP ([`IpProto::SCTP`]).
pub const IPPROTO_SCTP: u8 = IpProto::SCTP.number();

/// TCP header flag bits, as they appear in [`TcpMeta::flags`].
pub mod tcp_flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push function.
    pub const PSH: u8 = 0x08;
    /// Acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
    /// Urgent pointer field is significant.
    pub const URG: u8 = 0x20;
    /// ECN echo.
    pub const ECE: u8 = 0x40;
    /// Congestion window reduced.
    pub const CWR: u8 = 0x80;
}

/// What the flow table needs to know about one decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketMeta {
    /// Capture time.
    pub ts: Timestamp,
    /// Source address (of the innermost IP header the pipeline tracks).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (TCP, UDP, SCTP; ignored for other protocols).
    pub src_port: u16,
    /// Destination port (TCP, UDP, SCTP; ignored for other protocols).
    pub dst_port: u16,
    /// IP protocol number (next header of the last IPv6 extension header).
    pub protocol: u8,
    /// VLAN ids, outermost first; only the first `vlan_len` entries are used.
    pub vlan: [u16; 3],
    /// Number of valid entries in `vlan` (values above 3 are treated as 3).
    pub vlan_len: u8,
    /// Identifier of the tunnel the packet came out of (0: not tunnelled).
    pub tunnel_id: u64,
    /// Length of the packet on the wire in bytes (counted as flow bytes).
    pub wire_len: u32,
    /// Length of the transport payload in bytes (TCP segment data length).
    pub payload_len: u32,
    /// TCP header facts; must be `Some` when `protocol` is 6.
    pub tcp: Option<TcpMeta>,
    /// ICMP header facts, for protocols 1 and 58.
    pub icmp: Option<IcmpMeta>,
}

/// TCP header facts of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpMeta {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flag bits, see [`tcp_flags`].
    pub flags: u8,
    /// Advertised window, unscaled as on the wire.
    pub window: u16,
    /// Window scale option (shift count), if present.
    pub wscale: Option<u8>,
    /// Whether the SACK-permitted option is present.
    pub sack_permitted: bool,
    /// Timestamp option `(TSval, TSecr)`, if present.
    pub timestamp: Option<(u32, u32)>,
}

impl TcpMeta {
    /// Whether every bit of `mask` is set.
    pub fn has(&self, mask: u8) -> bool {
        self.flags & mask == mask
    }
}

/// ICMP / ICMPv6 header facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IcmpMeta {
    /// ICMP type.
    pub icmp_type: u8,
    /// ICMP code.
    pub code: u8,
    /// Identifier (meaningful for echo request/reply only).
    pub id: u16,
}

impl IcmpMeta {
    /// Whether this is an echo request or reply of ICMP (`protocol` 1: types 8 and 0) or
    /// ICMPv6 (`protocol` 58: types 128 and 129), whose identifier joins the flow key.
    pub fn is_echo(&self, protocol: u8) -> bool {
        match protocol {
            IPPROTO_ICMP => matches!(self.icmp_type, 0 | 8),
            IPPROTO_ICMPV6 => matches!(self.icmp_type, 128 | 129),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_types() {
        let m = |t| IcmpMeta {
            icmp_type: t,
            code: 0,
            id: 1,
        };
        assert!(m(8).is_echo(IPPROTO_ICMP));
        assert!(m(0).is_echo(IPPROTO_ICMP));
        assert!(!m(3).is_echo(IPPROTO_ICMP));
        assert!(m(128).is_echo(IPPROTO_ICMPV6));
        assert!(m(129).is_echo(IPPROTO_ICMPV6));
        assert!(!m(8).is_echo(IPPROTO_ICMPV6));
        assert!(!m(8).is_echo(IPPROTO_UDP));
    }

    #[test]
    fn flag_test() {
        let t = TcpMeta {
            flags: tcp_flags::SYN | tcp_flags::ACK,
            ..TcpMeta::default()
        };
        assert!(t.has(tcp_flags::SYN));
        assert!(t.has(tcp_flags::SYN | tcp_flags::ACK));
        assert!(!t.has(tcp_flags::SYN | tcp_flags::FIN));
    }
}
