//! GRE (version 0, RFC 2784/2890 with RFC 1701 routing; version 1, RFC 2637 PPTP) and the
//! ERSPAN type I/II/III headers it carries.
//!
//! Own view: etherparse has no GRE or ERSPAN support.

use crate::bytes::{be16, be32, rest, u8_at};
use crate::decoder::{Decoder, EtherSource, Next};
use crate::ip;
use crate::link::ethertype;
use crate::types::TunnelKind;
use tapwatch_common::DecodeEvent;

/// GRE base header length (flags/version, protocol).
const BASE_LEN: usize = 4;

// Bits of the first flags byte.
const FLAG_CHECKSUM: u8 = 0x80;
const FLAG_ROUTING: u8 = 0x40;
const FLAG_KEY: u8 = 0x20;
const FLAG_SEQ: u8 = 0x10;
const FLAG_STRICT_ROUTE: u8 = 0x08;
const RECURSION_MASK: u8 = 0x07;
// Bits of the second flags byte.
const FLAG_ACK: u8 = 0x80;
const RESERVED_MASK: u8 = 0x78;
const VERSION_MASK: u8 = 0x07;

/// A GRE-in-UDP payload (RFC 8086): followed as GRE only when it is a clean version 0
/// header (no routing, recursion, acknowledgment or reserved bits) whose protocol is one
/// that leads to IP (IPv4, IPv6, Ethernet, MPLS), with a whole IP header when the protocol
/// is IP. Anything else stays plain UDP, without an event: the port alone does
/// not prove the tunnel.
pub(crate) fn in_udp<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    const OPTIONAL: u8 = FLAG_CHECKSUM | FLAG_KEY | FLAG_SEQ;
    const ETHERNET_LEN: usize = 14;
    const MPLS_ENTRY_LEN: usize = 4;
    let (Some(f0), Some(f1), Some(protocol)) = (u8_at(data, 0), u8_at(data, 1), be16(data, 2))
    else {
        return Next::Done;
    };
    if f0 & !OPTIONAL != 0 || f1 != 0 {
        return Next::Done;
    }
    let len = BASE_LEN + 4 * (f0 & OPTIONAL).count_ones() as usize;
    let inner = rest(data, len);
    let version = ip::plausible_version(inner);
    let plausible = match protocol {
        ethertype::IPV4 => version == Some(4),
        ethertype::IPV6 => version == Some(6),
        ethertype::TEB => inner.len() >= ETHERNET_LEN,
        ethertype::MPLS_UC | ethertype::MPLS_MC => inner.len() >= MPLS_ENTRY_LEN,
        _ => false,
    };
    if !plausible {
        return Next::Done;
    }
    decode(d, data)
}

/// A GRE header at the start of `data`.
pub(crate) fn decode<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(f0), Some(f1), Some(protocol)) = (u8_at(data, 0), u8_at(data, 1), be16(data, 2))
    else {
        d.event(DecodeEvent::GrePktTooSmall);
        return Next::Done;
    };
    match f1 & VERSION_MASK {
        0 => version0(d, data, f0, f1, protocol),
        1 => version1(d, data, f0, f1, protocol),
        _ => {
            d.event(DecodeEvent::GreWrongVersion);
            Next::Done
        }
    }
}

fn version0<'a>(
    d: &mut Decoder<'a, '_>,
    data: &'a [u8],
    f0: u8,
    f1: u8,
    protocol: u16,
) -> Next<'a> {
    if f0 & RECURSION_MASK != 0 {
        d.event(DecodeEvent::GreVersion0Recur);
        return Next::Done;
    }
    if f1 & (FLAG_ACK | RESERVED_MASK) != 0 {
        d.event(DecodeEvent::GreVersion0Flags);
        return Next::Done;
    }
    let mut len = BASE_LEN;
    if f0 & (FLAG_CHECKSUM | FLAG_ROUTING) != 0 {
        len += 4;
    }
    let key = if f0 & FLAG_KEY != 0 {
        let key = be32(data, len);
        len += 4;
        key
    } else {
        None
    };
    let seq = f0 & FLAG_SEQ != 0;
    if seq {
        len += 4;
    }
    if len > data.len() {
        d.event(DecodeEvent::GreVersion0HdrTooBig);
        return Next::Done;
    }
    if f0 & FLAG_ROUTING != 0 {
        match source_routes(rest(data, len)) {
            Some(sre_len) => len += sre_len,
            None => {
                d.event(DecodeEvent::GreVersion1MalformedSreHdr);
                return Next::Done;
            }
        }
    }
    let payload = rest(data, len);
    match protocol {
        ethertype::ERSPAN_II if seq => erspan2(d, payload),
        ethertype::ERSPAN_II => {
            // ERSPAN type I: no ERSPAN header, the mirrored frame follows directly.
            if !d.enter_tunnel(TunnelKind::Erspan { session: 0 }) {
                return Next::Done;
            }
            Next::Ethernet(payload)
        }
        ethertype::ERSPAN_III => erspan3(d, payload),
        _ => {
            if !d.enter_tunnel(TunnelKind::Gre { key }) {
                return Next::Done;
            }
            Next::EtherType {
                ethertype: protocol,
                data: payload,
                from: EtherSource::Other,
            }
        }
    }
}

