//! Tunnels recognised inside UDP by port: VXLAN (4789), Geneve (6081) and Teredo (3544).
//!
//! Own views: etherparse has none of these. A payload that does not look like the tunnel
//! (bad flags, too short) is left as plain UDP without an event, as a sensor cannot know
//! that the port really carries the tunnel.

use crate::bytes::{be16, be32, rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::link::ethertype;
use crate::types::{TunnelKind, UdpInfo};

/// VXLAN's IANA port.
pub const VXLAN_PORT: u16 = 4789;
/// Geneve's IANA port.
pub const GENEVE_PORT: u16 = 6081;
/// Teredo's IANA port.
pub const TEREDO_PORT: u16 = 3544;

/// Follows a UDP tunnel when the ports and payload say there is one.
pub(crate) fn decode<'a>(d: &mut Decoder<'a>, udp: UdpInfo, payload: &'a [u8]) -> Next<'a> {
    if udp.dst_port == VXLAN_PORT {
        vxlan(d, payload)
    } else if udp.dst_port == GENEVE_PORT {
        geneve(d, payload)
    } else if udp.dst_port == TEREDO_PORT || udp.src_port == TEREDO_PORT {
        teredo(d, payload)
    } else {
        Next::Done
    }
}

/// VXLAN header length.
const VXLAN_LEN: usize = 8;
/// VXLAN "valid VNI" flag.
const VXLAN_FLAG_I: u8 = 0x08;
/// Smallest inner frame: an Ethernet header.
const ETHERNET_LEN: usize = 14;

fn vxlan<'a>(d: &mut Decoder<'a>, data: &'a [u8]) -> Next<'a> {
    let (Some(flags), Some(vni)) = (u8_at(data, 0), be32(data, 4)) else {
        return Next::Done;
    };
    let inner = rest(data, VXLAN_LEN);
    if flags & VXLAN_FLAG_I == 0 || inner.len() < ETHERNET_LEN {
        return Next::Done;
    }
    if !d.enter_tunnel(TunnelKind::Vxlan { vni: vni >> 8 }) {
        return Next::Done;
    }
    Next::Ethernet(inner)
}

/// Geneve base header length.
const GENEVE_LEN: usize = 8;

fn geneve<'a>(d: &mut Decoder<'a>, data: &'a [u8]) -> Next<'a> {
    let (Some(first), Some(protocol), Some(vni)) = (u8_at(data, 0), be16(data, 2), be32(data, 4))
    else {
        return Next::Done;
    };
    if first >> 6 != 0 {
        return Next::Done;
    }
    let len = GENEVE_LEN + usize::from(first & 0x3f) * 4;
    if data.len() < len {
        return Next::Done;
    }
    let inner = rest(data, len);
    let next = match protocol {
        ethertype::TEB => Next::Ethernet(inner),
        ethertype::IPV4 => Next::Ipv4(inner),
        ethertype::IPV6 => Next::Ipv6(inner),
        _ => return Next::Done,
    };
    if !d.enter_tunnel(TunnelKind::Geneve { vni: vni >> 8 }) {
        return Next::Done;
    }
    next
}

/// Teredo (RFC 4380): optional authentication and origin indication, then IPv6. Followed
/// only when the IPv6 header's payload length exactly fills the datagram.
fn teredo<'a>(d: &mut Decoder<'a>, data: &'a [u8]) -> Next<'a> {
    const ORIGIN_LEN: usize = 8;
    const AUTH_FIXED_LEN: usize = 4 + 8 + 1;
    let mut data = data;
    if be16(data, 0) == Some(0x0001) {
        let (Some(id_len), Some(au_len)) = (u8_at(data, 2), u8_at(data, 3)) else {
            return Next::Done;
        };
        data = rest(
            data,
            AUTH_FIXED_LEN + usize::from(id_len) + usize::from(au_len),
        );
    }
    if be16(data, 0) == Some(0x0000) {
        data = rest(data, ORIGIN_LEN);
    }
    let Some(payload_len) = be16(data, 4) else {
        return Next::Done;
    };
    let looks_ipv6 = u8_at(data, 0).map(|b| b >> 4) == Some(6)
        && data.len() >= 40
        && data.len() == 40 + usize::from(payload_len);
    if !looks_ipv6 || !d.enter_tunnel(TunnelKind::Teredo) {
        return Next::Done;
    }
    Next::Ipv6(data)
}
