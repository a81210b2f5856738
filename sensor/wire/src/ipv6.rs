//! IPv6: fixed header, extension header chain (hop-by-hop, routing, fragment, destination
//! options, AH, mobility/HIP/shim6; ESP and "no next header" end the chain).
//!
//! etherparse's `Ipv6HeaderSlice` reads the fixed header; the chain is walked here because
//! Suricata's events need every header seen (duplicates, option contents, reserved bits),
//! where etherparse's extension slicing stops at the first error or unsupported header.

use core::net::IpAddr;

use etherparse::Ipv6HeaderSlice;

use crate::bytes::{be16, be32, head, rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::ip::{self, proto};
use crate::types::{FragmentInfo, IpInfo};
use tapwatch_common::DecodeEvent;

/// Length of the fixed IPv6 header.
const HEADER_LEN: usize = 40;

/// Extension header numbers.
mod ext {
    pub const HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AH: u8 = 51;
    pub const NONE: u8 = 59;
    pub const DST: u8 = 60;
    /// Headers in the generic (next header, length in 8-byte units) format that carry no
    /// checks: mobility, HIP, shim6 and the two experimental numbers.
    pub const GENERIC: &[u8] = &[135, 139, 140, 253, 254];
}

/// What the extension header walk found.
#[derive(Debug, Default)]
struct Chain {
    /// The upper-layer protocol (for fragments: the Fragment header's next header).
    protocol: u8,
    /// Where `IpInfo::header` ends.
    header_end: usize,
    /// Where `IpInfo::payload` starts.
    payload_start: usize,
    /// The fragment fields, when a non-atomic Fragment header was found.
    fragment: Option<FragmentInfo>,
    /// Whether the walk stopped at a truncated extension header.
    truncated: bool,
}

/// An IPv6 header and what it carries.
pub(crate) fn decode<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    if data.len() < HEADER_LEN {
        d.event(DecodeEvent::Ipv6PktTooSmall);
        return Next::Done;
    }
    if u8_at(data, 0).map(|b| b >> 4) != Some(6) {
        d.event(DecodeEvent::Ipv6WrongIpVersion);
        return Next::Done;
    }
    let Ok(header) = Ipv6HeaderSlice::from_slice(data) else {
        d.event(DecodeEvent::Ipv6PktTooSmall);
        return Next::Done;
    };
    let payload_len = usize::from(header.payload_length());
    let first_next = header.next_header().0;
    // A zero payload length with hop-by-hop options is a jumbogram: its length is in the
    // jumbo option, and the capture length is used instead.
    let jumbo = payload_len == 0 && first_next == ext::HOP;
    let total_len = if jumbo {
        data.len()
    } else {
        HEADER_LEN + payload_len
    };
    let truncated = total_len > data.len();
    // Bytes past the payload length are link-layer padding.
    let packet = head(data, total_len);
    let chain = walk(d, packet, first_next);
    let fragment = chain.fragment;
    let payload = rest(packet, chain.payload_start);
    d.set_ip(IpInfo {
        version: 6,
        src: IpAddr::V6(header.source_addr()),
        dst: IpAddr::V6(header.destination_addr()),
        protocol: chain.protocol,
        ttl: header.hop_limit(),
        tos: header.traffic_class(),
        id: fragment.map_or(0, |f| f.id),
        dont_fragment: false,
        fragment,
        header: head(packet, chain.header_end),
        total_len,
        payload,
    });
    if truncated {
        d.event(DecodeEvent::Ipv6TruncPkt);
        return Next::Done;
    }
    if chain.truncated {
        return Next::Done;
    }
    let protocol = chain.protocol;
    if protocol == proto::ICMP {
        d.event(DecodeEvent::Ipv6Icmpv4);
    }
    if ip::unassigned_protocol(protocol) && !ext::GENERIC.contains(&protocol) {
        d.event(DecodeEvent::Ipv6UnknownNextHeader);
    }
    match fragment {
        Some(f) if f.offset != 0 => Next::Done,
        Some(_) => ip::upper(d, protocol, payload, true),
        None => ip::upper(d, protocol, payload, false),
    }
}

/// Which extension headers were seen, for the duplicate events.
#[derive(Debug, Default)]
struct Seen {
    hop: bool,
    routing: bool,
    fragment: bool,
    ah: bool,
    dst_count: u8,
    dst_since_routing: bool,
}

