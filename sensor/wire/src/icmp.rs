//! ICMPv4 and ICMPv6 headers with Suricata's type/code checks.
//!
//! Own view rather than etherparse's `Icmpv4Slice`/`Icmpv6Slice`: those require exact
//! lengths for some message types (timestamps), and a sensor must still describe such
//! packets; only the 8-byte header is read here.

use crate::bytes::{be16, head, rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::types::{IcmpInfo, Transport};
use tapwatch_common::DecodeEvent;

/// ICMP header length (type, code, checksum, rest of header).
const HEADER_LEN: usize = 8;

/// An ICMPv4 message.
pub(crate) fn v4<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let Some(info) = header(data, |t| matches!(t, 0 | 8 | 13..=18)) else {
        d.event(DecodeEvent::Icmpv4PktTooSmall);
        return Next::Done;
    };
    match v4_codes(info.icmp_type) {
        None => d.event(DecodeEvent::Icmpv4UnknownType),
        Some(max) if info.code > max && !(info.icmp_type == 9 && info.code == 16) => {
            d.event(DecodeEvent::Icmpv4UnknownCode)
        }
        Some(_) => {}
    }
    let payload = rest(data, HEADER_LEN);
    if matches!(info.icmp_type, 3 | 4 | 5 | 11 | 12) {
        if payload.len() < 20 {
            d.event(DecodeEvent::Icmpv4Ipv4TruncPkt);
        } else if u8_at(payload, 0).map(|b| b >> 4) != Some(4) {
            d.event(DecodeEvent::Icmpv4Ipv4UnknownVer);
        }
    }
    d.set_transport(Transport::Icmpv4(info), payload);
    Next::Done
}

/// The highest valid code of a known ICMPv4 type.
fn v4_codes(icmp_type: u8) -> Option<u8> {
    match icmp_type {
        0 | 4 | 6 | 8 | 9 | 10 | 13..=18 | 30 | 42 => Some(0),
        3 => Some(15),
        5 => Some(3),
        11 => Some(1),
        12 => Some(2),
        40 => Some(5),
        43 => Some(4),
        _ => None,
    }
}

/// An ICMPv6 message.
pub(crate) fn v6<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let Some(info) = header(data, |t| matches!(t, 128 | 129)) else {
        d.event(DecodeEvent::Icmpv6PktTooSmall);
        return Next::Done;
    };
    let t = info.icmp_type;
    match t {
        100 | 101 | 200 | 201 => d.event(DecodeEvent::Icmpv6ExperimentationType),
        1..=4 | 128..=161 => {
            let max = match t {
                1 => 8,
                3 => 1,
                4 => 10,
                138 => 255,
                139 | 140 => 2,
                150 | 154 => 255,
                157 | 158 | 160 | 161 => 4,
                _ => 0,
            };
            if info.code > max || (t == 138 && !matches!(info.code, 0 | 1 | 255)) {
                d.event(DecodeEvent::Icmpv6UnknownCode);
            }
        }
        _ => d.event(DecodeEvent::Icmpv6UnassignedType),
    }
    if matches!(t, 130 | 131 | 132 | 143) && d.out.ip.is_some_and(|ip| ip.ttl != 1) {
        d.event(DecodeEvent::Icmpv6MldMessageWithInvalidHl);
    }
    let payload = rest(data, HEADER_LEN);
    if matches!(t, 1..=4) {
        if payload.len() < 40 {
            d.event(DecodeEvent::Icmpv6Ipv6TruncPkt);
        } else if u8_at(payload, 0).map(|b| b >> 4) != Some(6) {
            d.event(DecodeEvent::Icmpv6Ipv6UnknownVersion);
        }
    }
    d.set_transport(Transport::Icmpv6(info), payload);
    Next::Done
}

/// The 8-byte header; id and sequence for the types `has_id` accepts.
fn header(data: &[u8], has_id: impl Fn(u8) -> bool) -> Option<IcmpInfo<'_>> {
    if data.len() < HEADER_LEN {
        return None;
    }
    let icmp_type = u8_at(data, 0)?;
    let echo = has_id(icmp_type);
    Some(IcmpInfo {
        icmp_type,
        code: u8_at(data, 1)?,
        id: be16(data, 4).filter(|_| echo),
        seq: be16(data, 6).filter(|_| echo),
        header: head(data, HEADER_LEN),
    })
}
