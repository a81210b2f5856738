//! MPLS label stacks (RFC 3032) and what follows the bottom label: IPv4, IPv6 (explicit
//! null labels or the first nibble) or an Ethernet pseudowire after a control word.
//!
//! Own view: etherparse has no MPLS support.

use crate::bytes::{be32, rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::ip;
use crate::types::TunnelKind;
use tapwatch_common::DecodeEvent;

/// Label stack entry length.
const ENTRY_LEN: usize = 4;
/// Pseudowire control word length.
const CONTROL_WORD_LEN: usize = 4;
/// Smallest Ethernet frame after a control word.
const ETHERNET_LEN: usize = 14;

const LABEL_IPV4_NULL: u32 = 0;
const LABEL_ROUTER_ALERT: u32 = 1;
const LABEL_IPV6_NULL: u32 = 2;
const LABEL_IMPLICIT_NULL: u32 = 3;
const LABEL_MAX_RESERVED: u32 = 15;

/// Most label stack entries an MPLS-in-UDP payload may hold to be taken for one.
const UDP_MAX_ENTRIES: usize = 16;

/// An MPLS-in-UDP payload (RFC 7510): followed as MPLS only when its label stack ends
/// within the first entries and a whole IPv4 or IPv6 header follows it. Anything else stays
/// plain UDP, without an event: the port alone does not prove the tunnel.
pub(crate) fn in_udp(data: &[u8]) -> Next<'_> {
    let bottom = (0..UDP_MAX_ENTRIES)
        .map_while(|i| be32(data, i * ENTRY_LEN).map(|entry| (i, entry)))
        .find(|(_, entry)| entry & 0x100 != 0);
    let Some((index, _)) = bottom else {
        return Next::Done;
    };
    if ip::plausible_version(rest(data, (index + 1) * ENTRY_LEN)).is_none() {
        return Next::Done;
    }
    Next::Mpls(data)
}

/// An MPLS label stack.
pub(crate) fn decode<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let mut at = 0usize;
    let label = loop {
        let Some(entry) = be32(data, at) else {
            d.event(DecodeEvent::MplsHeaderTooSmall);
            return Next::Done;
        };
        at += ENTRY_LEN;
        let label = entry >> 12;
        let bottom = entry & 0x100 != 0;
        match label {
            LABEL_ROUTER_ALERT if bottom => d.event(DecodeEvent::MplsBadLabelRouterAlert),
            LABEL_IMPLICIT_NULL => d.event(DecodeEvent::MplsBadLabelImplicitNull),
            4..=LABEL_MAX_RESERVED => d.event(DecodeEvent::MplsBadLabelReserved),
            _ => {}
        }
        if bottom {
            break label;
        }
    };
    let payload = rest(data, at);
    let Some(first) = u8_at(payload, 0) else {
        d.event(DecodeEvent::MplsPktTooSmall);
        return Next::Done;
    };
    let next = match (label, first >> 4) {
        (LABEL_IPV4_NULL, _) | (_, 4) => Next::Ipv4(payload),
        (LABEL_IPV6_NULL, _) | (_, 6) => Next::Ipv6(payload),
        (_, 0) => {
            let frame = rest(payload, CONTROL_WORD_LEN);
            if frame.len() < ETHERNET_LEN {
                d.event(DecodeEvent::MplsPktTooSmall);
                return Next::Done;
            }
            Next::Ethernet(frame)
        }
        _ => {
            d.event(DecodeEvent::MplsUnknownPayloadType);
            return Next::Done;
        }
    };
    if !d.enter_tunnel(TunnelKind::Mpls { label }) {
        return Next::Done;
    }
    next
}