/// Walks the extension header chain of `packet` (fixed header included) from `next`.
fn walk(d: &mut Decoder<'_, '_>, packet: &[u8], mut next: u8) -> Chain {
    let mut at = HEADER_LEN;
    let mut seen = Seen::default();
    loop {
        let hdr = rest(packet, at);
        let len = match next {
            ext::HOP | ext::DST | ext::ROUTING => u8_at(hdr, 1).map(|l| (usize::from(l) + 1) * 8),
            ext::FRAGMENT => Some(8),
            ext::AH => u8_at(hdr, 1).map(|l| (usize::from(l) + 2) * 4),
            g if ext::GENERIC.contains(&g) => u8_at(hdr, 1).map(|l| (usize::from(l) + 1) * 8),
            ext::NONE => {
                if !hdr.is_empty() {
                    d.event(DecodeEvent::Ipv6DataAfterNoneHeader);
                }
                return Chain::end(next, at);
            }
            // ESP, or the upper-layer protocol.
            _ => return Chain::end(next, at),
        };
        let Some(body) = len.and_then(|len| hdr.get(..len)) else {
            d.event(DecodeEvent::Ipv6TruncExthdr);
            let mut chain = Chain::end(next, at);
            chain.truncated = true;
            return chain;
        };
        match next {
            ext::HOP => {
                if std::mem::replace(&mut seen.hop, true) {
                    d.event(DecodeEvent::Ipv6ExthdrDuplHh);
                }
                check_options(d, rest(body, 2), true);
            }
            ext::DST => {
                if seen.dst_since_routing || seen.dst_count >= 2 {
                    d.event(DecodeEvent::Ipv6ExthdrDuplDh);
                }
                seen.dst_count = seen.dst_count.saturating_add(1);
                seen.dst_since_routing = true;
                check_options(d, rest(body, 2), false);
            }
            ext::ROUTING => {
                if std::mem::replace(&mut seen.routing, true) {
                    d.event(DecodeEvent::Ipv6ExthdrDuplRh);
                }
                seen.dst_since_routing = false;
                if u8_at(body, 2) == Some(0) {
                    d.event(DecodeEvent::Ipv6RhType0);
                }
            }
            ext::AH => {
                if std::mem::replace(&mut seen.ah, true) {
                    d.event(DecodeEvent::Ipv6ExthdrDuplAh);
                }
                if be16(body, 2) != Some(0) {
                    d.event(DecodeEvent::Ipv6ExthdrAhResNotNull);
                }
            }
            ext::FRAGMENT => {
                if std::mem::replace(&mut seen.fragment, true) {
                    d.event(DecodeEvent::Ipv6ExthdrDuplFh);
                }
                if let Some(chain) = fragment(d, body, packet, at) {
                    return chain;
                }
            }
            _ => {}
        }
        next = u8_at(body, 0).unwrap_or(ext::NONE);
        at += body.len();
    }
}

impl Chain {
    /// A chain that ends at `at` with upper-layer protocol `protocol`.
    fn end(protocol: u8, at: usize) -> Chain {
        Chain {
            protocol,
            header_end: at,
            payload_start: at,
            fragment: None,
            truncated: false,
        }
    }
}

/// Reads a Fragment header at `at`; returns the chain end for a real fragment, `None` for
/// an atomic fragment (offset 0, no more fragments), whose chain continues.
fn fragment(d: &mut Decoder<'_, '_>, body: &[u8], packet: &[u8], at: usize) -> Option<Chain> {
    let reserved = u8_at(body, 1).unwrap_or(0);
    let offset_flags = be16(body, 2).unwrap_or(0);
    if reserved != 0 || offset_flags & 0x0006 != 0 {
        d.event(DecodeEvent::Ipv6FhNonZeroReservedField);
    }
    let offset = u32::from(offset_flags & 0xfff8);
    let more = offset_flags & 1 == 1;
    if offset == 0 && !more {
        d.event(DecodeEvent::Ipv6ExthdrUselessFh);
        return None;
    }
    let payload_start = at + body.len();
    if more && !rest(packet, payload_start).len().is_multiple_of(8) {
        d.event(DecodeEvent::Ipv6FragInvalidLength);
    }
    Some(Chain {
        protocol: u8_at(body, 0).unwrap_or(ext::NONE),
        header_end: at,
        payload_start,
        fragment: Some(FragmentInfo {
            offset,
            more,
            id: be32(body, 4).unwrap_or(0),
        }),
        truncated: false,
    })
}

/// Hop-by-hop option types known to be valid there: router alert, jumbo payload, quick
/// start, RPL, MPL, IOAM, and the RFC 4727 experimental types.
const HOP_OPTIONS: &[u8] = &[
    0x05, 0xc2, 0x26, 0x63, 0x6d, 0x31, 0x11, 0x1e, 0x3e, 0x5e, 0x7e, 0x9e, 0xbe, 0xde, 0xfe,
];
/// Destination option types known to be valid there: tunnel encapsulation limit, home
/// address, ILNP nonce, line identification, and the RFC 4727 experimental types.
const DST_OPTIONS: &[u8] = &[
    0x04, 0xc9, 0x8b, 0x8c, 0x1e, 0x3e, 0x5e, 0x7e, 0x9e, 0xbe, 0xde, 0xfe,
];

/// Checks the options of a hop-by-hop (`hop`) or destination options header.
fn check_options(d: &mut Decoder<'_, '_>, options: &[u8], hop: bool) {
    const PAD1: u8 = 0;
    const PADN: u8 = 1;
    let mut only_padding = true;
    let mut at = 0usize;
    while let Some(kind) = u8_at(options, at) {
        if kind == PAD1 {
            at += 1;
            continue;
        }
        let Some(len) = u8_at(options, at + 1).map(usize::from) else {
            d.event(DecodeEvent::Ipv6ExthdrInvalidOptlen);
            return;
        };
        if at + 2 + len > options.len() {
            d.event(DecodeEvent::Ipv6ExthdrInvalidOptlen);
            return;
        }
        if kind == PADN {
            if len == 0 {
                d.event(DecodeEvent::Ipv6ZeroLenPadn);
            }
        } else {
            only_padding = false;
            let known = if hop { HOP_OPTIONS } else { DST_OPTIONS };
            let bad_len = match kind {
                0x05 => len != 2,
                0xc2 => len != 4,
                0x04 => len != 1,
                0xc9 => len != 16,
                _ => false,
            };
            if bad_len {
                d.event(DecodeEvent::Ipv6ExthdrInvalidOptlen);
            } else if !known.contains(&kind) {
                d.event(if hop {
                    DecodeEvent::Ipv6HopoptsUnknownOpt
                } else {
                    DecodeEvent::Ipv6DstoptsUnknownOpt
                });
            }
        }
        at += 2 + len;
    }
    if only_padding {
        d.event(if hop {
            DecodeEvent::Ipv6HopoptsOnlyPadding
        } else {
            DecodeEvent::Ipv6DstoptsOnlyPadding
        });
    }
}
