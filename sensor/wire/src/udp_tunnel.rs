//! Tunnels recognised inside UDP by port: VXLAN (4789), VXLAN-GPE (4790), Geneve (6081),
//! Teredo (3544), GRE-in-UDP (4754, RFC 8086) and MPLS-in-UDP (6635, RFC 7510).
//!
//! Own views: etherparse has none of these. A payload that does not look like the tunnel
//! (bad flags, too short) is left as plain UDP without an event, as a sensor cannot know
//! that the port really carries the tunnel.

use crate::bytes::{be16, be32, rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::link::ethertype;
use crate::types::{TunnelKind, UdpInfo};
use crate::{gre, ip, mpls};

/// VXLAN's IANA port.
pub const VXLAN_PORT: u16 = 4789;
/// Geneve's IANA port.
pub const GENEVE_PORT: u16 = 6081;
/// Teredo's IANA port.
pub const TEREDO_PORT: u16 = 3544;
/// VXLAN-GPE's IANA port.
pub const VXLAN_GPE_PORT: u16 = 4790;
/// GRE-in-UDP's IANA port (RFC 8086).
pub const GRE_IN_UDP_PORT: u16 = 4754;
/// MPLS-in-UDP's IANA port (RFC 7510).
pub const MPLS_IN_UDP_PORT: u16 = 6635;

/// Follows a UDP tunnel when the ports and payload say there is one.
pub(crate) fn decode<'a>(d: &mut Decoder<'a, '_>, udp: UdpInfo, payload: &'a [u8]) -> Next<'a> {
    match udp.dst_port {
        VXLAN_PORT => vxlan(d, payload),
        VXLAN_GPE_PORT => vxlan_gpe(d, payload),
        GENEVE_PORT => geneve(d, payload),
        GRE_IN_UDP_PORT => gre::in_udp(d, payload),
        MPLS_IN_UDP_PORT => mpls::in_udp(payload),
        _ if udp.dst_port == TEREDO_PORT || udp.src_port == TEREDO_PORT => teredo(d, payload),
        _ => Next::Done,
    }
}

/// VXLAN header length.
const VXLAN_LEN: usize = 8;
/// VXLAN "valid VNI" flag.
const VXLAN_FLAG_I: u8 = 0x08;
/// Smallest inner frame: an Ethernet header.
const ETHERNET_LEN: usize = 14;

fn vxlan<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
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

/// VXLAN-GPE flags: version (must be 0), "valid VNI" and "next protocol present".
const GPE_VERSION_MASK: u8 = 0x30;
const GPE_FLAG_P: u8 = 0x04;

/// VXLAN-GPE next protocol values.
mod gpe_next {
    pub const IPV4: u8 = 1;
    pub const IPV6: u8 = 2;
    pub const ETHERNET: u8 = 3;
}

/// VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): the VXLAN header with a next protocol field.
/// Followed for IPv4 and IPv6 payloads (with a whole IP header) and Ethernet payloads when
/// the version is 0 and the I and P flags are set; a frame without the P flag (plain VXLAN sent to 4790) stays UDP.
fn vxlan_gpe<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(flags), Some(next), Some(vni)) = (u8_at(data, 0), u8_at(data, 3), be32(data, 4))
    else {
        return Next::Done;
    };
    let required = VXLAN_FLAG_I | GPE_FLAG_P;
    if flags & GPE_VERSION_MASK != 0 || flags & required != required {
        return Next::Done;
    }
    let inner = rest(data, VXLAN_LEN);
    let version = ip::plausible_version(inner);
    let next = match next {
        gpe_next::IPV4 if version == Some(4) => Next::Ipv4(inner),
        gpe_next::IPV6 if version == Some(6) => Next::Ipv6(inner),
        gpe_next::ETHERNET if inner.len() >= ETHERNET_LEN => Next::Ethernet(inner),
        _ => return Next::Done,
    };
    if !d.enter_tunnel(TunnelKind::Vxlan { vni: vni >> 8 }) {
        return Next::Done;
    }
    next
}

/// Geneve base header length.
const GENEVE_LEN: usize = 8;

fn geneve<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
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
fn teredo<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
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
