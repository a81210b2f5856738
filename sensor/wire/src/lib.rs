//! Zero-copy packet decoding for tapwatch.
//!
//! `wire` turns a captured frame into a [`Decoded`] view: link layer, VLAN tags, tunnels,
//! the innermost IP header and transport header, and the payload, all borrowed from the
//! frame. It never allocates and never panics on malformed input: anomalies become
//! [`DecodeEvent`]s (named exactly as Suricata's `decode-event:` keyword names them) and
//! decoding stops at the layer that could not be read.
//!
//! # Shape
//! [`decode`] runs a loop in which each layer decoder returns the next layer to decode, so
//! nesting never recurses; at most [`MAX_LAYERS`] layers and [`MAX_TUNNEL_DEPTH`] tunnels
//! are followed (`too_many_layers` beyond). [`decode_ip`] decodes a reassembled datagram
//! with the VLAN and tunnel context of the packet it came from. [`checksum_ok`] verifies
//! checksums on request.
//!
//! Link layers: Ethernet (with VLAN, QinQ, VN-Tag, E-Tag, 802.1ah), BSD null/loop, raw
//! IPv4/IPv6, Linux SLL/SLL2, PPP, PPPoE, Cisco HDLC, Frame Relay, FDDI, Linux NFLOG, PPI,
//! and 802.11 data frames (bare or after radiotap) carrying LLC/SNAP.
//!
//! A tunnel (GRE, ERSPAN, VXLAN, Geneve, Teredo, IP-in-IP, MPLS) becomes
//! [`Decoded::tunnel`] only once its inner packet is reached; when the inner packet cannot
//! be decoded, the result describes the outer packet (tunnel protocol as transport) plus
//! the events that say why.
//!
//! # etherparse and own views
//! Ethernet II, 802.1Q tags, the IPv4 and IPv6 fixed headers, TCP and UDP headers are read
//! with etherparse's header slices (after this crate's own length checks, which decide the
//! Suricata event), and its `Sum16BitWords` computes checksums. Own small views are used
//! where etherparse falls short:
//! - IPv4 option validation and the IPv6 extension header walk: Suricata's events need
//!   every option/header examined (duplicates, unknown options, reserved bits), while
//!   etherparse stops at the first error and does not report these.
//! - TCP options: etherparse's iterator stops at the first bad option and does not see
//!   duplicates.
//! - ICMPv4/ICMPv6: etherparse's slices reject some messages by exact length (timestamps).
//! - MPLS, GRE (v0 and v1/PPTP), ERSPAN I/II/III, VXLAN, VXLAN-GPE, Geneve, Teredo,
//!   GRE-in-UDP, MPLS-in-UDP, PPP, PPPoE, Cisco HDLC, Frame Relay, FDDI, LLC/SNAP, 802.11,
//!   radiotap, PPI, NFLOG, 802.1ah, VN-Tag, E-Tag, BSD null/loop, SCTP: not supported by
//!   etherparse.
//! - Linux SLL/SLL2: etherparse has no SLL2, and its SLL view validates ARPHRD and packet
//!   type values that a sensor must tolerate.
#![forbid(unsafe_code)]

mod bytes;
mod checksum;
mod decoder;
mod gre;
mod hdlc;
mod icmp;
mod ip;
mod ipv4;
mod ipv6;
mod link;
mod llc;
mod mpls;
mod pseudo;
mod transport;
mod types;
mod udp_tunnel;
mod wlan;

#[cfg(test)]
mod tests;

pub use checksum::{checksum_ok, Checksum, ChecksumStatus};
pub use decoder::{decode, decode_into, decode_ip, MAX_LAYERS, MAX_TUNNEL_DEPTH};
pub use tapwatch_common::{DecodeEvent, DecodeEvents, LinkType, Timestamp};
pub use transport::MAX_SCTP_CHUNKS;
pub use types::{
    Decoded, FragmentInfo, IcmpInfo, IpInfo, SctpInfo, TcpFlags, TcpInfo, TcpOptions, Transport,
    TunnelContext, TunnelKind, UdpInfo, VlanStack, MAX_VLAN_TAGS,
};
pub use udp_tunnel::{
    GENEVE_PORT, GRE_IN_UDP_PORT, MPLS_IN_UDP_PORT, TEREDO_PORT, VXLAN_GPE_PORT, VXLAN_PORT,
};
