//! IP helpers shared by IPv4 and IPv6: raw-IP dispatch by version nibble, IP-in-IP
//! tunnels, and the upper-layer protocol dispatch.

use crate::bytes::{be16, u8_at};
use crate::decoder::{Decoder, Next};
use crate::types::{Transport, TunnelKind};
use crate::{gre, transport};
use tapwatch_common::DecodeEvent;

/// IP protocol numbers this crate follows.
pub(crate) mod proto {
    /// ICMPv4.
    pub const ICMP: u8 = 1;
    /// IPv4 in IP.
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 in IP.
    pub const IPV6: u8 = 41;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

/// A packet starting at an IP header of the version its first nibble names.
pub(crate) fn raw<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    match u8_at(data, 0).map(|b| b >> 4) {
        Some(4) => Next::Ipv4(data),
        Some(6) => Next::Ipv6(data),
        _ => {
            d.event(DecodeEvent::IprawInvalidIpVersion);
            Next::Done
        }
    }
}

/// The IP version of `data` when it starts with a whole, plausible IP header: an IPv4
/// header whose header and total lengths fit the data, or an IPv6 header whose payload fits.
/// Used before following a tunnel recognised only by a UDP port, so that other traffic on
/// that port stays plain UDP instead of raising decode events.
pub(crate) fn plausible_version(data: &[u8]) -> Option<u8> {
    const IPV4_MIN_LEN: usize = 20;
    const IPV6_LEN: usize = 40;
    match u8_at(data, 0)? >> 4 {
        4 => {
            let header_len = usize::from(u8_at(data, 0)? & 0x0f) * 4;
            let total_len = usize::from(be16(data, 2)?);
            (header_len >= IPV4_MIN_LEN && header_len <= total_len && total_len <= data.len())
                .then_some(4)
        }
        6 => {
            let payload_len = usize::from(be16(data, 4)?);
            (IPV6_LEN + payload_len <= data.len()).then_some(6)
        }
        _ => None,
    }
}

/// Whether `protocol` is unassigned by IANA (146-252), for the `unknown_protocol` events.
pub(crate) fn unassigned_protocol(protocol: u8) -> bool {
    (146..=252).contains(&protocol)
}

/// Decodes the upper layer `protocol` carried in `data` after the current IP header.
///
/// `fragment` is true for a first fragment: its transport header is decoded when it fits,
/// without raising events (the datagram is decoded again once reassembled) and without
/// following tunnels.
pub(crate) fn upper<'a>(
    d: &mut Decoder<'a, '_>,
    protocol: u8,
    data: &'a [u8],
    fragment: bool,
) -> Next<'a> {
    if fragment {
        let saved = d.out.events;
        // The returned next layer is ignored: tunnels are followed after reassembly.
        transport::decode(d, protocol, data, true);
        d.out.events = saved;
        return Next::Done;
    }
    match protocol {
        proto::GRE => {
            d.set_transport(Transport::Other(protocol), data);
            gre::decode(d, data)
        }
        proto::IPIP | proto::IPV6 => ip_in_ip(d, protocol, data),
        _ => transport::decode(d, protocol, data, false),
    }
}

/// IPv4 or IPv6 carried directly in IP.
fn ip_in_ip<'a>(d: &mut Decoder<'a, '_>, protocol: u8, data: &'a [u8]) -> Next<'a> {
    d.set_transport(Transport::Other(protocol), data);
    let outer_v6 = d.ip_version() == Some(6);
    let inner_v4 = protocol == proto::IPIP;
    if outer_v6 {
        let (min, version, too_small, wrong) = if inner_v4 {
            (
                20,
                4,
                DecodeEvent::Ipv6Ipv4InIpv6TooSmall,
                DecodeEvent::Ipv6Ipv4InIpv6WrongVersion,
            )
        } else {
            (
                40,
                6,
                DecodeEvent::Ipv6Ipv6InIpv6TooSmall,
                DecodeEvent::Ipv6Ipv6InIpv6WrongVersion,
            )
        };
        if data.len() < min {
            d.event(too_small);
            return Next::Done;
        }
        if u8_at(data, 0).map(|b| b >> 4) != Some(version) {
            d.event(wrong);
            return Next::Done;
        }
    }
    if !d.enter_tunnel(TunnelKind::IpInIp) {
        return Next::Done;
    }
    if inner_v4 {
        Next::Ipv4(data)
    } else {
        Next::Ipv6(data)
    }
}