/// The length of a list of RFC 1701 source route entries ended by a null entry, or `None`
/// when the list runs past the end.
fn source_routes(data: &[u8]) -> Option<usize> {
    let mut at = 0usize;
    loop {
        let family = be16(data, at)?;
        let len = usize::from(u8_at(data, at + 3)?);
        at += 4;
        if family == 0 && len == 0 {
            return Some(at);
        }
        data.get(at..at + len)?;
        at += len;
    }
}

fn version1<'a>(
    d: &mut Decoder<'a, '_>,
    data: &'a [u8],
    f0: u8,
    f1: u8,
    protocol: u16,
) -> Next<'a> {
    let checks = [
        (f0 & FLAG_CHECKSUM != 0, DecodeEvent::GreVersion1Chksum),
        (f0 & FLAG_ROUTING != 0, DecodeEvent::GreVersion1Route),
        (f0 & FLAG_STRICT_ROUTE != 0, DecodeEvent::GreVersion1Ssr),
        (f0 & RECURSION_MASK != 0, DecodeEvent::GreVersion1Recur),
        (f1 & RESERVED_MASK != 0, DecodeEvent::GreVersion1Flags),
        (f0 & FLAG_KEY == 0, DecodeEvent::GreVersion1NoKey),
        (
            protocol != ethertype::PPP,
            DecodeEvent::GreVersion1WrongProtocol,
        ),
    ];
    if let Some((_, event)) = checks.iter().find(|(bad, _)| *bad) {
        d.event(*event);
        return Next::Done;
    }
    // Key: payload length (2) and call id (2).
    let call_id = be16(data, BASE_LEN + 2);
    let mut len = BASE_LEN + 4;
    if f0 & FLAG_SEQ != 0 {
        len += 4;
    }
    if f1 & FLAG_ACK != 0 {
        len += 4;
    }
    let Some(call_id) = call_id.filter(|_| len <= data.len()) else {
        d.event(DecodeEvent::GreVersion1HdrTooBig);
        return Next::Done;
    };
    let payload = rest(data, len);
    if payload.is_empty() {
        // An acknowledgment without data.
        return Next::Done;
    }
    if !d.enter_tunnel(TunnelKind::Pptp { call_id }) {
        return Next::Done;
    }
    Next::Ppp(payload)
}

/// ERSPAN type II header length.
const ERSPAN2_LEN: usize = 8;
/// ERSPAN type III header length (without the optional platform sub-header).
const ERSPAN3_LEN: usize = 12;
/// ERSPAN type III platform-specific sub-header length.
const ERSPAN3_PLATFORM_LEN: usize = 8;

/// ERSPAN version, VLAN and session fields shared by types II and III.
fn erspan_common<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8], version: u8) -> bool {
    let (Some(ver_vlan), Some(session)) = (be16(data, 0), be16(data, 2)) else {
        d.event(DecodeEvent::ErspanHeaderTooSmall);
        return false;
    };
    if (ver_vlan >> 12) as u8 != version {
        d.event(DecodeEvent::ErspanUnsupportedVersion);
        return false;
    }
    if !d.enter_tunnel(TunnelKind::Erspan {
        session: session & 0x03ff,
    }) {
        return false;
    }
    let vlan = ver_vlan & 0x0fff;
    if vlan != 0 && !d.out.vlan.push(vlan) {
        d.event(DecodeEvent::ErspanTooManyVlanLayers);
        return false;
    }
    true
}

/// ERSPAN type II (version field 1).
fn erspan2<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    if data.len() < ERSPAN2_LEN {
        d.event(DecodeEvent::ErspanHeaderTooSmall);
        return Next::Done;
    }
    if !erspan_common(d, data, 1) {
        return Next::Done;
    }
    Next::Ethernet(rest(data, ERSPAN2_LEN))
}

/// ERSPAN type III (version field 2), with the optional platform sub-header.
fn erspan3<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let Some(flags) = be16(data, 10) else {
        d.event(DecodeEvent::ErspanHeaderTooSmall);
        return Next::Done;
    };
    let mut len = ERSPAN3_LEN;
    if flags & 1 != 0 {
        len += ERSPAN3_PLATFORM_LEN;
    }
    if data.len() < len {
        d.event(DecodeEvent::ErspanHeaderTooSmall);
        return Next::Done;
    }
    if !erspan_common(d, data, 2) {
        return Next::Done;
    }
    let frame = rest(data, len);
    match (flags >> 10) & 0x1f {
        0 => Next::Ethernet(frame),
        2 => Next::IpRaw(frame),
        _ => {
            d.set_non_ip(None, frame);
            Next::Done
        }
    }
}
